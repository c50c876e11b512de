/* SPDX-License-Identifier: MIT */
/*
 * exec_env.h - what a new program needs to see the mounts too.
 *
 * Programs rebuild environments (env -i, subprocess env=, sandboxes), and
 * a new program inherits descriptors but none of the shim's memory.  So
 * before every exec the shim puts back the variables it started with
 * (LD_PRELOAD with this library, CLOUDSHIM_* and AWS_*) where the new
 * environment lacks them, tells the new program its mounted current
 * directory, and fills every mounted descriptor the program will inherit
 * with the object's bytes.
 */
#ifndef CLOUDSHIM_EXEC_ENV_H
#define CLOUDSHIM_EXEC_ENV_H

/* Remembers the process's starting variables; once, at set-up. */
void exec_env_capture(void);

/* envp with the shim's variables put back: free with free(); NULL on ENOMEM. */
char **exec_env_build(char *const envp[]);

/* The same, applied to environ itself (for system and popen). */
void exec_env_fix_environ(void);

/* Fills every mounted descriptor a new program would inherit. */
void exec_fill_inherited(void);

/* Fills the mounted descriptor fd if it is one (posix_spawn dup2 actions). */
void exec_fill_fd(int fd);

#endif
