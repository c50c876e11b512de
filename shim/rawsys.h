/* SPDX-License-Identifier: MIT */
/*
 * rawsys.h - a system call with no C library function in between.
 *
 * For the wrappers of syscall(2) and mmap(2), which allocators call while
 * they set themselves up: jemalloc, for one, reads files through
 * syscall(SYS_open...) during its first malloc, and a lazy dlsym there
 * would call back into that malloc.  These never resolve anything.
 * Returns the kernel's answer: a result, or -errno.
 */
#ifndef CLOUDSHIM_RAWSYS_H
#define CLOUDSHIM_RAWSYS_H

#include <errno.h>

static inline long raw_syscall6(long n, long a, long b, long c, long d, long e, long f)
{
	long ret;
#if defined(__x86_64__)
	register long r10 __asm__("r10") = d;
	register long r8 __asm__("r8") = e;
	register long r9 __asm__("r9") = f;

	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
			 : "rcx", "r11", "memory");
#elif defined(__aarch64__)
	register long x8 __asm__("x8") = n;
	register long x0 __asm__("x0") = a;
	register long x1 __asm__("x1") = b;
	register long x2 __asm__("x2") = c;
	register long x3 __asm__("x3") = d;
	register long x4 __asm__("x4") = e;
	register long x5 __asm__("x5") = f;

	__asm__ volatile("svc 0"
			 : "+r"(x0)
			 : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x5)
			 : "memory");
	ret = x0;
#else
#error "raw_syscall6: add this architecture's system call convention"
#endif
	return ret;
}

/* As the C library returns it: -1 with errno set on failure. */
static inline long raw_syscall_errno(long n, long a, long b, long c, long d, long e, long f)
{
	long ret = raw_syscall6(n, a, b, c, d, e, f);

	if (ret < 0 && ret > -4096) {
		errno = (int)-ret;
		return -1;
	}
	return ret;
}

#endif
