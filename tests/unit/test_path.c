/* SPDX-License-Identifier: MIT */
/* test_path.c - lexical normalisation and the under-a-mount test. */
#include <errno.h>
#include <string.h>

#include "shim/path.h"
#include "tests/unit/check.h"

static int norm_is(const char *base, const char *path, const char *want)
{
	char out[256];

	return path_normalize(base, path, out, sizeof(out)) == 0 && strcmp(out, want) == 0;
}

int main(void)
{
	char small[8];

	CHECK(norm_is("/", "/data/x", "/data/x"));
	CHECK(norm_is("/", "//data///x/", "/data/x"));
	CHECK(norm_is("/", "/data/./x/.", "/data/x"));
	CHECK(norm_is("/", "/data/a/../x", "/data/x"));
	CHECK(norm_is("/", "/data/../etc/passwd", "/etc/passwd"));
	CHECK(norm_is("/", "/../../data", "/data"));
	CHECK(norm_is("/", "/", "/"));
	CHECK(norm_is("/", "/..", "/"));
	CHECK(norm_is("/home/u", "x", "/home/u/x"));
	CHECK(norm_is("/home/u", "../../data/x", "/data/x"));
	CHECK(norm_is("/data", ".", "/data"));
	CHECK(norm_is("/data/sub", "..", "/data"));
	CHECK(norm_is("/", "/data/a b+c%d?e#f \xc3\xbc", "/data/a b+c%d?e#f \xc3\xbc"));
	CHECK(norm_is("/", "/data/...", "/data/..."));
	CHECK(norm_is("/", "/data/..x", "/data/..x"));
	CHECK(path_normalize("/", "/a/very/long/path", small, sizeof(small)) == -ENAMETOOLONG);

	CHECK(strcmp(path_under("/data", "/data", 5), "") == 0);
	CHECK(strcmp(path_under("/data/a/b", "/data", 5), "a/b") == 0);
	CHECK(path_under("/database", "/data", 5) == NULL);
	CHECK(path_under("/dat", "/data", 5) == NULL);
	CHECK(path_under("/etc/passwd", "/data", 5) == NULL);
	return check_summary();
}
