/* SPDX-License-Identifier: MIT */
/* daemon/log.c: one line per event on stderr, key=value, written with a
 * single write(2) so lines from the threadpool never interleave. */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static volatile int log_level_now = LOG_LEVEL_INFO;

static const char *const level_names[] = { "error", "warn", "info", "debug" };

void log_set_level(enum log_level level)
{
    log_level_now = level;
}

bool log_enabled(enum log_level level)
{
    return (int)level <= log_level_now;
}

int log_level_parse(const char *text, enum log_level *out)
{
    for (int i = 0; i <= LOG_LEVEL_DEBUG; i++) {
        if (strcasecmp(text, level_names[i]) == 0) {
            *out = (enum log_level)i;
            return 0;
        }
    }
    return -EINVAL;
}

const char *log_level_format(enum log_level level)
{
    return (int)level >= 0 && level <= LOG_LEVEL_DEBUG ? level_names[level] : "info";
}

/* A message is already structured when it starts with an identifier and '='. */
static bool is_structured(const char *s)
{
    const char *p = s;
    while ((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_')
        p++;
    return p > s && *p == '=';
}

/* Appends text as a quoted value, escaping quotes, backslashes and controls
 * so that outside data can never forge a second log line. */
static size_t append_quoted(char *buf, size_t at, size_t cap, const char *text)
{
    if (at + 1 < cap)
        buf[at++] = '"';
    for (const unsigned char *p = (const unsigned char *)text; *p != '\0' && at + 5 < cap; p++) {
        if (*p == '"' || *p == '\\') {
            buf[at++] = '\\';
            buf[at++] = (char)*p;
        } else if (*p == '\n') {
            buf[at++] = '\\';
            buf[at++] = 'n';
        } else if (*p < 0x20 || *p == 0x7f) {
            at += (size_t)snprintf(buf + at, cap - at, "\\x%02x", *p);
        } else {
            buf[at++] = (char)*p;
        }
    }
    if (at + 1 < cap)
        buf[at++] = '"';
    return at;
}

/* Replaces control characters in an already structured line, for the same reason. */
static void neutralise_controls(char *s)
{
    for (; *s != '\0'; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            *s = ' ';
}

/* The lines this thread holds (log_hold), or buf NULL: write each at once. */
static _Thread_local struct {
    char *buf;
    size_t len, cap;
} held;

void log_vwrite(enum log_level level, int errnum, const char *prefix,
                const char *fmt, va_list ap)
{
    char msg[3072];
    char line[4096];
    struct timespec ts;
    struct tm tm;
    size_t n;

    vsnprintf(msg, sizeof(msg), fmt, ap);
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    n = strftime(line, sizeof(line), "ts=%Y-%m-%dT%H:%M:%S", &tm);
    n += (size_t)snprintf(line + n, sizeof(line) - n, ".%03ldZ level=%s",
                          ts.tv_nsec / 1000000, log_level_format(level));
    if (prefix != NULL && n < sizeof(line))
        n += (size_t)snprintf(line + n, sizeof(line) - n, " src=%s", prefix);
    if (n + 1 < sizeof(line))
        line[n++] = ' ';
    if (is_structured(msg)) {
        neutralise_controls(msg);
        n += (size_t)snprintf(line + n, sizeof(line) - n, "%s", msg);
    } else {
        n += (size_t)snprintf(line + n, sizeof(line) - n, "msg=");
        n = append_quoted(line, n, sizeof(line), msg);
    }
    if (errnum != 0 && n < sizeof(line)) {
        n += (size_t)snprintf(line + n, sizeof(line) - n, " error=");
        if (n < sizeof(line))
            n = append_quoted(line, n, sizeof(line), strerror(errnum));
    }
    if (n >= sizeof(line) - 1)
        n = sizeof(line) - 2;
    line[n++] = '\n';
    /* A thread that holds its info and debug lines (the loop, log_hold)
     * writes them together at the end of its turn; a warning or an error
     * goes out at once, after what was held, so the order stays true. */
    if (held.buf != NULL && level >= LOG_LEVEL_INFO) {
        if (held.len + n > held.cap)
            log_flush_held();
        if (n <= held.cap) {
            memcpy(held.buf + held.len, line, n);
            held.len += n;
            return;
        }
    }
    log_flush_held();
    /* One write(2) per line; a short write to stderr is not worth retrying. */
    ssize_t w = write(STDERR_FILENO, line, n);
    (void)w;
}

void log_hold(char *buf, size_t cap)
{
    log_flush_held();
    held.buf = buf;
    held.cap = cap;
    held.len = 0;
}

void log_flush_held(void)
{
    /* One write(2) for many lines: each line is whole, and a write to a
     * pipe or file of this size is not split between lines of other
     * threads' single writes. */
    size_t at = 0;
    while (at < held.len) {
        ssize_t w = write(STDERR_FILENO, held.buf + at, held.len - at);
        if (w <= 0)
            break;
        at += (size_t)w;
    }
    held.len = 0;
}

void log_release(void)
{
    log_flush_held();
    held.buf = NULL;
    held.cap = 0;
}

void log_write(enum log_level level, int errnum, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_vwrite(level, errnum, NULL, fmt, ap);
    va_end(ap);
}
