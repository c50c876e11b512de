/* SPDX-License-Identifier: MIT */
/*
 * real.h - the C library's own functions, behind our wrappers.
 *
 * One X-macro list generates a typedef and a lazy resolver per function, so
 * the list cannot drift from its uses.  REAL(open) never returns NULL: a
 * symbol the C library lacks resolves to a stub that fails with ENOSYS
 * when called (and logs once), never at load.  While this thread is inside
 * dlsym (which may allocate, and an allocator may open files), the core
 * I/O calls resolve to raw system calls instead of recursing.
 *
 * This file is compiled without _FILE_OFFSET_BITS=64, so "open" here is
 * open and "open64" is open64.
 */
#ifndef CLOUDSHIM_REAL_H
#define CLOUDSHIM_REAL_H

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

#define REAL_FUNCS(X) \
	X(int, open, (const char *, int, ...)) \
	X(int, open64, (const char *, int, ...)) \
	X(int, openat, (int, const char *, int, ...)) \
	X(int, openat64, (int, const char *, int, ...)) \
	X(int, creat, (const char *, mode_t)) \
	X(int, creat64, (const char *, mode_t)) \
	X(int, close, (int)) \
	X(int, close_range, (unsigned, unsigned, int)) \
	X(void, closefrom, (int)) \
	X(ssize_t, read, (int, void *, size_t)) \
	X(ssize_t, pread, (int, void *, size_t, off_t)) \
	X(ssize_t, pread64, (int, void *, size_t, off64_t)) \
	X(ssize_t, readv, (int, const struct iovec *, int)) \
	X(ssize_t, preadv, (int, const struct iovec *, int, off_t)) \
	X(ssize_t, preadv64, (int, const struct iovec *, int, off64_t)) \
	X(ssize_t, preadv2, (int, const struct iovec *, int, off_t, int)) \
	X(ssize_t, preadv64v2, (int, const struct iovec *, int, off64_t, int)) \
	X(ssize_t, write, (int, const void *, size_t)) \
	X(ssize_t, pwrite, (int, const void *, size_t, off_t)) \
	X(ssize_t, pwrite64, (int, const void *, size_t, off64_t)) \
	X(ssize_t, writev, (int, const struct iovec *, int)) \
	X(ssize_t, pwritev, (int, const struct iovec *, int, off_t)) \
	X(ssize_t, pwritev64, (int, const struct iovec *, int, off64_t)) \
	X(ssize_t, pwritev2, (int, const struct iovec *, int, off_t, int)) \
	X(ssize_t, pwritev64v2, (int, const struct iovec *, int, off64_t, int)) \
	X(off_t, lseek, (int, off_t, int)) \
	X(off64_t, lseek64, (int, off64_t, int)) \
	X(int, stat, (const char *, struct stat *)) \
	X(int, stat64, (const char *, struct stat64 *)) \
	X(int, lstat, (const char *, struct stat *)) \
	X(int, lstat64, (const char *, struct stat64 *)) \
	X(int, fstat, (int, struct stat *)) \
	X(int, fstat64, (int, struct stat64 *)) \
	X(int, fstatat, (int, const char *, struct stat *, int)) \
	X(int, fstatat64, (int, const char *, struct stat64 *, int)) \
	X(int, statx, (int, const char *, int, unsigned, struct statx *)) \
	X(int, __xstat, (int, const char *, struct stat *)) \
	X(int, __xstat64, (int, const char *, struct stat64 *)) \
	X(int, __lxstat, (int, const char *, struct stat *)) \
	X(int, __lxstat64, (int, const char *, struct stat64 *)) \
	X(int, __fxstat, (int, int, struct stat *)) \
	X(int, __fxstat64, (int, int, struct stat64 *)) \
	X(int, __fxstatat, (int, int, const char *, struct stat *, int)) \
	X(int, __fxstatat64, (int, int, const char *, struct stat64 *, int)) \
	X(int, access, (const char *, int)) \
	X(int, faccessat, (int, const char *, int, int)) \
	X(int, dup, (int)) \
	X(int, dup2, (int, int)) \
	X(int, dup3, (int, int, int)) \
	X(int, fcntl, (int, int, ...)) \
	X(int, fcntl64, (int, int, ...)) \
	X(ssize_t, sendfile, (int, int, off_t *, size_t)) \
	X(ssize_t, sendfile64, (int, int, off64_t *, size_t)) \
	X(ssize_t, copy_file_range, (int, off64_t *, int, off64_t *, size_t, unsigned)) \
	X(ssize_t, splice, (int, off64_t *, int, off64_t *, size_t, unsigned)) \
	X(int, chdir, (const char *)) \
	X(int, fchdir, (int)) \
	X(FILE *, fopen, (const char *, const char *)) \
	X(FILE *, fopen64, (const char *, const char *)) \
	X(FILE *, fdopen, (int, const char *)) \
	X(int, fileno, (FILE *)) \
	X(int, fileno_unlocked, (FILE *))

#define X(ret, name, args) \
	typedef ret (*real_##name##_fn) args; \
	real_##name##_fn real_##name(void);
REAL_FUNCS(X)
#undef X

#define REAL(name) (real_##name())

#endif
