#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""fsfuzz.py - random file operations on a mount and on a local directory, side by side.

    fsfuzz.py MOUNTED LOCAL SEED OPS

Runs OPS operations drawn from SEED, each once under MOUNTED (through the
shim) and once under LOCAL (a local directory, the reference): open with
every meaningful mix of O_RDONLY/O_WRONLY/O_RDWR, O_CREAT, O_TRUNC,
O_APPEND and O_EXCL; read, pread, write, pwrite (past the end too),
lseek, ftruncate, fstat, dup, fsync, close, preadv, writev,
posix_fallocate, F_GETFL, shared mappings (read, and written through
O_RDWR), copy_file_range out to a local file, and a forked child writing at
the shared offset, on the descriptors; stat, truncate, unlink, rename and
listings on the names, with descriptors still open across them.  Each call must give what the local one gave: the same
bytes, offsets and sizes, or the same errno.  Every few operations, and at
the end, each name is read back whole through the mount.  Prints one line
per check ("ok NAME" / "FAIL NAME: why") as the other checks do: the first
difference fails the run, with the operations that led to it.

After the program has exited (the shim has waited for its uploads), the
caller compares the store with LOCAL by another way than the shim.
"""
import errno
import fcntl
import mmap
import os
import random
import stat
import sys
import tempfile

NAMES = ["f0", "f1", "f2", "d/f3", "d/f4"]
MAX_FDS = 6
MAX_WRITE = 300 << 10
MAX_OFF = 3 << 20

OPEN_FLAGS = [
    os.O_RDONLY,
    os.O_WRONLY | os.O_CREAT | os.O_TRUNC,
    os.O_WRONLY | os.O_CREAT | os.O_APPEND,
    os.O_WRONLY | os.O_CREAT | os.O_EXCL,
    os.O_WRONLY,
    os.O_RDWR,
    os.O_RDWR | os.O_CREAT,
    os.O_RDWR | os.O_CREAT | os.O_TRUNC,
    os.O_RDWR | os.O_APPEND,
    os.O_RDWR | os.O_CREAT | os.O_EXCL,
    os.O_WRONLY | os.O_TRUNC,
]


def outcome(fn, *args):
    """('ok', value) or ('err', errno name)."""
    try:
        return ("ok", fn(*args))
    except OSError as e:
        return ("err", errno.errorcode.get(e.errno, str(e.errno)))


def flag_names(flags):
    acc = {os.O_RDONLY: "O_RDONLY", os.O_WRONLY: "O_WRONLY", os.O_RDWR: "O_RDWR"}
    words = [acc[flags & os.O_ACCMODE]]
    for bit, name in ((os.O_CREAT, "O_CREAT"), (os.O_TRUNC, "O_TRUNC"),
                      (os.O_APPEND, "O_APPEND"), (os.O_EXCL, "O_EXCL")):
        if flags & bit:
            words.append(name)
    return "|".join(words)


class OpenFile:
    """What open made and dup shares: a name (None once unlinked) and flags."""
    def __init__(self, name, flags):
        self.name, self.flags = name, flags
        self.writes = (flags & os.O_ACCMODE) != os.O_RDONLY
        # Writing: the shim has it staged, a file of this process's own.
        # Until then (O_RDONLY, or O_RDWR of an existing file before its
        # first write) it reads the object version it opened.
        self.live = self.writes and (
            (flags & os.O_ACCMODE) == os.O_WRONLY or bool(flags & os.O_TRUNC))


class Desc:
    """One descriptor, opened both ways."""
    def __init__(self, num, m, l, of):
        self.num, self.m, self.l, self.of = num, m, l, of

    def __str__(self):
        return "fd%d (%s %s)" % (self.num, self.of.name or "unlinked", flag_names(self.of.flags))


class Fuzz:
    def __init__(self, mounted, local, seed):
        self.m, self.l = mounted, local
        self.rng = random.Random(seed)
        self.fds = []
        self.opened = 0
        self.trail = []         # the operations so far, for a failure's report
        self.failed = None

    def both(self, desc, fn_m, fn_l, same=lambda a, b: a == b):
        """Runs one operation both ways; a difference ends the run."""
        self.trail.append(desc)
        a, b = fn_m(), fn_l()
        if self.failed is None and not same(a, b):
            shown = [repr(x)[:120] for x in (a, b)]
            self.failed = "%s: mount %s, local %s" % (desc, shown[0], shown[1])
        return a, b

    def data(self, n):
        return self.rng.randbytes(n)

    def drop(self, d, why):
        """Closes d both ways, unchecked beyond close itself."""
        self.both("close %s: %s" % (d, why), lambda: outcome(os.close, d.m),
                  lambda: outcome(os.close, d.l))
        self.fds.remove(d)

    def changed(self, name, by=None):
        """
        name's bytes changed (by descriptor by, or by a path call): a
        descriptor that reads the version it opened no longer reads what a
        local one does (it keeps its version, or gets ESTALE; see the
        README), so it is closed, not compared.
        """
        for d in [d for d in self.fds if d.of.name == name and d.of is not by and not d.of.live]:
            self.drop(d, "%s changed" % name)

    def new_desc(self, m, l, of):
        self.opened += 1
        d = Desc(self.opened, m, l, of)
        self.fds.append(d)
        return d

    def op_open(self):
        if len(self.fds) >= MAX_FDS:
            return
        name = self.rng.choice(NAMES)
        flags = self.rng.choice(OPEN_FLAGS)
        existed = os.path.exists(os.path.join(self.l, name))
        a, b = self.both("open %s %s" % (name, flag_names(flags)),
                         lambda: outcome(os.open, os.path.join(self.m, name), flags, 0o644),
                         lambda: outcome(os.open, os.path.join(self.l, name), flags, 0o644),
                         lambda a, b: a[0] == b[0] and (a[0] == "ok" or a == b))
        if a[0] == "ok" and b[0] == "ok":
            of = self.new_desc(a[1], b[1], OpenFile(name, flags)).of
            if of.writes and not existed:
                of.live = True          # a new file is staged at once
            if of.live and (flags & os.O_TRUNC or not existed):
                self.changed(name, of)
        else:
            for r in (a, b):
                if r[0] == "ok":
                    os.close(r[1])

    def wrote(self, d, result):
        if result[0] == "ok" and d.of.writes:
            d.of.live = True
            if d.of.name:
                self.changed(d.of.name, d.of)

    def op_fd(self):
        if not self.fds:
            return self.op_open()
        r = self.rng
        d = r.choice(self.fds)
        mfd, lfd = d.m, d.l
        kind = r.choice(["read", "read", "pread", "pread", "write", "write", "write",
                         "pwrite", "pwrite", "lseek", "lseek", "ftruncate", "fstat",
                         "dup", "fsync", "close", "close", "readv", "writev",
                         "fallocate", "getfl", "mmap", "copyout", "fork"])
        tag = "%s %s" % (kind, d)
        if kind == "read":
            n = r.choice([0, 1, 4096, 65536, r.randrange(1, MAX_WRITE)])
            self.both("%s %d" % (tag, n), lambda: outcome(os.read, mfd, n),
                      lambda: outcome(os.read, lfd, n))
        elif kind == "pread":
            n, off = r.randrange(1, MAX_WRITE), r.randrange(MAX_OFF)
            self.both("%s %d at %d" % (tag, n, off), lambda: outcome(os.pread, mfd, n, off),
                      lambda: outcome(os.pread, lfd, n, off))
        elif kind == "write":
            buf = self.data(r.randrange(1, MAX_WRITE))
            a, _ = self.both("%s %d" % (tag, len(buf)), lambda: outcome(os.write, mfd, buf),
                             lambda: outcome(os.write, lfd, buf))
            self.wrote(d, a)
        elif kind == "pwrite":
            buf, off = self.data(r.randrange(1, MAX_WRITE)), r.randrange(MAX_OFF)
            a, _ = self.both("%s %d at %d" % (tag, len(buf), off),
                             lambda: outcome(os.pwrite, mfd, buf, off),
                             lambda: outcome(os.pwrite, lfd, buf, off))
            self.wrote(d, a)
        elif kind == "lseek":
            whence = r.choice([os.SEEK_SET, os.SEEK_CUR, os.SEEK_END])
            off = r.randrange(MAX_OFF) if whence == os.SEEK_SET else r.randrange(-4096, 65536)
            self.both("%s %d whence %d" % (tag, off, whence),
                      lambda: outcome(os.lseek, mfd, off, whence),
                      lambda: outcome(os.lseek, lfd, off, whence))
        elif kind == "ftruncate":
            n = r.randrange(MAX_OFF)
            a, _ = self.both("%s %d" % (tag, n), lambda: outcome(os.ftruncate, mfd, n),
                             lambda: outcome(os.ftruncate, lfd, n))
            self.wrote(d, a)
        elif kind == "fstat":
            self.both(tag, lambda: outcome(lambda: os.fstat(mfd).st_size),
                      lambda: outcome(lambda: os.fstat(lfd).st_size))
        elif kind == "dup":
            if len(self.fds) < MAX_FDS:
                a, b = self.both(tag, lambda: outcome(os.dup, mfd), lambda: outcome(os.dup, lfd),
                                 lambda a, b: a[0] == b[0])
                if a[0] == "ok" and b[0] == "ok":
                    self.new_desc(a[1], b[1], d.of)
        elif kind == "fsync":
            self.both(tag, lambda: outcome(os.fsync, mfd), lambda: outcome(os.fsync, lfd))
        elif kind == "readv":
            sizes = [r.randrange(1, 70000) for _ in range(r.randrange(1, 4))]
            off = r.randrange(MAX_OFF)

            def readv(fd):
                bufs = [bytearray(n) for n in sizes]
                got = os.preadv(fd, bufs, off)
                return b"".join(bufs)[:got]
            self.both("%s %s at %d" % (tag, sizes, off), lambda: outcome(readv, mfd),
                      lambda: outcome(readv, lfd))
        elif kind == "writev":
            bufs = [self.data(r.randrange(1, 70000)) for _ in range(r.randrange(1, 4))]
            a, _ = self.both("%s %s" % (tag, [len(b) for b in bufs]),
                             lambda: outcome(os.writev, mfd, bufs),
                             lambda: outcome(os.writev, lfd, bufs))
            self.wrote(d, a)
        elif kind == "fallocate":
            off, n = r.randrange(MAX_OFF), r.randrange(1, 1 << 20)
            a, _ = self.both("%s %d at %d" % (tag, n, off),
                             lambda: outcome(os.posix_fallocate, mfd, off, n),
                             lambda: outcome(os.posix_fallocate, lfd, off, n))
            self.wrote(d, a)
        elif kind == "getfl":
            mask = os.O_ACCMODE | os.O_APPEND
            self.both(tag, lambda: outcome(lambda: fcntl.fcntl(mfd, fcntl.F_GETFL) & mask),
                      lambda: outcome(lambda: fcntl.fcntl(lfd, fcntl.F_GETFL) & mask))
        elif kind == "mmap":
            # a shared writable mapping changes bytes no call says; read-only ones read
            write = d.of.flags & os.O_ACCMODE == os.O_RDWR and r.random() < 0.5
            off, buf = r.randrange(4096), self.data(r.randrange(1, 8192))

            def mapped(fd):
                size = os.fstat(fd).st_size
                if size < off + len(buf):
                    return ("small", size)
                prot = mmap.PROT_READ | (mmap.PROT_WRITE if write else 0)
                with mmap.mmap(fd, size, mmap.MAP_SHARED, prot) as mm:
                    if write:
                        mm[off:off + len(buf)] = buf
                    return bytes(mm[off:off + len(buf)])
            a, _ = self.both("%s %s %d at %d" % (tag, "write" if write else "read", len(buf), off),
                             lambda: outcome(mapped, mfd), lambda: outcome(mapped, lfd))
            if write:
                self.wrote(d, a)
        elif kind == "copyout":
            n, off = r.randrange(1, MAX_WRITE), r.randrange(MAX_OFF)

            def copy(fd):
                with tempfile.TemporaryFile() as t:
                    got = os.copy_file_range(fd, t.fileno(), n, off)
                    t.seek(0)
                    return got, t.read()
            self.both("%s %d at %d" % (tag, n, off), lambda: outcome(copy, mfd),
                      lambda: outcome(copy, lfd))
        elif kind == "fork":
            # a child writes at the shared offset and leaves with _exit
            buf = self.data(r.randrange(1, MAX_WRITE))

            def child_write(fd):
                pid = os.fork()
                if pid == 0:
                    try:
                        n = os.write(fd, buf)
                        os._exit(0 if n == len(buf) else 3)
                    except OSError as e:
                        os._exit(100 + e.errno % 100)
                _, status = os.waitpid(pid, 0)
                return os.waitstatus_to_exitcode(status), os.lseek(fd, 0, os.SEEK_CUR)
            a, _ = self.both("%s %d" % (tag, len(buf)), lambda: outcome(child_write, mfd),
                             lambda: outcome(child_write, lfd))
            if a[0] == "ok" and a[1][0] == 0:
                self.wrote(d, ("ok",))
        else:
            self.both(tag, lambda: outcome(os.close, mfd), lambda: outcome(os.close, lfd))
            self.fds.remove(d)

    def op_name(self):
        r = self.rng
        kind = r.choice(["stat", "stat", "truncate", "unlink", "rename", "list"])
        name = r.choice(NAMES)
        pm, pl = os.path.join(self.m, name), os.path.join(self.l, name)
        if kind == "stat":
            def size(p):
                st = os.stat(p)
                return (stat.S_ISREG(st.st_mode), st.st_size)
            self.both("stat " + name, lambda: outcome(size, pm), lambda: outcome(size, pl))
        elif kind == "truncate":
            n = r.randrange(MAX_OFF)
            a, _ = self.both("truncate %s %d" % (name, n), lambda: outcome(os.truncate, pm, n),
                             lambda: outcome(os.truncate, pl, n))
            if a[0] == "ok":
                self.changed(name)
        elif kind == "unlink":
            a, _ = self.both("unlink " + name, lambda: outcome(os.unlink, pm),
                             lambda: outcome(os.unlink, pl))
            if a[0] == "ok":
                self.changed(name)
                for d in self.fds:
                    if d.of.name == name:
                        d.of.name = None
        elif kind == "rename":
            to = r.choice(NAMES)
            a, _ = self.both("rename %s %s" % (name, to),
                             lambda: outcome(os.rename, pm, os.path.join(self.m, to)),
                             lambda: outcome(os.rename, pl, os.path.join(self.l, to)))
            if a[0] == "ok" and to != name:
                self.changed(name)
                self.changed(to)
                for of in set(d.of for d in self.fds):
                    if of.name == to:
                        of.name = None
                    elif of.name == name:
                        of.name = to
        else:
            d = r.choice(["", "d"])
            self.both("listdir /" + d,
                      lambda: outcome(lambda: sorted(os.listdir(os.path.join(self.m, d)))),
                      lambda: outcome(lambda: sorted(os.listdir(os.path.join(self.l, d)))))

    def read_back(self, when):
        """Every name read whole through a new descriptor, against the local file."""
        def whole(p):
            fd = os.open(p, os.O_RDONLY)
            try:
                chunks = []
                while True:
                    c = os.read(fd, 1 << 20)
                    if not c:
                        return b"".join(chunks)
                    chunks.append(c)
            finally:
                os.close(fd)
        for name in NAMES:
            self.both("read back %s (%s)" % (name, when),
                      lambda: outcome(whole, os.path.join(self.m, name)),
                      lambda: outcome(whole, os.path.join(self.l, name)))

    def run(self, ops):
        for n in range(ops):
            roll = self.rng.random()
            if roll < 0.15:
                self.op_open()
            elif roll < 0.8:
                self.op_fd()
            elif roll < 0.97:
                self.op_name()
            else:
                self.read_back("after op %d" % n)
            if self.failed:
                return
        while self.fds:
            d = self.fds.pop()
            self.both("close %s at the end" % d, lambda: outcome(os.close, d.m),
                      lambda: outcome(os.close, d.l))
        self.read_back("at the end")


def main():
    if len(sys.argv) != 5:
        sys.stderr.write(__doc__)
        return 2
    mounted, local, seed, ops = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    for top in (mounted, local):
        os.makedirs(os.path.join(top, "d"), exist_ok=True)
    f = Fuzz(mounted, local, seed)
    f.run(ops)
    name = "fsfuzz seed %d, %d operations: each call as on a local disk" % (seed, ops)
    if f.failed:
        print("FAIL %s: %s" % (name, f.failed))
        print("info the last operations: " + "; ".join(f.trail[-25:]))
        if os.environ.get("FSFUZZ_TRAIL"):
            with open(os.environ["FSFUZZ_TRAIL"], "w") as t:
                t.write("\n".join(f.trail) + "\n")
        return 1
    print("ok " + name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
