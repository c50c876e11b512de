# SPDX-License-Identifier: MIT
"""A parent and its forked child read one mounted file at the same time,
each its own ranges through a descriptor opened before the fork (pread)
and one opened after it (sequential read, which starts read-ahead): every
byte must equal the local copy's, in both, so neither the cache nor the
connections the child rebuilt mix them up.

    forkread.py MOUNTED_FILE LOCAL_COPY    (through the shim)
"""
import os
import random
import sys


def check(name, good, why=""):
    print(("ok " if good else "FAIL ") + name + ("" if good else " " + why), flush=True)
    return good


def reader(path, local, fd, seed):
    """pread 200 random ranges through fd, then read the whole file again in order."""
    rnd = random.Random(seed)
    size = len(local)
    for _ in range(200):
        off = rnd.randrange(0, size - 70000)
        n = rnd.randrange(1, 70000)
        if os.pread(fd, n, off) != local[off:off + n]:
            return "pread at %d, %d bytes" % (off, n)
    with open(path, "rb", buffering=0) as f:
        got = bytearray()
        while True:
            b = f.read(1 << 20)
            if not b:
                break
            got += b
    return None if got == local else "sequential read differs"


def main(path, copy):
    local = open(copy, "rb").read()
    fd = os.open(path, os.O_RDONLY)
    # warm: the parent's threads and connections exist before the fork
    check("parent reads before the fork", os.pread(fd, 1 << 20, 0) == local[:1 << 20])
    pid = os.fork()
    if pid == 0:
        why = reader(path, local, fd, 1)
        os._exit(0 if why is None else 1)
    why = reader(path, local, fd, 2)
    check("parent reads while its child does", why is None, why or "")
    _, status = os.waitpid(pid, 0)
    check("child reads while its parent does", os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0,
          "child status %d" % status)
    check("parent reads after its child left", os.pread(fd, 4096, len(local) - 4096) == local[-4096:])


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
