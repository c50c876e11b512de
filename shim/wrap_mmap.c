/* SPDX-License-Identifier: MIT */
/*
 * wrap_mmap.c - mmap and mmap64 of mounted files.
 *
 * A mapping of a mounted file maps its placeholder memfd, after the range
 * mapped has been filled with the object's bytes (shim/fill.c): the pages
 * are then the kernel's own, shared by MAP_SHARED mappings of the same
 * descriptor, and only the part mapped is fetched.  A shared writable
 * mapping of a file opened O_RDWR stages it first, and then maps the
 * staged file; of one opened read-only it is refused with EACCES, as the
 * kernel does.  A staged file is mapped as it is.
 *
 * Every other mmap (anonymous, or of a local file) is the raw system call
 * after one load from the descriptor table: no lock, no allocation and no
 * symbol lookup, because allocators map memory while they set up.
 */
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "shim/rawsys.h"
#include "shim/staged.h"
#include "shim/wrap.h"

static void *raw_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	return (void *)raw_syscall_errno(SYS_mmap, (long)addr, (long)len, prot, flags, fd, off);
}

static void *map_vfile(struct vfile *vf, void *addr, size_t len, int prot, int flags, int fd,
		       off_t off)
{
	int shared_write = (flags & MAP_TYPE) == MAP_SHARED && (prot & PROT_WRITE), rc;

	if (vf->flags & O_PATH)
		rc = -EBADF;
	else if (vfile_write_only(vf))
		rc = -EACCES;	/* as the kernel's: every mapping reads */
	else if (vf->kind == VFILE_REG && shared_write && (vf->flags & O_ACCMODE) == O_RDWR)
		rc = staged_promote(vf);	/* the mapping writes: stage it first */
	else if (vf->kind == VFILE_DIR)
		rc = -ENODEV;
	else if (vf->kind == VFILE_REG && shared_write)
		rc = -EACCES;
	else if (len == 0 || off < 0 || (off & (sysconf(_SC_PAGESIZE) - 1)))
		rc = -EINVAL;
	else
		rc = vf->kind == VFILE_REG ? vfile_fill(vf, fd, off, (off_t)len) : 0;
	if (rc == 0 && vf->kind == VFILE_STAGED && shared_write)
		staged_mapped(vf);	/* its writes bypass every call we see */
	if (rc) {
		errno = -rc;
		return MAP_FAILED;
	}
	return raw_mmap(addr, len, prot, flags, fd, off);
}

EXPORT void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	struct vfile *vf;
	void *p;

	if ((flags & MAP_ANONYMOUS) || !(vf = vfile_get(fd)))
		return raw_mmap(addr, len, prot, flags, fd, off);
	guard_enter();
	p = map_vfile(vf, addr, len, prot, flags, fd, off);
	vfile_put(vf);
	guard_leave();
	return p;
}

EXPORT void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off64_t off)
{
	return mmap(addr, len, prot, flags, fd, off);
}
