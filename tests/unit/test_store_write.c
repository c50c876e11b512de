/* SPDX-License-Identifier: MIT */
/*
 * test_store_write.c - the store's writes: put, multipart, delete, copy.
 *
 * 1. Through file://, always.
 * 2. With S3_ENDPOINT, S3_BUCKET and AWS credentials set (tests/run.sh
 *    starts s3rver and radosgw), the same against S3, under a prefix of
 *    this process's own.  S3_SERVER names the server: s3rver ignores
 *    If-None-Match and Content-MD5, so those checks say "skipped" there
 *    instead of passing.
 *    The checksum settings sha256 and auto too: bodies signed by their
 *    SHA-256, or whatever auto picks on this CPU (test_checksum_pick).
 * 3. With S3_PROXY (tests/servers/faultproxy.py in front of s3rver), a
 *    PUT and a part upload that meet two 503s, a complete answered 200
 *    with an <Error> body, and a store that is down.
 *
 * HTTP requests are counted at curl.easy_perform, which this file wraps.  The wrapper can also flip a byte of a body after the store
 * computed its MD5 and before it is sent: a body corrupted on the way,
 * which the server must refuse.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "backend/curl_lib.h"
#include "backend/body.h"
#include "backend/clock.h"
#include "backend/s3_xml.h"
#include "backend/store.h"
#include "backend/store_int.h"
#include "tests/unit/check.h"

#define MiB	(1 << 20)
#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* ---- HTTP requests, counted where they leave ----------------------------- */

static atomic_int n_put, n_post, n_delete, n_head, n_get;
static atomic_int corrupt_fd = -1;
static off_t corrupt_off;

/* Flips one byte of the body's file: the MD5 sent no longer matches. */
static void corrupt_once(void)
{
	int fd = atomic_exchange(&corrupt_fd, -1);
	unsigned char c;

	if (fd < 0)
		return;
	if (pread(fd, &c, 1, corrupt_off) != 1)
		abort();
	c ^= 0xff;
	if (pwrite(fd, &c, 1, corrupt_off) != 1)
		abort();
}

/*
 * Request number meet_first (from reset_requests) waits, 10 s at most, for
 * the next to start: met says whether it came meanwhile, which only
 * requests sent side by side do.
 */
static pthread_mutex_t meet_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t meet_next = PTHREAD_COND_INITIALIZER;
static int meet_first, started, met;

static void meet(void)
{
	struct timespec until;
	int me;

	pthread_mutex_lock(&meet_lock);
	me = ++started;
	if (meet_first && me == meet_first) {
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += 10;
		while (started == me &&
		       pthread_cond_timedwait(&meet_next, &meet_lock, &until) == 0)
			;
		met = started > me;
	} else if (meet_first && me == meet_first + 1) {
		pthread_cond_broadcast(&meet_next);
	}
	pthread_mutex_unlock(&meet_lock);
}

static void meet_at(int first)
{
	pthread_mutex_lock(&meet_lock);
	meet_first = first;
	pthread_mutex_unlock(&meet_lock);
}

static CURLcode (*real_perform)(CURL *);

static CURLcode counted_perform(CURL *h)
{
	char *method = NULL;
	CURLcode rc;

	meet();
	corrupt_once();
	rc = real_perform(h);
	curl.easy_getinfo(h, CURLINFO_EFFECTIVE_METHOD, &method);
	if (!method)
		method = "?";
	if (strcmp(method, "PUT") == 0)
		atomic_fetch_add(&n_put, 1);
	else if (strcmp(method, "POST") == 0)
		atomic_fetch_add(&n_post, 1);
	else if (strcmp(method, "DELETE") == 0)
		atomic_fetch_add(&n_delete, 1);
	else if (strcmp(method, "HEAD") == 0)
		atomic_fetch_add(&n_head, 1);
	else
		atomic_fetch_add(&n_get, 1);
	return rc;
}

/* Requests go out through the table of backend/curl_lib.h: counted there. */
static void count_requests(void)
{
	CHECK(curl_lib_load() == 0);
	real_perform = curl.easy_perform;
	curl.easy_perform = counted_perform;
}

static void reset_requests(void)
{
	pthread_mutex_lock(&meet_lock);
	started = met = 0;
	pthread_mutex_unlock(&meet_lock);
	atomic_store(&n_put, 0);
	atomic_store(&n_post, 0);
	atomic_store(&n_delete, 0);
	atomic_store(&n_head, 0);
	atomic_store(&n_get, 0);
}

static int requests(void)
{
	return n_put + n_post + n_delete + n_head + n_get;
}

/* ---- bodies and reading back --------------------------------------------- */

/* Bytes in a file (unlinked at once) and the same in memory, to compare. */
struct blob {
	int fd;
	char *data;
	size_t len;
};

static struct blob blob_make(size_t len, unsigned long seed)
{
	char path[] = "/tmp/cloudshim-write-body-XXXXXX";
	struct blob b = { .fd = mkstemp(path), .data = malloc(len ? len : 1), .len = len };
	unsigned long x = seed * 0x9e3779b97f4a7c15UL + 1;

	if (b.fd < 0 || !b.data)
		abort();
	unlink(path);
	for (size_t i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		b.data[i] = (char)x;
	}
	if (len && pwrite(b.fd, b.data, len, 0) != (ssize_t)len)
		abort();
	return b;
}

static struct blob blob_of(const char *s)
{
	struct blob b = blob_make(strlen(s), 0);

	memcpy(b.data, s, b.len);
	if (b.len && pwrite(b.fd, s, b.len, 0) != (ssize_t)b.len)
		abort();
	return b;
}

static void blob_free(struct blob *b)
{
	close(b->fd);
	free(b->data);
}

static struct store_body whole(const struct blob *b)
{
	struct store_body body = { b->fd, 0, (off_t)b->len };

	return body;
}

static struct store_body slice(const struct blob *b, off_t off, off_t len)
{
	struct store_body body = { b->fd, off, len };

	return body;
}

struct sinkbuf {
	char *data;
	size_t cap, len;
	int bad;
};

static int sink(void *arg, off_t off, const char *data, size_t len)
{
	struct sinkbuf *sb = arg;

	if ((size_t)off != sb->len || sb->len + len > sb->cap) {
		sb->bad = 1;
		return -EIO;
	}
	memcpy(sb->data + sb->len, data, len);
	sb->len += len;
	return 0;
}

/*
 * key holds exactly want[0..len): one byte more is asked for, none comes.
 * An empty object is only stat'ed, as the engine does (a range of one
 * makes s3rver answer nothing until the request times out).
 */
static int holds(struct store *st, const char *key, const char *want, size_t len)
{
	struct sinkbuf sb = { .data = malloc(len + 1), .cap = len + 1 };
	struct store_read rd = { .key = key, .len = len + 1, .sink = sink, .arg = &sb };
	struct store_meta m;
	int ok;

	if (len == 0) {
		free(sb.data);
		return store_stat(st, key, &m) == 0 && m.size == 0;
	}
	ok = sb.data && store_read(st, &rd) == 0 && !sb.bad && sb.len == len &&
	     memcmp(sb.data, want, len) == 0;
	free(sb.data);
	return ok;
}

static int same_meta(const struct store_meta *a, const struct store_meta *b)
{
	return a->kind == b->kind && a->size == b->size && strcmp(a->etag, b->etag) == 0;
}

/* meta from a write is what stat says after it, and the mtime is near now. */
static int stat_agrees(struct store *st, const char *key, const struct store_meta *m)
{
	struct store_meta now;

	return store_stat(st, key, &now) == 0 && same_meta(&now, m) && m->etag[0] &&
	       labs((long)(m->mtime.tv_sec - time(NULL))) < 120;
}

/* ---- S3's small answers ---------------------------------------------------- */

static int root_is(const char *xml, const char *want)
{
	char root[64];

	return s3_xml_root(xml, strlen(xml), root, sizeof(root)) == 0 && strcmp(root, want) == 0;
}

static int text_is(const char *xml, const char *name, const char *want)
{
	char t[64];

	return s3_xml_text(xml, strlen(xml), name, t, sizeof(t)) == 0 && strcmp(t, want) == 0;
}

static void test_xml(void)
{
	/* what S3 sends when a complete fails after its 200: spaces, then this */
	const char *err = "   \n<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!-- c -->"
			  "<Error><Code>InternalError</Code><Message>a &lt;b&gt;</Message></Error>";
	const char *done = "<?xml version=\"1.0\"?><CompleteMultipartUploadResult xmlns="
			   "\"http://s3.amazonaws.com/doc/2006-03-01/\"><Key>a&amp;b</Key>"
			   "<ETag>&quot;3858f6-2&quot;</ETag><Empty/></CompleteMultipartUploadResult>";
	char small[4];

	CHECK(root_is(err, "Error") && text_is(err, "Code", "InternalError"));
	CHECK(text_is(err, "Message", "a <b>"));
	CHECK(root_is(done, "CompleteMultipartUploadResult"));
	CHECK(text_is(done, "ETag", "\"3858f6-2\"") && text_is(done, "Key", "a&b"));
	CHECK(text_is(done, "Empty", ""));
	CHECK(root_is("<s3:Error xmlns:s3=\"x\"/>", "Error"));
	CHECK(text_is("<R><UploadId>a&#126;b&#x7E;</UploadId></R>", "UploadId", "a~b~"));
	CHECK(s3_xml_text(done, strlen(done), "Code", small, sizeof(small)) == -ENOENT);
	CHECK(s3_xml_text(done, strlen(done), "Key", small, sizeof(small)) == 0);
	CHECK(s3_xml_text(done, strlen(done), "ETag", small, sizeof(small)) == -EIO);
	CHECK(s3_xml_text("<R><K>a&bogus;</K></R>", 22, "K", small, sizeof(small)) == -EIO);
	CHECK(s3_xml_text("<R><K>a<X/></K></R>", 19, "K", small, sizeof(small)) == -EIO);
	CHECK(s3_xml_text("<R><K>abc", 9, "K", small, sizeof(small)) == -EIO);
	CHECK(s3_xml_root("", 0, small, sizeof(small)) == -EIO);
	CHECK(s3_xml_root("  text", 6, small, sizeof(small)) == -EIO);
	CHECK(s3_xml_root("<?xml", 5, small, sizeof(small)) == -EIO);
	CHECK(s3_xml_root("<Error>", 7, small, sizeof(small)) == -EIO);	/* too long */
}

/* ---- one store ------------------------------------------------------------ */

struct server {
	const char *name;	/* "file", "s3rver", "radosgw" */
	int is_s3;
	int if_none_match;	/* honours If-None-Match: * on PUT */
	int checks_md5;		/* refuses a body that does not match Content-MD5 */
	int multipart;		/* S3's multipart in full: parts too small or with
				   wrong ETags refused, AbortMultipartUpload,
				   NoSuchUpload, ETags of the joined form */
	int copy_any_key;	/* decodes every escape of x-amz-copy-source */
	int complete_unknown;	/* 404 to a complete of an unknown upload */
};

static const char *const odd_names[] = {
	"a b", "a+b", "100%", "100%20", "q?x", "h#x", "\xc3\xa9-\xc3\xbc.txt",
	"~=:,;@!*()", "quote\"d", "-dash", ".hidden",
};

static void test_put(struct store *st, const struct server *sv)
{
	struct store_meta m;
	char key[64];
	int each = 1;

	for (size_t i = 0; i < NELEM(odd_names); i++) {
		struct blob b = blob_of(odd_names[i]);
		struct store_body body = whole(&b);

		snprintf(key, sizeof(key), "put/%s", odd_names[i]);
		if (store_put(st, key, &body, 0, &m) != 0 || !holds(st, key, b.data, b.len) ||
		    m.kind != STORE_FILE || m.size != (off_t)b.len || !stat_agrees(st, key, &m)) {
			printf("FAIL put of \"%s\"\n", key);
			each = 0;
		}
		blob_free(&b);
	}
	CHECK(each);

	/* empty, then 1 MiB over it: one request each */
	struct blob empty = blob_make(0, 1), big = blob_make(MiB, 2);
	struct store_body body = whole(&empty);

	reset_requests();
	CHECK(store_put(st, "put/empty", &body, 0, &m) == 0);
	CHECK(requests() == (sv->is_s3 ? 1 : 0) && n_put == (sv->is_s3 ? 1 : 0));
	CHECK(m.size == 0 && holds(st, "put/empty", "", 0));
	body = whole(&big);
	reset_requests();
	CHECK(store_put(st, "put/empty", &body, 0, &m) == 0);
	CHECK(requests() == (sv->is_s3 ? 1 : 0));
	CHECK(m.size == MiB && holds(st, "put/empty", big.data, big.len));
	CHECK(stat_agrees(st, "put/empty", &m));
	/* no meta wanted: still written */
	body = slice(&big, 1000, 5000);
	CHECK(store_put(st, "put/slice", &body, 0, NULL) == 0);
	CHECK(holds(st, "put/slice", big.data + 1000, 5000));

	/* a marker: a directory to a listing, nothing in it */
	body = whole(&empty);
	CHECK(store_put(st, "put/dir/", &body, 0, &m) == 0);
	CHECK(m.kind == STORE_DIR && m.size == 0);
	CHECK(store_stat(st, "put/dir", &m) == (sv->is_s3 ? -ENOENT : 0));
	body = whole(&big);
	CHECK(store_put(st, "put/dir2/", &body, 0, &m) == -EINVAL);
	CHECK(store_put(st, "", &body, 0, &m) == -EINVAL);
	body.len = STORE_PUT_MAX + 1;
	reset_requests();
	CHECK(store_put(st, "put/huge", &body, 0, &m) == -EFBIG && requests() == 0);
	blob_free(&empty);
	blob_free(&big);
}

struct lister {
	int found, entries;
};

static int count_page(void *arg, const struct store_page *pg)
{
	struct lister *l = arg;

	l->found |= pg->found;
	l->entries += (int)pg->count;
	return 0;
}

static void test_marker(struct store *st)
{
	struct lister l = { 0 };
	int rc;

	CHECK(store_list(st, "put/dir", count_page, &l) == 0 && l.found && l.entries == 0);
	CHECK(store_delete(st, "put/dir/") == 0);
	l = (struct lister){ 0 };
	rc = store_list(st, "put/dir", count_page, &l);
	CHECK(rc == -ENOENT || (rc == 0 && !l.found));
	CHECK(store_delete(st, "put/dir/") == 0);	/* gone already: fine */
}

static void test_exclusive(struct store *st, const struct server *sv)
{
	struct blob a = blob_of("first"), b = blob_of("second");
	struct store_body ba = whole(&a), bb = whole(&b);
	struct store_meta m;

	store_delete(st, "excl/k");
	CHECK(store_put(st, "excl/k", &ba, 1, &m) == 0);
	if (!sv->if_none_match) {
		printf("skipped: %s ignores If-None-Match\n", sv->name);
	} else {
		CHECK(store_put(st, "excl/k", &bb, 1, &m) == -EEXIST);
		CHECK(holds(st, "excl/k", "first", 5));
		CHECK(store_put(st, "excl/dir/", &(struct store_body){ a.fd, 0, 0 }, 1, &m) == 0);
		CHECK(store_put(st, "excl/dir/", &(struct store_body){ a.fd, 0, 0 }, 1, &m) ==
		      -EEXIST);
	}
	/* not exclusive: replaces */
	CHECK(store_put(st, "excl/k", &bb, 0, &m) == 0 && holds(st, "excl/k", "second", 6));
	CHECK(store_delete(st, "excl/k") == 0);
	CHECK(store_put(st, "excl/k", &ba, 1, &m) == 0);
	blob_free(&a);
	blob_free(&b);
}

static void test_multipart(struct store *st, const struct server *sv)
{
	struct blob b = blob_make(20 * MiB, 3);
	char etags[3][STORE_ETAG_MAX], *id = NULL;
	struct store_body p1 = slice(&b, 0, 5 * MiB), p2 = slice(&b, 5 * MiB, 5 * MiB),
			  p3 = slice(&b, 10 * MiB, 10 * MiB);
	struct store_meta m, again;

	reset_requests();
	CHECK(store_mpu_begin(st, "mpu/twenty", &id) == 0 && id && *id);
	if (!id) {
		blob_free(&b);
		return;
	}
	/* out of order: parts are joined by number */
	CHECK(store_mpu_part(st, "mpu/twenty", id, 3, &p3, etags[2]) == 0);
	CHECK(store_mpu_part(st, "mpu/twenty", id, 1, &p1, etags[0]) == 0);
	CHECK(store_mpu_part(st, "mpu/twenty", id, 2, &p2, etags[1]) == 0);
	CHECK(etags[0][0] && etags[1][0] && etags[2][0] && strcmp(etags[0], etags[1]) != 0);
	CHECK(store_mpu_complete(st, "mpu/twenty", id, etags, 3, &m) == 0);
	printf("%s: 20 MiB in 3 parts: %d POST, %d PUT, %d HEAD, %d other\n", sv->name,
	       n_post, n_put, n_head, n_get + n_delete);
	if (sv->is_s3)
		CHECK(n_post == 2 && n_put == 3 && n_head == 1 && requests() == 6);
	CHECK(m.kind == STORE_FILE && m.size == 20 * MiB && stat_agrees(st, "mpu/twenty", &m));
	CHECK(holds(st, "mpu/twenty", b.data, b.len));

	/*
	 * The same complete again, as after an answer lost on the way: S3
	 * forgot the upload, and the object is what these parts make.  (file://
	 * loses no answers: the upload is simply gone.)
	 */
	if (!sv->is_s3) {
		CHECK(store_mpu_complete(st, "mpu/twenty", id, etags, 3, &again) == -ENOENT);
	} else if (!sv->multipart) {
		printf("skipped: complete sent twice (%s answers 500 to an unknown upload, "
		       "and its ETags are not of the joined form)\n", sv->name);
	} else {
		CHECK(strstr(m.etag, "-3\"") != NULL);
		CHECK(store_mpu_complete(st, "mpu/twenty", id, etags, 3, &again) == 0);
		CHECK(same_meta(&again, &m));
	}
	free(id);
	blob_free(&b);
}

static void test_multipart_errors(struct store *st, const struct server *sv)
{
	struct blob b = blob_make(6 * MiB, 4);
	struct store_body small = slice(&b, 0, MiB), big = slice(&b, 0, 6 * MiB);
	char etags[2][STORE_ETAG_MAX], *id = NULL;
	struct store_meta m;

	/* checked here, before any request */
	reset_requests();
	CHECK(store_mpu_part(st, "mpu/e", "x", 0, &small, etags[0]) == -EINVAL);
	CHECK(store_mpu_part(st, "mpu/e", "x", STORE_PARTS_MAX + 1, &small, etags[0]) == -EINVAL);
	CHECK(store_mpu_complete(st, "mpu/e", "x", etags, 0, &m) == -EINVAL);
	CHECK(requests() == 0);

	/* a first part smaller than 5 MiB, then a wrong ETag */
	CHECK(store_mpu_begin(st, "mpu/e", &id) == 0);
	CHECK(id && store_mpu_part(st, "mpu/e", id, 1, &small, etags[0]) == 0);
	CHECK(id && store_mpu_part(st, "mpu/e", id, 2, &small, etags[1]) == 0);
	if (!sv->multipart) {
		printf("skipped: %s takes parts under 5 MiB and ETags that do not match, "
		       "has no AbortMultipartUpload and takes parts for unknown uploads\n",
		       sv->name);
		free(id);
		blob_free(&b);
		return;
	}
	CHECK(store_mpu_complete(st, "mpu/e", id, etags, 2, &m) == -EINVAL);
	CHECK(store_mpu_part(st, "mpu/e", id, 1, &big, etags[0]) == 0);
	snprintf(etags[1], sizeof(etags[1]), "\"0123456789abcdef0123456789abcdef\"");
	CHECK(store_mpu_complete(st, "mpu/e", id, etags, 2, &m) == -EINVAL);
	CHECK(store_stat(st, "mpu/e", &m) == -ENOENT);

	/* aborted: the id is gone for parts, complete and abort */
	CHECK(id && store_mpu_abort(st, "mpu/e", id) == 0);
	CHECK(id && store_mpu_part(st, "mpu/e", id, 1, &big, etags[0]) == -ENOENT);
	if (sv->complete_unknown)
		CHECK(id && store_mpu_complete(st, "mpu/e", id, etags, 1, &m) == -ENOENT);
	else	/* retried as a 500 should be, until the deadline */
		printf("skipped: complete of an aborted upload (%s answers 500 InternalError "
		       "\"already in progress\")\n", sv->name);
	CHECK(id && store_mpu_abort(st, "mpu/e", id) == -ENOENT);
	CHECK(store_stat(st, "mpu/e", &m) == -ENOENT);
	CHECK(store_mpu_part(st, "mpu/e", "no-such-upload", 1, &small, etags[0]) == -ENOENT);
	free(id);
	blob_free(&b);
}

static void test_delete(struct store *st, const struct server *sv)
{
	struct blob b = blob_of("doomed");
	struct store_body body = whole(&b);
	struct store_meta m;

	CHECK(store_put(st, "del/a", &body, 0, NULL) == 0);
	reset_requests();
	CHECK(store_delete(st, "del/a") == 0);
	CHECK(requests() == (sv->is_s3 ? 1 : 0) && n_delete == (sv->is_s3 ? 1 : 0));
	CHECK(store_stat(st, "del/a", &m) == -ENOENT);
	CHECK(store_delete(st, "del/a") == 0);
	CHECK(store_delete(st, "del/never/was") == 0);
	CHECK(store_delete(st, "") == -EINVAL);
	blob_free(&b);
}

/*
 * A copy too large for CopyObject (5 GiB; here, lowered to 6 MiB) goes
 * part by part: a multipart upload of UploadPartCopy parts (5 MiB here).
 */
static void test_copy_parts(struct store *st)
{
	struct blob b = blob_make(13 * MiB + 3, 6);
	struct store_body body = whole(&b);
	struct store_meta m;

	CHECK(store_put(st, "copy/big", &body, 0, NULL) == 0);
	store_s3_copy_limits(6 * MiB, 5 * MiB);
	reset_requests();
	meet_at(3);		/* the first part copy waits for the second */
	CHECK(store_copy(st, "copy/big", "copy/bigger", &m) == 0);
	meet_at(0);
	/* HEAD, begin, 3 part copies, complete, and the HEAD complete makes */
	CHECK(n_head == 2 && n_post == 2 && n_put == 3 && requests() == 7);
	pthread_mutex_lock(&meet_lock);
	CHECK(met);		/* the part copies went out side by side */
	pthread_mutex_unlock(&meet_lock);
	CHECK(m.kind == STORE_FILE && m.size == 13 * MiB + 3 && stat_agrees(st, "copy/bigger", &m));
	CHECK(holds(st, "copy/bigger", b.data, b.len));
	CHECK(store_copy(st, "copy/none", "copy/x", &m) == -ENOENT);
	store_s3_copy_limits(0, 0);
	blob_free(&b);
}

static void test_copy(struct store *st, const struct server *sv)
{
	struct blob b = blob_make(MiB + 7, 5);
	struct store_body body = whole(&b);
	struct store_meta m, src;
	char from[64], to[600];
	int each = 1;

	CHECK(store_put(st, "copy/src", &body, 0, &src) == 0);
	reset_requests();
	CHECK(store_copy(st, "copy/src", "copy/dst", &m) == 0);
	CHECK(requests() == (sv->is_s3 ? 2 : 0));
	CHECK(m.kind == STORE_FILE && m.size == MiB + 7 && stat_agrees(st, "copy/dst", &m));
	CHECK(holds(st, "copy/dst", b.data, b.len));
	CHECK(holds(st, "copy/src", b.data, b.len));
	CHECK(store_copy(st, "copy/missing", "copy/x", &m) == -ENOENT);
	CHECK(store_stat(st, "copy/x", &m) == -ENOENT);
	CHECK(store_copy(st, "copy/src", "copy/src", &m) == 0 && same_meta(&m, &src));
	CHECK(store_copy(st, "copy/src", "copy/dst", NULL) == 0);
	if (sv->is_s3)
		test_copy_parts(st);

	if (!sv->copy_any_key) {
		printf("skipped: copies of keys with + ? # & (%s decodes x-amz-copy-source "
		       "with decodeURI)\n", sv->name);
		blob_free(&b);
		return;
	}
	/* a long key: x-amz-copy-source is three times its length, encoded */
	strcpy(to, "copy/long");
	for (int i = 0; i < 4; i++) {
		strcat(to, "/");
		for (int k = 0; k < 40; k++)
			strcat(to, "\xc3\xa9+");
	}
	CHECK(store_copy(st, "copy/src", to, &m) == 0 && holds(st, to, b.data, b.len));
	for (size_t i = 0; i < NELEM(odd_names); i++) {
		snprintf(from, sizeof(from), "put/%s", odd_names[i]);
		snprintf(to, sizeof(to), "copy/%s", odd_names[i]);
		if (store_copy(st, from, to, &m) != 0 ||
		    !holds(st, to, odd_names[i], strlen(odd_names[i]))) {
			printf("FAIL copy of \"%s\"\n", from);
			each = 0;
		}
	}
	CHECK(each);
	blob_free(&b);
}

/* A byte flipped after the MD5 was made: the store must refuse the body. */
static void test_corrupt(struct store *st, const struct server *sv)
{
	struct blob b;
	struct store_body body;
	struct store_meta m;
	char etag[STORE_ETAG_MAX], *id = NULL;

	if (!sv->is_s3)
		return;		/* no wire to corrupt a body on */
	if (!sv->checks_md5) {
		printf("skipped: %s does not check Content-MD5\n", sv->name);
		return;
	}
	b = blob_make(256 << 10, 6);
	body = whole(&b);
	corrupt_off = 1000;
	atomic_store(&corrupt_fd, b.fd);
	reset_requests();
	CHECK(store_put(st, "corrupt/a", &body, 0, &m) == -EIO);
	CHECK(n_put == 1);		/* BadDigest is not retried */
	CHECK(store_stat(st, "corrupt/a", &m) == -ENOENT);

	CHECK(store_mpu_begin(st, "corrupt/b", &id) == 0);
	corrupt_off = 5;
	atomic_store(&corrupt_fd, b.fd);
	CHECK(id && store_mpu_part(st, "corrupt/b", id, 1, &body, etag) == -EIO);
	CHECK(id && store_mpu_abort(st, "corrupt/b", id) == 0);
	free(id);
	blob_free(&b);
}

struct writer {
	struct store *st;
	int n;
	int bad;
};

static void *writer(void *arg)
{
	struct writer *w = arg;
	char key[64];

	for (int i = 0; i < 4; i++) {
		struct blob b = blob_make(256 << 10, (unsigned long)(w->n * 10 + i));
		struct store_body body = whole(&b);

		snprintf(key, sizeof(key), "threads/%d-%d", w->n, i);
		if (store_put(w->st, key, &body, 0, NULL) != 0 || !holds(w->st, key, b.data, b.len))
			w->bad++;
		blob_free(&b);
	}
	return NULL;
}

static void test_threads(struct store *st)
{
	struct writer w[4];
	pthread_t tid[4];
	int bad = 0;

	for (int i = 0; i < 4; i++) {
		w[i] = (struct writer){ .st = st, .n = i };
		pthread_create(&tid[i], NULL, writer, &w[i]);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(tid[i], NULL);
		bad += w[i].bad;
	}
	CHECK(bad == 0);
}

static void run_suite(struct store *st, const struct server *sv)
{
	printf("== %s (%s)\n", sv->name, store_url(st));
	CHECK(store_caps(st) & STORE_CAP_WRITE);
	test_put(st, sv);
	test_marker(st);
	test_exclusive(st, sv);
	test_multipart(st, sv);
	test_multipart_errors(st, sv);
	test_delete(st, sv);
	test_copy(st, sv);
	test_corrupt(st, sv);
	test_threads(st);
}

/* ---- the stores ------------------------------------------------------------ */

static struct engine_conf ec;

static void remove_tree(const char *root)
{
	char cmd[1100];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	if (system(cmd) != 0)
		printf("could not remove %s\n", root);
}

static void test_file(void)
{
	static const struct server sv = {
		.name = "file", .if_none_match = 1, .multipart = 1, .copy_any_key = 1,
		.complete_unknown = 1,
	};
	char root[] = "/tmp/cloudshim-write-XXXXXX", url[128], path[256];
	struct store_conf sc = { .url = url };
	struct store *st = NULL;
	struct store_meta m;
	struct stat sb;
	char err[256];

	if (!mkdtemp(root))
		abort();
	snprintf(url, sizeof(url), "file://%s", root);
	CHECK(store_open(&sc, &ec, &st, err, sizeof(err)) == 0);
	if (!st)
		return;
	run_suite(st, &sv);

	/* what file:// leaves: plain files and directories, no temporaries */
	snprintf(path, sizeof(path), "%s/put/a b", root);
	CHECK(stat(path, &sb) == 0 && S_ISREG(sb.st_mode) && (sb.st_mode & 0777) == 0644);
	snprintf(path, sizeof(path), "%s/excl/dir", root);
	CHECK(stat(path, &sb) == 0 && S_ISDIR(sb.st_mode));
	snprintf(path, sizeof(path), "find '%s' -name '.cloudshim-tmp-*' | grep -q .", root);
	CHECK(system(path) != 0);
	/* every upload was completed or aborted: none is left behind */
	snprintf(path, sizeof(path), "find '%s/.cloudshim-mpu' -mindepth 1 | grep -q .", root);
	CHECK(system(path) != 0);
	/* its own names are not objects, and cannot be written */
	CHECK(store_stat(st, ".cloudshim-mpu", &m) == -ENOENT);
	CHECK(store_put(st, "a/.cloudshim-x", &(struct store_body){ 0, 0, 0 }, 0, NULL) ==
	      -EINVAL);
	/* a directory is not a file to delete; a full one is no marker to drop */
	CHECK(store_delete(st, "excl/dir") == -EISDIR);
	CHECK(store_delete(st, "put/") == -ENOTEMPTY);
	store_close(st);

	/* read-only: refused before anything is touched */
	sc.read_only = 1;
	CHECK(store_open(&sc, &ec, &st, err, sizeof(err)) == 0);
	if (st) {
		char *id = NULL;

		CHECK(store_put(st, "ro", &(struct store_body){ 0, 0, 0 }, 0, NULL) == -EROFS);
		CHECK(store_mpu_begin(st, "ro", &id) == -EROFS && !id);
		CHECK(store_delete(st, "put/a b") == -EROFS);
		CHECK(store_copy(st, "put/a b", "ro", NULL) == -EROFS);
		CHECK(store_stat(st, "ro", &m) == -ENOENT && store_stat(st, "put/a b", &m) == 0);
		store_close(st);
	}
	remove_tree(root);
}

static void test_http_cannot_write(void)
{
	struct store_conf sc = { .url = "http://127.0.0.1:9/dir" };
	struct store *st = NULL;
	char err[256], *id = NULL;

	CHECK(store_open(&sc, &ec, &st, err, sizeof(err)) == 0);
	if (!st)
		return;
	reset_requests();
	CHECK(!(store_caps(st) & STORE_CAP_WRITE));
	CHECK(store_put(st, "x", &(struct store_body){ 0, 0, 0 }, 0, NULL) == -EROFS);
	CHECK(store_mpu_begin(st, "x", &id) == -EROFS);
	CHECK(store_delete(st, "x") == -EROFS);
	CHECK(store_copy(st, "x", "y", NULL) == -EROFS);
	CHECK(requests() == 0);
	store_close(st);
}

/* An S3 store at prefix; its signed bodies go with Content-MD5 (test_digest tests the rest). */
static struct store *s3_store(const char *endpoint, const char *prefix,
			      enum store_cred_source cred, const struct engine_conf *e)
{
	char url[256];
	struct store_conf sc = {
		.url = url, .endpoint = (char *)endpoint, .region = getenv("AWS_REGION"),
		.cred_source = cred, .checksum = STORE_SUM_MD5,
	};
	struct store *st = NULL;
	char err[256];

	snprintf(url, sizeof(url), "s3://%s/%s", getenv("S3_BUCKET"), prefix);
	if (store_open(&sc, e, &st, err, sizeof(err)) != 0)
		printf("store_open %s: %s\n", url, err);
	return st;
}

static void test_wrong_secret(const char *prefix)
{
	char *secret = strdup(getenv("AWS_SECRET_ACCESS_KEY"));
	struct blob b = blob_of("x");
	struct store_body body = whole(&b);
	struct store *st;
	char *id = NULL;

	setenv("AWS_SECRET_ACCESS_KEY", "wrongwrongwrongwrongwrongwrongwrongwrong", 1);
	st = s3_store(getenv("S3_ENDPOINT"), prefix, STORE_CRED_ENV, &ec);
	setenv("AWS_SECRET_ACCESS_KEY", secret, 1);
	free(secret);
	CHECK(st != NULL);
	if (st) {
		CHECK(store_put(st, "denied", &body, 0, NULL) == -EACCES);
		CHECK(store_mpu_begin(st, "denied", &id) == -EACCES && !id);
		CHECK(store_delete(st, "put/a b") == -EACCES);
		CHECK(store_copy(st, "put/a b", "denied", NULL) == -EACCES);
		store_close(st);
	}
	blob_free(&b);
}

/*
 * Which digest a body goes with: MD5 unless signed; under "auto", SHA-256
 * exactly when the CPU has the instructions, which /proc/cpuinfo names.
 */
static void test_checksum_pick(void)
{
	char line[8192];
	int listed = 0;
	FILE *f = fopen("/proc/cpuinfo", "r");

	while (f && fgets(line, sizeof(line), f)) {
		if (strncmp(line, "flags", 5) == 0 || strncmp(line, "Features", 8) == 0) {
			listed = strstr(line, " sha_ni") || strstr(line, " sha2");
			break;
		}
	}
	if (f)
		fclose(f);
	printf("SHA-256 instructions: %s\n", listed ? "yes" : "no");
	CHECK(body_sha256_in_hardware() == listed);
	CHECK(body_checksum_pick(STORE_SUM_MD5, 1) == STORE_SUM_MD5);
	CHECK(body_checksum_pick(STORE_SUM_SHA256, 1) == STORE_SUM_SHA256);
	CHECK(body_checksum_pick(STORE_SUM_SHA256, 0) == STORE_SUM_MD5);
	CHECK(body_checksum_pick(STORE_SUM_AUTO, 0) == STORE_SUM_MD5);
	CHECK(body_checksum_pick(STORE_SUM_AUTO, 1) ==
	      (listed ? STORE_SUM_SHA256 : STORE_SUM_MD5));
}

/*
 * The checksum settings sha256 and auto (the default): a put and a part
 * land whole; a byte flipped after the hash is refused, by a server that
 * checks (radosgw).
 */
static void test_digest(const char *prefix, const struct server *sv, enum store_checksum sum)
{
	struct engine_conf e = ec;
	struct blob b = blob_make(300000, 7);
	struct store_body body = whole(&b);
	struct store_meta m;
	struct store *st;
	char url[256], etag[1][STORE_ETAG_MAX], *id = NULL;
	struct store_conf sc = {
		.url = url, .endpoint = getenv("S3_ENDPOINT"), .region = getenv("AWS_REGION"),
		.checksum = sum,
	};
	char err[256];

	snprintf(url, sizeof(url), "s3://%s/%s/sum%d", getenv("S3_BUCKET"), prefix, (int)sum);
	if (store_open(&sc, &e, &st, err, sizeof(err)) != 0) {
		printf("FAIL store_open %s: %s\n", url, err);
		CHECK(0);
		blob_free(&b);
		return;
	}
	CHECK(store_put(st, "a", &body, 0, NULL) == 0 && holds(st, "a", b.data, b.len));
	if (sv->multipart) {
		CHECK(store_mpu_begin(st, "b", &id) == 0);
		CHECK(id && store_mpu_part(st, "b", id, 1, &body, etag[0]) == 0);
		CHECK(id && store_mpu_complete(st, "b", id, etag, 1, NULL) == 0);
		CHECK(holds(st, "b", b.data, b.len));
		free(id);
		id = NULL;
	}
	if (!sv->checks_md5) {
		printf("skipped: %s checks no body digest\n", sv->name);
	} else {
		corrupt_off = 77;
		atomic_store(&corrupt_fd, b.fd);
		reset_requests();
		CHECK(store_put(st, "c", &body, 0, NULL) == -EIO && n_put == 1);
		CHECK(store_stat(st, "c", &m) == -ENOENT);
		CHECK(store_mpu_begin(st, "d", &id) == 0);
		corrupt_off = 78;
		atomic_store(&corrupt_fd, b.fd);
		CHECK(id && store_mpu_part(st, "d", id, 1, &body, etag[0]) == -EIO);
		CHECK(id && store_mpu_abort(st, "d", id) == 0);
		free(id);
	}
	store_close(st);
	blob_free(&b);
}

/* Through the fault proxy: 503 twice, then through; and other faults. */
static void test_retry(const char *prefix, struct store *direct)
{
	struct engine_conf quick = ec;
	struct blob b = blob_make(MiB, 7);
	struct store_body body = whole(&b);
	char ep[256], key[64], etag[1][STORE_ETAG_MAX], *id = NULL;
	struct store *st;
	long t0;

	snprintf(ep, sizeof(ep), "%s/busy", getenv("S3_PROXY"));
	/* unsigned: the proxy changes the path the signature covers */
	st = s3_store(ep, prefix, STORE_CRED_ANONYMOUS, &ec);
	CHECK(st != NULL);
	if (!st)
		return;
	snprintf(key, sizeof(key), "retry/%ld", (long)getpid());
	reset_requests();
	t0 = clock_ms();
	CHECK(store_put(st, key, &body, 0, NULL) == 0);
	printf("PUT through 503, 503 (Retry-After: 1): %d attempts, %ld ms\n", n_put,
	       clock_ms() - t0);
	CHECK(n_put == 3 && clock_ms() - t0 >= 1900);
	CHECK(holds(direct, key, b.data, b.len));

	/* a part meets the same, keyed by its own URL */
	CHECK(store_mpu_begin(st, key, &id) == 0);
	reset_requests();
	CHECK(id && store_mpu_part(st, key, id, 1, &body, etag[0]) == 0);
	CHECK(n_put == 3);
	CHECK(id && store_mpu_complete(st, key, id, etag, 1, NULL) == 0);
	CHECK(holds(direct, key, b.data, b.len));
	free(id);
	store_close(st);

	/* a complete answered 200 with an InternalError <Error>: sent again */
	snprintf(ep, sizeof(ep), "%s/flaky", getenv("S3_PROXY"));
	st = s3_store(ep, prefix, STORE_CRED_ANONYMOUS, &ec);
	id = NULL;
	CHECK(st && store_mpu_begin(st, key, &id) == 0);
	CHECK(id && store_mpu_part(st, key, id, 1, &body, etag[0]) == 0);
	reset_requests();
	CHECK(id && store_mpu_complete(st, key, id, etag, 1, NULL) == 0);
	CHECK(n_post == 2);
	free(id);
	store_close(st);

	snprintf(ep, sizeof(ep), "%s/down", getenv("S3_PROXY"));
	quick.request_timeout_ms = 1500;
	st = s3_store(ep, prefix, STORE_CRED_ANONYMOUS, &quick);
	if (st) {
		reset_requests();
		CHECK(store_put(st, key, &body, 0, NULL) == -EIO);
		CHECK(n_put >= 2);
		store_close(st);
	}
	blob_free(&b);
}

static void test_s3(void)
{
	const char *name = getenv("S3_SERVER") ? getenv("S3_SERVER") : "s3";
	int s3rver = strcmp(name, "s3rver") == 0, radosgw = strcmp(name, "radosgw") == 0;
	struct server sv = {
		.name = name, .is_s3 = 1, .if_none_match = !s3rver, .checks_md5 = !s3rver,
		.multipart = !s3rver, .copy_any_key = !s3rver, .complete_unknown = !radosgw,
	};
	char prefix[64];
	struct store *st;

	if (!getenv("S3_ENDPOINT") || !getenv("S3_BUCKET"))
		return;
	/* plain, ASan and TSan runs share a server: each writes under its own prefix */
	snprintf(prefix, sizeof(prefix), "write-%ld-%ld", (long)getpid(), (long)time(NULL));
	st = s3_store(getenv("S3_ENDPOINT"), prefix, STORE_CRED_AUTO, &ec);
	CHECK(st != NULL);
	if (!st)
		return;
	run_suite(st, &sv);
	test_digest(prefix, &sv, STORE_SUM_SHA256);
	test_digest(prefix, &sv, STORE_SUM_AUTO);
	test_wrong_secret(prefix);
	if (getenv("S3_PROXY"))
		test_retry(prefix, st);
	store_close(st);
}

int main(void)
{
	count_requests();
	engine_conf_defaults(&ec);
	test_checksum_pick();
	test_xml();
	test_file();
	test_http_cannot_write();
	test_s3();
	return check_summary();
}
