/* SPDX-License-Identifier: MIT */
/* tests/tap.h: a small TAP producer. Output goes to stdout.
 * Ownership: nothing is kept; strings are borrowed for the call. */
#ifndef DRUMBEAT_TAP_H
#define DRUMBEAT_TAP_H

#include <stdbool.h>
#include <stdint.h>

void tap_plan(int n);                       /* "1..n" */
void tap_skip_all(const char *why);         /* "1..0 # SKIP why", then exit(0);
                                               with CI set: "not ok" and exit(1) */
bool tap_ok(bool cond, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
bool tap_is_int(int64_t got, int64_t want, const char *name);
bool tap_is_str(const char *got, const char *want, const char *name);
/* Passes when needle occurs in haystack. */
bool tap_contains(const char *haystack, const char *needle, const char *name);
void tap_skip(int n, const char *why);      /* n x "ok N # SKIP why" */
void tap_diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int tap_done(void);                         /* exit status: 0 if all passed */

/* A fresh temporary folder (mkdtemp under $TMPDIR) that the test may fill;
 * the returned string is static until the next call. */
const char *tap_tmpdir(void);
/* Absolute paths in the source and build trees, from $top_srcdir and
 * $top_builddir (set by make check); static until the next call. */
const char *tap_srcpath(const char *rel);
const char *tap_buildpath(const char *rel);
/* A path inside the shared conformance sets ($DRUMBEAT_CORPORA, set by make
 * check; else $top_srcdir/../shared/corpora); static until the next call. */
const char *tap_corpus_path(const char *rel);

#endif /* DRUMBEAT_TAP_H */
