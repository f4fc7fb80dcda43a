/* SPDX-License-Identifier: MIT */
/* daemon/strbuf.c: growth, detach and printf for the growable buffer in
 * strbuf.h (the hot-path appenders are inline there). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "strbuf.h"

int strbuf_init(struct strbuf *b, size_t cap)
{
    b->buf = NULL;
    b->len = 0;
    b->cap = 0;
    return cap > 0 ? strbuf_grow(b, cap) : 0;
}

int strbuf_grow(struct strbuf *b, size_t extra)
{
    if (extra > ((size_t)-1) / 2 - b->len - 1)
        return -ENOMEM;
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap > 0 ? b->cap : 64;
    while (cap < need)
        cap *= 2;
    char *p = realloc(b->buf, cap);
    if (p == NULL)
        return -ENOMEM;
    if (b->buf == NULL)
        p[0] = '\0';
    b->buf = p;
    b->cap = cap;
    return 0;
}

void strbuf_free(struct strbuf *b)
{
    free(b->buf);
    b->buf = NULL;
    b->len = 0;
    b->cap = 0;
}

char *strbuf_detach(struct strbuf *b, size_t *len)
{
    if (b->buf == NULL && strbuf_grow(b, 0) < 0)
        return NULL;
    char *p = b->buf;
    p[b->len] = '\0';
    if (len != NULL)
        *len = b->len;
    b->buf = NULL;
    b->len = 0;
    b->cap = 0;
    return p;
}

int strbuf_printf(struct strbuf *b, const char *fmt, ...)
{
    char small[128];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0)
        return -EINVAL;
    if ((size_t)n < sizeof small)
        return strbuf_append(b, small, (size_t)n);
    int rc = strbuf_grow(b, (size_t)n);
    if (rc < 0)
        return rc;
    va_start(ap, fmt);
    vsnprintf(b->buf + b->len, (size_t)n + 1, fmt, ap);   /* room for the NUL is kept */
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}
