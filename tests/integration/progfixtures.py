# SPDX-License-Identifier: MIT
"""The fixtures of test_programs.sh, written into DIR (deterministic: the
same bytes on every run, except archive member times, which are fixed too).

    progfixtures.py DIR [BIG_MB]

DIR/
  tree/d00..d09/f000..f099.txt   10 x 100 small text files, 0..2999 bytes
  tree/README, lsp/README        (s3rver needs them: see tree())
  lsp/d1000/f0000..f0999         a directory of 1,000 objects (ls -l counts)
  misc/                          awkward names, a nested dir
  text.txt, text.txt.gz          100,000 lines for sort, wc, gzip -dc
  stdio.txt                      lines, numbers and words for the C stdio checks
  arch/a.tar, arch/a.tar.gz, arch/a.zip   archives of tree/d00..d02 and misc
  db.sqlite                      a 64 MiB SQLite database, table t with an index
  npy/a.npy, npy/b.npy, npy/raw.i32, npy/c.npz   numpy fixtures
  big.bin                        BIG_MB MiB (default 256) of pseudo-random bytes
Prints nothing; exit status 0 when all was written.
"""
import io
import os
import random
import sqlite3
import sys
import tarfile
import zipfile

FIXED_TIME = 1700000000  # archive member times and file mtimes


def text_of(seed, size):
    rng = random.Random(seed)
    words = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta"]
    out = []
    n = 0
    while n < size:
        line = "%d %s %s\n" % (rng.randrange(1 << 30), rng.choice(words), rng.choice(words))
        out.append(line)
        n += len(line)
    return "".join(out).encode()[:size]


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
    os.utime(path, (FIXED_TIME, FIXED_TIME))


def tree(top):
    for d in range(10):
        for i in range(100):
            size = (i * 37 + d * 101) % 3000
            write(os.path.join(top, "tree", "d%02d" % d, "f%03d.txt" % i), text_of(d * 1000 + i, size))
    for i in range(1000):
        write(os.path.join(top, "lsp", "d1000", "f%04d" % i), b"x" * (i % 17))
    # s3rver 5.0.0 leaves out of a delimited listing every common prefix that
    # has no object directly below it (its walk prunes deeper folders): a
    # file at each level keeps tree/ and lsp/ visible in the root's listing.
    # (radosgw gets a prefix with only deeper objects: see test_programs.sh.)
    write(os.path.join(top, "tree", "README"), b"10 directories of 100 files\n")
    write(os.path.join(top, "lsp", "README"), b"a directory of 1,000 objects\n")
    write(os.path.join(top, "misc", "sp ace.txt"), b"a name with a space\n")
    write(os.path.join(top, "misc", "\u00fcml\u00e4ut.txt"), b"non-ASCII name\n")
    write(os.path.join(top, "misc", "plus+percent%.txt"), b"plus and percent\n")
    write(os.path.join(top, "misc", "empty"), b"")
    write(os.path.join(top, "misc", "sub", "deeper", "leaf.txt"), b"leaf\n")
    write(os.path.join(top, "misc", "sub", "x.bin"), bytes(range(256)) * 40)


def texts(top):
    rng = random.Random(7)
    words = ["pear", "apple", "fig", "kiwi", "lime", "plum", "date", "Quince", "banana"]
    lines = ["%s %d %s\n" % (rng.choice(words), rng.randrange(100000), rng.choice(words))
             for _ in range(100000)]
    write(os.path.join(top, "text.txt"), "".join(lines).encode())
    st = ["first line\n", "42 3.5 word\n", "second: with colon\n", "\n",
          "a very long line " + "x" * 5000 + "\n"]
    st += ["line %05d of the stdio fixture\n" % i for i in range(3000)]
    st.append("last line without newline")
    write(os.path.join(top, "stdio.txt"), "".join(st).encode())


def archives(top):
    arch = os.path.join(top, "arch")
    os.makedirs(arch, exist_ok=True)
    members = []
    for sub in ("tree/d00", "tree/d01", "tree/d02", "misc"):
        for root, dirs, files in os.walk(os.path.join(top, sub)):
            dirs.sort()
            for f in sorted(files):
                members.append(os.path.relpath(os.path.join(root, f), top))

    def add(tf):
        for m in members:
            ti = tf.gettarinfo(os.path.join(top, m), arcname=m)
            ti.uid = ti.gid = 0
            ti.uname = ti.gname = "root"
            ti.mtime = FIXED_TIME
            ti.mode = 0o644
            with open(os.path.join(top, m), "rb") as f:
                tf.addfile(ti, f)

    with tarfile.open(os.path.join(arch, "a.tar"), "w", format=tarfile.GNU_FORMAT) as tf:
        add(tf)
    # a.tar.gz: gzip of the same bytes, no name or time in the gzip header
    import gzip
    raw = open(os.path.join(arch, "a.tar"), "rb").read()
    with open(os.path.join(arch, "a.tar.gz"), "wb") as f:
        with gzip.GzipFile(fileobj=f, mode="wb", mtime=0, filename="") as g:
            g.write(raw)
    with zipfile.ZipFile(os.path.join(arch, "a.zip"), "w") as zf:
        for i, m in enumerate(members):
            zi = zipfile.ZipInfo(m, date_time=(2023, 11, 14, 22, 13, 20))
            zi.compress_type = zipfile.ZIP_DEFLATED if i % 2 else zipfile.ZIP_STORED
            zf.writestr(zi, open(os.path.join(top, m), "rb").read())
        zi = zipfile.ZipInfo("blob.bin", date_time=(2023, 11, 14, 22, 13, 20))
        zf.writestr(zi, random.Random(3).randbytes(1 << 20))
    with open(os.path.join(top, "text.txt"), "rb") as f:
        data = f.read()
    with open(os.path.join(top, "text.txt.gz"), "wb") as f:
        with gzip.GzipFile(fileobj=f, mode="wb", mtime=0, filename="") as g:
            g.write(data)
    for p in ("arch/a.tar", "arch/a.tar.gz", "arch/a.zip", "text.txt.gz"):
        os.utime(os.path.join(top, p), (FIXED_TIME, FIXED_TIME))


def database(top, target=64 << 20):
    path = os.path.join(top, "db.sqlite")
    tmp = path + ".tmp"
    if os.path.exists(tmp):
        os.unlink(tmp)
    db = sqlite3.connect(tmp)
    db.execute("pragma page_size = 4096")
    db.execute("pragma journal_mode = delete")
    db.execute("create table t (k integer primary key, name text, payload blob)")
    db.execute("create index t_name on t(name)")
    rng = random.Random(11)
    k = 0
    while os.path.getsize(tmp) < target:  # ~ 340 bytes a row with its index entry
        rows = [(k + i, "name-%07d" % (((k + i) * 7919) % 1000003), rng.randbytes(300))
                for i in range(1, 10001)]
        k += 10000
        db.executemany("insert into t values (?, ?, ?)", rows)
        db.commit()
    db.close()
    os.rename(tmp, path)


def numpy_files(top):
    import numpy as np
    d = os.path.join(top, "npy")
    os.makedirs(d, exist_ok=True)
    rng = np.random.default_rng(5)
    np.save(os.path.join(d, "a.npy"), rng.standard_normal(1 << 20))       # 8 MiB float64
    np.save(os.path.join(d, "b.npy"), np.arange(300 * 1000, dtype=np.int32).reshape(300, 1000))
    rng.integers(0, 1 << 31, size=3 << 20, dtype=np.int32).tofile(os.path.join(d, "raw.i32"))
    np.savez(os.path.join(d, "c.npz"), x=np.arange(1000), y=np.linspace(0, 1, 777))


def big(top, mb):
    import numpy as np
    rng = np.random.default_rng(17)
    with open(os.path.join(top, "big.bin"), "wb") as f:
        for _ in range(mb // 16):
            f.write(rng.bytes(16 << 20))
        f.write(rng.bytes((mb % 16) << 20))


def main():
    top = sys.argv[1]
    mb = int(sys.argv[2]) if len(sys.argv) > 2 else 256
    os.makedirs(top, exist_ok=True)
    tree(top)
    texts(top)
    archives(top)
    database(top)
    numpy_files(top)
    big(top, mb)


main()
