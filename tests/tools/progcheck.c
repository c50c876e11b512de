/* SPDX-License-Identifier: MIT */
/*
 * progcheck.c - what C programs do with files and directories, checked on a
 * mounted path against the same calls on a local copy.  Run through the
 * shim; prints "ok GROUP: NAME" or "FAIL GROUP: NAME why" per check.
 *
 *   progcheck stdio MOUNTED LOCAL           fopen/fread/fgets/getline/fscanf/
 *                                           fseek/ftell/rewind/feof, fdopen,
 *                                           freopen, fileno_unlocked
 *   progcheck dir MDIR LDIR FILE NESTED     opendir/readdir/readdir_r/telldir/
 *                                           seekdir/rewinddir/scandir/dirfd, openat/
 *                                           fstatat/faccessat on a dir fd
 *   progcheck cwd MDIR LDIR FILE SUB        chdir/fchdir/getcwd, relative opens
 *   progcheck mmap MOUNTED LOCAL OFF LEN    mmap (LEN 0: the whole file)
 *   progcheck exec MOUNTED LOCAL            posix_spawn(p)/system/popen/execve/
 *                                           fexecve/execle/execlp/execveat with
 *                                           a rebuilt environment
 *   progcheck raw MDIR LDIR FILE            syscall(SYS_getdents64/SYS_statx)
 *   progcheck bad MDIR FILE LDIR            unsupported calls: a clear errno
 *   progcheck basic MOUNTED LOCAL MDIR      open/read/pread/fgets/getcwd with
 *                                           sizes and flags known only at run
 *                                           time (the fortified _chk/_2 calls)
 *   progcheck xstat MDIR LDIR FILE SUB      the stat ABI of binaries built
 *                                           before glibc 2.33 (__xstat,
 *                                           __lxstat, __fxstat, __fxstatat and
 *                                           their 64 forms), stat64/lstat64/
 *                                           fstat64/fstatat64
 *   progcheck io MOUNTED LOCAL              __open_2/__openat_2/__pread_chk,
 *                                           creat/creat64, readv/preadv*,
 *                                           lseek64, dup3/fcntl duplicates,
 *                                           copy_file_range/splice/sendfile64,
 *                                           and the destinations they refuse;
 *                                           /proc/self/fd/N, /dev/stdin; O_PATH
 *
 * FILE, NESTED and SUB are relative to MDIR (and LDIR): a file, a file two
 * levels down, a subdirectory.  The Makefile builds this plainly (calls
 * open, readdir, fopen...); test_programs.sh builds it again with -O2
 * -D_FORTIFY_SOURCE=2 -D_FILE_OFFSET_BITS=64 (open64, __open64_2,
 * __read_chk, __fread_chk, readdir64, mmap64...).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

extern char **environ;

static const char *group = "";
static int failed;

static void report(const char *name, int ok, const char *fmt, ...)
{
	if (ok) {
		printf("ok %s: %s\n", group, name);
	} else {
		va_list ap;

		printf("FAIL %s: %s ", group, name);
		va_start(ap, fmt);
		vprintf(fmt, ap);
		va_end(ap);
		printf("\n");
		failed = 1;
	}
	fflush(stdout);
}

/* errno as text for messages */
static const char *en(int e)
{
	static char buf[64];

	snprintf(buf, sizeof(buf), "%s (%d)", strerrorname_np(e) ? strerrorname_np(e) : "?", e);
	return buf;
}

/* expect_errno NAME RC ERR ALLOWED...: the call failed (rc -1) with one of
 * the allowed errnos (list ends with 0) */
static void expect_err(const char *name, long rc, int err, ...)
{
	va_list ap;
	int e, ok = 0;
	char allowed[128] = "";

	va_start(ap, err);
	while ((e = va_arg(ap, int)) != 0) {
		if (rc == -1 && err == e)
			ok = 1;
		snprintf(allowed + strlen(allowed), sizeof(allowed) - strlen(allowed), " %s",
			 strerrorname_np(e));
	}
	va_end(ap);
	if (rc != -1)
		report(name, 0, "succeeded (returned %ld), wanted one of%s", rc, allowed);
	else
		report(name, ok, "errno %s, wanted one of%s", en(err), allowed);
}

/* The condition is evaluated before the message's arguments (a function's
 * arguments are evaluated in no set order, and errno is one of them). */
#define CHECK(name, cond, ...)                  \
	do {                                    \
		int ok_ = (cond);               \
		report(name, ok_, __VA_ARGS__); \
	} while (0)

/* EXPECT(NAME, CALL, ERRNO...): CALL fails with one of the errnos. */
#define EXPECT(name, call, ...)                            \
	do {                                               \
		long rc_;                                  \
		int e_;                                    \
		errno = 0;                                 \
		rc_ = (long)(call);                        \
		e_ = errno;                                \
		expect_err(name, rc_, e_, __VA_ARGS__, 0); \
	} while (0)

/* A whole file through open/read (local or mounted). */
static char *slurp(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY);
	size_t cap = 1 << 16, n = 0;
	char *buf;
	ssize_t r;

	*len = 0;
	if (fd < 0)
		return NULL;
	buf = malloc(cap);
	while (buf) {
		if (n == cap) {
			char *nb = realloc(buf, cap *= 2);

			if (!nb) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = nb;
		}
		r = read(fd, buf + n, cap - n);
		if (r < 0) {
			free(buf);
			buf = NULL;
			break;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	*len = n;
	return buf;
}

/* Everything readable from fd until EOF. */
static char *drain(int fd, size_t *len)
{
	size_t cap = 1 << 16, n = 0;
	char *buf = malloc(cap);
	ssize_t r;

	while (buf) {
		if (n == cap) {
			char *nb = realloc(buf, cap *= 2);

			if (!nb) {
				free(buf);
				return NULL;
			}
			buf = nb;
		}
		r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	*len = n;
	return buf;
}

static uint64_t fnv(const void *p, size_t n, uint64_t h)
{
	const unsigned char *c = p;

	if (!h)
		h = 1469598103934665603ULL;
	while (n--)
		h = (h ^ *c++) * 1099511628211ULL;
	return h;
}

static char *join(const char *a, const char *b)
{
	char *s;

	if (asprintf(&s, "%s/%s", a, b) < 0)
		abort();
	return s;
}

/* ---------------------------------------------------------------- stdio -- */

/* A text builder: the result of one stream operation, compared between the
 * mounted and the local file. */
struct out {
	char s[4096];
	size_t n;
};

static void put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vsnprintf(o->s + o->n, sizeof(o->s) - o->n, fmt, ap);
	va_end(ap);
	if (r > 0)
		o->n = o->n + (size_t)r < sizeof(o->s) ? o->n + (size_t)r : sizeof(o->s) - 1;
}

static volatile size_t chunk = 7777;	/* not a constant: fortified reads check */

static void op_fread(FILE *f, struct out *o)
{
	char buf[8192];
	size_t n, total = 0, calls = 0;
	uint64_t h = 0;

	while ((n = fread(buf, 1, chunk, f)) > 0) {
		h = fnv(buf, n, h);
		total += n;
		calls++;
	}
	put(o, "total=%zu calls=%zu hash=%llx eof=%d err=%d", total, calls,
	    (unsigned long long)h, feof(f) != 0, ferror(f) != 0);
}

static void op_fgets(FILE *f, struct out *o)
{
	char buf[100];
	long lines = 0;
	uint64_t h = 0;

	while (fgets(buf, sizeof(buf), f)) {
		h = fnv(buf, strlen(buf), h);
		lines++;
	}
	put(o, "pieces=%ld hash=%llx eof=%d", lines, (unsigned long long)h, feof(f) != 0);
}

static void op_getline(FILE *f, struct out *o)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n, longest = 0;
	long lines = 0;
	uint64_t h = 0;

	while ((n = getline(&line, &cap, f)) >= 0) {
		h = fnv(line, (size_t)n, h);
		if (n > longest)
			longest = n;
		lines++;
	}
	free(line);
	put(o, "lines=%ld longest=%zd hash=%llx", lines, longest, (unsigned long long)h);
}

static void op_getdelim(FILE *f, struct out *o)
{
	char *rec = NULL;
	size_t cap = 0;
	ssize_t n;
	long recs = 0;
	uint64_t h = 0;

	while ((n = getdelim(&rec, &cap, ':', f)) >= 0) {
		h = fnv(rec, (size_t)n, h);
		recs++;
	}
	free(rec);
	put(o, "records=%ld hash=%llx", recs, (unsigned long long)h);
}

static void op_fscanf(FILE *f, struct out *o)
{
	char line[200], word[64];
	int i = -1, n, words = 0;
	double d = -1;
	uint64_t h = 0;

	if (!fgets(line, sizeof(line), f))
	{
		put(o, "no first line");
		return;
	}
	n = fscanf(f, "%d %lf %63s", &i, &d, word);
	put(o, "n=%d i=%d d=%g w=%s;", n, i, d, n == 3 ? word : "");
	while (fscanf(f, "%63s", word) == 1) {
		h = fnv(word, strlen(word), h);
		words++;
	}
	put(o, "words=%d hash=%llx eof=%d", words, (unsigned long long)h, feof(f) != 0);
}

static void op_seek(FILE *f, struct out *o)
{
	char buf[16];
	size_t n;
	fpos_t pos;
	int c;

	put(o, "fseek=%d ", fseek(f, 12345, SEEK_SET));
	put(o, "tell=%ld c=%d ", ftell(f), fgetc(f));
	put(o, "cur=%d ", fseek(f, -5, SEEK_CUR));
	put(o, "tell=%ld c=%d ", ftell(f), fgetc(f));
	fgetpos(f, &pos);
	put(o, "c=%d ", fgetc(f));
	fsetpos(f, &pos);
	put(o, "again=%d ", fgetc(f));
	put(o, "end=%d ", fseek(f, -10, SEEK_END));
	put(o, "tell=%ld ", ftell(f));
	n = fread(buf, 1, 10, f);
	put(o, "n=%zu tail=%llx ", n, (unsigned long long)fnv(buf, n, 0));
	c = fgetc(f);
	put(o, "c=%d eof=%d ", c, feof(f) != 0);
	rewind(f);
	put(o, "rewind: eof=%d tell=%ld c=%d ", feof(f) != 0, ftell(f), fgetc(f));
	put(o, "past=%d ", fseeko(f, (off_t)1 << 20, SEEK_SET));
	put(o, "tello=%lld n=%zu eof=%d ", (long long)ftello(f), fread(buf, 1, 10, f), feof(f) != 0);
	put(o, "back=%d tell=%ld c=%d", fseek(f, 0, SEEK_SET), ftell(f), fgetc(f));
}

static void op_ungetc(FILE *f, struct out *o)
{
	int a = fgetc(f), u = ungetc('Z', f), b = fgetc(f), c = fgetc(f);

	put(o, "%d %d %d %d tell=%ld", a, u, b, c, ftell(f));
}

static void op_unbuffered(FILE *f, struct out *o)
{
	char buf[100];
	uint64_t h = 0;
	int i, c;
	size_t n;

	setvbuf(f, NULL, _IONBF, 0);
	for (i = 0; i < 2000 && (c = fgetc(f)) != EOF; i++) {
		unsigned char b = (unsigned char)c;

		h = fnv(&b, 1, h);
	}
	fseek(f, 3000, SEEK_SET);
	n = fread(buf, 1, sizeof(buf), f);
	put(o, "i=%d h=%llx n=%zu h2=%llx", i, (unsigned long long)h, n,
	    (unsigned long long)fnv(buf, n, 0));
}

static void op_unlocked(FILE *f, struct out *o)
{
	uint64_t h = 0;
	long n = 0;
	int c;

	while ((c = getc_unlocked(f)) != EOF) {
		unsigned char b = (unsigned char)c;

		h = fnv(&b, 1, h);
		n++;
	}
	put(o, "n=%ld h=%llx", n, (unsigned long long)h);
}

static void op_fstat(FILE *f, struct out *o)
{
	struct stat st;

	if (fstat(fileno(f), &st) != 0)
	{
		put(o, "fstat: %s", en(errno));
		return;
	}
	put(o, "size=%lld reg=%d", (long long)st.st_size, S_ISREG(st.st_mode));
}

/* fileno_unlocked names the stream's descriptor as fileno does (the shim
 * gives both back for its own streams), and that descriptor is the file */
static void op_fileno_unlocked(FILE *f, struct out *o)
{
	int a = fileno(f), b = fileno_unlocked(f);
	struct stat st;
	char buf[100];
	ssize_t n;

	put(o, "same=%d valid=%d ", a == b, b >= 0);
	if (fstat(b, &st) != 0) {
		put(o, "fstat: %s", en(errno));
		return;
	}
	put(o, "size=%lld reg=%d ", (long long)st.st_size, S_ISREG(st.st_mode));
	n = pread(b, buf, sizeof(buf), 10);
	put(o, "pread=%zd %llx", n, (unsigned long long)fnv(buf, n > 0 ? (size_t)n : 0, 0));
}

typedef void (*stream_op)(FILE *, struct out *);

static void same_stream(const char *name, stream_op op, const char *mounted, const char *local,
			const char *mode)
{
	struct out a = { .n = 0 }, b = { .n = 0 };
	FILE *fm = fopen(mounted, mode), *fl = fopen(local, mode);

	if (!fm || !fl) {
		CHECK(name, 0, "fopen: %s", en(errno));
		if (fm)
			fclose(fm);
		if (fl)
			fclose(fl);
		return;
	}
	op(fm, &a);
	op(fl, &b);
	a.s[a.n] = b.s[b.n] = 0;
	CHECK(name, strcmp(a.s, b.s) == 0, "mounted [%s] local [%s]", a.s, b.s);
	fclose(fm);
	fclose(fl);
}

static void stdio_checks(const char *m, const char *l)
{
	struct out a = { .n = 0 }, b = { .n = 0 };
	size_t want_len;
	char *want = slurp(l, &want_len);
	FILE *f;
	int fd;

	group = "stdio";
	same_stream("fread in chunks", op_fread, m, l, "r");
	same_stream("fopen mode re", op_fread, m, l, "re");
	same_stream("fgets", op_fgets, m, l, "r");
	same_stream("getline", op_getline, m, l, "r");
	same_stream("getdelim", op_getdelim, m, l, "rb");
	same_stream("fscanf", op_fscanf, m, l, "r");
	same_stream("fseek/ftell/fgetpos/rewind/feof", op_seek, m, l, "r");
	same_stream("ungetc", op_ungetc, m, l, "r");
	same_stream("unbuffered fgetc", op_unbuffered, m, l, "r");
	same_stream("getc_unlocked", op_unlocked, m, l, "r");
	same_stream("fstat(fileno(stream))", op_fstat, m, l, "r");
	same_stream("fileno_unlocked(stream) is fileno, fstat of it", op_fileno_unlocked, m, l, "r");

	fd = open(m, O_RDONLY);
	f = fd >= 0 ? fdopen(fd, "r") : NULL;
	if (f) {
		FILE *g = fopen(l, "r");

		op_fread(f, &a);
		op_fread(g, &b);
		a.s[a.n] = b.s[b.n] = 0;
		CHECK("fdopen", strcmp(a.s, b.s) == 0, "mounted [%s] local [%s]", a.s, b.s);
		fclose(f);
		fclose(g);
	} else {
		CHECK("fdopen", 0, "%s", en(errno));
	}

	/* freopen onto stdin: the same descriptor number, the mounted bytes */
	if (freopen(m, "r", stdin)) {
		char buf[4096];
		ssize_t n;

		CHECK("freopen(stdin) keeps fd 0", fileno(stdin) == 0, "fileno %d", fileno(stdin));
		n = read(0, buf, sizeof(buf));
		CHECK("freopen(stdin): read(0) gives the file", n > 0 && (size_t)n <= want_len &&
		       memcmp(buf, want, (size_t)n) == 0, "read %zd", n);
		if (freopen(m, "r", stdin)) {
			size_t got = 0, r;
			uint64_t h = 0;
			char *p = buf;

			while ((r = fread(p, 1, sizeof(buf), stdin)) > 0) {
				h = fnv(p, r, h);
				got += r;
			}
			CHECK("freopen(stdin): fread all", got == want_len &&
			       h == fnv(want, want_len, 0), "%zu bytes of %zu", got, want_len);
		} else {
			CHECK("freopen(stdin): fread all", 0, "second freopen: %s", en(errno));
		}
	} else {
		CHECK("freopen(stdin) keeps fd 0", 0, "freopen: %s", en(errno));
	}
	/* a stream on a local file switched to the mounted one, and back */
	f = fopen("/dev/null", "r");
	if (f && (f = freopen(m, "r", f))) {
		a.n = b.n = 0;
		op_fread(f, &a);
		FILE *g = fopen(l, "r");

		op_fread(g, &b);
		fclose(g);
		a.s[a.n] = b.s[b.n] = 0;
		CHECK("freopen local stream to mounted", strcmp(a.s, b.s) == 0, "mounted [%s] local [%s]",
		       a.s, b.s);
		f = freopen(l, "r", f);
		if (f) {
			char buf[64];
			size_t n = fread(buf, 1, sizeof(buf), f);

			CHECK("freopen mounted stream to local", n == sizeof(buf) &&
			       memcmp(buf, want, n) == 0, "read %zu", n);
			fclose(f);
		} else {
			CHECK("freopen mounted stream to local", 0, "%s", en(errno));
		}
	} else {
		CHECK("freopen local stream to mounted", 0, "%s", en(errno));
	}
	f = fopen(m, "r+");
	expect_err("fopen r+ is EROFS", f ? 0 : -1, errno, EROFS, 0);
	if (f)
		fclose(f);
	f = fopen(m, "a");
	expect_err("fopen a is EROFS", f ? 0 : -1, errno, EROFS, 0);
	if (f)
		fclose(f);
	free(want);
}

/* ------------------------------------------------------------------ dir -- */

struct ent {
	char name[256];
	unsigned char type;
	ino_t ino;
};

static int ent_cmp(const void *a, const void *b)
{
	return strcmp(((const struct ent *)a)->name, ((const struct ent *)b)->name);
}

/* Entries of path by opendir/readdir, sorted; dots kept when dots. */
static int list_dir(const char *path, struct ent **out, int dots)
{
	DIR *d = opendir(path);
	struct dirent *e;
	struct ent *v = NULL;
	int n = 0, cap = 0;

	*out = NULL;
	if (!d)
		return -1;
	errno = 0;
	while ((e = readdir(d))) {
		if (!dots && (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			v = realloc(v, (size_t)cap * sizeof(*v));
		}
		snprintf(v[n].name, sizeof(v[n].name), "%s", e->d_name);
		v[n].type = e->d_type;
		v[n].ino = e->d_ino;
		n++;
	}
	closedir(d);
	if (v)
		qsort(v, (size_t)n, sizeof(*v), ent_cmp);
	*out = v;
	return n;
}

/* same names and types; why says the first difference */
static int same_ents(const struct ent *a, int na, const struct ent *b, int nb, char *why,
		     size_t whylen, int types)
{
	int i;

	if (na != nb) {
		snprintf(why, whylen, "%d entries, local %d (first: %.100s / %.100s)", na, nb,
			 na > 0 ? a[0].name : "-", nb > 0 ? b[0].name : "-");
		return 0;
	}
	for (i = 0; i < na; i++) {
		if (strcmp(a[i].name, b[i].name)) {
			snprintf(why, whylen, "entry %d is '%.200s', local '%.200s'", i, a[i].name, b[i].name);
			return 0;
		}
		if (types && a[i].type != b[i].type) {
			snprintf(why, whylen, "'%.200s': d_type %d, local %d", a[i].name, a[i].type,
				 b[i].type);
			return 0;
		}
	}
	return 1;
}

/*
 * Entries of path by readdir_r or (use64) readdir64_r, sorted, dots
 * dropped; -1 with errno on an error or an entry not put where asked.
 * glibc deprecates both (readdir is safe per stream), but older programs
 * call them still.
 */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
static int list_dir_r(const char *path, struct ent **out, int use64)
{
	DIR *d = opendir(path);
	struct ent *v = NULL;
	int n = 0, cap = 0, rc = 0;

	*out = NULL;
	if (!d)
		return -1;
	for (;;) {
		struct dirent e, *r = NULL;
		struct dirent64 e64, *r64 = NULL;
		const char *name;
		unsigned char type;

		if (use64) {
			rc = readdir64_r(d, &e64, &r64);
			if (rc || !r64)
				break;
			if (r64 != &e64) {
				rc = EFAULT;
				break;
			}
			name = e64.d_name;
			type = e64.d_type;
		} else {
			rc = readdir_r(d, &e, &r);
			if (rc || !r)
				break;
			if (r != &e) {
				rc = EFAULT;
				break;
			}
			name = e.d_name;
			type = e.d_type;
		}
		if (!strcmp(name, ".") || !strcmp(name, ".."))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			v = realloc(v, (size_t)cap * sizeof(*v));
		}
		snprintf(v[n].name, sizeof(v[n].name), "%s", name);
		v[n].type = type;
		n++;
	}
	closedir(d);
	if (v)
		qsort(v, (size_t)n, sizeof(*v), ent_cmp);
	*out = v;
	errno = rc;
	return rc ? -1 : n;
}
#pragma GCC diagnostic pop

static int txt_only(const struct dirent *e)
{
	size_t n = strlen(e->d_name);

	return n > 4 && !strcmp(e->d_name + n - 4, ".txt");
}

static void dir_checks(const char *mdir, const char *ldir, const char *file, const char *nested)
{
	struct ent *me, *le;
	int mn, ln, i, dfd, fd;
	char why[512];
	struct stat st, lst;
	DIR *d;

	group = "dir";
	mn = list_dir(mdir, &me, 0);
	ln = list_dir(ldir, &le, 0);
	CHECK("opendir/readdir names", mn >= 0 && same_ents(me, mn, le, ln, why, sizeof(why), 0),
	       "%s", mn < 0 ? en(errno) : why);
	CHECK("readdir d_type", mn >= 0 && same_ents(me, mn, le, ln, why, sizeof(why), 1), "%s",
	       mn < 0 ? en(errno) : why);
	{
		int zero = 0, mismatch = 0;
		char *bad = NULL;

		for (i = 0; i < mn; i++) {
			char *p = join(mdir, me[i].name);

			if (me[i].ino == 0)
				zero++;
			else if (lstat(p, &st) != 0 || st.st_ino != me[i].ino) {
				mismatch++;
				if (!bad)
					bad = strdup(me[i].name);
			}
			free(p);
		}
		CHECK("d_ino is set", mn > 0 && zero == 0, "%d of %d are 0", zero, mn);
		CHECK("d_ino equals lstat's st_ino", mn > 0 && mismatch == 0, "%d differ (first %s)",
		       mismatch, bad ? bad : "-");
		free(bad);
	}
	free(me);
	{
		struct ent *md, *ld;
		int a = list_dir(mdir, &md, 1), b = list_dir(ldir, &ld, 1), dots = 0;

		for (i = 0; i < a; i++)
			dots += !strcmp(md[i].name, ".") || !strcmp(md[i].name, "..");
		CHECK("readdir lists . and ..", dots == 2, "%d of them (%d entries, local %d)", dots,
		       a, b);
		free(md);
		free(ld);
	}
	for (int use64 = 0; use64 < 2; use64++) {
		struct ent *re;
		int rn = list_dir_r(mdir, &re, use64);

		CHECK(use64 ? "readdir64_r names and types" : "readdir_r names and types",
		       rn >= 0 && same_ents(re, rn, le, ln, why, sizeof(why), 1), "%s",
		       rn < 0 ? en(errno) : why);
		free(re);
	}

	/* telldir/seekdir/rewinddir */
	d = opendir(mdir);
	if (d) {
		long pos[4096];
		char names[64][256];
		struct dirent *e;
		int n = 0, ok = 1, again = 0;

		while (n < 4096) {
			pos[n] = telldir(d);
			if (!(e = readdir(d)))
				break;
			if (n < 64)
				snprintf(names[n], sizeof(names[n]), "%s", e->d_name);
			n++;
		}
		for (i = n < 64 ? n - 1 : 63; i >= 0 && ok; i -= 3) {
			seekdir(d, pos[i]);
			e = readdir(d);
			if (!e || strcmp(e->d_name, names[i])) {
				ok = 0;
				snprintf(why, sizeof(why), "seekdir to entry %d gave '%s', wanted '%s'", i,
					 e ? e->d_name : "(end)", names[i]);
			}
		}
		CHECK("telldir/seekdir", n > 2 && ok, "%s", n > 2 ? why : "too few entries");
		rewinddir(d);
		e = readdir(d);
		CHECK("rewinddir starts again", e && n > 0 && !strcmp(e->d_name, names[0]), "got '%s'",
		       e ? e->d_name : "(end)");
		rewinddir(d);
		while (readdir(d))
			again++;
		CHECK("rewinddir lists all again", again == n, "%d, first pass %d", again, n);
		fd = dirfd(d);
		CHECK("dirfd is a directory", fd >= 0 && fstat(fd, &st) == 0 && S_ISDIR(st.st_mode),
		       "fd %d mode %o: %s", fd, st.st_mode, en(errno));
		closedir(d);
	} else {
		CHECK("telldir/seekdir", 0, "opendir: %s", en(errno));
	}

	/* scandir */
	{
		struct dirent **ml = NULL, **ll = NULL;
		int a = scandir(mdir, &ml, txt_only, alphasort);
		int b = scandir(ldir, &ll, txt_only, alphasort), ok = a == b && a >= 0;

		for (i = 0; ok && i < a; i++)
			ok = !strcmp(ml[i]->d_name, ll[i]->d_name);
		CHECK("scandir with filter and alphasort", ok, "%d entries, local %d: %s", a, b,
		       a < 0 ? en(errno) : "names differ");
		for (i = 0; i < a; i++)
			free(ml[i]);
		for (i = 0; i < b; i++)
			free(ll[i]);
		free(ml);
		free(ll);
	}

	/* descriptors of mounted directories */
	dfd = open(mdir, O_RDONLY | O_DIRECTORY);
	CHECK("open O_DIRECTORY", dfd >= 0, "%s", en(errno));
	if (dfd < 0)
		goto out;
	CHECK("fstat of the dir fd", fstat(dfd, &st) == 0 && S_ISDIR(st.st_mode), "%s mode %o",
	       en(errno), st.st_mode);
	{
		int dup_fd = dup(dfd);
		DIR *dd = dup_fd >= 0 ? fdopendir(dup_fd) : NULL;
		int n = 0;

		if (dd) {
			struct dirent *e;

			while ((e = readdir(dd)))
				n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
			closedir(dd);
		}
		CHECK("fdopendir of a dup", dd && n == ln, "%d entries, local %d: %s", n, ln, en(errno));
	}
	{
		char *lf = join(ldir, file), *lnest = join(ldir, nested);
		size_t wl, gl;
		char *want = slurp(lf, &wl), *got;
		int ffd = openat(dfd, file, O_RDONLY);

		got = ffd >= 0 ? drain(ffd, &gl) : NULL;
		CHECK("openat(dirfd, name) reads the file", got && gl == wl && !memcmp(got, want, wl),
		       "%s, %zu bytes of %zu", ffd < 0 ? en(errno) : "", got ? gl : 0, wl);
		free(got);
		if (ffd >= 0)
			close(ffd);
		free(want);
		stat(lf, &lst);
		CHECK("fstatat(dirfd, name)", fstatat(dfd, file, &st, 0) == 0 &&
		       S_ISREG(st.st_mode) && st.st_size == lst.st_size, "%s size %lld, local %lld",
		       en(errno), (long long)st.st_size, (long long)lst.st_size);
		CHECK("fstatat(dirfd, name, AT_SYMLINK_NOFOLLOW)",
		       fstatat(dfd, file, &st, AT_SYMLINK_NOFOLLOW) == 0 && st.st_size == lst.st_size,
		       "%s", en(errno));
		CHECK("fstatat(dirfd, \"\", AT_EMPTY_PATH)",
		       fstatat(dfd, "", &st, AT_EMPTY_PATH) == 0 && S_ISDIR(st.st_mode), "%s mode %o",
		       en(errno), st.st_mode);
		CHECK("faccessat(dirfd, name, R_OK)", faccessat(dfd, file, R_OK, 0) == 0, "%s",
		       en(errno));
		want = slurp(lnest, &wl);
		ffd = openat(dfd, nested, O_RDONLY);
		got = ffd >= 0 ? drain(ffd, &gl) : NULL;
		CHECK("openat(dirfd, a/b/name)", got && gl == wl && !memcmp(got, want, wl), "%s",
		       ffd < 0 ? en(errno) : "wrong bytes");
		free(got);
		free(want);
		if (ffd >= 0)
			close(ffd);
		{
			char *sub = strdup(nested);

			*strchr(sub, '/') = 0;
			CHECK("fstatat(dirfd, subdir) is a directory",
			       fstatat(dfd, sub, &st, 0) == 0 && S_ISDIR(st.st_mode), "%s", en(errno));
			ffd = openat(dfd, sub, O_RDONLY | O_DIRECTORY);
			CHECK("openat(dirfd, subdir, O_DIRECTORY)", ffd >= 0, "%s", en(errno));
			if (ffd >= 0) {
				const char *rest = nested + strlen(sub) + 1;
				int g = openat(ffd, rest, O_RDONLY);

				CHECK("openat relative to a dir fd from openat", g >= 0, "%s %s",
				       rest, en(errno));
				if (g >= 0)
					close(g);
				close(ffd);
			}
			free(sub);
		}
		EXPECT("openat(dirfd, missing) is ENOENT", openat(dfd, "no-such-name", O_RDONLY),
		       ENOENT);
		EXPECT("openat(dirfd, file, O_DIRECTORY) is ENOTDIR",
		       openat(dfd, file, O_RDONLY | O_DIRECTORY), ENOTDIR);
		ffd = openat(dfd, file, O_RDONLY);
		EXPECT("openat(file fd, name) is ENOTDIR", ffd >= 0 ? openat(ffd, "x", O_RDONLY) : 0,
		       ENOTDIR);
		EXPECT("fchdir(file fd) is ENOTDIR", ffd >= 0 ? fchdir(ffd) : 0, ENOTDIR);
		EXPECT("fdopendir(file fd) is ENOTDIR", ffd >= 0 ? (fdopendir(ffd) ? 0 : -1) : 0,
		       ENOTDIR);
		if (ffd >= 0)
			close(ffd);
		free(lf);
		free(lnest);
	}
	{
		char buf[16];
		int plain = open(mdir, O_RDONLY);

		EXPECT("read() of a dir fd is EISDIR", plain >= 0 ? read(plain, buf, sizeof(buf)) : 0,
		       EISDIR);
		if (plain >= 0)
			close(plain);
	}
	close(dfd);
	{
		char *mf = join(mdir, file), *missing = join(mdir, "no-such-dir");

		EXPECT("opendir of a file is ENOTDIR", opendir(mf) ? 0 : -1, ENOTDIR);
		EXPECT("opendir of a missing dir is ENOENT", opendir(missing) ? 0 : -1, ENOENT);
		free(mf);
		free(missing);
	}
out:
	free(le);
}

/* ------------------------------------------------------------------ cwd -- */

static void cwd_checks(const char *mdir, const char *ldir, const char *file, const char *sub)
{
	char buf[PATH_MAX], *p, *want, *got, *msub = join(mdir, sub), *lf = join(ldir, file);
	int orig = open(".", O_RDONLY | O_DIRECTORY), fd, sfd;
	size_t wl, gl;
	struct stat st;
	char origpath[PATH_MAX];

	group = "cwd";
	if (!getcwd(origpath, sizeof(origpath)))
		strcpy(origpath, "?");
	want = slurp(lf, &wl);
	CHECK("chdir into a mounted dir", chdir(mdir) == 0, "%s", en(errno));
	p = getcwd(buf, sizeof(buf));
	CHECK("getcwd names it", p && !strcmp(p, mdir), "'%s' %s", p ? p : "", p ? "" : en(errno));
	p = getcwd(NULL, 0);
	CHECK("getcwd(NULL, 0)", p && !strcmp(p, mdir), "'%s'", p ? p : en(errno));
	free(p);
	fd = open(file, O_RDONLY);
	got = fd >= 0 ? drain(fd, &gl) : NULL;
	CHECK("relative open reads the file", got && gl == wl && !memcmp(got, want, wl), "%s",
	       fd < 0 ? en(errno) : "wrong bytes");
	free(got);
	if (fd >= 0)
		close(fd);
	fd = openat(AT_FDCWD, file, O_RDONLY);
	CHECK("openat(AT_FDCWD, relative)", fd >= 0, "%s", en(errno));
	if (fd >= 0)
		close(fd);
	CHECK("relative stat", stat(file, &st) == 0 && (size_t)st.st_size == wl, "%s", en(errno));
	CHECK("relative access", access(file, R_OK) == 0, "%s", en(errno));
	{
		FILE *f = fopen(file, "r");
		size_t n = f ? fread(buf, 1, sizeof(buf), f) : 0;

		CHECK("relative fopen", f && n == (wl < sizeof(buf) ? wl : sizeof(buf)) &&
		       !memcmp(buf, want, n), "%s", f ? "wrong bytes" : en(errno));
		if (f)
			fclose(f);
	}
	CHECK("stat(\".\") is a directory", stat(".", &st) == 0 && S_ISDIR(st.st_mode), "%s",
	       en(errno));
	{
		struct ent *a, *b;
		int na = list_dir(".", &a, 0), nb = list_dir(ldir, &b, 0);
		char why[512];

		CHECK("opendir(\".\") lists the mounted dir",
		       na >= 0 && same_ents(a, na, b, nb, why, sizeof(why), 0), "%s",
		       na < 0 ? en(errno) : why);
		free(a);
		free(b);
	}
	p = realpath(file, NULL);
	{
		char *full = join(mdir, file);

		CHECK("realpath(relative)", p && !strcmp(p, full), "'%s'", p ? p : en(errno));
		free(full);
	}
	free(p);
	CHECK("chdir(relative subdir)", chdir(sub) == 0, "%s", en(errno));
	p = getcwd(buf, sizeof(buf));
	CHECK("getcwd after relative chdir", p && !strcmp(p, msub), "'%s'", p ? p : en(errno));
	CHECK("chdir(\"..\")", chdir("..") == 0, "%s", en(errno));
	p = getcwd(buf, sizeof(buf));
	CHECK("getcwd after chdir(\"..\")", p && !strcmp(p, mdir), "'%s'", p ? p : en(errno));
	sfd = open(msub, O_RDONLY | O_DIRECTORY);
	CHECK("fchdir(mounted dir fd)", sfd >= 0 && fchdir(sfd) == 0, "%s", en(errno));
	p = getcwd(buf, sizeof(buf));
	CHECK("getcwd after fchdir", p && !strcmp(p, msub), "'%s'", p ? p : en(errno));
	if (sfd >= 0)
		close(sfd);
	/* a child started from a mounted cwd reads a relative path */
	if (chdir(mdir) == 0) {
		int pfd[2];
		pid_t pid;
		posix_spawn_file_actions_t fa;
		char *argv[] = { "cat", (char *)file, NULL };

		if (pipe(pfd) == 0) {
			posix_spawn_file_actions_init(&fa);
			posix_spawn_file_actions_adddup2(&fa, pfd[1], 1);
			posix_spawn_file_actions_addclose(&fa, pfd[0]);
			if (posix_spawnp(&pid, "cat", &fa, NULL, argv, environ) == 0) {
				int status = 0;

				close(pfd[1]);
				got = drain(pfd[0], &gl);
				waitpid(pid, &status, 0);
				CHECK("child inherits the mounted cwd (cat relative)",
				       got && gl == wl && !memcmp(got, want, wl) && status == 0,
				       "%zu bytes of %zu, status %d", got ? gl : 0, wl, status);
				free(got);
			} else {
				close(pfd[1]);
				CHECK("child inherits the mounted cwd (cat relative)", 0, "spawn: %s",
				       en(errno));
			}
			close(pfd[0]);
			posix_spawn_file_actions_destroy(&fa);
		}
	}
	CHECK("fchdir back to the local cwd", orig >= 0 && fchdir(orig) == 0, "%s", en(errno));
	p = getcwd(buf, sizeof(buf));
	CHECK("getcwd is local again", p && !strcmp(p, origpath), "'%s' wanted '%s'", p ? p : "",
	       origpath);
	{
		char *mf = join(mdir, file), *missing = join(mdir, "no-such-dir");

		EXPECT("chdir to a file is ENOTDIR", chdir(mf), ENOTDIR);
		EXPECT("chdir to a missing dir is ENOENT", chdir(missing), ENOENT);
		free(mf);
		free(missing);
	}
	if (orig >= 0)
		close(orig);
	free(want);
	free(msub);
	free(lf);
}

/* ----------------------------------------------------------------- mmap -- */

/* Compares a mapping with the bytes wanted; a SIGBUS or SIGSEGV (a mapping
 * the store did not fill) is a failure, not the end of the program. */
static sigjmp_buf fault_jmp;
static volatile sig_atomic_t fault_sig;

static void on_fault(int sig)
{
	fault_sig = sig;
	siglongjmp(fault_jmp, 1);
}

static const char *map_cmp(const volatile char *p, const char *want, size_t n)
{
	struct sigaction sa, old_bus, old_segv;
	const char *why = NULL;
	size_t i;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_fault;
	sigaction(SIGBUS, &sa, &old_bus);
	sigaction(SIGSEGV, &sa, &old_segv);
	fault_sig = 0;
	if (sigsetjmp(fault_jmp, 1) == 0) {
		for (i = 0; i < n; i++)
			if (p[i] != want[i])
				break;
		if (i < n)
			why = "wrong bytes";
	} else {
		why = fault_sig == SIGBUS ? "SIGBUS reading the mapping" : "SIGSEGV reading the mapping";
	}
	sigaction(SIGBUS, &old_bus, NULL);
	sigaction(SIGSEGV, &old_segv, NULL);
	return why;
}

static void mmap_checks(const char *m, const char *l, long long off, long long len)
{
	int fd = open(m, O_RDONLY), lfd = open(l, O_RDONLY);
	struct stat st;
	char *want, *p;
	long page = sysconf(_SC_PAGESIZE);
	size_t n, maplen;
	const char *why;

	group = "mmap";
	if (fd < 0 || lfd < 0 || fstat(lfd, &st) != 0) {
		CHECK("open", 0, "%s", en(errno));
		return;
	}
	n = len ? (size_t)len : (size_t)st.st_size;
	maplen = n;
	want = malloc(n + 1);
	if (pread(lfd, want, n, off) != (ssize_t)n) {
		CHECK("local pread", 0, "%s", en(errno));
		return;
	}
	p = mmap(NULL, maplen, PROT_READ, MAP_PRIVATE, fd, off);
	why = p == MAP_FAILED ? en(errno) : map_cmp(p, want, n);
	CHECK("MAP_PRIVATE read-only", !why, "%s", why);
	if (p != MAP_FAILED && !why) {
		if (!len && st.st_size % page) {
			size_t end = ((size_t)st.st_size + (size_t)page - 1) / (size_t)page * (size_t)page;
			size_t i, nz = 0;

			for (i = (size_t)st.st_size; i < end; i++)
				nz += p[i] != 0;
			CHECK("bytes past EOF in the last page are 0", nz == 0, "%zu not 0", nz);
		}
		CHECK("madvise(MADV_SEQUENTIAL)", madvise(p, maplen, MADV_SEQUENTIAL) == 0, "%s",
		       en(errno));
		CHECK("munmap", munmap(p, maplen) == 0, "%s", en(errno));
	}
	p = mmap(NULL, maplen, PROT_READ, MAP_SHARED, fd, off);
	why = p == MAP_FAILED ? en(errno) : map_cmp(p, want, n);
	CHECK("MAP_SHARED read-only", !why, "%s", why);
	if (p != MAP_FAILED)
		munmap(p, maplen);
	/* the mapping outlives the descriptor */
	{
		int fd2 = open(m, O_RDONLY);

		p = fd2 >= 0 ? mmap(NULL, maplen, PROT_READ, MAP_SHARED, fd2, off) : MAP_FAILED;
		if (fd2 >= 0)
			close(fd2);
		why = p == MAP_FAILED ? en(errno) : map_cmp(p, want, n);
		CHECK("mapping readable after close(fd)", !why, "%s", why);
		if (p != MAP_FAILED)
			munmap(p, maplen);
	}
	/* copy on write: the mapping changes, the object does not */
	p = mmap(NULL, maplen, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, off);
	why = p == MAP_FAILED ? en(errno) : map_cmp(p, want, 1);
	if (!why) {
		char c = 0;

		p[0] ^= 0x55;
		CHECK("MAP_PRIVATE PROT_WRITE is copy-on-write",
		       p[0] == (char)(want[0] ^ 0x55) && pread(fd, &c, 1, off) == 1 && c == want[0],
		       "mapped %d, file %d, want %d", p[0], c, want[0]);
		munmap(p, maplen);
	} else {
		CHECK("MAP_PRIVATE PROT_WRITE is copy-on-write", 0, "%s", why);
		if (p != MAP_FAILED)
			munmap(p, maplen);
	}
	errno = 0;
	p = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, off + 1);
	expect_err("unaligned offset is EINVAL", p == MAP_FAILED ? -1 : 0, errno, EINVAL, 0);
	if (p != MAP_FAILED)
		munmap(p, 4096);
	close(fd);
	close(lfd);
	free(want);
}

/* ----------------------------------------------------------------- exec -- */

static char *env_min[] = { "PATH=/usr/bin:/bin", NULL };
static char *env_empty[] = { NULL };

/*
 * How a forked child starts its program.  EXEC_EXECVE runs path with argv
 * and envp; the others run "cat MOUNTED" with an empty environment, each
 * through another member of the exec family.
 */
enum exec_how {
	EXEC_EXECVE,
	EXEC_FEXECVE,		/* fexecve(open("/bin/cat")) */
	EXEC_EXECLE,
	EXEC_EXECLP,		/* after clearenv(): execlp passes environ */
	EXEC_EXECVEAT,		/* execveat(fd of /bin, "cat") */
	EXEC_EXECVEAT_EMPTY,	/* execveat(fd of /bin/cat, "", AT_EMPTY_PATH) */
};

struct exec_req {
	enum exec_how how;
	const char *path;	/* EXEC_EXECVE: path, argv, envp; else the file */
	char *const *argv;
	char *const *envp;
};

static void exec_as(const struct exec_req *r)
{
	char *cat_argv[] = { "cat", (char *)r->path, NULL };
	int fd;

	switch (r->how) {
	case EXEC_EXECVE:
		execve(r->path, r->argv, r->envp);
		break;
	case EXEC_FEXECVE:
		fd = open("/bin/cat", O_RDONLY);
		fexecve(fd, cat_argv, env_empty);
		break;
	case EXEC_EXECLE:
		execle("/bin/cat", "cat", r->path, (char *)NULL, env_empty);
		break;
	case EXEC_EXECLP:
		clearenv();
		execlp("cat", "cat", r->path, (char *)NULL);
		break;
	case EXEC_EXECVEAT:
		fd = open("/bin", O_RDONLY | O_DIRECTORY);
		execveat(fd, "cat", cat_argv, env_empty, 0);
		break;
	case EXEC_EXECVEAT_EMPTY:
		fd = open("/bin/cat", O_RDONLY);
		execveat(fd, "", cat_argv, env_empty, AT_EMPTY_PATH);
		break;
	}
}

/* Runs r in a forked child, stdin from in_fd (-1: none); returns its
 * stdout. */
static char *run_exec(const struct exec_req *r, int in_fd, size_t *len, int *status)
{
	int pfd[2];
	pid_t pid;
	char *out;

	if (pipe(pfd) != 0)
		return NULL;
	pid = fork();
	if (pid == 0) {
		dup2(pfd[1], 1);
		close(pfd[0]);
		close(pfd[1]);
		if (in_fd >= 0) {
			dup2(in_fd, 0);
			if (in_fd != 0)
				close(in_fd);
		}
		exec_as(r);
		_exit(127);
	}
	close(pfd[1]);
	out = drain(pfd[0], len);
	close(pfd[0]);
	waitpid(pid, status, 0);
	return out;
}

/* Runs argv (execve of path) with envp, stdin from in_fd (-1: none);
 * returns its stdout. */
static char *run_child(const char *path, char *const argv[], char *const envp[], int in_fd,
		       size_t *len, int *status)
{
	struct exec_req r = { EXEC_EXECVE, path, argv, envp };

	return run_exec(&r, in_fd, len, status);
}

static void same_out(const char *name, char *got, size_t gl, const char *want, size_t wl, int st)
{
	CHECK(name, got && gl == wl && !memcmp(got, want, wl) && st == 0,
	       "%zu bytes of %zu, exit status %d", got ? gl : 0, wl, st);
	free(got);
}

enum spawn_how {
	SPAWN_PATH,		/* posix_spawn("/bin/cat", "cat MOUNTED") */
	SPAWN_ADDOPEN,		/* the same, stdin by posix_spawn_file_actions_addopen */
	SPAWN_SEARCH,		/* posix_spawnp("cat", "cat MOUNTED") */
};

static void spawn_cat(const char *name, const char *m, char *const envp[], const char *want,
		      size_t wl, enum spawn_how how)
{
	int pfd[2], status = -1, rc;
	pid_t pid;
	posix_spawn_file_actions_t fa;
	char *argv_path[] = { "cat", (char *)m, NULL }, *argv_stdin[] = { "cat", NULL };
	char *got = NULL;
	size_t gl = 0;

	if (pipe(pfd) != 0)
		return;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pfd[1], 1);
	posix_spawn_file_actions_addclose(&fa, pfd[0]);
	if (how == SPAWN_ADDOPEN)
		posix_spawn_file_actions_addopen(&fa, 0, m, O_RDONLY, 0);
	if (how == SPAWN_SEARCH)
		rc = posix_spawnp(&pid, "cat", &fa, NULL, argv_path, envp);
	else
		rc = posix_spawn(&pid, "/bin/cat", &fa, NULL,
				 how == SPAWN_ADDOPEN ? argv_stdin : argv_path, envp);
	close(pfd[1]);
	if (rc == 0) {
		got = drain(pfd[0], &gl);
		waitpid(pid, &status, 0);
		same_out(name, got, gl, want, wl, status);
	} else {
		CHECK(name, 0, "posix_spawn: %s", en(rc));
	}
	close(pfd[0]);
	posix_spawn_file_actions_destroy(&fa);
}

static void exec_checks(const char *m, const char *l)
{
	size_t wl, gl;
	char *want = slurp(l, &wl), *got;
	char *cat_argv[] = { "cat", (char *)m, NULL }, *cat_stdin[] = { "cat", NULL };
	char shcmd[PATH_MAX + 32];
	int status = -1, fd;

	group = "exec";
	spawn_cat("posix_spawn cat, env PATH only", m, env_min, want, wl, SPAWN_PATH);
	spawn_cat("posix_spawn cat, empty env", m, env_empty, want, wl, SPAWN_PATH);
	spawn_cat("posix_spawn cat, inherited env", m, environ, want, wl, SPAWN_PATH);
	spawn_cat("posix_spawn_file_actions_addopen of a mounted path", m, environ, want, wl,
		  SPAWN_ADDOPEN);
	spawn_cat("posix_spawnp cat, empty env", m, env_empty, want, wl, SPAWN_SEARCH);
	got = run_child("/bin/cat", cat_argv, env_min, -1, &gl, &status);
	same_out("fork+execve cat, env PATH only", got, gl, want, wl, status);
	/* the rest of the family, each with an empty environment: the shim
	 * puts LD_PRELOAD and the mounts back */
	{
		static const struct {
			enum exec_how how;
			const char *name;
		} family[] = {
			{ EXEC_FEXECVE, "fexecve(open(\"/bin/cat\")) cat, empty env" },
			{ EXEC_EXECLE, "execle cat, empty env" },
			{ EXEC_EXECLP, "execlp cat after clearenv" },
			{ EXEC_EXECVEAT, "execveat(fd of /bin, \"cat\"), empty env" },
			{ EXEC_EXECVEAT_EMPTY, "execveat(fd of /bin/cat, AT_EMPTY_PATH), empty env" },
		};

		for (size_t i = 0; i < sizeof(family) / sizeof(family[0]); i++) {
			struct exec_req r = { family[i].how, m, NULL, NULL };

			got = run_exec(&r, -1, &gl, &status);
			same_out(family[i].name, got, gl, want, wl, status);
		}
	}
	snprintf(shcmd, sizeof(shcmd), "cat '%s'", m);
	{
		char *sh_argv[] = { "sh", "-c", shcmd, NULL };

		got = run_child("/bin/sh", sh_argv, env_empty, -1, &gl, &status);
		same_out("execve sh -c cat, empty env", got, gl, want, wl, status);
	}
	/* an inherited mounted descriptor, at its offset */
	fd = open(m, O_RDONLY);
	if (fd >= 0 && lseek(fd, 100, SEEK_SET) == 100) {
		got = run_child("/bin/cat", cat_stdin, env_min, fd, &gl, &status);
		same_out("execve inherits a mounted fd and its offset", got, gl, want + 100, wl - 100,
			 status);
	} else {
		CHECK("execve inherits a mounted fd and its offset", 0, "%s", en(errno));
	}
	if (fd >= 0)
		close(fd);
	fd = open(m, O_RDONLY);
	if (fd >= 0) {
		int pfd[2];
		pid_t pid;
		posix_spawn_file_actions_t fa;

		if (pipe(pfd) == 0) {
			posix_spawn_file_actions_init(&fa);
			posix_spawn_file_actions_adddup2(&fa, pfd[1], 1);
			posix_spawn_file_actions_adddup2(&fa, fd, 0);
			if (posix_spawn(&pid, "/bin/cat", &fa, NULL, cat_stdin, env_min) == 0) {
				close(pfd[1]);
				got = drain(pfd[0], &gl);
				waitpid(pid, &status, 0);
				same_out("posix_spawn with a mounted fd as stdin", got, gl, want, wl, status);
			} else {
				close(pfd[1]);
				CHECK("posix_spawn with a mounted fd as stdin", 0, "%s", en(errno));
			}
			close(pfd[0]);
			posix_spawn_file_actions_destroy(&fa);
		}
		close(fd);
	}
	/* system and popen with the environment cleared (env -i style) */
	{
		char **saved = NULL, tmp[] = "/tmp/cloudshim-progcheck-XXXXXX";
		int n = 0, i, tfd = mkstemp(tmp);
		FILE *p;

		while (environ && environ[n])
			n++;
		saved = calloc((size_t)n + 1, sizeof(*saved));
		for (i = 0; i < n; i++)
			saved[i] = strdup(environ[i]);
		clearenv();
		setenv("PATH", "/usr/bin:/bin", 1);
		snprintf(shcmd, sizeof(shcmd), "cat '%s' > %s", m, tmp);
		status = system(shcmd);
		got = slurp(tmp, &gl);
		same_out("system() with a cleared environment", got, gl, want, wl, status);
		if (tfd >= 0) {
			close(tfd);
			unlink(tmp);
		}
		snprintf(shcmd, sizeof(shcmd), "cat '%s'", m);
		p = popen(shcmd, "r");
		if (p) {
			got = drain(fileno(p), &gl);
			status = pclose(p);
			same_out("popen() with a cleared environment", got, gl, want, wl, status);
		} else {
			CHECK("popen() with a cleared environment", 0, "%s", en(errno));
		}
		clearenv();
		for (i = 0; i < n; i++)
			putenv(saved[i]);
		free(saved);
	}
	free(want);
}

/* ------------------------------------------------------------------ raw -- */

struct linux_dirent64 {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

/* Entries by syscall(SYS_getdents64) with a buffer of bufsize, dots
 * dropped; calls counted. */
static int raw_list(int fd, size_t bufsize, struct ent **out, int *calls)
{
	char *buf = malloc(bufsize);
	struct ent *v = NULL;
	int n = 0, cap = 0;
	long r;

	*calls = 0;
	for (;;) {
		long pos = 0;

		r = syscall(SYS_getdents64, fd, buf, bufsize);
		(*calls)++;
		if (r <= 0)
			break;
		while (pos < r) {
			struct linux_dirent64 *d = (struct linux_dirent64 *)(buf + pos);

			pos += d->d_reclen;
			if (!strcmp(d->d_name, ".") || !strcmp(d->d_name, ".."))
				continue;
			if (n == cap) {
				cap = cap ? cap * 2 : 64;
				v = realloc(v, (size_t)cap * sizeof(*v));
			}
			snprintf(v[n].name, sizeof(v[n].name), "%s", d->d_name);
			v[n].type = d->d_type;
			v[n].ino = d->d_ino;
			n++;
		}
		if (*calls > 100000)
			break;
	}
	free(buf);
	if (v)
		qsort(v, (size_t)n, sizeof(*v), ent_cmp);
	*out = v;
	return r < 0 ? -1 : n;
}

static void raw_checks(const char *mdir, const char *ldir, const char *file)
{
	struct ent *le, *me;
	int ln = list_dir(ldir, &le, 0), n, calls, fd, ffd;
	char why[512], *mf = join(mdir, file), *lf = join(ldir, file);
	struct statx sx;
	struct stat lst;
	long r;

	group = "raw";
	stat(lf, &lst);
	fd = open(mdir, O_RDONLY | O_DIRECTORY);
	if (fd < 0) {
		CHECK("getdents64", 0, "open: %s", en(errno));
	} else {
		n = raw_list(fd, 32768, &me, &calls);
		CHECK("syscall(SYS_getdents64) names and types",
		       n >= 0 && same_ents(me, n, le, ln, why, sizeof(why), 1), "%s",
		       n < 0 ? en(errno) : why);
		free(me);
		CHECK("getdents64 at the end returns 0", syscall(SYS_getdents64, fd, why, 512) == 0,
		       "%s", en(errno));
		lseek(fd, 0, SEEK_SET);
		n = raw_list(fd, 200, &me, &calls);
		CHECK("getdents64 in small pieces after lseek 0",
		       n >= 0 && same_ents(me, n, le, ln, why, sizeof(why), 1) && calls > 2, "%s (%d calls)",
		       n < 0 ? en(errno) : why, calls);
		free(me);
		lseek(fd, 0, SEEK_SET);
		EXPECT("getdents64 with a too small buffer is EINVAL",
		       syscall(SYS_getdents64, fd, why, (size_t)8), EINVAL);
		close(fd);
	}
	ffd = open(mf, O_RDONLY);
	EXPECT("getdents64 of a file fd is ENOTDIR",
	       ffd >= 0 ? syscall(SYS_getdents64, ffd, why, sizeof(why)) : 0, ENOTDIR);

	memset(&sx, 0, sizeof(sx));
	r = syscall(SYS_statx, AT_FDCWD, mf, 0, STATX_BASIC_STATS, &sx);
	CHECK("syscall(SYS_statx) of a file", r == 0 && S_ISREG(sx.stx_mode) &&
	       (sx.stx_mask & STATX_SIZE) && (long long)sx.stx_size == (long long)lst.st_size,
	       "rc %ld %s mode %o size %llu, local %lld", r, r ? en(errno) : "", sx.stx_mode,
	       (unsigned long long)sx.stx_size, (long long)lst.st_size);
	memset(&sx, 0, sizeof(sx));
	r = syscall(SYS_statx, AT_FDCWD, mdir, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &sx);
	CHECK("syscall(SYS_statx) of a dir", r == 0 && S_ISDIR(sx.stx_mode), "rc %ld %s mode %o", r,
	       r ? en(errno) : "", sx.stx_mode);
	fd = open(mdir, O_RDONLY | O_DIRECTORY);
	memset(&sx, 0, sizeof(sx));
	r = fd >= 0 ? syscall(SYS_statx, fd, file, 0, STATX_SIZE, &sx) : -1;
	CHECK("syscall(SYS_statx) relative to a mounted dir fd",
	       r == 0 && (long long)sx.stx_size == (long long)lst.st_size, "rc %ld %s size %llu", r,
	       r ? en(errno) : "", (unsigned long long)sx.stx_size);
	if (fd >= 0)
		close(fd);
	memset(&sx, 0, sizeof(sx));
	r = ffd >= 0 ? syscall(SYS_statx, ffd, "", AT_EMPTY_PATH, STATX_BASIC_STATS, &sx) : -1;
	CHECK("syscall(SYS_statx) of a mounted fd (AT_EMPTY_PATH)",
	       r == 0 && (long long)sx.stx_size == (long long)lst.st_size, "rc %ld %s size %llu", r,
	       r ? en(errno) : "", (unsigned long long)sx.stx_size);
	{
		char *missing = join(mdir, "no-such-object");

		EXPECT("syscall(SYS_statx) of a missing path is ENOENT",
		       syscall(SYS_statx, AT_FDCWD, missing, 0, STATX_BASIC_STATS, &sx),
		       ENOENT);
		free(missing);
	}
	memset(&sx, 0, sizeof(sx));
	r = statx(AT_FDCWD, mf, 0, STATX_BASIC_STATS, &sx);
	CHECK("statx() of a file", r == 0 && (long long)sx.stx_size == (long long)lst.st_size,
	       "rc %ld %s", r, r ? en(errno) : "");
	if (ffd >= 0)
		close(ffd);
	free(le);
	free(mf);
	free(lf);
}

/* ------------------------------------------------------------------ bad -- */

/* A call the shim may not support: the right answer, or one clear errno. */
static void right_or_clear(const char *name, int right, long rc, int err)
{
	if (right)
		CHECK(name, 1, "");
	else if (rc == -1)
		CHECK(name, err == ENOTSUP || err == EINVAL || err == EBADF,
		       "errno %s, wanted the right answer or ENOTSUP/EINVAL/EBADF", en(err));
	else
		CHECK(name, 0, "returned %ld with wrong data (silently wrong)", rc);
}

static void bad_checks(const char *mdir, const char *file, const char *ldir)
{
	char *mf = join(mdir, file), *lf = join(ldir, file), *newp = join(mdir, "new-name");
	size_t wl;
	char *want = slurp(lf, &wl), buf[4096];
	int fd = open(mf, O_RDONLY);
	long r;
	struct stat st;
	struct statfs sfs;
	void *p;

	group = "bad";
	if (fd < 0 || !want) {
		CHECK("open", 0, "%s", en(errno));
		return;
	}
	errno = 0;
	r = syscall(SYS_read, fd, buf, sizeof(buf));
	right_or_clear("syscall(SYS_read) of a mounted fd",
		       r == (long)(wl < sizeof(buf) ? wl : sizeof(buf)) && !memcmp(buf, want, (size_t)r),
		       r, errno);
	errno = 0;
	r = syscall(SYS_pread64, fd, buf, (size_t)100, (off_t)10);
	right_or_clear("syscall(SYS_pread64) of a mounted fd",
		       r == 100 && wl >= 110 && !memcmp(buf, want + 10, 100), r, errno);
	errno = 0;
	memset(&st, 0, sizeof(st));
	r = syscall(SYS_fstat, fd, &st);
	right_or_clear("syscall(SYS_fstat) of a mounted fd", r == 0 && (size_t)st.st_size == wl &&
		       S_ISREG(st.st_mode), r, errno);
	errno = 0;
	memset(&st, 0, sizeof(st));
	r = syscall(SYS_newfstatat, AT_FDCWD, mf, &st, 0);
	right_or_clear("syscall(SYS_newfstatat) of a mounted path",
		       r == 0 && (size_t)st.st_size == wl, r, errno);
	errno = 0;
	r = syscall(SYS_openat, AT_FDCWD, mf, O_RDONLY);
	{
		int ok = 0;

		if (r >= 0) {
			ssize_t n = read((int)r, buf, sizeof(buf));

			ok = n == (ssize_t)(wl < sizeof(buf) ? wl : sizeof(buf)) &&
			     !memcmp(buf, want, (size_t)n);
			close((int)r);
		}
		right_or_clear("syscall(SYS_openat) of a mounted path", ok, r, errno);
	}
	errno = 0;
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	expect_err("mmap PROT_WRITE MAP_SHARED of a read-only fd", p == MAP_FAILED ? -1 : 0, errno,
		   EACCES, ENOTSUP, EINVAL, EBADF, 0);
	if (p != MAP_FAILED)
		munmap(p, 4096);
	EXPECT("ftruncate", ftruncate(fd, 0), EINVAL, EBADF, EROFS);
	EXPECT("fallocate", fallocate(fd, 0, 0, 4096), EBADF, EROFS, ENOTSUP);
	EXPECT("truncate", truncate(mf, 0), EROFS);
	EXPECT("unlink", unlink(mf), EROFS);
	EXPECT("rename within the mount", rename(mf, newp), EROFS, EXDEV);
	EXPECT("mkdir", mkdir(newp, 0755), EROFS);
	EXPECT("rmdir", rmdir(mdir), EROFS, EBUSY, ENOTEMPTY);
	EXPECT("chmod", chmod(mf, 0600), EROFS);
	EXPECT("symlink into the mount", symlink("/etc/hostname", newp), EROFS);
	EXPECT("utimensat", utimensat(AT_FDCWD, mf, NULL, 0), EROFS);
	EXPECT("readlink of a file is EINVAL", readlink(mf, buf, sizeof(buf)), EINVAL);
	EXPECT("getxattr user.x", getxattr(mf, "user.x", buf, sizeof(buf)), ENODATA,
	       ENOTSUP);
	EXPECT("lgetxattr security.selinux (ls -l)", lgetxattr(mf, "security.selinux", buf,
	       sizeof(buf)), ENODATA, ENOTSUP);
	EXPECT("getxattr system.posix_acl_access (ls -l)",
	       getxattr(mf, "system.posix_acl_access", NULL, 0), ENODATA, ENOTSUP);
	errno = 0;
	r = listxattr(mf, buf, sizeof(buf));
	CHECK("listxattr: none, or ENOTSUP", r == 0 || (r == -1 && errno == ENOTSUP), "rc %ld %s", r,
	       en(errno));
	errno = 0;
	r = statfs(mdir, &sfs);
	right_or_clear("statfs of a mounted dir", r == 0, r, errno);
	errno = 0;
	r = fstatfs(fd, &sfs);
	right_or_clear("fstatfs of a mounted fd", r == 0, r, errno);
	EXPECT("write to a mounted fd is EBADF", write(fd, "x", 1), EBADF);
	close(fd);
	free(want);
	free(mf);
	free(lf);
	free(newp);
}

/* ---------------------------------------------------------------- basic -- */

/* Not constants, so that a fortified build calls __open64_2, __openat64_2,
 * __read_chk, __pread64_chk, __fgets_chk, __getcwd_chk, __readlink_chk... */
static volatile int rdonly = O_RDONLY;
static volatile size_t want_n = 50000;

static void basic_checks(const char *m, const char *l, const char *mdir)
{
	size_t wl, n = want_n;
	char *want = slurp(l, &wl), buf[65536], path[PATH_MAX];
	int fd;
	ssize_t r;
	FILE *f;

	group = "basic";
	if (!want || wl < 60000) {
		CHECK("local copy", 0, "%s is missing or smaller than 60000 bytes", l);
		return;
	}
	fd = open(m, rdonly);
	r = fd >= 0 ? read(fd, buf, n) : -1;
	CHECK("open (runtime flags) + read (runtime size)", r == (ssize_t)n && !memcmp(buf, want, n),
	       "read %zd %s", r, r < 0 ? en(errno) : "");
	r = fd >= 0 ? pread(fd, buf, n - 7, 9999) : -1;
	CHECK("pread (runtime size)", r == (ssize_t)(n - 7) && !memcmp(buf, want + 9999, n - 7),
	       "read %zd %s", r, r < 0 ? en(errno) : "");
	if (fd >= 0)
		close(fd);
	fd = openat(AT_FDCWD, m, rdonly);
	r = fd >= 0 ? read(fd, buf, 1000) : -1;
	CHECK("openat (runtime flags)", r == 1000 && !memcmp(buf, want, 1000), "%s", en(errno));
	if (fd >= 0)
		close(fd);
	f = fopen(m, "r");
	if (f) {
		char *s = fgets(buf, (int)(n / 1000), f);

		CHECK("fgets (runtime size)", s && !strncmp(buf, want, strlen(buf)) && strlen(buf) > 0,
		       "'%.40s'", s ? buf : "(null)");
		rewind(f);
		s = fgets_unlocked(buf, (int)(n / 1000), f);
		CHECK("fgets_unlocked", s && !strncmp(buf, want, strlen(buf)), "'%.40s'",
		       s ? buf : "(null)");
		rewind(f);
		r = (ssize_t)fread_unlocked(buf, 1, n, f);
		CHECK("fread_unlocked", r == (ssize_t)n && !memcmp(buf, want, n), "read %zd", r);
		fclose(f);
	} else {
		CHECK("fgets (runtime size)", 0, "fopen: %s", en(errno));
	}
	CHECK("realpath of a mounted file", realpath(m, path) && !strcmp(path, m), "'%s' %s", path,
	       en(errno));
	errno = 0;
	r = readlink(m, buf, n);
	expect_err("readlink of a mounted file is EINVAL", r, errno, EINVAL, 0);
	if (chdir(mdir) == 0) {
		char *p = getcwd(buf, n);

		CHECK("getcwd (runtime size) in a mounted dir", p && !strcmp(p, mdir), "'%s'",
		       p ? p : en(errno));
		if (chdir("/") != 0)
			CHECK("chdir /", 0, "%s", en(errno));
	} else {
		CHECK("getcwd (runtime size) in a mounted dir", 0, "chdir: %s", en(errno));
	}
	free(want);
}

/* ------------------------------------------------------------------- io -- */

/*
 * The fortified entry points with 32-bit offsets: a plain build links
 * none of them, and a fortified one with _FILE_OFFSET_BITS=64 the 64 forms
 * (its headers even redirect __open_2 to __open64_2), so they are bound
 * here by their exact symbol names.
 */
extern int open_2_sym(const char *path, int flags) __asm__("__open_2");
extern int openat_2_sym(int dirfd, const char *path, int flags) __asm__("__openat_2");
extern ssize_t pread_chk_sym(int fd, void *buf, size_t len, long off, size_t buflen)
	__asm__("__pread_chk");

/* A call's result: the count (and the hash of the bytes at buf), or the
 * errno. */
static void put_rc(struct out *o, const char *what, ssize_t r, const void *buf)
{
	if (r < 0)
		put(o, "%s: %s; ", what, en(errno));
	else if (buf)
		put(o, "%s=%zd %llx; ", what, r, (unsigned long long)fnv(buf, (size_t)r, 0));
	else
		put(o, "%s=%zd; ", what, r);
}

static void put_pos(struct out *o, const char *what, int fd)
{
	put(o, "%s=%lld; ", what, (long long)lseek(fd, 0, SEEK_CUR));
}

static off_t fd_size(int fd)
{
	struct stat st;

	return fstat(fd, &st) == 0 ? st.st_size : -1;
}

/* Exactly n bytes from fd (a pipe gives them in pieces), or fewer at EOF. */
static ssize_t read_n(int fd, char *buf, size_t n)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = read(fd, buf + got, n - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return got ? (ssize_t)got : r;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

/* An unlinked local file to copy into. */
static int tmp_fd(void)
{
	char path[] = "/tmp/cloudshim-progcheck-XXXXXX";
	int fd = mkstemp(path);

	if (fd >= 0)
		unlink(path);
	return fd;
}

/* What the file fd holds: its size and hash. */
static void put_contents(struct out *o, int fd)
{
	size_t n;
	char *all;

	lseek(fd, 0, SEEK_SET);
	all = drain(fd, &n);
	put(o, "contents=%zu %llx; ", all ? n : 0, (unsigned long long)fnv(all, all ? n : 0, 0));
	free(all);
}

typedef void (*fd_op)(const char *path, int fd, struct out *o);

/* op on the mounted file, then on the local copy, each on a descriptor of
 * its own (opened read-only): the same text. */
static void same_fd(const char *name, fd_op op, const char *m, const char *l)
{
	struct out a = { .n = 0 }, b = { .n = 0 };
	struct out *outs[] = { &a, &b };
	const char *paths[] = { m, l };

	for (int i = 0; i < 2; i++) {
		int fd = open(paths[i], O_RDONLY);

		if (fd < 0) {
			put(outs[i], "open: %s", en(errno));
			continue;
		}
		op(paths[i], fd, outs[i]);
		close(fd);
	}
	a.s[a.n] = b.s[b.n] = 0;
	CHECK(name, strcmp(a.s, b.s) == 0, "mounted [%s] local [%s]", a.s, b.s);
}

static volatile size_t io_n = 5000;	/* not constants, as in basic */
static volatile int io_bad_count = -1;

static void op_open_2(const char *path, int fd, struct out *o)
{
	char buf[8192], *dir = strdup(path), *base = strrchr(dir, '/');
	int f, dfd;

	*base++ = 0;
	f = open_2_sym(path, rdonly);
	put_rc(o, "__open_2+read", f < 0 ? -1 : read(f, buf, io_n), buf);
	if (f >= 0) {
		put(o, "size=%lld; ", (long long)fd_size(f));
		close(f);
	}
	f = openat_2_sym(AT_FDCWD, path, rdonly);
	put_rc(o, "__openat_2(AT_FDCWD)+read", f < 0 ? -1 : read(f, buf, io_n), buf);
	if (f >= 0)
		close(f);
	dfd = open(dir, O_RDONLY | O_DIRECTORY);
	f = dfd < 0 ? -1 : openat_2_sym(dfd, base, rdonly);
	put_rc(o, "__openat_2(dirfd, name)+pread", f < 0 ? -1 : pread(f, buf, io_n, 777), buf);
	if (f >= 0)
		close(f);
	f = dfd < 0 ? -1 : openat_2_sym(dfd, "no-such-object", rdonly);
	put_rc(o, "__openat_2(dirfd, missing)", f, NULL);
	if (dfd >= 0)
		close(dfd);
	f = open_2_sym(path, rdonly | O_DIRECTORY);
	put_rc(o, "__open_2(O_DIRECTORY)", f, NULL);
	if (f >= 0)
		close(f);
	free(dir);
}

static void op_pread_chk(const char *path, int fd, struct out *o)
{
	char buf[8192];
	off_t size = fd_size(fd), offs[] = { 0, 9999, size - 100, size, size + 5, -1 };

	for (size_t i = 0; i < sizeof(offs) / sizeof(offs[0]); i++)
		put_rc(o, "__pread_chk", pread_chk_sym(fd, buf, io_n, offs[i], sizeof(buf)), buf);
	put_pos(o, "pos", fd);
}

/* readv to the end, in pieces of 1 + 0 + 4095 + 70000 bytes */
static void op_readv(const char *path, int fd, struct out *o)
{
	static char a[1], c[4095], d[70000];
	struct iovec iov[] = { { a, 1 }, { NULL, 0 }, { c, sizeof(c) }, { d, sizeof(d) } };
	uint64_t h = 0;
	ssize_t r, total = 0;
	int calls = 0, short_reads = 0;

	while ((r = readv(fd, iov, 4)) > 0) {
		ssize_t left = r;

		for (int i = 0; i < 4 && left > 0; i++) {
			size_t k = (size_t)left < iov[i].iov_len ? (size_t)left : iov[i].iov_len;

			h = fnv(iov[i].iov_base, k, h);
			left -= (ssize_t)k;
		}
		total += r;
		calls++;
		short_reads += r < (ssize_t)(1 + 4095 + 70000);
	}
	put(o, "readv: total=%zd calls=%d short=%d h=%llx last=%zd; ", total, calls, short_reads,
	    (unsigned long long)h, r);
	put_pos(o, "pos", fd);
	put_rc(o, "readv at EOF", readv(fd, iov, 4), NULL);
	lseek(fd, 100, SEEK_SET);
	put_rc(o, "readv of 0 iovecs", readv(fd, iov, 0), NULL);
	put_rc(o, "readv of -1 iovecs", readv(fd, iov, io_bad_count), NULL);
	put_rc(o, "readv after lseek", readv(fd, iov + 2, 1), c);
	put_pos(o, "pos", fd);
}

/* preadv, preadv64, preadv2, preadv64v2: at offsets, and (v2) at -1 */
static void op_preadv(const char *path, int fd, struct out *o)
{
	static char a[7], b[5000];
	struct iovec iov[] = { { a, sizeof(a) }, { b, sizeof(b) } };
	off_t size = fd_size(fd), offs[] = { 0, 12345, size - 50, size, size + 1 };
	char both[sizeof(a) + sizeof(b)];
	ssize_t r;

	for (size_t i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
		memset(a, 0, sizeof(a));
		memset(b, 0, sizeof(b));
		r = preadv(fd, iov, 2, offs[i]);
		memcpy(both, a, sizeof(a));
		memcpy(both + sizeof(a), b, sizeof(b));
		put_rc(o, "preadv", r, r > 0 ? both : NULL);
		r = preadv64(fd, iov, 2, offs[i]);
		memcpy(both, a, sizeof(a));
		memcpy(both + sizeof(a), b, sizeof(b));
		put_rc(o, "preadv64", r, r > 0 ? both : NULL);
	}
	put_rc(o, "preadv at -1", preadv(fd, iov, 2, -1), NULL);
	put_rc(o, "preadv64 at -2", preadv64(fd, iov, 2, -2), NULL);
	put_pos(o, "pos after preadv", fd);
	/* v2: -1 is the current offset, which moves; any other leaves it */
	lseek(fd, 1000, SEEK_SET);
	put_rc(o, "preadv2 at -1", preadv2(fd, iov + 1, 1, -1, 0), b);
	put_pos(o, "pos", fd);
	put_rc(o, "preadv2 at 50", preadv2(fd, iov + 1, 1, 50, 0), b);
	put_pos(o, "pos", fd);
	put_rc(o, "preadv64v2 at -1", preadv64v2(fd, iov, 1, -1, 0), a);
	put_pos(o, "pos", fd);
	put_rc(o, "preadv64v2 at 3", preadv64v2(fd, iov, 1, 3, 0), a);
	put_pos(o, "pos", fd);
}

static void op_lseek64(const char *path, int fd, struct out *o)
{
	char buf[64];

	put(o, "SET=%lld ", (long long)lseek64(fd, 1000, SEEK_SET));
	put_rc(o, "read", read(fd, buf, sizeof(buf)), buf);
	put(o, "CUR-10=%lld ", (long long)lseek64(fd, -10, SEEK_CUR));
	put_rc(o, "read", read(fd, buf, sizeof(buf)), buf);
	put(o, "CUR+0=%lld ", (long long)lseek64(fd, 0, SEEK_CUR));
	put(o, "END=%lld ", (long long)lseek64(fd, 0, SEEK_END));
	put_rc(o, "read at END", read(fd, buf, sizeof(buf)), buf);
	put(o, "END-5=%lld ", (long long)lseek64(fd, -5, SEEK_END));
	put_rc(o, "read", read(fd, buf, sizeof(buf)), buf);
	put(o, "END+100=%lld ", (long long)lseek64(fd, 100, SEEK_END));
	put_rc(o, "read past END", read(fd, buf, sizeof(buf)), buf);
	put(o, "big=%lld ", (long long)lseek64(fd, (off64_t)1 << 40, SEEK_SET));
	put_rc(o, "read", read(fd, buf, sizeof(buf)), buf);
	put_rc(o, "SET -1", lseek64(fd, -1, SEEK_SET), NULL);
	put_rc(o, "CUR before 0", lseek64(fd, -((off64_t)1 << 41), SEEK_CUR), NULL);
	put_rc(o, "whence 99", lseek64(fd, 0, 99), NULL);
	put(o, "still=%lld ", (long long)lseek64(fd, 0, SEEK_CUR));
	put(o, "DATA=%lld ", (long long)lseek64(fd, 5, SEEK_DATA));
	put(o, "HOLE=%lld ", (long long)lseek64(fd, 5, SEEK_HOLE));
	put_rc(o, "DATA at END", lseek64(fd, fd_size(fd), SEEK_DATA), NULL);
}

static int cloexec(int fd)
{
	int fl = fcntl(fd, F_GETFD);

	return fl < 0 ? -1 : (fl & FD_CLOEXEC) != 0;
}

/* Reads 100 bytes on one descriptor, then where the other stands. */
static void put_shared(struct out *o, const char *what, int reader, int other)
{
	char buf[100];

	put_rc(o, what, read(reader, buf, sizeof(buf)), buf);
	put_pos(o, "other's pos", other);
}

#define DUP3_TARGET 77	/* a number free in this program: no other open goes so high */

static void op_dup3(const char *path, int fd, struct out *o)
{
	int d = dup3(fd, DUP3_TARGET, O_CLOEXEC), null_fd;

	put(o, "dup3=%d cloexec=%d original's=%d; ", d, cloexec(d), cloexec(fd));
	put_shared(o, "read dup", d, fd);
	put_shared(o, "read original", fd, d);
	lseek(fd, 5000, SEEK_SET);
	put_pos(o, "dup after lseek of original", d);
	close(d);
	put_shared(o, "original after close(dup)", fd, fd);
	put_rc(o, "dup3(fd, fd)", dup3(fd, fd, O_CLOEXEC), NULL);
	put_rc(o, "dup3 bad flags", dup3(fd, DUP3_TARGET, 0x7fff0000), NULL);
	/* onto a number open on something else: it is replaced */
	null_fd = open("/dev/null", O_RDONLY);
	d = null_fd < 0 ? -1 : dup3(fd, null_fd, O_CLOEXEC);
	put(o, "dup3 onto an open fd=%d; ", d == null_fd);
	put_shared(o, "read replaced", null_fd, fd);
	if (null_fd >= 0)
		close(null_fd);
}

static void op_fcntl_dup(const char *path, int fd, struct out *o)
{
	int a = fcntl(fd, F_DUPFD, 50);
	int b = fcntl(fd, F_DUPFD_CLOEXEC, 60);
	int c = fcntl(fd, F_DUPFD, 50);

	put(o, "F_DUPFD>=50: %d cloexec=%d; F_DUPFD_CLOEXEC>=60: %d cloexec=%d; next: %d; ",
	    a >= 50, cloexec(a), b >= 60, cloexec(b), c > a);
	put_shared(o, "read F_DUPFD", a, fd);
	put_shared(o, "read F_DUPFD_CLOEXEC", b, a);
	put_shared(o, "read original", fd, b);
	put(o, "F_GETFL=%#x; ", a < 0 ? -1 : fcntl(a, F_GETFL) & O_ACCMODE);
	close(a);
	close(b);
	close(c);
	put_shared(o, "original after close", fd, fd);
	put_rc(o, "F_DUPFD -1", fcntl(fd, F_DUPFD, -1), NULL);
	put(o, "F_SETFD=%d ", fcntl(fd, F_SETFD, FD_CLOEXEC));
	put(o, "F_GETFD=%d ", fcntl(fd, F_GETFD));
	put(o, "F_SETFD=%d ", fcntl(fd, F_SETFD, 0));
	put(o, "F_GETFD=%d ", fcntl(fd, F_GETFD));
}

enum xfer { XFER_COPY, XFER_SPLICE, XFER_SENDFILE };

static ssize_t xfer1(enum xfer k, int in, off64_t *in_off, int out, off64_t *out_off, size_t n)
{
	switch (k) {
	case XFER_COPY:
		return copy_file_range(in, in_off, out, out_off, n, 0);
	case XFER_SPLICE:
		return splice(in, in_off, out, out_off, n, 0);
	default:
		return sendfile64(out, in, in_off, n);
	}
}

/* Calls it until n bytes moved, or the end: the total (or -1 if none). */
static ssize_t xfer_all(enum xfer k, int in, off64_t *in_off, int out, off64_t *out_off, size_t n)
{
	size_t done = 0;

	while (done < n) {
		ssize_t r = xfer1(k, in, in_off, out, out_off, n - done);

		if (r < 0)
			return done ? (ssize_t)done : -1;
		if (r == 0)
			break;
		done += (size_t)r;
	}
	return (ssize_t)done;
}

/* copy_file_range or sendfile64 into a local file: at an offset given
 * (which moves, the descriptor's does not), at the descriptor's offset,
 * into the destination at an offset given, and at the end. */
static void xfer_to_file(enum xfer k, int fd, struct out *o)
{
	int t = tmp_fd();
	off64_t in = 1000, out = 200000, size = fd_size(fd);

	put_rc(o, "at in_off", xfer_all(k, fd, &in, t, NULL, 50000), NULL);
	put(o, "in_off=%lld; ", (long long)in);
	put_pos(o, "pos", fd);
	lseek(fd, 7, SEEK_SET);
	put_rc(o, "at the offset", xfer_all(k, fd, NULL, t, NULL, 30000), NULL);
	put_pos(o, "pos", fd);
	in = size - 100;
	if (k == XFER_COPY) {
		put_rc(o, "across the end, at out_off", xfer_all(k, fd, &in, t, &out, 5000), NULL);
		put(o, "out_off=%lld; ", (long long)out);
	} else {
		put_rc(o, "across the end", xfer_all(k, fd, &in, t, NULL, 5000), NULL);
	}
	put(o, "in_off=%lld; ", (long long)in);
	put_rc(o, "at the end", xfer1(k, fd, &in, t, NULL, 5000), NULL);
	put_contents(o, t);
	close(t);
}

static void op_copy_file_range(const char *path, int fd, struct out *o)
{
	xfer_to_file(XFER_COPY, fd, o);
}

static void op_sendfile64(const char *path, int fd, struct out *o)
{
	xfer_to_file(XFER_SENDFILE, fd, o);
}

/* splice and sendfile64 into a pipe, less than it holds each time, then
 * read back */
static void xfer_to_pipe(enum xfer k, int fd, struct out *o)
{
	static char buf[40000];
	off64_t in = 4321;
	int p[2];
	ssize_t r;

	if (pipe(p) != 0) {
		put(o, "pipe: %s", en(errno));
		return;
	}
	r = xfer_all(k, fd, &in, p[1], NULL, sizeof(buf));
	put(o, "at in_off=%zd in_off=%lld; ", r, (long long)in);
	put_rc(o, "pipe gives", r > 0 ? read_n(p[0], buf, (size_t)r) : -1, buf);
	put_pos(o, "pos", fd);
	lseek(fd, 99999, SEEK_SET);
	r = xfer_all(k, fd, NULL, p[1], NULL, 30000);
	put(o, "at the offset=%zd; ", r);
	put_rc(o, "pipe gives", r > 0 ? read_n(p[0], buf, (size_t)r) : -1, buf);
	put_pos(o, "pos", fd);
	in = fd_size(fd) - 10;
	put_rc(o, "across the end", xfer_all(k, fd, &in, p[1], NULL, 30000), NULL);
	put_rc(o, "pipe gives", read_n(p[0], buf, 10), buf);
	put_rc(o, "at the end", xfer1(k, fd, &in, p[1], NULL, 30000), NULL);
	close(p[0]);
	close(p[1]);
}

static void op_splice(const char *path, int fd, struct out *o)
{
	xfer_to_pipe(XFER_SPLICE, fd, o);
}

static void op_sendfile64_pipe(const char *path, int fd, struct out *o)
{
	xfer_to_pipe(XFER_SENDFILE, fd, o);
}

/*
 * Destinations the kernel refuses, each before it reads a byte: splice
 * into a file, or into a pipe at an offset; copy_file_range into a pipe,
 * with flags, into a file opened to append or read-only; sendfile64 into
 * a file opened to append or read-only; splice into a pipe's read end.
 */
static void op_xfer_refused(const char *path, int fd, struct out *o)
{
	int t = tmp_fd(), p[2], ap = -1, ro = -1;
	off64_t in = 10, out = 20;
	char self[64];

	if (t < 0 || pipe(p) != 0) {
		put(o, "set-up: %s", en(errno));
		return;
	}
	snprintf(self, sizeof(self), "/proc/self/fd/%d", t);
	ap = open(self, O_WRONLY | O_APPEND);
	ro = open(self, O_RDONLY);
	put_rc(o, "splice into a file", splice(fd, NULL, t, NULL, 100, 0), NULL);
	put_rc(o, "splice into a file at offsets", splice(fd, &in, t, &out, 100, 0), NULL);
	put_rc(o, "splice into a pipe at an offset", splice(fd, NULL, p[1], &out, 100, 0), NULL);
	put_rc(o, "splice into a pipe's read end", splice(fd, NULL, p[0], NULL, 100, 0), NULL);
	put_rc(o, "copy_file_range into a pipe", copy_file_range(fd, NULL, p[1], NULL, 100, 0),
	       NULL);
	put_rc(o, "copy_file_range with flags", copy_file_range(fd, NULL, t, NULL, 100, 1), NULL);
	put_rc(o, "copy_file_range to append", copy_file_range(fd, NULL, ap, NULL, 100, 0), NULL);
	put_rc(o, "copy_file_range to read-only", copy_file_range(fd, NULL, ro, NULL, 100, 0),
	       NULL);
	put_rc(o, "sendfile64 to append", sendfile64(ap, fd, NULL, 100), NULL);
	put_rc(o, "sendfile64 to read-only", sendfile64(ro, fd, NULL, 100), NULL);
	put(o, "in=%lld out=%lld; ", (long long)in, (long long)out);
	put_pos(o, "pos", fd);
	put_contents(o, t);
	close(p[0]);
	close(p[1]);
	close(ap);
	close(ro);
	close(t);
}

/*
 * splice with SPLICE_F_NONBLOCK into a blocking pipe: all the empty pipe
 * holds, then EAGAIN while none of its pages is free (a part of one read
 * frees none), then one page; without the flag into a full non-blocking
 * pipe, and sendfile64 there: EAGAIN.
 */
static void op_splice_nonblock(const char *path, int fd, struct out *o)
{
	static char buf[1 << 16];
	int p[2], q[2];

	if (pipe(p) != 0 || pipe2(q, O_NONBLOCK) != 0) {
		put(o, "pipe: %s", en(errno));
		return;
	}
	put_rc(o, "into the empty pipe", splice(fd, NULL, p[1], NULL, 1 << 20, SPLICE_F_NONBLOCK),
	       NULL);
	put_rc(o, "into the full pipe", splice(fd, NULL, p[1], NULL, 100, SPLICE_F_NONBLOCK),
	       NULL);
	put_rc(o, "read", read_n(p[0], buf, 100), buf);
	put_rc(o, "a page not all read", splice(fd, NULL, p[1], NULL, 9000, SPLICE_F_NONBLOCK),
	       NULL);
	put_rc(o, "read", read_n(p[0], buf, 4000), buf);
	put_rc(o, "a page free", splice(fd, NULL, p[1], NULL, 9000, SPLICE_F_NONBLOCK), NULL);
	put_pos(o, "pos", fd);
	put_rc(o, "into a non-blocking pipe", splice(fd, NULL, q[1], NULL, 1 << 20, 0), NULL);
	put_rc(o, "again, full", splice(fd, NULL, q[1], NULL, 1 << 20, 0), NULL);
	put_rc(o, "sendfile64 there", sendfile64(q[1], fd, NULL, 100), NULL);
	put_rc(o, "read", read_n(q[0], buf, sizeof(buf)), buf);
	put_pos(o, "pos", fd);
	close(p[0]);
	close(p[1]);
	close(q[0]);
	close(q[1]);
}

/*
 * op_splice_nonblock in a child, so that a call that waits for a reader
 * (there is none) shows as a failure, not as a hang of the whole run.
 */
static void op_splice_nonblock_child(const char *path, int fd, struct out *o)
{
	int p[2], status;
	pid_t pid;
	ssize_t n;

	if (pipe(p) != 0 || (pid = fork()) < 0) {
		put(o, "fork: %s", en(errno));
		return;
	}
	if (pid == 0) {
		struct out c = { .n = 0 };

		alarm(10);
		op_splice_nonblock(path, fd, &c);
		_exit(write(p[1], c.s, c.n) == (ssize_t)c.n ? 0 : 1);
	}
	close(p[1]);
	n = read_n(p[0], o->s + o->n, sizeof(o->s) - 1 - o->n);
	o->n += n > 0 ? (size_t)n : 0;
	close(p[0]);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		put(o, "child %s", WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM ?
			"blocked (killed after 10 s)" : "failed");
}

/*
 * The links the kernel keeps for a descriptor (/proc/self/fd/N, the same
 * under /proc/PID, /dev/fd/N, /dev/stdin): opened, they give the file's
 * bytes from its start; stat follows them, lstat does not; readlink and
 * realpath name the file; a path through a directory's link reaches the
 * files below it; unlink of a link leaves the file alone.  Then O_PATH: a
 * descriptor that fstat takes and read refuses.
 */
static void op_fd_links(const char *path, int fd, struct out *o)
{
	char link[3][64], buf[5000], target[PATH_MAX], *real = realpath(path, NULL);
	char *dir = strdup(path), *base = strrchr(dir, '/');
	int saved = dup(0), f, dfd;
	struct stat st;
	ssize_t n;

	*base++ = 0;
	snprintf(link[0], sizeof(link[0]), "/proc/self/fd/%d", fd);
	snprintf(link[1], sizeof(link[1]), "/proc/%d/fd/%d", (int)getpid(), fd);
	snprintf(link[2], sizeof(link[2]), "/dev/fd/%d", fd);
	lseek(fd, 100, SEEK_SET);
	for (int i = 0; i < 3; i++) {
		f = open(link[i], O_RDONLY);
		put_rc(o, "open+read", f < 0 ? -1 : read(f, buf, sizeof(buf)), buf);
		close(f);
		put(o, "stat=%lld ", stat(link[i], &st) == 0 ? (long long)st.st_size : -1LL);
		put(o, "lstat link=%d ", lstat(link[i], &st) == 0 && S_ISLNK(st.st_mode));
		n = readlink(link[i], target, sizeof(target) - 1);
		put(o, "readlink names it=%d ", n > 0 && real && (target[n] = 0, !strcmp(target, real)));
		put(o, "realpath names it=%d; ", real && realpath(link[i], target) && !strcmp(target, real));
	}
	put_pos(o, "pos", fd);
	if (saved >= 0 && dup2(fd, 0) == 0) {
		f = open("/dev/stdin", O_RDONLY);
		put_rc(o, "/dev/stdin", f < 0 ? -1 : read(f, buf, sizeof(buf)), buf);
		close(f);
		dup2(saved, 0);
	}
	close(saved);
	dfd = open(dir, O_RDONLY | O_DIRECTORY);
	snprintf(target, sizeof(target), "/proc/self/fd/%d/%s", dfd, base);
	f = dfd < 0 ? -1 : open(target, O_RDONLY);
	put_rc(o, "through a directory's link", f < 0 ? -1 : pread(f, buf, 3000, 50), buf);
	close(f);
	close(dfd);
	put_rc(o, "unlink of the link", unlink(link[0]), NULL);
	put_rc(o, "the file is still there", access(path, F_OK), NULL);
	f = open(path, O_PATH);
	put(o, "O_PATH fstat=%lld ", f >= 0 && fstat(f, &st) == 0 ? (long long)st.st_size : -1LL);
	put_rc(o, "read", f < 0 ? 0 : read(f, buf, 10), NULL);
	put_rc(o, "pread", f < 0 ? 0 : pread(f, buf, 10, 0), NULL);
	close(f);
	free(real);
	free(dir);
}

/*
 * A transfer into a pipe asking for more than the pipe holds (1 MiB): the
 * kernel moves what fits and returns (a short count: the caller reads the
 * pipe and calls again), on a blocking pipe as on a non-blocking one, and
 * the input offset moves by what was moved.  Run in a child, so that a
 * call that waits for a reader (there is none) is a failure, not a hang.
 * 0 when it did, else what went wrong.
 */
static const char *overfill_pipe(enum xfer k, const char *path, int nonblock, int use_off,
				 const char *want, size_t wl)
{
	static const char *why[] = { NULL, "failed", "returned 0 or more than the pipe holds",
				     "the input offset moved by another amount", "wrong bytes",
				     "set-up failed" };
	const off64_t start = 100;
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		int p[2], fd = open(path, O_RDONLY), cap;
		off64_t in = start, now;
		ssize_t r;
		char *got;

		alarm(10);
		if (fd < 0 || pipe2(p, nonblock ? O_NONBLOCK : 0) != 0 ||
		    (cap = fcntl(p[1], F_GETPIPE_SZ)) <= 0 || lseek(fd, start, SEEK_SET) != start)
			_exit(5);
		r = xfer1(k, fd, use_off ? &in : NULL, p[1], NULL, (size_t)1 << 20);
		if (r < 0)
			_exit(1);
		if (r == 0 || r > cap)
			_exit(2);
		now = use_off ? in : lseek(fd, 0, SEEK_CUR);
		if (now != start + r)
			_exit(3);
		got = malloc((size_t)r);
		if (!got || read_n(p[0], got, (size_t)r) != r || (size_t)(start + r) > wl ||
		    memcmp(got, want + start, (size_t)r))
			_exit(4);
		_exit(0);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return "fork failed";
	if (WIFSIGNALED(status))
		return WTERMSIG(status) == SIGALRM ? "blocked (killed after 10 s)" : "crashed";
	return WEXITSTATUS(status) < 6 ? why[WEXITSTATUS(status)] : "exec?";
}

static void overfill_checks(const char *m, const char *l)
{
	size_t wl;
	char *want = slurp(l, &wl), name[128];

	for (int k = XFER_SPLICE; k <= XFER_SENDFILE; k++) {
		for (int nb = 0; nb < 2; nb++) {
			for (int use_off = 0; use_off < 2; use_off++) {
				const char *loc = overfill_pipe((enum xfer)k, l, nb, use_off, want, wl);
				const char *mnt = overfill_pipe((enum xfer)k, m, nb, use_off, want, wl);

				snprintf(name, sizeof(name), "%s of 1 MiB into a %s pipe, %s",
					 k == XFER_SPLICE ? "splice" : "sendfile64",
					 nb ? "non-blocking" : "blocking",
					 use_off ? "at an offset given" : "at the offset");
				CHECK(name, !mnt && !loc, "%s (local copy: %s)", mnt ? mnt : "ok",
				       loc ? loc : "ok");
			}
		}
	}
	free(want);
}

/*
 * A path ending in "/" or "/." names a directory: for a file there the
 * kernel says ENOTDIR, for a directory opened to write and for any create
 * there EISDIR; fopen too.  Checked on the mounted file and the local copy.
 */
static void trailing_slash_checks(const char *m, const char *l)
{
	const char *files[] = { m, l }, *where[] = { "mounted", "local" };
	char name[160], p[PATH_MAX + 32], dir[PATH_MAX];
	struct stat st;

	for (int i = 0; i < 2; i++) {
		snprintf(dir, sizeof(dir), "%s", files[i]);
		*strrchr(dir, '/') = 0;
#define AT(fmt, arg, what, call, ...) \
		do { \
			snprintf(p, sizeof(p), fmt, arg); \
			snprintf(name, sizeof(name), "%s: %s", where[i], what); \
			EXPECT(name, call, __VA_ARGS__); \
		} while (0)
		AT("%s/", files[i], "open of file/", open(p, O_RDONLY), ENOTDIR);
		AT("%s/.", files[i], "open of file/.", open(p, O_RDONLY), ENOTDIR);
		AT("%s/", files[i], "stat of file/", stat(p, &st), ENOTDIR);
		AT("%s/", files[i], "lstat of file/", lstat(p, &st), ENOTDIR);
		AT("%s/", files[i], "access of file/", access(p, R_OK), ENOTDIR);
		AT("%s/", files[i], "open of file/ to write", open(p, O_WRONLY), ENOTDIR);
		AT("%s/", files[i], "create of file/", open(p, O_WRONLY | O_CREAT, 0644), EISDIR);
		AT("%s/", files[i], "fopen r of file/", fopen(p, "r") ? 0 : -1, ENOTDIR);
		AT("%s/", files[i], "fopen w of file/", fopen(p, "w") ? 0 : -1, EISDIR);
		AT("%s/", dir, "open of dir/ to write", open(p, O_WRONLY), EISDIR);
		AT("%s/no-such-name/", dir, "create of new/", open(p, O_WRONLY | O_CREAT, 0644),
		   EISDIR);
		AT("%s/no-such-name/", dir, "open of missing/", open(p, O_RDONLY), ENOENT);
#undef AT
		snprintf(p, sizeof(p), "%s/", dir);
		int fd = open(p, O_RDONLY);

		CHECK(where[i], fd >= 0 && fstat(fd, &st) == 0 && S_ISDIR(st.st_mode),
		      "open of dir/: %s", en(errno));
		close(fd);
	}
}

static void io_checks(const char *m, const char *l)
{
	char *newp;

	group = "io";
	same_fd("__open_2, __openat_2 (runtime flags)", op_open_2, m, l);
	same_fd("__pread_chk (runtime size)", op_pread_chk, m, l);
	same_fd("readv", op_readv, m, l);
	same_fd("preadv, preadv64, preadv2, preadv64v2", op_preadv, m, l);
	same_fd("lseek64 SEEK_SET/CUR/END/DATA/HOLE", op_lseek64, m, l);
	same_fd("dup3 O_CLOEXEC: the flag, a shared offset", op_dup3, m, l);
	same_fd("fcntl F_DUPFD/F_DUPFD_CLOEXEC/F_GETFD/F_SETFD", op_fcntl_dup, m, l);
	same_fd("copy_file_range into a local file", op_copy_file_range, m, l);
	same_fd("sendfile64 into a local file", op_sendfile64, m, l);
	same_fd("splice into a pipe", op_splice, m, l);
	same_fd("sendfile64 into a pipe", op_sendfile64_pipe, m, l);
	same_fd("destinations the kernel refuses", op_xfer_refused, m, l);
	same_fd("a descriptor's links (/proc/self/fd/N, /dev/stdin), O_PATH", op_fd_links, m, l);
	same_fd("splice SPLICE_F_NONBLOCK, and into a full pipe", op_splice_nonblock_child, m, l);
	overfill_checks(m, l);
	trailing_slash_checks(m, l);
	/* the mounts of test_programs.sh are read-only */
	EXPECT("creat of the mounted file is EROFS", creat(m, 0644), EROFS);
	EXPECT("creat64 of the mounted file is EROFS", creat64(m, 0644), EROFS);
	if (asprintf(&newp, "%s.new", m) < 0)
		abort();
	EXPECT("creat of a new mounted path is EROFS", creat(newp, 0644), EROFS);
	EXPECT("creat64 of a new mounted path is EROFS", creat64(newp, 0644), EROFS);
	EXPECT("no file was made", access(newp, F_OK), ENOENT);
	free(newp);
}

/* ---------------------------------------------------------------- xstat -- */

/*
 * Binaries built before glibc 2.33 call __xstat(_STAT_VER, path, buf) and
 * its kin instead of stat.  No header declares them now and glibc keeps
 * them for such binaries only, so they are bound here by version, as such
 * a binary's loader binds them; the shim exports the plain names, which
 * satisfy a versioned reference, so these calls reach the shim.
 * test_programs.sh checks with nm that the versioned imports are there.
 */
#if defined(__x86_64__)
#define OLD_STAT_VER 1	/* _STAT_VER_LINUX, what x86_64 binaries pass */
extern int __xstat(int ver, const char *path, struct stat *sb);
extern int __xstat64(int ver, const char *path, struct stat64 *sb);
extern int __lxstat(int ver, const char *path, struct stat *sb);
extern int __lxstat64(int ver, const char *path, struct stat64 *sb);
extern int __fxstat(int ver, int fd, struct stat *sb);
extern int __fxstat64(int ver, int fd, struct stat64 *sb);
extern int __fxstatat(int ver, int dirfd, const char *path, struct stat *sb, int flags);
extern int __fxstatat64(int ver, int dirfd, const char *path, struct stat64 *sb, int flags);
__asm__(".symver __xstat,__xstat@GLIBC_2.2.5");
__asm__(".symver __xstat64,__xstat64@GLIBC_2.2.5");
__asm__(".symver __lxstat,__lxstat@GLIBC_2.2.5");
__asm__(".symver __lxstat64,__lxstat64@GLIBC_2.2.5");
__asm__(".symver __fxstat,__fxstat@GLIBC_2.2.5");
__asm__(".symver __fxstat64,__fxstat64@GLIBC_2.2.5");
__asm__(".symver __fxstatat,__fxstatat@GLIBC_2.4");	/* came with fstatat */
__asm__(".symver __fxstatat64,__fxstatat64@GLIBC_2.4");

enum stat_call {
	ST_XSTAT, ST_XSTAT64, ST_LXSTAT, ST_LXSTAT64,			/* by path */
	ST_FXSTAT, ST_FXSTAT64,						/* by fd */
	ST_FXSTATAT, ST_FXSTATAT64,					/* by dir fd */
	ST_STAT64, ST_LSTAT64, ST_FSTAT64, ST_FSTATAT64, ST_NCALLS
};

static const char *const stat_names[ST_NCALLS] = {
	"__xstat", "__xstat64", "__lxstat", "__lxstat64", "__fxstat", "__fxstat64",
	"__fxstatat", "__fxstatat64", "stat64", "lstat64", "fstat64", "fstatat64",
};

static int by_fd(enum stat_call c)
{
	return c == ST_FXSTAT || c == ST_FXSTAT64 || c == ST_FSTAT64;
}

static int by_dirfd(enum stat_call c)
{
	return c == ST_FXSTATAT || c == ST_FXSTATAT64 || c == ST_FSTATAT64;
}

/* Call c on dir/rel (by path, on an fd opened on it, or on (fd of dir, rel)). */
static int stat_call(enum stat_call c, const char *dir, const char *rel, struct stat64 *sb)
{
	char *p = join(dir, rel);
	int fd = -1, rc = -1, err;

	if (by_fd(c))
		fd = open(p, O_RDONLY);
	else if (by_dirfd(c))
		fd = open(dir, O_RDONLY | O_DIRECTORY);
	if ((by_fd(c) || by_dirfd(c)) && fd < 0)
		goto out;
	switch (c) {
	case ST_XSTAT: rc = __xstat(OLD_STAT_VER, p, (struct stat *)sb); break;
	case ST_XSTAT64: rc = __xstat64(OLD_STAT_VER, p, sb); break;
	case ST_LXSTAT: rc = __lxstat(OLD_STAT_VER, p, (struct stat *)sb); break;
	case ST_LXSTAT64: rc = __lxstat64(OLD_STAT_VER, p, sb); break;
	case ST_FXSTAT: rc = __fxstat(OLD_STAT_VER, fd, (struct stat *)sb); break;
	case ST_FXSTAT64: rc = __fxstat64(OLD_STAT_VER, fd, sb); break;
	case ST_FXSTATAT: rc = __fxstatat(OLD_STAT_VER, fd, rel, (struct stat *)sb, 0); break;
	case ST_FXSTATAT64:
		rc = __fxstatat64(OLD_STAT_VER, fd, rel, sb, AT_SYMLINK_NOFOLLOW);
		break;
	case ST_STAT64: rc = stat64(p, sb); break;
	case ST_LSTAT64: rc = lstat64(p, sb); break;
	case ST_FSTAT64: rc = fstat64(fd, sb); break;
	case ST_FSTATAT64: rc = fstatat64(fd, rel, sb, 0); break;
	default: errno = EINVAL;
	}
out:
	err = errno;
	if (fd >= 0)
		close(fd);
	free(p);
	errno = err;
	return rc;
}

/* What a stat answer says that a local disk and a store agree on: the
 * type, a file's size (a directory's size is the file system's own). */
static void put_stat(struct out *o, int rc, const struct stat64 *sb)
{
	if (rc != 0)
		put(o, "rc=%d %s", rc, en(errno));
	else if (S_ISREG(sb->st_mode))
		put(o, "file size=%lld", (long long)sb->st_size);
	else
		put(o, "%s", S_ISDIR(sb->st_mode) ? "dir" : "other");
}

static void xstat_checks(const char *mdir, const char *ldir, const char *file, const char *sub)
{
	const char *what[] = { file, sub, "no-such-object" };
	const char *label[] = { "a file", "a dir", "a missing path" };
	char name[128];

	group = "xstat";
	for (int c = 0; c < ST_NCALLS; c++) {
		for (int i = 0; i < 3; i++) {
			struct out a = { .n = 0 }, b = { .n = 0 };
			struct stat64 sb;
			int rc;

			/* an fd of a missing path: open's ENOENT, not the call's */
			if (by_fd((enum stat_call)c) && i == 2)
				continue;
			snprintf(name, sizeof(name), "%s of %s", stat_names[c], label[i]);
			memset(&sb, 0, sizeof(sb));
			rc = stat_call((enum stat_call)c, mdir, what[i], &sb);
			put_stat(&a, rc, &sb);
			memset(&sb, 0, sizeof(sb));
			rc = stat_call((enum stat_call)c, ldir, what[i], &sb);
			put_stat(&b, rc, &sb);
			a.s[a.n] = b.s[b.n] = 0;
			CHECK(name, strcmp(a.s, b.s) == 0, "mounted [%s] local [%s]", a.s, b.s);
		}
	}
	/* (fd of a file, "", AT_EMPTY_PATH): the descriptor itself */
	for (int c = ST_FXSTATAT; c <= ST_FXSTATAT64; c++) {
		struct out a = { .n = 0 }, b = { .n = 0 };
		const char *dirs[] = { mdir, ldir };

		for (int i = 0; i < 2; i++) {
			char *p = join(dirs[i], file);
			int fd = open(p, O_RDONLY), rc;
			struct stat64 sb;

			memset(&sb, 0, sizeof(sb));
			if (c == ST_FXSTATAT)
				rc = __fxstatat(OLD_STAT_VER, fd, "", (struct stat *)&sb, AT_EMPTY_PATH);
			else
				rc = __fxstatat64(OLD_STAT_VER, fd, "", &sb, AT_EMPTY_PATH);
			put_stat(i ? &b : &a, rc, &sb);
			if (fd >= 0)
				close(fd);
			free(p);
		}
		snprintf(name, sizeof(name), "%s(fd, \"\", AT_EMPTY_PATH)", stat_names[c]);
		a.s[a.n] = b.s[b.n] = 0;
		CHECK(name, strcmp(a.s, b.s) == 0, "mounted [%s] local [%s]", a.s, b.s);
	}
}
#else
static void xstat_checks(const char *mdir, const char *ldir, const char *file, const char *sub)
{
	fprintf(stderr, "progcheck xstat: the old stat ABI is bound for x86_64 only\n");
}
#endif

int main(int argc, char **argv)
{
	const char *what = argc > 1 ? argv[1] : "";

	if (!strcmp(what, "stdio") && argc == 4)
		stdio_checks(argv[2], argv[3]);
	else if (!strcmp(what, "dir") && argc == 6)
		dir_checks(argv[2], argv[3], argv[4], argv[5]);
	else if (!strcmp(what, "cwd") && argc == 6)
		cwd_checks(argv[2], argv[3], argv[4], argv[5]);
	else if (!strcmp(what, "mmap") && argc == 6)
		mmap_checks(argv[2], argv[3], atoll(argv[4]), atoll(argv[5]));
	else if (!strcmp(what, "exec") && argc == 4)
		exec_checks(argv[2], argv[3]);
	else if (!strcmp(what, "raw") && argc == 5)
		raw_checks(argv[2], argv[3], argv[4]);
	else if (!strcmp(what, "basic") && argc == 5)
		basic_checks(argv[2], argv[3], argv[4]);
	else if (!strcmp(what, "bad") && argc == 5)
		bad_checks(argv[2], argv[3], argv[4]);
	else if (!strcmp(what, "xstat") && argc == 6)
		xstat_checks(argv[2], argv[3], argv[4], argv[5]);
	else if (!strcmp(what, "io") && argc == 4)
		io_checks(argv[2], argv[3]);
	else {
		fprintf(stderr, "usage: see the head of tests/tools/progcheck.c\n");
		return 2;
	}
	return failed;
}
