# SPDX-License-Identifier: MIT
"""Checks of the read path that need a real program's view: offsets, errno,
request counts.  Run through the shim; prints "ok NAME" or "FAIL NAME why".

    readcheck.py bytes MOUNTED LOCAL       open/read/seek/tell/stat/chunks
    readcheck.py errors MOUNT_DIR          ENOENT, EROFS, EISDIR, ENOTDIR
    readcheck.py dup MOUNTED LOCAL         dup shares the offset; sendfile
    readcheck.py requests MOUNTED LOCAL LOG   sequential read: requests in nginx's log
    readcheck.py small MOUNTED LOCAL LOG      a file smaller than an open's first GET
    readcheck.py random MOUNTED LOCAL LOG     random pread: bytes fetched, then cached
    readcheck.py kept MOUNTED LOCAL LOG       random preads from a slow server, read twice
    readcheck.py passes MOUNTED LOCAL LOG     three sequential passes in small reads
    readcheck.py window MOUNTED LOCAL LOG near|far   how wide read-ahead goes
    readcheck.py threads MOUNTED LOCAL LOG    two threads reading in turn: their connections
    readcheck.py streams DIR LOCAL_DIR LOG    eight files read at once by eight threads
    readcheck.py turns DIR LOCAL_DIR LOG N    N files read in turn, 1 MiB from each
    readcheck.py closed DIR LOCAL_DIR LOG N M   the first M MiB of N files, one after another
    readcheck.py scanned MOUNTED LOCAL LOG    random reads after a scan
    readcheck.py stale MOUNTED LOCAL       object replaced under an open file
    readcheck.py errno MOUNTED ERRNO       opening and reading fails with ERRNO
"""
import errno
import os
import random
import sys
import threading
import time


def report(name, good, why=""):
    print(("ok " if good else "FAIL ") + name + ("" if good else " " + why), flush=True)


def expect_errno(name, code, fn):
    try:
        fn()
    except OSError as e:
        report(name, e.errno == code, "errno %s, wanted %s" % (e.errno, code))
        return
    report(name, False, "no error, wanted errno %d" % code)


def bytes_check(mounted, local):
    want = open(local, "rb").read()
    st = os.stat(mounted)
    report("stat size", st.st_size == len(want), "%d != %d" % (st.st_size, len(want)))
    report("stat is regular file", (st.st_mode & 0o170000) == 0o100000)
    report("getsize", os.path.getsize(mounted) == len(want))
    report("isdir of parent", os.path.isdir(os.path.dirname(mounted)))
    with open(mounted, "rb") as f:
        report("read all", f.read() == want)
        f.seek(0)
        report("tell after seek", f.tell() == 0)
        f.seek(len(want) // 3)
        chunk = f.read(12345)
        report("seek then read", chunk == want[len(want) // 3:len(want) // 3 + 12345])
        report("tell after read", f.tell() == len(want) // 3 + len(chunk))
        f.seek(-100, os.SEEK_END)
        report("seek from end", f.read() == want[-100:])
        report("read at EOF", f.read() == b"")
    rng = random.Random(42)
    fd = os.open(mounted, os.O_RDONLY)
    good = True
    for _ in range(300):
        off = rng.randrange(0, len(want) + 10)
        n = rng.choice([1, 7, 4096, 65536, 65537, 300000])
        got = os.pread(fd, n, off)
        if got != want[off:off + n]:
            good = False
            break
    report("random preads", good, "at %d len %d" % (off, n))
    pos, good = 0, True
    os.lseek(fd, 0, os.SEEK_SET)
    while pos < len(want):
        n = rng.randrange(1, 1 << 20)
        got = os.read(fd, n)
        if got != want[pos:pos + n]:
            good = False
            break
        pos += len(got)
    report("reads in random chunks", good and os.read(fd, 10) == b"")
    os.close(fd)


def errors_check(top):
    expect_errno("missing object is ENOENT", errno.ENOENT,
                 lambda: open(os.path.join(top, "no-such-object"), "rb"))
    expect_errno("stat of missing is ENOENT", errno.ENOENT,
                 lambda: os.stat(os.path.join(top, "no/such/dir/x")))
    expect_errno("open for writing is EROFS", errno.EROFS,
                 lambda: open(os.path.join(top, "new-file"), "wb"))
    expect_errno("O_RDWR of existing is EROFS", errno.EROFS,
                 lambda: os.open(os.path.join(top, "small.txt"), os.O_RDWR))
    expect_errno("O_EXCL of existing is EEXIST", errno.EEXIST,
                 lambda: os.open(os.path.join(top, "small.txt"), os.O_RDONLY | os.O_CREAT | os.O_EXCL))
    expect_errno("O_DIRECTORY of file is ENOTDIR", errno.ENOTDIR,
                 lambda: os.open(os.path.join(top, "small.txt"), os.O_RDONLY | os.O_DIRECTORY))
    expect_errno("write to mounted fd is EBADF", errno.EBADF,
                 lambda: os.write(os.open(os.path.join(top, "small.txt"), os.O_RDONLY), b"x"))
    report("access R_OK", os.access(os.path.join(top, "small.txt"), os.R_OK))
    report("access W_OK refused", not os.access(os.path.join(top, "small.txt"), os.W_OK))


def dup_check(mounted, local):
    want = open(local, "rb").read()
    fd = os.open(mounted, os.O_RDONLY)
    fd2 = os.dup(fd)
    a = os.read(fd, 1000)
    b = os.read(fd2, 1000)
    report("dup shares offset", a == want[:1000] and b == want[1000:2000])
    report("lseek seen by dup", os.lseek(fd2, 0, os.SEEK_CUR) == 2000 and
           os.lseek(fd, 0, os.SEEK_CUR) == 2000)
    os.dup2(fd, 50)
    report("dup2 reads on", os.read(50, 10) == want[2000:2010])
    os.close(fd)
    report("duplicate survives close", os.read(fd2, 10) == want[2010:2020])
    report("F_GETFL says read-only", (__import__("fcntl").fcntl(fd2, 1 + 2) & 3) == os.O_RDONLY)
    os.close(fd2)
    os.close(50)
    out = "/tmp/cloudshim-sendfile-%d" % os.getpid()
    src = os.open(mounted, os.O_RDONLY)
    dst = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    done = 0
    while True:
        n = os.sendfile(dst, src, done, 1 << 20)
        if n == 0:
            break
        done += n
    os.close(src)
    os.close(dst)
    report("sendfile copies the bytes", open(out, "rb").read() == want)
    os.unlink(out)


def log_lines(log, start, name):
    """nginx access log lines after line start, for requests of name.  nginx
    writes a line once the response has gone, which can be after the client
    has its bytes: the log is read when it has stopped growing (50 ms)."""
    size, deadline = -1, time.monotonic() + 5
    while os.path.getsize(log) != size and time.monotonic() < deadline:
        size = os.path.getsize(log)
        time.sleep(0.05)
    with open(log) as f:
        lines = f.read().splitlines()[start:]
    return [l.split("\t") for l in lines if name in l.split("\t")[1]]


def requests_check(mounted, local, log):
    want = open(local, "rb").read()
    name = "/" + os.path.basename(local)
    start = len(open(log).read().splitlines())
    with open(mounted, "rb") as f:
        data = f.read(4096)
        while True:
            piece = f.read(128 << 10)
            if not piece:
                break
            data += piece
    report("sequential read bytes", data == want)
    reqs = log_lines(log, start, name)
    gets = [r for r in reqs if r[0] == "GET"]
    heads = [r for r in reqs if r[0] == "HEAD"]
    fetched = sum(int(r[4]) for r in gets)
    report("the open asks no HEAD: its GET of the first bytes says it all",
           not heads and gets and gets[0][3] == "bytes=0-262143",
           "%d HEADs, first GET %s" % (len(heads), gets[0][3] if gets else "none"))
    report("sequential read uses ranges", len(gets) >= 4 and all(r[3] != "-" for r in gets),
           "%d GETs" % len(gets))
    report("sequential read is parallel", len({r[7] for r in gets}) >= 2,
           "%d connections" % len({r[7] for r in gets}))
    report("no byte fetched twice", fetched == len(want), "%d fetched for %d" % (fetched, len(want)))


def small_check(mounted, local, log):
    """A file smaller than what an open fetches, opened by name: one request."""
    want = open(local, "rb").read()
    name = "/" + os.path.basename(local)
    start = len(open(log).read().splitlines())
    with open(mounted, "rb") as f:
        got = f.read()
        size = os.fstat(f.fileno()).st_size
    reqs = log_lines(log, start, name)
    report("small file by name: bytes and size", got == want and size == len(want),
           "%d bytes, size %d" % (len(got), size))
    report("small file by name: one request", len(reqs) == 1 and reqs[0][0] == "GET",
           " ".join(r[0] for r in reqs))


def random_check(mounted, local, log):
    """In a process of its own: nothing of the object is cached yet."""
    want = open(local, "rb").read()
    name = "/" + os.path.basename(local)
    start = len(open(log).read().splitlines())
    fd = os.open(mounted, os.O_RDONLY)
    off = len(want) // 2 + 12345
    ok = os.pread(fd, 4096, off) == want[off:off + 4096]
    reqs = [r for r in log_lines(log, start, name) if r[0] == "GET"]
    fetched = sum(int(r[4]) for r in reqs)
    report("random 4 KiB pread fetches at most 1 MiB", ok and 0 < fetched <= (1 << 20),
           "%d bytes" % fetched)
    start = len(open(log).read().splitlines())
    ok = os.pread(fd, 4096, off) == want[off:off + 4096]
    os.close(fd)
    with open(mounted, "rb", buffering=0) as f:
        f.seek(off)
        ok = ok and f.read(4096) == want[off:off + 4096]
    reqs = [r for r in log_lines(log, start, name) if r[0] == "GET"]
    report("second read of cached data makes no request", ok and not reqs,
           "%d requests" % len(reqs))


def read_in_pieces(path, size):
    """The whole file at path, read unbuffered size bytes at a time."""
    got = []
    with open(path, "rb", buffering=0) as f:
        while True:
            b = f.read(size)
            if not b:
                break
            got.append(b)
    return b"".join(got)


def passes_check(mounted, local, log):
    """Three passes in 8 KiB reads: a second pass may fetch the object again
    (the first may have recycled its pages), a third reads the cache."""
    want = open(local, "rb").read()
    name = "/" + os.path.basename(local)
    fetched = []
    ok = True
    for _ in range(3):
        start = len(open(log).read().splitlines())
        ok = ok and read_in_pieces(mounted, 8192) == want
        reqs = [r for r in log_lines(log, start, name) if r[0] == "GET"]
        fetched.append(sum(int(r[4]) for r in reqs))
    report("three sequential passes read the object's bytes", ok)
    report("a second sequential pass fetches the object at most once more",
           fetched[1] <= len(want), "fetched %s for %d" % (fetched, len(want)))
    report("a third sequential pass makes no request", fetched[2] == 0,
           "fetched %s for %d" % (fetched, len(want)))


def kept_check(mounted, local, log):
    """Random reads from a server 20 ms away, read again: the cache kept them."""
    want = open(local, "rb").read()
    name = "/" + os.path.basename(local)
    offs = [i << 16 for i in range(128)]  # 8 MiB: more than a few slabs
    fd = os.open(mounted, os.O_RDONLY)
    ok = True
    for rnd in range(2):
        random.Random(rnd).shuffle(offs)
        start = len(open(log).read().splitlines())
        for off in offs:
            ok = ok and os.pread(fd, 1 << 16, off) == want[off:off + (1 << 16)]
        reqs = [r for r in log_lines(log, start, name) if r[0] == "GET"]
    os.close(fd)
    report("random reads from a distant server are kept: a second pass makes no request",
           ok and not reqs, "%d requests" % len(reqs))


def range_end(field):
    """One past the last byte of a logged Range header "bytes=A-B", or 0."""
    if not field.startswith("bytes="):
        return 0
    last = field[6:].split("-")[1]
    return int(last) + 1 if last.isdigit() else 0


def window_check(mounted, local, log, where):
    """A sequential read, paused half way to see how far ahead the shim has
    asked: from a server that answers within a millisecond (near), no more
    than 32 MiB, in 4 parallel parts of at most 8 MiB; from one 20 ms away
    (far), it widens towards readahead_mb (128 MiB by default)."""
    name = "/" + os.path.basename(local)
    start = len(open(log).read().splitlines())
    size = os.path.getsize(local)
    half, asked, paused = size // 2, 0, 0
    ok = True
    fd = os.open(mounted, os.O_RDONLY)
    with open(local, "rb") as w:
        pos = 0
        while True:
            if not paused and pos >= half:
                paused = pos
                time.sleep(0.5)  # what was asked by now has been answered and logged
                asked = max((range_end(r[3]) for r in log_lines(log, start, name)
                             if r[0] == "GET"), default=0)
            piece = os.read(fd, 128 << 10)
            ok = ok and piece == w.read(128 << 10)
            if not piece:
                break
            pos += len(piece)
    os.close(fd)
    gets = [r for r in log_lines(log, start, name) if r[0] == "GET"]
    most = max((int(r[4]) for r in gets), default=0)
    ahead = asked - paused
    report("sequential read from a %s server: bytes" % where, ok)
    if where == "near":
        report("read-ahead from a server nearby stays within 32 MiB",
               0 < ahead <= (32 << 20), "asked %d bytes past the reader" % ahead)
        report("read-ahead from a server nearby: parts over 2 MiB, 8 MiB at most (32 MiB / 4)",
               (2 << 20) < most <= (8 << 20), "largest GET %d bytes of %d" % (most, len(gets)))
    else:
        report("read-ahead from a server far away widens past 32 MiB",
               ahead > (32 << 20), "asked %d bytes past the reader" % ahead)


def threads_check(mounted, local, log):
    """Two threads read at once (from a server 20 ms away, so they overlap:
    two connections), then in turn.  Each keeps the connection it had: a
    thread gets back the handle it put back last, not whichever handle was
    put back last (which, taking turns, would be the other thread's)."""
    want = open(local, "rb").read()
    name = "/" + os.path.basename(local)
    step = (len(want) // 40) & ~0xffff
    # far apart and falling: nothing looks sequential
    offs = [[len(want) - (2 * i + t + 1) * step for i in range(8)] for t in range(2)]
    start = len(open(log).read().splitlines())
    fds = [os.open(mounted, os.O_RDONLY) for _ in range(2)]
    both = threading.Barrier(2)
    turn = [threading.Event(), threading.Event()]
    ok = [True, True]

    def reader(t):
        for i, off in enumerate(offs[t]):
            if i == 0:
                both.wait()
            else:
                turn[t].wait()
                turn[t].clear()
            ok[t] = ok[t] and os.pread(fds[t], 4096, off) == want[off:off + 4096]
            if i == 0:
                both.wait()
                if t == 0:
                    turn[0].set()
            else:
                turn[1 - t].set()

    threads = [threading.Thread(target=reader, args=(t,)) for t in range(2)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
    for fd in fds:
        os.close(fd)
    gets = [r for r in log_lines(log, start, name) if r[0] == "GET"]
    conns = [set(), set()]
    for r in gets:
        first = int(r[3].split("=")[1].split("-")[0])
        for t in range(2):
            if any(off <= first < off + 4096 for off in offs[t][1:]):
                conns[t].add(r[7])
    report("two threads reading in turn: bytes", all(ok) and not any(th.is_alive() for th in threads))
    report("two threads reading in turn keep a connection each",
           len(conns[0]) == 1 and len(conns[1]) == 1 and conns[0] != conns[1],
           "connections %s and %s over %d GETs" % (sorted(conns[0]), sorted(conns[1]), len(gets)))


def streams_check(mounted_dir, local_dir, log):
    """Eight files s0.bin ... s7.bin, each read by its own thread in 8 KiB
    pieces at once, through a cache half their size (the caller sets it):
    each file's read-ahead must leave the others' alone, and a page gone
    before its reader came is fetched again whole, not a read at a time."""
    names = ["s%d.bin" % i for i in range(8)]
    ok = {}

    def reader(name):
        want = open(os.path.join(local_dir, name), "rb").read()
        ok[name] = read_in_pieces(os.path.join(mounted_dir, name), 8192) == want

    total = sum(os.path.getsize(os.path.join(local_dir, n)) for n in names)
    start = len(open(log).read().splitlines())
    threads = [threading.Thread(target=reader, args=(n,)) for n in names]
    for th in threads:
        th.start()
    for th in threads:
        th.join(100)
    gets = [r for n in names for r in log_lines(log, start, "/" + n) if r[0] == "GET"]
    fetched = sum(int(r[4]) for r in gets)
    report("eight files read at once: every byte right", all(ok.get(n) for n in names))
    report("eight files read at once fetch at most 1.25 times their bytes",
           fetched <= total * 5 // 4, "%d bytes for %d" % (fetched, total))
    report("eight files read at once: at most 4 requests a MiB",
           len(gets) <= 4 * (total >> 20), "%d requests for %d MiB" % (len(gets), total >> 20))


def turns_check(mounted_dir, local_dir, log, count):
    """Files t00.bin ... read in turn by one thread, 1 MiB from each, until
    all are read, through a cache of 1 MiB a file (the caller sets it):
    read-ahead the reader will reach soon must not be what gives way, or
    every read misses what the read before it evicted."""
    names = ["t%02d.bin" % i for i in range(count)]
    files = [open(os.path.join(mounted_dir, n), "rb", buffering=0) for n in names]
    wants = [open(os.path.join(local_dir, n), "rb") for n in names]
    total = sum(os.path.getsize(os.path.join(local_dir, n)) for n in names)
    start = len(open(log).read().splitlines())
    ok, live = True, list(range(count))
    while live:
        for i in list(live):
            piece = files[i].read(1 << 20)
            ok = ok and piece == wants[i].read(1 << 20)
            if len(piece) < (1 << 20):
                live.remove(i)
    for f in files + wants:
        f.close()
    gets = [r for n in names for r in log_lines(log, start, "/" + n) if r[0] == "GET"]
    fetched = sum(int(r[4]) for r in gets)
    report("%d files read in turn: every byte right" % count, ok)
    report("%d files read in turn fetch at most 1.1 times their bytes" % count,
           fetched <= total * 11 // 10, "%d bytes for %d" % (fetched, total))


def closed_check(mounted_dir, local_dir, log, count, mib):
    """Files t00.bin ... opened one after another; the first mib MiB of
    each read in 128 KiB pieces, then closed: what was read ahead and not
    read, once its file is closed, must not crowd out the read-ahead of the
    files opened after it (through a cache the caller makes small), or they
    are read a piece at a time."""
    names = ["t%02d.bin" % i for i in range(count)]
    start = len(open(log).read().splitlines())
    ok = True
    for n in names:
        with open(os.path.join(mounted_dir, n), "rb", buffering=0) as f, \
                open(os.path.join(local_dir, n), "rb") as w:
            for _ in range(mib * 8):
                ok = ok and f.read(128 << 10) == w.read(128 << 10)
    gets = [r for n in names for r in log_lines(log, start, "/" + n) if r[0] == "GET"]
    small = sum(1 for r in gets if int(r[4]) <= (128 << 10))
    report("%d files read in part one after another: bytes right" % count, ok)
    report("files opened after others were closed are read ahead: at most 2 GETs"
           " of 128 KiB or less a file", small <= 2 * count,
           "%d of %d GETs" % (small, len(gets)))


def scanned_check(mounted, local, log):
    """A scan through a cache a third of the object (the caller sets it),
    then random 4 KiB reads of bytes the scan read and the cache evicted:
    each fetches its two blocks, not the 64 KiB page a hole in a sequential
    reader's read-ahead brings back."""
    want = open(local, "rb").read()
    name = "/" + os.path.basename(local)
    with open(mounted, "rb", buffering=0) as f:
        while f.read(1 << 20):
            pass
    start = len(open(log).read().splitlines())
    fd = os.open(mounted, os.O_RDONLY)
    ok = True
    for mib in [3, 11, 7, 1, 13, 5, 9, 15]:
        off = (mib << 20) + 12345
        ok = ok and os.pread(fd, 4096, off) == want[off:off + 4096]
    os.close(fd)
    sizes = [int(r[4]) for r in log_lines(log, start, name) if r[0] == "GET"]
    report("random reads after a scan: bytes right", ok)
    report("random 4 KiB reads after a scan fetch 8 KiB each",
           len(sizes) == 8 and all(n <= 8192 for n in sizes), "fetched %s" % sizes)


def stale_check(mounted, local):
    fd = os.open(mounted, os.O_RDONLY)
    want = open(local, "rb").read(4096)
    report("read before the change", os.pread(fd, 4096, 0) == want)
    tmp = local + ".new"
    with open(tmp, "wb") as f:
        f.write(os.urandom(os.path.getsize(local)))
    os.rename(tmp, local)
    expect_errno("object replaced under open file is ESTALE", errno.ESTALE,
                 lambda: os.pread(fd, 4096, os.path.getsize(local) - 8192))
    os.close(fd)


def errno_check(mounted, code):
    def go():
        with open(mounted, "rb") as f:
            f.read()
    expect_errno("errno %s" % errno.errorcode.get(code, code), code, go)


def main():
    what = sys.argv[1]
    if what == "bytes":
        bytes_check(sys.argv[2], sys.argv[3])
    elif what == "errors":
        errors_check(sys.argv[2])
    elif what == "dup":
        dup_check(sys.argv[2], sys.argv[3])
    elif what == "requests":
        requests_check(sys.argv[2], sys.argv[3], sys.argv[4])
    elif what == "small":
        small_check(sys.argv[2], sys.argv[3], sys.argv[4])
    elif what == "random":
        random_check(sys.argv[2], sys.argv[3], sys.argv[4])
    elif what == "kept":
        kept_check(sys.argv[2], sys.argv[3], sys.argv[4])
    elif what == "passes":
        passes_check(sys.argv[2], sys.argv[3], sys.argv[4])
    elif what == "window":
        window_check(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5])
    elif what == "threads":
        threads_check(sys.argv[2], sys.argv[3], sys.argv[4])
    elif what == "streams":
        streams_check(sys.argv[2], sys.argv[3], sys.argv[4])
    elif what == "turns":
        turns_check(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]))
    elif what == "closed":
        closed_check(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), int(sys.argv[6]))
    elif what == "scanned":
        scanned_check(sys.argv[2], sys.argv[3], sys.argv[4])
    elif what == "stale":
        stale_check(sys.argv[2], sys.argv[3])
    elif what == "errno":
        errno_check(sys.argv[2], int(sys.argv[3]))
    else:
        sys.exit("unknown check " + what)


main()
