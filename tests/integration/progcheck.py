# SPDX-License-Identifier: MIT
"""What Python programs do with a mounted tree, against the same on a local
copy.  Run through the shim; prints "ok NAME" or "FAIL NAME why".

    progcheck.py listing MOUNT LOCAL [noroot]   os.listdir/scandir/walk, glob,
                                         pathlib (rglob, iterdir), shutil.copytree
                                         (noroot: MOUNT holds only tree, lsp, misc)
    progcheck.py zip MOUNTED LOCAL       zipfile: members, random access
    progcheck.py numpy MOUNT LOCAL       numpy.load (+ mmap_mode), memmap, fromfile
    progcheck.py pool MOUNT LOCAL METHOD multiprocessing Pool (fork or spawn)
                                         whose workers read files opened before

MOUNT and LOCAL are the roots of the fixture tree (progfixtures.py).
"""
import errno
import glob
import hashlib
import multiprocessing
import os
import pathlib
import shutil
import stat
import sys
import tempfile
import zipfile


def report(name, good, why=""):
    print(("ok " if good else "FAIL ") + name + ("" if good else " " + str(why)[:300]), flush=True)


def attempt(name, fn):
    """report(name, fn()) where fn returns (good, why); an exception fails."""
    try:
        good, why = fn()
    except Exception as e:  # noqa: BLE001 - any error is the check's failure
        good, why = False, "%s: %s" % (type(e).__name__, e)
    report(name, good, why)


def isolated(name, fn):
    """attempt() in a forked child: a mapping the shim does not fill kills
    the process with SIGBUS, which then fails this check only."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        try:
            good, why = fn()
        except Exception as e:  # noqa: BLE001
            good, why = False, "%s: %s" % (type(e).__name__, e)
        os.write(w, (("1" if good else "0") + str(why)[:300]).encode())
        os._exit(0)
    os.close(w)
    data = b""
    while True:
        piece = os.read(r, 4096)
        if not piece:
            break
        data += piece
    os.close(r)
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        report(name, False, "killed by signal %d" % os.WTERMSIG(status))
    else:
        report(name, data[:1] == b"1", data[1:].decode(errors="replace") or "no result")


def diff(a, b):
    """why two lists differ, short"""
    if a == b:
        return ""
    sa, sb = set(map(repr, a)), set(map(repr, b))
    return "%d vs %d items; only mounted: %s; only local: %s" % (
        len(a), len(b), sorted(sa - sb)[:3], sorted(sb - sa)[:3])


def same(a, b):
    return a == b, diff(a, b) if isinstance(a, list) else "%r != %r" % (a, b)


# ------------------------------------------------------------------ listing --

def rel(paths, root):
    return sorted(os.path.relpath(p, root) for p in paths)


def walk(root):
    out = []
    for d, dirs, files in os.walk(root):
        r = os.path.relpath(d, root)
        out.append((r, sorted(dirs), sorted(files)))
    return sorted(out)


def scan(path):
    out = []
    with os.scandir(path) as it:
        for e in it:
            out.append((e.name, e.is_dir(), e.is_file(), e.is_symlink(),
                        e.stat().st_size if e.is_file() else -1))
    return sorted(out)


def listing(mount, local, root=True):
    for sub in ("tree/d03", "misc", "lsp/d1000") + ((".",) if root else ()):
        m, l = os.path.join(mount, sub), os.path.join(local, sub)
        attempt("os.listdir %s" % sub, lambda: same(sorted(os.listdir(m)), sorted(os.listdir(l))))
    attempt("os.listdir of bytes path", lambda: same(
        sorted(os.listdir(os.fsencode(mount + "/misc"))), sorted(os.listdir(os.fsencode(local + "/misc")))))
    attempt("os.scandir names, types, sizes", lambda: same(scan(mount + "/misc"), scan(local + "/misc")))
    attempt("os.scandir of the tree root", lambda: same(scan(mount + "/tree"), scan(local + "/tree")))

    def scandir_fd():
        fd = os.open(mount + "/misc", os.O_RDONLY | os.O_DIRECTORY)
        try:
            names = sorted(e.name for e in os.scandir(fd))
        finally:
            os.close(fd)
        return same(names, sorted(os.listdir(local + "/misc")))
    attempt("os.scandir(fd)", scandir_fd)
    attempt("os.walk", lambda: same(walk(mount + "/tree"), walk(local + "/tree")))
    attempt("os.walk topdown=False", lambda: same(
        [r for r, _, _ in os.walk(mount + "/misc", topdown=False)],
        [r.replace(local, mount, 1) for r, _, _ in os.walk(local + "/misc", topdown=False)]))

    def fwalk():
        got = sorted((os.path.relpath(d, mount), sorted(f)) for d, _, f, _ in os.fwalk(mount + "/misc"))
        want = sorted((os.path.relpath(d, local), sorted(f)) for d, _, f, _ in os.fwalk(local + "/misc"))
        return same(got, want)
    attempt("os.fwalk (dir fds, openat)", fwalk)
    attempt("glob.glob pattern", lambda: same(
        rel(glob.glob(mount + "/tree/d0[2-4]/f0?7.txt"), mount),
        rel(glob.glob(local + "/tree/d0[2-4]/f0?7.txt"), local)))
    attempt("glob.glob recursive **", lambda: same(
        rel(glob.glob(mount + "/misc/**", recursive=True), mount),
        rel(glob.glob(local + "/misc/**", recursive=True), local)))
    attempt("glob.glob root_dir", lambda: same(
        sorted(glob.glob("*/*.txt", root_dir=mount + "/misc")),
        sorted(glob.glob("*/*.txt", root_dir=local + "/misc"))))
    attempt("pathlib rglob", lambda: same(
        rel(map(str, pathlib.Path(mount, "tree").rglob("f09*.txt")), mount),
        rel(map(str, pathlib.Path(local, "tree").rglob("f09*.txt")), local)))
    attempt("pathlib iterdir + is_dir", lambda: same(
        sorted((p.name, p.is_dir()) for p in pathlib.Path(mount, "misc").iterdir()),
        sorted((p.name, p.is_dir()) for p in pathlib.Path(local, "misc").iterdir())))
    attempt("pathlib glob + read_bytes", lambda: same(
        [hashlib.md5(p.read_bytes()).hexdigest() for p in sorted(pathlib.Path(mount, "tree/d05").glob("f01*"))],
        [hashlib.md5(p.read_bytes()).hexdigest() for p in sorted(pathlib.Path(local, "tree/d05").glob("f01*"))]))
    attempt("os.path.isdir / exists / isfile", lambda: same(
        [os.path.isdir(mount + "/tree"), os.path.isdir(mount + "/tree/d01"), os.path.exists(mount + "/misc/sub"),
         os.path.isfile(mount + "/misc/sub"), os.path.isdir(mount + "/misc/empty"),
         os.path.exists(mount + "/tree/nope")],
        [True, True, True, False, False, False]))
    attempt("stat of a dir is S_ISDIR", lambda: same(stat.S_ISDIR(os.stat(mount + "/misc/sub").st_mode), True))
    attempt("os.listdir of a file is ENOTDIR", lambda: expect_oserror(
        errno.ENOTDIR, lambda: os.listdir(mount + "/misc/empty")))
    attempt("listing a missing dir is ENOENT", lambda: expect_oserror(
        errno.ENOENT, lambda: os.listdir(mount + "/no/such/dir")))

    def copytree():
        dst = tempfile.mkdtemp(prefix="cloudshim-copytree-")
        try:
            shutil.copytree(mount + "/misc", dst + "/misc")
            got = walk(dst + "/misc")
            ok = got == walk(local + "/misc")
            for d, _, files in os.walk(local + "/misc"):
                for f in files:
                    r = os.path.relpath(os.path.join(d, f), local + "/misc")
                    ok = ok and open(os.path.join(dst, "misc", r), "rb").read() == open(os.path.join(d, f), "rb").read()
            return ok, diff(got, walk(local + "/misc"))
        finally:
            shutil.rmtree(dst, ignore_errors=True)
    attempt("shutil.copytree out of the mount", copytree)

    def chdir_listing():
        here = os.getcwd()
        try:
            os.chdir(mount + "/misc")
            got = (os.getcwd(), sorted(os.listdir(".")), open("sub/deeper/leaf.txt", "rb").read())
        finally:
            os.chdir(here)
        return same(got, (mount + "/misc", sorted(os.listdir(local + "/misc")),
                          open(local + "/misc/sub/deeper/leaf.txt", "rb").read()))
    attempt("os.chdir into the mount, listdir('.'), relative open", chdir_listing)


def expect_oserror(code, fn):
    try:
        fn()
    except OSError as e:
        return e.errno == code, "errno %s, wanted %s" % (e.errno, code)
    return False, "no error"


# ---------------------------------------------------------------------- zip --

def zip_check(mounted, local):
    with zipfile.ZipFile(mounted) as zm, zipfile.ZipFile(local) as zl:
        report("zipfile namelist", zm.namelist() == zl.namelist(), diff(zm.namelist(), zl.namelist()))
        names = zl.namelist()
        order = [names[(i * 37) % len(names)] for i in range(len(names))]
        bad = [n for n in order if zm.read(n) != zl.read(n)]
        report("zipfile random access read of every member", not bad, "differ: %s" % bad[:3])
        with zm.open("blob.bin") as f:
            f.seek(700000)
            a = f.read(1000)
        report("zipfile member seek + read", a == zl.read("blob.bin")[700000:701000])
        report("zipfile testzip", zm.testzip() is None)


# -------------------------------------------------------------------- numpy --

def numpy_check(mount, local):
    import numpy as np
    m, l = mount + "/npy", local + "/npy"
    isolated("numpy.load", lambda: (np.array_equal(np.load(m + "/a.npy"), np.load(l + "/a.npy")), ""))
    isolated("numpy.load 2-D int32", lambda: (np.array_equal(np.load(m + "/b.npy"), np.load(l + "/b.npy")), ""))

    def load_mmap():
        a = np.load(m + "/a.npy", mmap_mode="r")
        w = np.load(l + "/a.npy")
        return isinstance(a, np.memmap) and np.array_equal(a[123456:223456], w[123456:223456]) \
            and np.array_equal(a, w), type(a).__name__
    isolated("numpy.load(mmap_mode='r')", load_mmap)

    def memmap():
        want = np.fromfile(l + "/raw.i32", dtype=np.int32)
        a = np.memmap(m + "/raw.i32", dtype=np.int32, mode="r")
        b = np.memmap(m + "/raw.i32", dtype=np.int32, mode="r", offset=4 * 1000000, shape=(50000,))
        return np.array_equal(a, want) and np.array_equal(b, want[1000000:1050000]), ""
    isolated("numpy.memmap (whole, and offset+shape)", memmap)

    def memmap_c():
        a = np.memmap(m + "/raw.i32", dtype=np.int32, mode="c")
        a[0] = -1
        return a[0] == -1 and np.fromfile(m + "/raw.i32", dtype=np.int32, count=1)[0] == \
            np.fromfile(l + "/raw.i32", dtype=np.int32, count=1)[0], ""
    isolated("numpy.memmap mode='c' (copy-on-write)", memmap_c)
    isolated("numpy.memmap mode='r+' is refused", lambda: expect_oserror(
        errno.EROFS, lambda: np.memmap(m + "/raw.i32", dtype=np.int32, mode="r+")))
    isolated("numpy.fromfile", lambda: (np.array_equal(np.fromfile(m + "/raw.i32", dtype=np.int32),
                                                      np.fromfile(l + "/raw.i32", dtype=np.int32)), ""))
    isolated("numpy.fromfile count+offset", lambda: (np.array_equal(
        np.fromfile(m + "/raw.i32", dtype=np.int32, count=1000, offset=40000),
        np.fromfile(l + "/raw.i32", dtype=np.int32, count=1000, offset=40000)), ""))

    def fromfile_obj():
        with open(m + "/raw.i32", "rb") as f, open(l + "/raw.i32", "rb") as g:
            f.seek(4096)
            g.seek(4096)
            a = np.fromfile(f, dtype=np.int32, count=5000)
            b = np.fromfile(g, dtype=np.int32, count=5000)
            return np.array_equal(a, b) and f.tell() == g.tell(), "tell %d vs %d" % (f.tell(), g.tell())
    isolated("numpy.fromfile of an open file object", fromfile_obj)

    def npz():
        a, b = np.load(m + "/c.npz"), np.load(l + "/c.npz")
        return sorted(a.files) == sorted(b.files) and all(np.array_equal(a[k], b[k]) for k in b.files), ""
    isolated("numpy.load .npz", npz)


# --------------------------------------------------------------------- pool --

# Set before the pool starts: inherited by forked workers.
G = {}
WAIT = 60  # seconds: a worker killed by a signal leaves Pool.map waiting forever


def fork_pread(task):
    off, n = task
    return hashlib.md5(os.pread(G["fd"], n, off)).hexdigest()


def fork_fileobj(task):
    off, n = task
    f = G["file"]
    f.seek(off)
    return hashlib.md5(f.read(n)).hexdigest()


def fork_memmap(task):
    off, n = task
    return float(G["arr"][off:off + n].sum())


def by_name(task):
    path, off, n = task
    with open(path, "rb") as f:
        f.seek(off)
        return hashlib.md5(f.read(n)).hexdigest()


def pool_check(mount, local, method):
    path, lpath = mount + "/text.txt", local + "/text.txt"
    want = open(lpath, "rb").read()
    tasks = [((i * 104729) % (len(want) - 5000), 1000 + i * 37) for i in range(40)]
    expect = [hashlib.md5(want[o:o + n]).hexdigest() for o, n in tasks]
    ctx = multiprocessing.get_context(method)
    if method == "fork":
        import numpy as np
        G["fd"] = os.open(path, os.O_RDONLY)
        G["file"] = open(path, "rb")
        G["arr"] = np.load(mount + "/npy/a.npy", mmap_mode="r")
        local_arr = np.load(local + "/npy/a.npy")
        with ctx.Pool(3) as p:
            attempt("fork pool: os.pread on an fd opened before the fork",
                    lambda: same(p.map_async(fork_pread, tasks).get(WAIT), expect))
        with ctx.Pool(3) as p:
            attempt("fork pool: numpy memmap opened before the fork", lambda: (
                p.map_async(fork_memmap, [(o, 1000) for o, _ in tasks]).get(WAIT) ==
                [float(local_arr[o:o + 1000].sum()) for o, _ in tasks], ""))
        with ctx.Pool(1) as p:
            attempt("fork pool: seek+read on a file object opened before the fork",
                    lambda: same(p.map_async(fork_fileobj, tasks).get(WAIT), expect))
        # a forked child shares the open file description, offset included
        fd = os.open(path, os.O_RDONLY)
        os.read(fd, 100)
        pid = os.fork()
        if pid == 0:
            os._exit(0 if os.read(fd, 100) == want[100:200] else 1)
        _, status = os.waitpid(pid, 0)
        after = os.read(fd, 100)
        report("fork: child reads on at the parent's offset", status == 0, "child status %d" % status)
        report("fork: parent sees the child's reads (shared offset)", after == want[200:300],
               "parent read at %d" % (want.find(after) if after else -1))
        os.close(G["fd"])
        os.close(fd)
    with ctx.Pool(2) as p:
        attempt("%s pool: workers open by name" % method, lambda: same(
            p.map_async(by_name, [(path, o, n) for o, n in tasks]).get(WAIT), expect))


def main():
    what = sys.argv[1]
    if what == "listing":
        listing(sys.argv[2], sys.argv[3], sys.argv[4:] != ["noroot"])
    elif what == "zip":
        zip_check(sys.argv[2], sys.argv[3])
    elif what == "numpy":
        numpy_check(sys.argv[2], sys.argv[3])
    elif what == "pool":
        pool_check(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        sys.exit("unknown check " + what)


if __name__ == "__main__":
    main()
