/* SPDX-License-Identifier: MIT */
/* tests/tap.c: the TAP emitter used by every C test. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <inttypes.h>

#include "tap.h"

static int tap_count;
static int tap_failed;
static int tap_planned = -1;

void tap_plan(int n)
{
    tap_planned = n;
    printf("1..%d\n", n);
    fflush(stdout);
}

void tap_skip_all(const char *why)
{
    const char *ci = getenv("CI");
    if (ci != NULL && *ci != '\0' && strcmp(ci, "false") != 0) {
        /* CI can never pass by skipping: a missing server is a failure. */
        printf("1..1\nnot ok 1 - required under CI: %s\n", why);
        fflush(stdout);
        exit(1);
    }
    printf("1..0 # SKIP %s\n", why);
    fflush(stdout);
    exit(0);
}

static bool tap_vreport(bool cond, const char *fmt, va_list ap)
{
    tap_count++;
    printf("%s %d - ", cond ? "ok" : "not ok", tap_count);
    vprintf(fmt, ap);
    printf("\n");
    if (!cond)
        tap_failed++;
    fflush(stdout);
    return cond;
}

bool tap_ok(bool cond, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    bool r = tap_vreport(cond, fmt, ap);
    va_end(ap);
    return r;
}

bool tap_is_int(int64_t got, int64_t want, const char *name)
{
    bool r = tap_ok(got == want, "%s", name);
    if (!r)
        tap_diag("got %" PRId64 ", want %" PRId64, got, want);
    return r;
}

bool tap_is_str(const char *got, const char *want, const char *name)
{
    bool same = (got == NULL && want == NULL) ||
                (got != NULL && want != NULL && strcmp(got, want) == 0);
    bool r = tap_ok(same, "%s", name);
    if (!r)
        tap_diag("got \"%s\", want \"%s\"", got ? got : "(null)", want ? want : "(null)");
    return r;
}

bool tap_contains(const char *haystack, const char *needle, const char *name)
{
    bool r = tap_ok(haystack != NULL && strstr(haystack, needle) != NULL, "%s", name);
    if (!r)
        tap_diag("\"%s\" does not contain \"%s\"", haystack ? haystack : "(null)", needle);
    return r;
}

void tap_skip(int n, const char *why)
{
    for (int i = 0; i < n; i++) {
        tap_count++;
        printf("ok %d # SKIP %s\n", tap_count, why);
    }
    fflush(stdout);
}

void tap_diag(const char *fmt, ...)
{
    va_list ap;
    char buf[4096];
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    /* One "# " per line so multi-line diagnostics stay TAP comments. */
    for (char *line = strtok(buf, "\n"); line != NULL; line = strtok(NULL, "\n"))
        printf("# %s\n", line);
    fflush(stdout);
}

int tap_done(void)
{
    if (tap_planned < 0)
        printf("1..%d\n", tap_count);
    else if (tap_planned != tap_count) {
        printf("# planned %d tests but ran %d\n", tap_planned, tap_count);
        return 1;
    }
    fflush(stdout);
    return tap_failed == 0 ? 0 : 1;
}

const char *tap_tmpdir(void)
{
    static char path[512];
    const char *base = getenv("TMPDIR");
    snprintf(path, sizeof(path), "%s/drumbeat-test-XXXXXX", base && *base ? base : "/tmp");
    if (mkdtemp(path) == NULL) {
        perror("mkdtemp");
        exit(2);
    }
    return path;
}

static const char *tap_path(const char *env, const char *rel)
{
    static char path[1024];
    const char *top = getenv(env);
    snprintf(path, sizeof(path), "%s/%s", top && *top ? top : ".", rel);
    return path;
}

const char *tap_srcpath(const char *rel)
{
    return tap_path("top_srcdir", rel);
}

const char *tap_buildpath(const char *rel)
{
    return tap_path("top_builddir", rel);
}

const char *tap_corpus_path(const char *rel)
{
    static char path[1024];
    const char *dir = getenv("DRUMBEAT_CORPORA");
    if (dir != NULL && *dir != '\0')
        snprintf(path, sizeof(path), "%s/%s", dir, rel);
    else
        snprintf(path, sizeof(path), "%s/../shared/corpora/%s",
                 getenv("top_srcdir") ? getenv("top_srcdir") : ".", rel);
    return path;
}
