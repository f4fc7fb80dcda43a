/* SPDX-License-Identifier: MIT */
/* daemon/errors.h: negative-errno names and messages, and struct errbuf, the
 * "where and what was expected" record every parser of outside input fills.
 *
 * Ownership: error_name() and error_text() return static strings; never free
 * them. struct errbuf is plain storage owned by the caller.
 */
#ifndef DRUMBEAT_ERRORS_H
#define DRUMBEAT_ERRORS_H

#include <stdarg.h>
#include <stddef.h>

struct errbuf {
    int code;            /* negative errno; 0 when nothing was recorded */
    char file[256];      /* "config/drumbeat.json" */
    int line;            /* syntax errors only; 0 otherwise */
    int column;          /* syntax errors only; 0 otherwise */
    char where[256];     /* JSON path or CSV row: "channels[1].options.port" */
    char what[512];      /* "expected an integer 1..65535, got \"25a\"" */
};

/* "EINVAL", "ENOMEM"... for a negative errno; "UNKNOWN" otherwise. */
const char *error_name(int rc);
/* A human sentence for a negative errno (strerror's, thread-safe). */
const char *error_text(int rc);

/* Records code and a formatted "what" (no where); returns code, so callers
 * can `return errbuf_set(err, -EINVAL, "...")`. err may be NULL. */
int errbuf_set(struct errbuf *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Records code, the location (file may be NULL, where may be NULL) and what. */
int errbuf_at(struct errbuf *err, int code, const char *file, const char *where,
              const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Formats "file:line:column: where: what" (parts that are empty left out). */
const char *errbuf_format(const struct errbuf *err, char *buf, size_t len);

#endif /* DRUMBEAT_ERRORS_H */
