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
#include <ftw.h>
#include <glob.h>
#include <spawn.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <sys/time.h>
#include <unistd.h>
#include <utime.h>

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
	X(int, fsync, (int)) \
	X(void, _exit, (int)) \
	X(void, _Exit, (int)) \
	X(int, fdatasync, (int)) \
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
	X(int, euidaccess, (const char *, int)) \
	X(int, statfs, (const char *, struct statfs *)) \
	X(int, statfs64, (const char *, struct statfs64 *)) \
	X(int, fstatfs, (int, struct statfs *)) \
	X(int, fstatfs64, (int, struct statfs64 *)) \
	X(int, statvfs, (const char *, struct statvfs *)) \
	X(int, statvfs64, (const char *, struct statvfs64 *)) \
	X(int, fstatvfs, (int, struct statvfs *)) \
	X(int, fstatvfs64, (int, struct statvfs64 *)) \
	X(long, pathconf, (const char *, int)) \
	X(long, fpathconf, (int, int)) \
	X(ssize_t, getxattr, (const char *, const char *, void *, size_t)) \
	X(ssize_t, lgetxattr, (const char *, const char *, void *, size_t)) \
	X(ssize_t, fgetxattr, (int, const char *, void *, size_t)) \
	X(ssize_t, listxattr, (const char *, char *, size_t)) \
	X(ssize_t, llistxattr, (const char *, char *, size_t)) \
	X(ssize_t, flistxattr, (int, char *, size_t)) \
	X(int, setxattr, (const char *, const char *, const void *, size_t, int)) \
	X(int, lsetxattr, (const char *, const char *, const void *, size_t, int)) \
	X(int, fsetxattr, (int, const char *, const void *, size_t, int)) \
	X(int, removexattr, (const char *, const char *)) \
	X(int, lremovexattr, (const char *, const char *)) \
	X(int, fremovexattr, (int, const char *)) \
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
	X(int, fileno_unlocked, (FILE *)) \
	X(FILE *, freopen, (const char *, const char *, FILE *)) \
	X(FILE *, freopen64, (const char *, const char *, FILE *)) \
	X(DIR *, opendir, (const char *)) \
	X(DIR *, fdopendir, (int)) \
	X(int, closedir, (DIR *)) \
	X(struct dirent *, readdir, (DIR *)) \
	X(struct dirent64 *, readdir64, (DIR *)) \
	X(int, readdir_r, (DIR *, struct dirent *, struct dirent **)) \
	X(int, readdir64_r, (DIR *, struct dirent64 *, struct dirent64 **)) \
	X(long, telldir, (DIR *)) \
	X(void, seekdir, (DIR *, long)) \
	X(void, rewinddir, (DIR *)) \
	X(int, dirfd, (DIR *)) \
	X(int, scandir, (const char *, struct dirent ***, int (*)(const struct dirent *), \
			 int (*)(const struct dirent **, const struct dirent **))) \
	X(int, scandir64, (const char *, struct dirent64 ***, int (*)(const struct dirent64 *), \
			   int (*)(const struct dirent64 **, const struct dirent64 **))) \
	X(int, scandirat, (int, const char *, struct dirent ***, int (*)(const struct dirent *), \
			   int (*)(const struct dirent **, const struct dirent **))) \
	X(int, scandirat64, (int, const char *, struct dirent64 ***, \
			     int (*)(const struct dirent64 *), \
			     int (*)(const struct dirent64 **, const struct dirent64 **))) \
	X(ssize_t, getdents64, (int, void *, size_t)) \
	X(int, nftw, (const char *, int (*)(const char *, const struct stat *, int, struct FTW *), \
		      int, int)) \
	X(int, nftw64, (const char *, \
			int (*)(const char *, const struct stat64 *, int, struct FTW *), int, int)) \
	X(int, ftw, (const char *, int (*)(const char *, const struct stat *, int), int)) \
	X(int, ftw64, (const char *, int (*)(const char *, const struct stat64 *, int), int)) \
	X(int, glob, (const char *, int, int (*)(const char *, int), glob_t *)) \
	X(int, glob64, (const char *, int, int (*)(const char *, int), glob64_t *)) \
	X(char *, getcwd, (char *, size_t)) \
	X(char *, get_current_dir_name, (void)) \
	X(ssize_t, readlink, (const char *, char *, size_t)) \
	X(ssize_t, readlinkat, (int, const char *, char *, size_t)) \
	X(char *, realpath, (const char *, char *)) \
	X(int, execve, (const char *, char *const[], char *const[])) \
	X(int, execvpe, (const char *, char *const[], char *const[])) \
	X(int, fexecve, (int, char *const[], char *const[])) \
	X(int, execveat, (int, const char *, char *const[], char *const[], int)) \
	X(int, posix_spawn, (pid_t *, const char *, const posix_spawn_file_actions_t *, \
			     const posix_spawnattr_t *, char *const[], char *const[])) \
	X(int, posix_spawnp, (pid_t *, const char *, const posix_spawn_file_actions_t *, \
			      const posix_spawnattr_t *, char *const[], char *const[])) \
	X(int, posix_spawn_file_actions_adddup2, (posix_spawn_file_actions_t *, int, int)) \
	X(int, posix_spawn_file_actions_addopen, (posix_spawn_file_actions_t *, int, const char *, \
						  int, mode_t)) \
	X(int, posix_spawn_file_actions_destroy, (posix_spawn_file_actions_t *)) \
	X(int, system, (const char *)) \
	X(FILE *, popen, (const char *, const char *)) \
	X(int, pclose, (FILE *)) \
	X(pid_t, wait, (int *)) \
	X(pid_t, waitpid, (pid_t, int *, int)) \
	X(pid_t, wait3, (int *, int, struct rusage *)) \
	X(pid_t, wait4, (pid_t, int *, int, struct rusage *)) \
	X(int, waitid, (idtype_t, id_t, siginfo_t *, int)) \
	X(int, mkdir, (const char *, mode_t)) \
	X(int, mkstemp, (char *)) \
	X(int, mkstemp64, (char *)) \
	X(int, mkostemp, (char *, int)) \
	X(int, mkostemp64, (char *, int)) \
	X(int, mkstemps, (char *, int)) \
	X(int, mkstemps64, (char *, int)) \
	X(int, mkostemps, (char *, int, int)) \
	X(int, mkostemps64, (char *, int, int)) \
	X(char *, mkdtemp, (char *)) \
	X(int, mkdirat, (int, const char *, mode_t)) \
	X(int, rmdir, (const char *)) \
	X(int, unlink, (const char *)) \
	X(int, unlinkat, (int, const char *, int)) \
	X(int, rename, (const char *, const char *)) \
	X(int, renameat, (int, const char *, int, const char *)) \
	X(int, renameat2, (int, const char *, int, const char *, unsigned)) \
	X(int, link, (const char *, const char *)) \
	X(int, linkat, (int, const char *, int, const char *, int)) \
	X(int, symlink, (const char *, const char *)) \
	X(int, symlinkat, (const char *, int, const char *)) \
	X(int, mknod, (const char *, mode_t, dev_t)) \
	X(int, mknodat, (int, const char *, mode_t, dev_t)) \
	X(int, mkfifo, (const char *, mode_t)) \
	X(int, mkfifoat, (int, const char *, mode_t)) \
	X(int, chmod, (const char *, mode_t)) \
	X(int, fchmodat, (int, const char *, mode_t, int)) \
	X(int, fchmod, (int, mode_t)) \
	X(int, chown, (const char *, uid_t, gid_t)) \
	X(int, lchown, (const char *, uid_t, gid_t)) \
	X(int, fchownat, (int, const char *, uid_t, gid_t, int)) \
	X(int, fchown, (int, uid_t, gid_t)) \
	X(int, truncate, (const char *, off_t)) \
	X(int, truncate64, (const char *, off64_t)) \
	X(int, ftruncate, (int, off_t)) \
	X(int, ftruncate64, (int, off64_t)) \
	X(int, fallocate, (int, int, off_t, off_t)) \
	X(int, fallocate64, (int, int, off64_t, off64_t)) \
	X(int, posix_fallocate, (int, off_t, off_t)) \
	X(int, posix_fallocate64, (int, off64_t, off64_t)) \
	X(int, utime, (const char *, const struct utimbuf *)) \
	X(int, utimes, (const char *, const struct timeval[2])) \
	X(int, lutimes, (const char *, const struct timeval[2])) \
	X(int, utimensat, (int, const char *, const struct timespec[2], int)) \
	X(int, futimens, (int, const struct timespec[2]))

/*
 * REAL(open) is the C library's open: one load of a pointer once it was
 * resolved (inline: every call outside the mounts goes through here), a
 * call to resolve it the first time.
 */
#define X(ret, name, args) \
	typedef ret (*real_##name##_fn) args; \
	extern real_##name##_fn real_##name##_ptr; \
	real_##name##_fn real_##name##_resolve(void); \
	static inline real_##name##_fn real_##name(void) \
	{ \
		real_##name##_fn f = __atomic_load_n(&real_##name##_ptr, __ATOMIC_ACQUIRE); \
		return __builtin_expect(f != NULL, 1) ? f : real_##name##_resolve(); \
	}
REAL_FUNCS(X)
#undef X

#define REAL(name) (real_##name())

#endif
