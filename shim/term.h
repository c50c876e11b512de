/* SPDX-License-Identifier: MIT */
/*
 * term.h - a program ended by SIGTERM or SIGHUP first sends what it
 * wrote, then dies of that signal.
 */
#ifndef CLOUDSHIM_TERM_H
#define CLOUDSHIM_TERM_H

/* Catches the two where the program left them at their default. */
void term_setup(void);

/* This process has written files: from now on a signal waits for them. */
void term_watch(void);

#endif
