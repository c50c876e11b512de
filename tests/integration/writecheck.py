# SPDX-License-Identifier: MIT
"""The write path as Python programs do it.  Run through the shim (except
`gen`); prints "ok NAME" or "FAIL NAME why" for what it can judge itself,
and leaves the objects for test_write.sh to read back with another client.

    writecheck.py gen SEED SIZE            SIZE bytes of SEED's pattern to stdout (no shim)
    writecheck.py pyfiles DIR EXPECT       text and binary: write, then append
    writecheck.py numpy DIR EXPECT         numpy.save of an array
    writecheck.py checkpoint DIR EXPECT    temporary name, fsync, rename over the final name;
                                           mkstemp, write, rename over, close
    writecheck.py modes DIR                access modes and O_EXCL on staged files
    writecheck.py exitnow PATH SEED SIZE HOW
                                           write and leave at once; HOW: exit-open,
                                           _exit-open, _Exit-open, close-exit, stdio-exit
    writecheck.py fork PATH SEED SIZE HOW  a forked child writes and leaves with _exit;
                                           HOW: close, noclose, parent-opens
    writecheck.py versions PATH            PATH written twice in a row, the larger first
    writecheck.py ryow DIR                 read your own writes in one process
    writecheck.py ns DIR                   unlink, rename, mkdir, rmdir, truncate, utime, O_EXCL
    writecheck.py errno PATH ERRNO [EXISTING]
                                           creating PATH, and changing EXISTING, fail with ERRNO
    writecheck.py hold PATH SEED SIZE HOW  write SIZE bytes; HOW=fsync: fsync, say "synced",
                                           wait for a line on stdin, write SIZE more, close;
                                           HOW=close: close, say "closed rc=N", wait for a
                                           line, exit; HOW=wait: say "written", wait for a
                                           line, close, say "closed rc=N", exit;
                                           HOW=wait-fsync: the same, with an fsync (said as
                                           for HOW=fsync) before the close
    writecheck.py sametick PATH SEED SIZE STAGEDIR
                                           as a kernel with coarse timestamps does when writes
                                           come within one clock tick: write SIZE bytes, fsync,
                                           overwrite them, put back the staged file's mtime as
                                           the first write left it, fsync, say "synced", wait
                                           for a line; overwrite again the same way, close, say
                                           "closed rc=N"
    writecheck.py natives DIR EXPECT       writev, posix_fallocate, ftruncate and a shared
                                           writable mapping on staged files
    writecheck.py twoopens DIR EXPECT      two opens for writing of one path in one process
                                           share its bytes, as on a local disk
    writecheck.py streamed PATH SEED SIZE  (with a staging directory too small for SIZE)
                                           write SIZE bytes in 1 MiB writes; then, parts having
                                           been dropped from staging: reading PATH gives EBUSY,
                                           a write at offset 0 ENOSPC, a second open for
                                           writing EBUSY, a forked child's write
                                           EBADF; 1 MiB more is appended; say "written", wait
                                           for a line, close, say "closed rc=N"
    writecheck.py zip PATH SIZE            a zip archive of SIZE bytes written by zipfile,
                                           which goes back to patch each member's header
    writecheck.py threads DIR N SIZE       N threads, one file each
    writecheck.py excl PATH TAG GOFILE     at GOFILE's appearance, O_CREAT|O_EXCL PATH:
                                           prints "won TAG" or "EEXIST TAG"
    writecheck.py stagesec PATH STAGEDIR   staged file modes and names while PATH is open
    writecheck.py gate HOST:PORT PORTFILE STATEFILE
                                           (no shim) a TCP relay to HOST:PORT on a free port
                                           (written to PORTFILE); while STATEFILE says "down"
                                           it is a stopped server: nothing listens and open
                                           connections are cut; "up" again: same port
"""
import errno
import mmap
import os
import random
import select
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time


def report(name, good, why=""):
    print(("ok " if good else "FAIL ") + name + ("" if good else " " + why), flush=True)


def pattern(seed, size):
    """Deterministic bytes: the same for `gen` and the writers."""
    return random.Random(seed).randbytes(size)


def put_local(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def expect_errno(name, code, fn):
    try:
        fn()
    except OSError as e:
        report(name, e.errno == code, "errno %s (%s), wanted %s" %
               (e.errno, errno.errorcode.get(e.errno, "?"), errno.errorcode[code]))
        return
    report(name, False, "no error, wanted %s" % errno.errorcode[code])


def attempt(name, fn):
    """fn() must not raise: ok, or FAIL with the exception."""
    try:
        fn()
    except Exception as e:  # noqa: BLE001 - any failure is the finding
        report(name, False, "%s: %s" % (type(e).__name__, e))
        return False
    report(name, True)
    return True


# --- what programs write -------------------------------------------------------

def pyfiles(d, expect):
    os.makedirs(d, exist_ok=True)
    text1 = "".join("line %d: héllo wörld\n" % i for i in range(5000))
    text2 = "".join("appended %d\n" % i for i in range(3000))
    bin1, bin2 = pattern(11, 3 << 20), pattern(12, (1 << 20) + 17)

    def text():
        with open(os.path.join(d, "text.txt"), "w", encoding="utf-8") as f:
            f.write(text1)
        with open(os.path.join(d, "text.txt"), "a", encoding="utf-8") as f:
            f.write(text2)

    def binary():
        with open(os.path.join(d, "bin.bin"), "wb") as f:
            f.write(bin1)
        with open(os.path.join(d, "bin.bin"), "ab") as f:
            f.write(bin2)

    def rplus():
        # r+b: overwrite in the middle of an existing object
        with open(os.path.join(d, "rplus.bin"), "wb") as f:
            f.write(bin1[:1 << 20])
        with open(os.path.join(d, "rplus.bin"), "r+b") as f:
            f.seek(1000)
            f.write(b"X" * 5000)

    attempt("python: write then append text", text)
    attempt("python: write then append binary", binary)
    attempt("python: r+b overwrite in the middle", rplus)
    put_local(os.path.join(expect, "text.txt"), (text1 + text2).encode("utf-8"))
    put_local(os.path.join(expect, "bin.bin"), bin1 + bin2)
    put_local(os.path.join(expect, "rplus.bin"), bin1[:1000] + b"X" * 5000 + bin1[6000:1 << 20])


def numpy_save(d, expect):
    import numpy as np
    os.makedirs(d, exist_ok=True)
    arr = np.arange(3 * 1000 * 257, dtype=np.float64).reshape(3, 1000, 257) / 7.0
    attempt("numpy.save", lambda: np.save(os.path.join(d, "arr.npy"), arr))
    np.save(os.path.join(expect, "arr.npy"), arr)
    try:
        back = np.load(os.path.join(d, "arr.npy"))
        report("numpy.load of what was just saved (same process)", np.array_equal(back, arr))
    except Exception as e:  # noqa: BLE001
        report("numpy.load of what was just saved (same process)", False, repr(e))


def checkpoint(d, expect):
    os.makedirs(d, exist_ok=True)
    final = os.path.join(d, "model.ckpt")
    data = pattern(21, (5 << 20) + 3)

    def save(blob):
        tmp = final + ".tmp"
        with open(tmp, "wb") as f:
            f.write(blob)
            f.flush()
            os.fsync(f.fileno())
        os.rename(tmp, final)

    # twice: the second rename replaces an existing object
    attempt("checkpoint: first save (write, fsync, rename)", lambda: save(pattern(20, 1 << 20)))
    attempt("checkpoint: second save over it", lambda: save(data))
    put_local(os.path.join(expect, "model.ckpt"), data)
    try:
        st = os.stat(final)
        report("checkpoint: stat after rename (same process)", st.st_size == len(data),
               "size %d, wanted %d" % (st.st_size, len(data)))
    except OSError as e:
        report("checkpoint: stat after rename (same process)", False, str(e))
    expect_errno("checkpoint: temporary name gone", errno.ENOENT, lambda: os.stat(final + ".tmp"))

    # mkstemp (O_EXCL), write, rename over the old file, then close: an
    # exclusive create must not follow the file to a name that is taken
    atomic = os.path.join(d, "atomic.bin")
    new = pattern(22, 300 << 10)

    def replace_open():
        with open(atomic, "wb") as f:
            f.write(b"old")
        fd, tmp = tempfile.mkstemp(dir=d)
        os.write(fd, new)
        os.replace(tmp, atomic)
        os.close(fd)
    attempt("checkpoint: mkstemp, write, rename over, close", replace_open)
    put_local(os.path.join(expect, "atomic.bin"), new)


def modes(d):
    """Access modes and O_EXCL as on a local disk, for staged files."""
    os.makedirs(d, exist_ok=True)
    p = os.path.join(d, "wo.bin")
    wfd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.write(wfd, b"x" * 8192)
    expect_errno("modes: read of O_WRONLY", errno.EBADF, lambda: os.read(wfd, 10))
    expect_errno("modes: pread of O_WRONLY", errno.EBADF, lambda: os.pread(wfd, 10, 0))
    expect_errno("modes: readv of O_WRONLY", errno.EBADF, lambda: os.readv(wfd, [bytearray(10)]))
    expect_errno("modes: mmap of O_WRONLY", errno.EACCES,
                 lambda: mmap.mmap(wfd, 4096, mmap.MAP_SHARED, mmap.PROT_READ))
    with open(os.devnull, "wb") as null:
        expect_errno("modes: sendfile from O_WRONLY", errno.EBADF,
                     lambda: os.sendfile(null.fileno(), wfd, 0, 10))
    os.close(wfd)
    rfd = os.open(p, os.O_RDONLY)
    expect_errno("modes: ftruncate of O_RDONLY", errno.EINVAL, lambda: os.ftruncate(rfd, 1))
    expect_errno("modes: write of O_RDONLY", errno.EBADF, lambda: os.write(rfd, b"y"))
    os.close(rfd)

    afd = os.open(p, os.O_WRONLY | os.O_APPEND)
    at = os.lseek(afd, 0, os.SEEK_CUR)
    report("modes: O_APPEND opens at offset 0", at == 0, "offset %d" % at)
    os.write(afd, b"z")
    at = os.lseek(afd, 0, os.SEEK_CUR)
    report("modes: O_APPEND write moves it to the end", at == 8193, "offset %d" % at)
    os.close(afd)

    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
    for how in ("rename", "unlink"):
        q = os.path.join(d, "excl-" + how)
        fd = os.open(q, flags, 0o644)
        os.write(fd, how.encode())
        if how == "rename":
            os.rename(q, q + ".moved")
        else:
            os.unlink(q)

        def again():
            os.close(os.open(q, flags, 0o644))
        attempt("modes: O_EXCL create of a name the open file left by %s" % how, again)
        os.close(fd)


def exitnow(path, seed, size, how):
    data = pattern(seed, size)
    if how.startswith("openssl-"):
        # The program's own OpenSSL, up before the shim needs it: OpenSSL
        # then registers its exit handler, which must not run before the
        # shim's uploads at exit (shim/wrap_atexit.c).
        import hashlib
        import ssl
        hashlib.md5(data[:64]).hexdigest()
        ssl.create_default_context()
        how = how[len("openssl-"):]
    if how == "stdio-exit":
        f = open(path, "wb")
        f.write(data)		# buffered, never closed: exit flushes it
        sys.exit(0)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    for off in range(0, size, 1 << 20):
        os.write(fd, data[off:off + (1 << 20)])
    if how == "close-exit":
        os.close(fd)
        sys.exit(0)
    if how == "exit-open":
        sys.exit(0)
    if how == "_exit-open":
        os._exit(0)
    if how == "_Exit-open":
        import ctypes
        ctypes.CDLL(None)._Exit(0)
    raise SystemExit("unknown HOW " + how)


def fork_write(path, seed, size, how):
    data = pattern(seed, size)
    pfd = None
    if how == "parent-opens":
        pfd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    pid = os.fork()
    if pid == 0:
        try:
            fd = pfd if pfd is not None else os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC,
                                                     0o644)
            os.write(fd, data)
            if how == "close":
                os.close(fd)
        finally:
            os._exit(0)
    _, status = os.waitpid(pid, 0)
    if pfd is not None:
        os.close(pfd)
    sys.exit(0 if status == 0 else 1)


def versions(path):
    """Two versions of one key in a row; the first is larger, so slower to upload."""
    with open(path, "wb") as f:
        f.write(pattern(33, 40 << 20))
    with open(path, "wb") as f:
        f.write(b"the second version\n")
    try:
        report("versions: stat in the same process sees the second",
               os.stat(path).st_size == 19, "size %d" % os.stat(path).st_size)
    except OSError as e:
        report("versions: stat in the same process sees the second", False, str(e))


# --- a process sees its own writes ----------------------------------------------

def ryow(d):
    os.makedirs(d, exist_ok=True)
    p = os.path.join(d, "mine.bin")
    v1, v2 = pattern(31, 3 << 20), pattern(32, (24 << 20) + 5)
    with open(p, "wb") as f:
        f.write(v1)
    # the second version is larger, so its upload is likely still going
    with open(p, "wb") as f:
        f.write(v2)
    try:
        st = os.stat(p)
        report("ryow: stat size right after close", st.st_size == len(v2),
               "size %d, wanted %d" % (st.st_size, len(v2)))
        report("ryow: stat says regular file", stat.S_ISREG(st.st_mode))
    except OSError as e:
        report("ryow: stat size right after close", False, str(e))
    try:
        with open(p, "rb") as f:
            got = f.read()
        report("ryow: read right after close", got == v2,
               "read %d bytes, %s" % (len(got), "v1" if got == v1 else "not v2"))
    except OSError as e:
        report("ryow: read right after close", False, str(e))
    try:
        fd = os.open(p, os.O_RDONLY)
        got = os.pread(fd, 4096, len(v2) - 100)
        os.close(fd)
        report("ryow: pread at the end", got == v2[-100:], "%d bytes" % len(got))
    except OSError as e:
        report("ryow: pread at the end", False, str(e))
    # a new name in a new directory: listed at once?  (32 MiB: still uploading)
    q = os.path.join(d, "sub", "fresh.txt")
    with open(q, "wb") as f:
        f.write(pattern(34, 32 << 20))
    try:
        names = os.listdir(d)
        report("ryow: listdir shows a file just written", "mine.bin" in names, repr(names))
        report("ryow: listdir shows a directory just created by a write", "sub" in names,
               repr(names))
        sub = os.listdir(os.path.join(d, "sub"))
        report("ryow: listdir of the new directory", sub == ["fresh.txt"], repr(sub))
    except OSError as e:
        report("ryow: listdir of the new directory", False, str(e))
    try:
        report("ryow: isdir of a directory made by a write", os.path.isdir(os.path.join(d, "sub")))
    except OSError as e:
        report("ryow: isdir of a directory made by a write", False, str(e))
    # still open: fstat and stat by name see the bytes written so far
    f = open(os.path.join(d, "open.bin"), "wb")
    f.write(b"a" * 100000)
    f.flush()
    try:
        report("ryow: stat of a file still open for writing",
               os.stat(os.path.join(d, "open.bin")).st_size == 100000)
    except OSError as e:
        report("ryow: stat of a file still open for writing", False, str(e))
    report("ryow: fstat of a file still open", os.fstat(f.fileno()).st_size == 100000)
    f.close()
    # a directory looked for (and found missing) before a write made it
    later = os.path.join(d, "later")
    report("ryow: a directory not made yet is missing", not os.path.exists(later))
    with open(os.path.join(later, "x.txt"), "wb") as f:
        f.write(b"made by a write")
        os.fsync(f.fileno())
    try:
        report("ryow: isdir of a directory a finished upload made", os.path.isdir(later))
        report("ryow: listdir shows a directory a finished upload made",
               "later" in os.listdir(d), repr(os.listdir(d)))
    except OSError as e:
        report("ryow: isdir of a directory a finished upload made", False, str(e))


def ryow_children(d):
    """A child, forked or a new program, reads what its parent closed at once,
    while the parent's upload is still on its way."""
    os.makedirs(d, exist_ok=True)
    local = os.path.join(os.environ.get("TMPDIR", "/tmp"), "ryow-children-%d" % os.getpid())
    for i in range(4):
        p = os.path.join(d, "kid%d.bin" % i)
        data = pattern(40 + i, (3 << 20) + i)
        with open(p, "wb") as f:
            f.write(pattern(50 + i, 1000))
        with open(p, "wb") as f:  # the second version is the one to see
            f.write(data)
        pid = os.fork()
        if pid == 0:
            try:
                good = open(p, "rb").read() == data and os.stat(p).st_size == len(data)
            except OSError:
                good = False
            os._exit(0 if good else 1)
        _, status = os.waitpid(pid, 0)
        report("ryow: a forked child reads it (%d)" % i, status == 0, "status %d" % status)
        put_local(local, data)
        r = subprocess.run(["cmp", p, local], capture_output=True, text=True)
        report("ryow: a new program reads it (%d)" % i, r.returncode == 0, r.stdout + r.stderr)
        r = subprocess.run(["ls", d], capture_output=True, text=True)
        report("ryow: a new program lists it (%d)" % i, "kid%d.bin" % i in r.stdout.split(),
               r.stdout + r.stderr)
    os.unlink(local)
    # a new program removes or renames what its parent just wrote: after
    # the parent's upload, which must not bring the file back
    for i in range(2):
        a, b = os.path.join(d, "gone%d.bin" % i), os.path.join(d, "from%d.bin" % i)
        put_local(a, pattern(60 + i, 5 << 20))
        put_local(b, pattern(70 + i, 5 << 20))
        r = subprocess.run(["rm", a], capture_output=True, text=True)
        report("ryow: a new program removes it (%d)" % i, r.returncode == 0, r.stderr)
        r = subprocess.run(["mv", b, b + ".moved"], capture_output=True, text=True)
        report("ryow: a new program renames it (%d)" % i, r.returncode == 0, r.stderr)
    time.sleep(1)  # the uploads above have landed: nothing comes back
    r = subprocess.run(["ls", d], capture_output=True, text=True)
    names = r.stdout.split()
    report("ryow: what the new programs removed and renamed stays so",
           not any(n.startswith("gone") or (n.startswith("from") and not n.endswith(".moved"))
                   for n in names) and "from0.bin.moved" in names and "from1.bin.moved" in names,
           repr(names))


# --- namespace changes -------------------------------------------------------------

def ns(d):
    """Python does the changes and judges errno; test_write.sh reads the store."""
    os.makedirs(d, exist_ok=True)

    def write(rel, data):
        p = os.path.join(d, rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb") as f:
            f.write(data)

    write("gone.txt", b"to be deleted\n")
    attempt("unlink", lambda: os.unlink(os.path.join(d, "gone.txt")))
    expect_errno("stat after unlink is ENOENT", errno.ENOENT,
                 lambda: os.stat(os.path.join(d, "gone.txt")))
    expect_errno("unlink of a missing file is ENOENT", errno.ENOENT,
                 lambda: os.unlink(os.path.join(d, "never.txt")))

    write("mv-a.bin", pattern(41, 300000))
    attempt("rename a file", lambda: os.rename(os.path.join(d, "mv-a.bin"),
                                               os.path.join(d, "mv-b.bin")))
    expect_errno("rename: old name gone (same process)", errno.ENOENT,
                 lambda: os.stat(os.path.join(d, "mv-a.bin")))
    try:
        with open(os.path.join(d, "mv-b.bin"), "rb") as f:
            report("rename: new name has the bytes (same process)", f.read() == pattern(41, 300000))
    except OSError as e:
        report("rename: new name has the bytes (same process)", False, str(e))

    write("tree/one.txt", b"one\n")
    write("tree/two.txt", b"two\n")
    write("tree/sub/three.txt", b"three\n")
    attempt("rename a directory with 3 objects", lambda: os.rename(
        os.path.join(d, "tree"), os.path.join(d, "moved")))
    try:
        found = sorted(os.path.relpath(os.path.join(r, n), os.path.join(d, "moved"))
                       for r, _, ns_ in os.walk(os.path.join(d, "moved")) for n in ns_)
        report("rename dir: walk of the new name", found == ["one.txt", "sub/three.txt", "two.txt"],
               repr(found))
    except OSError as e:
        report("rename dir: walk of the new name", False, str(e))
    report("rename dir: old name gone (same process)", not os.path.exists(os.path.join(d, "tree")))

    attempt("mkdir", lambda: os.mkdir(os.path.join(d, "newdir")))
    try:
        report("mkdir: stat says directory (same process)",
               stat.S_ISDIR(os.stat(os.path.join(d, "newdir")).st_mode))
        report("mkdir: listed (same process)", "newdir" in os.listdir(d), repr(os.listdir(d)))
    except OSError as e:
        report("mkdir: stat says directory (same process)", False, str(e))
    expect_errno("mkdir of an existing directory is EEXIST", errno.EEXIST,
                 lambda: os.mkdir(os.path.join(d, "newdir")))
    attempt("mkdir for rmdir", lambda: os.mkdir(os.path.join(d, "emptydir")))
    attempt("rmdir of an empty directory", lambda: os.rmdir(os.path.join(d, "emptydir")))
    expect_errno("rmdir: stat after is ENOENT", errno.ENOENT,
                 lambda: os.stat(os.path.join(d, "emptydir")))
    write("full/x.txt", b"x\n")
    expect_errno("rmdir of a non-empty directory is ENOTEMPTY", errno.ENOTEMPTY,
                 lambda: os.rmdir(os.path.join(d, "full")))
    expect_errno("unlink of a directory is EISDIR", errno.EISDIR,
                 lambda: os.unlink(os.path.join(d, "full")))
    expect_errno("creating a file over a directory (\"wb\") is EISDIR", errno.EISDIR,
                 lambda: open(os.path.join(d, "full"), "wb"))

    write("trunc-short.bin", pattern(42, 200000))
    attempt("truncate to shorter", lambda: os.truncate(os.path.join(d, "trunc-short.bin"), 12345))
    write("trunc-long.bin", b"abc")
    attempt("truncate to longer", lambda: os.truncate(os.path.join(d, "trunc-long.bin"), 10000))
    write("ftrunc.bin", pattern(43, 50000))

    def ftrunc():
        with open(os.path.join(d, "ftrunc.bin"), "r+b") as f:
            f.truncate(777)
    attempt("ftruncate of a file opened r+", ftrunc)
    try:
        report("truncate: stat size (same process)",
               os.stat(os.path.join(d, "trunc-short.bin")).st_size == 12345)
    except OSError as e:
        report("truncate: stat size (same process)", False, str(e))

    write("times.txt", b"t\n")
    attempt("os.utime", lambda: os.utime(os.path.join(d, "times.txt"), (1e9, 1e9)))
    attempt("os.utime(None)", lambda: os.utime(os.path.join(d, "times.txt")))
    attempt("os.chmod", lambda: os.chmod(os.path.join(d, "times.txt"), 0o600))
    expect_errno("O_EXCL on an existing object is EEXIST", errno.EEXIST, lambda: os.open(
        os.path.join(d, "times.txt"), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
    expect_errno("open(x) mode on an existing object is EEXIST", errno.EEXIST,
                 lambda: open(os.path.join(d, "times.txt"), "x"))

    # "name/" names a directory: a file there is ENOTDIR and is left alone,
    # as the kernel's path lookup refuses it before the call acts
    write("slash.txt", b"kept\n")
    f = os.path.join(d, "slash.txt") + "/"
    for name, fn in [("unlink", lambda: os.unlink(f)), ("rmdir", lambda: os.rmdir(f)),
                     ("rename from", lambda: os.rename(f, os.path.join(d, "s2.txt"))),
                     ("rename to", lambda: os.rename(f[:-1], os.path.join(d, "s2.txt/"))),
                     ("truncate", lambda: os.truncate(f, 0)), ("utime", lambda: os.utime(f)),
                     ("open to write", lambda: open(f, "r+b")), ("stat", lambda: os.stat(f))]:
        expect_errno("%s of file/ is ENOTDIR" % name, errno.ENOTDIR, fn)
    expect_errno("rmdir of a file is ENOTDIR", errno.ENOTDIR, lambda: os.rmdir(f[:-1]))
    expect_errno("create of new/ is EISDIR", errno.EISDIR,
                 lambda: open(os.path.join(d, "new-name/"), "wb"))
    expect_errno("create of file/ is EISDIR", errno.EISDIR, lambda: open(f, "wb"))
    expect_errno("unlink of dir/ is EISDIR", errno.EISDIR,
                 lambda: os.unlink(os.path.join(d, "full/")))
    try:
        with open(f[:-1], "rb") as fh:
            report("file/ calls left the file whole (same process)", fh.read() == b"kept\n")
    except OSError as e:
        report("file/ calls left the file whole (same process)", False, str(e))
    report("no new-name was made", not os.path.exists(os.path.join(d, "new-name")))

    # a written descriptor's /proc/self/fd/N is its staged file: the kernel
    # truncates the bytes the descriptor writes, as on a local disk
    p = os.path.join(d, "tr-link.bin")
    fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.write(fd, b"x" * 100)
    attempt("truncate through /proc/self/fd/N", lambda: os.truncate("/proc/self/fd/%d" % fd, 5))
    report("stat of the path sees it (same process)", os.stat(p).st_size == 5)
    os.write(fd, b"yy")
    os.close(fd)
    with open(p, "rb") as fh:
        report("then a write at the old offset: the kernel's bytes (same process)",
               fh.read() == b"x" * 5 + b"\0" * 95 + b"yy")


def errno_all(path, code, existing=None):
    name = "%s: " % path
    expect_errno(name + "open for writing", code, lambda: open(path, "wb"))
    expect_errno(name + "O_CREAT|O_EXCL", code,
                 lambda: os.open(path + ".x", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
    expect_errno(name + "mkdir", code, lambda: os.mkdir(path + ".d"))
    if existing:
        name = "%s: " % existing
        expect_errno(name + "open r+ and write", code, lambda: open(existing, "r+b").write(b"x"))
        expect_errno(name + "append", code, lambda: open(existing, "ab"))
        expect_errno(name + "unlink", code, lambda: os.unlink(existing))
        expect_errno(name + "rename", code, lambda: os.rename(existing, existing + ".moved"))
        expect_errno(name + "truncate", code, lambda: os.truncate(existing, 1))


# --- durability ----------------------------------------------------------------------

def hold(path, seed, size, how):
    data = pattern(seed, 2 * size)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.write(fd, data[:size])
    if how == "fsync":
        t0 = time.monotonic()
        try:
            os.fsync(fd)
            print("synced %.3f" % (time.monotonic() - t0), flush=True)
        except OSError as e:
            print("fsync-failed %d %s" % (e.errno, errno.errorcode.get(e.errno, "?")), flush=True)
        sys.stdin.readline()
        os.write(fd, data[size:])
        os.close(fd)
        print("closed", flush=True)
        return
    if how in ("wait", "wait-fsync"):
        print("written", flush=True)
        sys.stdin.readline()
    if how == "wait-fsync":
        try:
            os.fsync(fd)
            print("synced", flush=True)
        except OSError as e:
            print("fsync-failed %d %s" % (e.errno, errno.errorcode.get(e.errno, "?")), flush=True)
    t0 = time.monotonic()
    try:
        os.close(fd)
        print("closed rc=0 %.3f" % (time.monotonic() - t0), flush=True)
    except OSError as e:
        print("closed rc=%d %s %.3f" % (e.errno, errno.errorcode.get(e.errno, "?"),
                                       time.monotonic() - t0), flush=True)
    if how == "close":
        sys.stdin.readline()


def sametick(path, seed, size, stagedir):
    data = pattern(seed, 3 * size)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
    mine = "w-%d-" % os.getpid()
    staged = [os.path.join(stagedir, n) for n in os.listdir(stagedir)
              if n.startswith(mine) and not n.endswith(".json")]
    if len(staged) != 1:
        print("FAIL sametick: one staged file of ours expected, found %r" % staged, flush=True)
        return
    os.write(fd, data[:size])
    tick = os.stat(staged[0]).st_mtime_ns	# what a write in this tick sets

    def overwrite(n):
        os.pwrite(fd, data[n * size:(n + 1) * size], 0)
        os.utime(staged[0], ns=(tick, tick))

    os.fsync(fd)
    overwrite(1)
    os.fsync(fd)
    print("synced", flush=True)
    sys.stdin.readline()
    overwrite(2)
    try:
        os.close(fd)
        print("closed rc=0", flush=True)
    except OSError as e:
        print("closed rc=%d %s" % (e.errno, errno.errorcode.get(e.errno, "?")), flush=True)


def natives(d, expect):
    import mmap
    os.makedirs(d, exist_ok=True)
    a, b = pattern(31, 300000), pattern(32, 200000)

    def writev():
        fd = os.open(os.path.join(d, "writev.bin"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        os.writev(fd, [a, b])
        os.close(fd)

    def fallocate():
        # room reserved past the end, then written into: the size is the reserve's
        fd = os.open(os.path.join(d, "falloc.bin"), os.O_RDWR | os.O_CREAT | os.O_TRUNC)
        os.posix_fallocate(fd, 0, 1 << 20)
        os.pwrite(fd, a, 4096)
        os.close(fd)

    def mapped():
        fd = os.open(os.path.join(d, "mapped.bin"), os.O_RDWR | os.O_CREAT | os.O_TRUNC)
        os.ftruncate(fd, len(a))
        m = mmap.mmap(fd, len(a), mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
        m[:] = a
        m.close()
        os.close(fd)

    attempt("writev of two buffers", writev)
    attempt("posix_fallocate, then pwrite inside", fallocate)
    attempt("a shared writable mapping written, then closed", mapped)
    put_local(os.path.join(expect, "writev.bin"), a + b)
    put_local(os.path.join(expect, "falloc.bin"), bytes(4096) + a + bytes((1 << 20) - 4096 - len(a)))
    put_local(os.path.join(expect, "mapped.bin"), a)


def twoopens(d, expect):
    """Each case writes through two opens of one path; the store must end
    with what a local file would hold, not with one open's copy."""
    os.makedirs(d, exist_ok=True)
    big, tail, more = pattern(41, 20 << 20), pattern(42, 5000), pattern(43, 3 << 20)
    p = lambda name: os.path.join(d, name)

    def streamed_then_append():
        # 20 MiB written first: its stream has parts on their way when b opens
        a = open(p("big.bin"), "wb")
        a.write(big)
        a.flush()
        b = open(p("big.bin"), "ab")
        a.write(more)
        a.flush()
        b.write(tail)	# appended: after what a wrote since b opened
        b.flush()
        a.close()
        with open(p("big.bin"), "rb") as f:
            got = f.read()
        if got != big + more + tail:
            raise AssertionError("read back %d bytes, wanted %d" %
                                 (len(got), len(big) + len(more) + len(tail)))
        b.close()

    def appends():
        # a shell's `cmd >>log 2>>log`: two O_APPEND opens taking turns
        fds = [os.open(p("log.txt"), os.O_WRONLY | os.O_CREAT | os.O_APPEND) for _ in range(2)]
        for i in range(6):
            os.write(fds[i % 2], b"line %d from open %d\n" % (i, i % 2))
        for fd in fds:
            os.close(fd)

    def truncating():
        # the second open truncates the file under the first one's offset
        a = os.open(p("trunc.bin"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        os.write(a, b"0123456789")
        b = os.open(p("trunc.bin"), os.O_WRONLY | os.O_TRUNC)
        os.write(b, b"ab")
        os.write(a, b"XY")
        os.close(b)
        os.close(a)

    def update():
        # an open for update staged by its first write, and closed first
        a = os.open(p("upd.bin"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        os.write(a, b"0123456789")
        b = os.open(p("upd.bin"), os.O_RDWR)
        os.pwrite(b, b"XY", 2)
        os.close(b)
        os.write(a, b"ab")
        os.close(a)

    attempt("two opens: a streamed file, then an append", streamed_then_append)
    attempt("two opens: O_APPEND both, taking turns", appends)
    attempt("two opens: the second truncates", truncating)
    attempt("two opens: one for update, closed first", update)
    w = os.open(p("excl.bin"), os.O_WRONLY | os.O_CREAT)
    expect_errno("two opens: O_EXCL of a file open for writing here", errno.EEXIST,
                 lambda: os.open(p("excl.bin"), os.O_WRONLY | os.O_CREAT | os.O_EXCL))
    os.close(w)
    put_local(os.path.join(expect, "big.bin"), big + more + tail)
    put_local(os.path.join(expect, "log.txt"),
              b"".join(b"line %d from open %d\n" % (i, i % 2) for i in range(6)))
    put_local(os.path.join(expect, "trunc.bin"), b"ab" + bytes(8) + b"XY")
    put_local(os.path.join(expect, "upd.bin"), b"01XY456789ab")


def streamed(path, seed, size):
    mib = 1 << 20
    data = pattern(seed, size + mib)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    for off in range(0, size, mib):
        os.write(fd, data[off:off + mib])
    expect_errno("streamed: reading it while it is written (parts dropped)", errno.EBUSY,
                 lambda: open(path, "rb"))
    expect_errno("streamed: a write into a dropped part", errno.ENOSPC,
                 lambda: os.pwrite(fd, b"x", 0))
    expect_errno("streamed: a second open for writing here (parts dropped)", errno.EBUSY,
                 lambda: os.open(path, os.O_WRONLY | os.O_APPEND))
    pid = os.fork()
    if pid == 0:
        try:
            os.write(fd, b"child")
            os._exit(1)
        except OSError as e:
            os._exit(0 if e.errno == errno.EBADF else 2)
    _, status = os.waitpid(pid, 0)
    report("streamed: a forked child's write gets EBADF", os.WEXITSTATUS(status) == 0,
           "child exit %d" % os.WEXITSTATUS(status))
    report("streamed: size as written", os.fstat(fd).st_size == size)
    attempt("streamed: appending goes on", lambda: os.write(fd, data[size:]))
    print("written", flush=True)
    sys.stdin.readline()
    try:
        os.close(fd)
        print("closed rc=0", flush=True)
    except OSError as e:
        print("closed rc=%d" % e.errno, flush=True)


def zip_archive(path, size):
    import zipfile
    mib = 1 << 20
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        for i in range(size // (8 * mib)):
            # written through, then its header patched with the CRC and sizes
            with z.open("member%d.bin" % i, "w", force_zip64=True) as m:
                data = pattern(300 + i, 8 * mib)
                for off in range(0, len(data), mib):
                    m.write(data[off:off + mib])


# --- concurrency ------------------------------------------------------------------------

def threads(d, n, size):
    os.makedirs(d, exist_ok=True)
    errs = []

    def one(i):
        try:
            data = pattern(100 + i, size)
            with open(os.path.join(d, "t%d.bin" % i), "wb") as f:
                for off in range(0, size, 65536):
                    f.write(data[off:off + 65536])
        except Exception as e:  # noqa: BLE001
            errs.append("%d: %r" % (i, e))

    ts = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    report("%d threads wrote without error" % n, not errs, "; ".join(errs))


def excl(path, tag, gofile):
    open(gofile + ".ready." + tag, "w").close()
    deadline = time.monotonic() + 30
    while not os.path.exists(gofile) and time.monotonic() < deadline:
        pass	# spin: both start within microseconds
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except OSError as e:
        print("%s %s" % (errno.errorcode.get(e.errno, e.errno), tag), flush=True)
        return
    os.write(fd, ("written by %s\n" % tag).encode())
    time.sleep(0.3)	# hold it: the other one tries while this is open
    os.close(fd)
    print("won %s" % tag, flush=True)


def stagesec(path, stagedir):
    f = open(path, "wb")
    f.write(b"secret" * 1000)
    f.flush()
    try:
        st = os.stat(stagedir)
        report("staging dir is 0700", stat.S_IMODE(st.st_mode) == 0o700, oct(st.st_mode))
        modes = {}
        for n in os.listdir(stagedir):
            try:	# other programs' staged files come and go
                modes[n] = os.lstat(os.path.join(stagedir, n)).st_mode
            except FileNotFoundError:
                pass
        names = list(modes)
        report("staging dir holds the open file", len(names) >= 2, repr(names))
        bad = [(n, oct(m)) for n, m in modes.items() if stat.S_IMODE(m) != 0o600]
        report("staged files are 0600", not bad, repr(bad))
        parts = [p for p in path.split("/") if p] + [os.path.splitext(os.path.basename(path))[0]]
        leaky = [n for n in names for p in parts if p.lower() in n.lower()]
        report("staged names carry no part of the path or key", not leaky,
               "%r contain parts of %s" % (leaky, path))
        report("staged files are regular files", all(stat.S_ISREG(m) for m in modes.values()))
    finally:
        f.close()


# --- a server that stops and comes back on the same port ----------------------------

def gate(upstream, portfile, statefile):
    host, port = upstream.rsplit(":", 1)
    conns = set()
    lock = threading.Lock()

    def listen(p):
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", p))
        s.listen(64)
        s.settimeout(0.05)
        return s

    def relay(a, b):
        try:
            while True:
                r, _, _ = select.select([a, b], [], [], 1)
                for x in r:
                    data = x.recv(1 << 16)
                    if not data:
                        return
                    (b if x is a else a).sendall(data)
        except OSError:
            pass
        finally:
            for x in (a, b):
                with lock:
                    conns.discard(x)
                x.close()

    ls = listen(0)
    mine = ls.getsockname()[1]
    with open(portfile + ".tmp", "w") as f:
        f.write(str(mine))
    os.rename(portfile + ".tmp", portfile)
    while True:
        try:
            with open(statefile) as f:
                up = f.read().strip() != "down"
        except FileNotFoundError:
            up = True
        if not up:
            if ls:
                ls.close()
                ls = None
                with lock:
                    for c in list(conns):
                        try:
                            c.shutdown(socket.SHUT_RDWR)
                        except OSError:
                            pass
            time.sleep(0.05)
            continue
        if not ls:
            ls = listen(mine)
        try:
            c, _ = ls.accept()
        except socket.timeout:
            continue
        c.settimeout(None)
        try:
            u = socket.create_connection((host, int(port)))
        except OSError:
            c.close()
            continue
        with lock:
            conns.update((c, u))
        threading.Thread(target=relay, args=(c, u), daemon=True).start()


def main():
    what, args = sys.argv[1], sys.argv[2:]
    if what == "gen":
        sys.stdout.buffer.write(pattern(int(args[0]), int(args[1])))
    elif what == "pyfiles":
        pyfiles(args[0], args[1])
    elif what == "numpy":
        numpy_save(args[0], args[1])
    elif what == "natives":
        natives(args[0], args[1])
    elif what == "twoopens":
        twoopens(args[0], args[1])
    elif what == "streamed":
        streamed(args[0], int(args[1]), int(args[2]))
    elif what == "zip":
        zip_archive(args[0], int(args[1]))
    elif what == "checkpoint":
        checkpoint(args[0], args[1])
    elif what == "modes":
        modes(args[0])
    elif what == "exitnow":
        exitnow(args[0], int(args[1]), int(args[2]), args[3])
    elif what == "fork":
        fork_write(args[0], int(args[1]), int(args[2]), args[3])
    elif what == "versions":
        versions(args[0])
    elif what == "ryow":
        ryow(args[0])
    elif what == "children":
        ryow_children(args[0])
    elif what == "ns":
        ns(args[0])
    elif what == "errno":
        errno_all(args[0], int(args[1]), args[2] if len(args) > 2 else None)
    elif what == "hold":
        hold(args[0], int(args[1]), int(args[2]), args[3])
    elif what == "sametick":
        sametick(args[0], int(args[1]), int(args[2]), args[3])
    elif what == "threads":
        threads(args[0], int(args[1]), int(args[2]))
    elif what == "excl":
        excl(args[0], args[1], args[2])
    elif what == "gate":
        gate(args[0], args[1], args[2])
    elif what == "stagesec":
        stagesec(args[0], args[1])
    else:
        raise SystemExit("writecheck.py: unknown check " + what)


if __name__ == "__main__":
    main()
