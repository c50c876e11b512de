/* SPDX-License-Identifier: MIT */
/*
 * pattern.h - reproducible bytes for the uploader's tests, and the check
 * that a file:// store holds them.
 */
#ifndef CLOUDSHIM_TEST_PATTERN_H
#define CLOUDSHIM_TEST_PATTERN_H

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static inline unsigned char pattern_byte(unsigned seed, off_t off)
{
	return (unsigned char)(((off + seed) * 2654435761u) >> 11);
}

static inline void pattern_fill(unsigned char *buf, size_t n, unsigned seed, off_t off)
{
	for (size_t i = 0; i < n; i++)
		buf[i] = pattern_byte(seed, off + (off_t)i);
}

/*
 * The file root/key holds size bytes of seed's pattern, except patch (if
 * not NULL) at patch_off; says where not on stdout.
 */
static inline int pattern_stored(const char *root, const char *key, off_t size, unsigned seed,
				 off_t patch_off, const char *patch)
{
	static unsigned char buf[1 << 16];
	size_t plen = patch ? strlen(patch) : 0;
	char path[512];
	struct stat sb;
	off_t off = 0;
	ssize_t n;
	int fd, ok = 1;

	snprintf(path, sizeof(path), "%s/%s", root, key);
	fd = open(path, O_RDONLY);
	if (fd < 0 || fstat(fd, &sb) != 0 || sb.st_size != size) {
		printf("# %s: %s size %lld, want %lld\n", key, fd < 0 ? "missing" : "wrong",
		       fd < 0 ? -1LL : (long long)sb.st_size, (long long)size);
		if (fd >= 0)
			close(fd);
		return 0;
	}
	while (ok && (n = read(fd, buf, sizeof(buf))) > 0) {
		for (ssize_t i = 0; i < n && ok; i++) {
			off_t at = off + i;
			int patched = at >= patch_off && at < patch_off + (off_t)plen;
			unsigned char want = patched ? (unsigned char)patch[at - patch_off]
						     : pattern_byte(seed, at);

			if (!(ok = buf[i] == want))
				printf("# %s: byte %lld differs\n", key, (long long)at);
		}
		off += n;
	}
	close(fd);
	return ok && off == size;
}

#endif
