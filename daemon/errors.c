/* SPDX-License-Identifier: MIT */
/* daemon/errors.c: one X-macro table gives every errno we return a name and a
 * message, the way libuv builds uv_err_name and uv_strerror. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "errors.h"

#define ERROR_TABLE(X)                                                      \
    X(EPERM, "operation not permitted")                                    \
    X(ENOENT, "no such file or directory")                                 \
    X(EIO, "input/output error")                                           \
    X(EBADF, "bad file descriptor")                                        \
    X(EAGAIN, "resource temporarily unavailable")                          \
    X(ENOMEM, "out of memory")                                             \
    X(EACCES, "permission denied")                                         \
    X(EBUSY, "resource busy")                                              \
    X(EEXIST, "already exists")                                            \
    X(ENOTDIR, "not a directory")                                          \
    X(EISDIR, "is a directory")                                            \
    X(EINVAL, "invalid argument")                                          \
    X(ENOSPC, "no space left on device")                                   \
    X(EROFS, "read-only file system")                                      \
    X(ERANGE, "value out of range")                                        \
    X(ENOSYS, "not implemented")                                           \
    X(ENOTSUP, "not supported")                                            \
    X(EPROTO, "protocol error")                                            \
    X(EMSGSIZE, "message too long")                                        \
    X(EADDRINUSE, "address already in use")                                \
    X(EADDRNOTAVAIL, "address not available")                              \
    X(ECONNREFUSED, "connection refused")                                  \
    X(ETIMEDOUT, "timed out")                                              \
    X(ECANCELED, "operation canceled")                                     \
    X(ESHUTDOWN, "shutting down")                                          \
    X(EOVERFLOW, "value too large")                                        \
    X(ENOEXEC, "not a loadable plugin")                                    \
    X(ESTALE, "store is from a newer version")

const char *error_name(int rc)
{
    switch (-rc) {
#define X(code, text) case code: return #code;
        ERROR_TABLE(X)
#undef X
    default:
        return "UNKNOWN";
    }
}

const char *error_text(int rc)
{
    switch (-rc) {
#define X(code, text) case code: return text;
        ERROR_TABLE(X)
#undef X
    default:
        return "unknown error";
    }
}

static void errbuf_vwhat(struct errbuf *err, const char *fmt, va_list ap)
{
    vsnprintf(err->what, sizeof(err->what), fmt, ap);
}

int errbuf_set(struct errbuf *err, int code, const char *fmt, ...)
{
    if (err == NULL)
        return code;
    err->code = code;
    va_list ap;
    va_start(ap, fmt);
    errbuf_vwhat(err, fmt, ap);
    va_end(ap);
    return code;
}

int errbuf_at(struct errbuf *err, int code, const char *file, const char *where,
              const char *fmt, ...)
{
    if (err == NULL)
        return code;
    err->code = code;
    snprintf(err->file, sizeof(err->file), "%s", file != NULL ? file : "");
    snprintf(err->where, sizeof(err->where), "%s", where != NULL ? where : "");
    va_list ap;
    va_start(ap, fmt);
    errbuf_vwhat(err, fmt, ap);
    va_end(ap);
    return code;
}

const char *errbuf_format(const struct errbuf *err, char *buf, size_t len)
{
    size_t n = 0;

    buf[0] = '\0';
    if (err->file[0] != '\0') {
        if (err->line > 0)
            n += snprintf(buf + n, len - n, "%s:%d:%d: ", err->file, err->line, err->column);
        else
            n += snprintf(buf + n, len - n, "%s: ", err->file);
    }
    if (n < len && err->where[0] != '\0')
        n += snprintf(buf + n, len - n, "%s: ", err->where);
    if (n < len)
        snprintf(buf + n, len - n, "%s", err->what[0] != '\0' ? err->what : error_text(err->code));
    return buf;
}
