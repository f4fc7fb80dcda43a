/* SPDX-License-Identifier: MIT */
/* daemon/strbuf.h: a growable byte buffer. The appenders are inline so a hot
 * loop (the template renderer) pays one comparison and a memcpy per piece;
 * growth doubles, so appends are amortised O(1) and a render makes a handful
 * of allocations at most. Room for a NUL is always kept; the NUL itself is
 * written by strbuf_cstr() and strbuf_detach(), not by every append.
 *
 * Ownership: the struct is the caller's (usually on the stack); buf is
 * malloc'd by strbuf and released by strbuf_free() or handed over by
 * strbuf_detach(). Not thread-safe: one buffer, one thread.
 */
#ifndef DRUMBEAT_STRBUF_H
#define DRUMBEAT_STRBUF_H

#include <stddef.h>
#include <string.h>

struct strbuf {
    char *buf;          /* NULL until the first append (or strbuf_init with cap) */
    size_t len;
    size_t cap;         /* bytes allocated, including room for the NUL */
};

/* Prepares an empty buffer with room for cap bytes (0: allocate lazily).
 * Returns 0 or -ENOMEM. */
int strbuf_init(struct strbuf *b, size_t cap);
/* Makes room for `extra` more bytes plus the NUL. Returns 0 or -ENOMEM. */
int strbuf_grow(struct strbuf *b, size_t extra);
void strbuf_free(struct strbuf *b);
/* The contents as a NUL-terminated string (borrowed; "" when empty and
 * unallocated). */
static inline const char *strbuf_cstr(struct strbuf *b)
{
    if (b->buf == NULL)
        return "";
    b->buf[b->len] = '\0';
    return b->buf;
}
/* Hands buf (never NULL on success), NUL-terminated, to the caller and resets b; *len gets
 * the length when len is not NULL. Returns NULL only when out of memory. */
char *strbuf_detach(struct strbuf *b, size_t *len);
/* printf-style append. Returns 0 or -ENOMEM. */
int strbuf_printf(struct strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static inline int strbuf_append(struct strbuf *b, const char *s, size_t n)
{
    if (b->cap - b->len <= n) {
        int rc = strbuf_grow(b, n);
        if (rc < 0)
            return rc;
    }
    memcpy(b->buf + b->len, s, n);
    b->len += n;
    return 0;
}

static inline int strbuf_putc(struct strbuf *b, char c)
{
    return strbuf_append(b, &c, 1);
}

static inline int strbuf_puts(struct strbuf *b, const char *s)
{
    return strbuf_append(b, s, strlen(s));
}

#endif /* DRUMBEAT_STRBUF_H */
