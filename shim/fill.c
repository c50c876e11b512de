/* SPDX-License-Identifier: MIT */
/*
 * fill.c - putting an object's real bytes into its placeholder memfd.
 *
 * Most calls never need this: reads are served from the block cache.  Two
 * things do: a mapping (the kernel maps the memfd's own pages) and a new
 * program that inherits the descriptor across exec (it reads the memfd
 * with no shim state behind it).  Only the chunks asked for are fetched,
 * so mapping 1 MiB of a large object costs about 1 MiB, and a chunk is
 * fetched once per open file however often it is mapped.
 */
#include <stdint.h>
#include <stdlib.h>

#include "shim/wrap.h"

static int chunk_filled(const struct vfile *vf, off_t c)
{
	return vf->filled[c / 8] & (1u << (c % 8));
}

/* Reads chunk c of the object and writes it at the same offset of fd. */
static int fill_chunk(struct vfile *vf, int fd, off_t c, char *buf, struct prefetch *pf)
{
	off_t off = c * FILL_CHUNK, end = off + FILL_CHUNK;

	if (end > vf->meta.size)
		end = vf->meta.size;
	obj_advise(vf->obj, pf, off, (size_t)(end - off));
	while (off < end) {
		ssize_t n = obj_read(vf->obj, buf, (size_t)(end - off), off);

		if (n <= 0)
			return n < 0 ? (int)n : -ESTALE;	/* shorter than opened */
		for (ssize_t w = 0; w < n;) {
			ssize_t k = REAL(pwrite)(fd, buf + w, (size_t)(n - w), off + w);

			if (k < 0)
				return -errno;
			w += k;
		}
		off += n;
	}
	vf->filled[c / 8] |= (unsigned char)(1u << (c % 8));
	return 0;
}

int vfile_fill(struct vfile *vf, int fd, off_t off, off_t len)
{
	off_t size = vf->meta.size, nchunks = (size + FILL_CHUNK - 1) / FILL_CHUNK;
	struct prefetch pf = { 0 };
	char *buf = NULL;
	int rc = 0;

	if (vf->kind != VFILE_REG)
		return -EISDIR;
	if (off < 0 || len < 0)
		return -EINVAL;
	pthread_mutex_lock(&vf->fill_lock);
	if (!vf->filled) {
		vf->filled = calloc((size_t)(nchunks + 8) / 8, 1);
		if (!vf->filled || REAL(ftruncate)(fd, size) != 0) {
			rc = vf->filled ? -errno : -ENOMEM;
			free(vf->filled);
			vf->filled = NULL;
			goto out;
		}
	}
	if (len > size - off)
		len = size - off;
	for (off_t c = off / FILL_CHUNK; len > 0 && c <= (off + len - 1) / FILL_CHUNK; c++) {
		if (chunk_filled(vf, c))
			continue;
		if (!buf && !(buf = malloc((size_t)FILL_CHUNK))) {
			rc = -ENOMEM;
			break;
		}
		rc = fill_chunk(vf, fd, c, buf, &pf);
		if (rc)
			break;
	}
out:
	pthread_mutex_unlock(&vf->fill_lock);
	free(buf);
	return rc;
}
