/* SPDX-License-Identifier: MIT */
/* daemon/log.h: structured, levelled logging to stderr, one line per event:
 *   ts=2026-11-29T03:10:00.123Z level=info msg="store opened" path=var/db
 * Callers write the key=value part themselves ("touch=%lld outcome=%s").
 * Thread-safe: each line is formatted into a buffer and written with one
 * write(2). Secrets never reach a format argument (see STYLE.md, Logging).
 *
 * Ownership: nothing is retained; every pointer is borrowed for the call.
 */
#ifndef DRUMBEAT_LOG_H
#define DRUMBEAT_LOG_H

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>

/* Not LOG_INFO / LOG_DEBUG: <syslog.h> already defines those as macros. */
enum log_level { LOG_LEVEL_ERROR = 0, LOG_LEVEL_WARN, LOG_LEVEL_INFO, LOG_LEVEL_DEBUG };

void log_set_level(enum log_level level);

/* The calling thread holds its info and debug lines in buf (the caller's,
 * cap bytes, until log_release) and writes them with one write(2) at
 * log_flush_held, when buf is full, or before a warning or an error. The
 * loop thread holds them for one turn (log_buffer.h): a burst of 1,000
 * outcomes is one write, not 1,000. Other threads keep writing each line. */
void log_hold(char *buf, size_t cap);
void log_flush_held(void);
/* Flushes and stops holding. */
void log_release(void);
bool log_enabled(enum log_level level);
/* Parses "error", "warn", "info", "debug"; returns 0 or -EINVAL. */
int log_level_parse(const char *text, enum log_level *out);
const char *log_level_format(enum log_level level);

/* fmt produces the whole message part: a bare text is quoted as msg="...",
 * while text that starts with "key=" is written as is. errnum != 0 appends
 * error="<strerror>". prefix, when not NULL, is written as src=prefix. */
void log_write(enum log_level level, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void log_vwrite(enum log_level level, int errnum, const char *prefix,
                const char *fmt, va_list ap);

#define log_error(...) \
    do { if (log_enabled(LOG_LEVEL_ERROR)) log_write(LOG_LEVEL_ERROR, 0, __VA_ARGS__); } while (0)
#define log_warn(...) \
    do { if (log_enabled(LOG_LEVEL_WARN)) log_write(LOG_LEVEL_WARN, 0, __VA_ARGS__); } while (0)
#define log_info(...) \
    do { if (log_enabled(LOG_LEVEL_INFO)) log_write(LOG_LEVEL_INFO, 0, __VA_ARGS__); } while (0)
#define log_debug(...) \
    do { if (log_enabled(LOG_LEVEL_DEBUG)) log_write(LOG_LEVEL_DEBUG, 0, __VA_ARGS__); } while (0)
#define log_error_errno(...) \
    do { int e_ = errno; \
         if (log_enabled(LOG_LEVEL_ERROR)) log_write(LOG_LEVEL_ERROR, e_, __VA_ARGS__); } while (0)
#define log_warn_errno(...) \
    do { int e_ = errno; \
         if (log_enabled(LOG_LEVEL_WARN)) log_write(LOG_LEVEL_WARN, e_, __VA_ARGS__); } while (0)

#endif /* DRUMBEAT_LOG_H */
