/* SPDX-License-Identifier: MIT */
/* daemon/compose.h: builds the RFC 5322 message of one email touch with GMime:
 * From, To, Subject, Date, Message-ID, threading (In-Reply-To, References),
 * List-Unsubscribe with RFC 8058 one-click, and a text/plain body or a
 * multipart/alternative of text and HTML. Every header value that comes from
 * lead data goes through GMime's encoders (RFC 2047 for display names and the
 * subject, address syntax for addresses) or is checked to be a plain token,
 * so a CR or LF inside a lead field can never start a new header.
 *
 * Threads: any thread, after compose_init() ran once on the main thread before
 * any other thread started (GMime's rule).
 * Ownership: struct compose_in and its strings are borrowed for the call;
 * *out is malloc'd and owned by the caller.
 */
#ifndef DRUMBEAT_COMPOSE_H
#define DRUMBEAT_COMPOSE_H

#include <stddef.h>
#include <stdint.h>

#include "errors.h"

struct compose_in {
    const char *from_name;     /* mailbox display name, or NULL */
    const char *from_addr;     /* "ada@example.com" */
    const char *to_name;       /* lead's name, or NULL */
    const char *to_addr;
    const char *subject;
    const char *text;          /* plain-text body, UTF-8 */
    const char *message_id;    /* without angle brackets: "KEY@example.com" */
    int64_t date_ms;           /* the Date header, UTC ms */

    /* Optional (NULL = absent). Message ids are without angle brackets. */
    const char *html;          /* HTML body, UTF-8: the message becomes a
                                  multipart/alternative of text then HTML */
    const char *preheader;     /* inbox preview text: a hidden first element of
                                  the HTML part (HTML-escaped here); needs html */
    const char *lang;          /* Content-Language ("en", "pt-BR") */
    const char *in_reply_to;   /* the message this one answers (same thread) */
    const char *const *references;  /* NULL-terminated, oldest first */
    const char *unsub_url;     /* https:// link for List-Unsubscribe; with it comes
                                  List-Unsubscribe-Post: List-Unsubscribe=One-Click */
    const char *unsub_mailto;  /* address for the mailto: form of List-Unsubscribe */
    const char *unsub_mailto_subject;  /* its ?subject=, percent-encoded here */
};

void compose_init(void);
/* Composes the message with CRLF line ends. Returns 0, or -EINVAL with err
 * naming the field (an address that does not parse, text that is not UTF-8,
 * a message id or link with spaces, controls or brackets). Display names and
 * the subject may hold anything: controls become spaces and non-ASCII is
 * RFC 2047-encoded, so no value can start or split a header. */
int compose_message(const struct compose_in *in, char **out, size_t *len, struct errbuf *err);
/* The same message, always built as GMime's object tree and written by
 * GMime. compose_message writes the common message directly
 * (compose_fast.c) and uses this for the rest; the tests hold the two to
 * the same bytes. */
int compose_message_tree(const struct compose_in *in, char **out, size_t *len,
                         struct errbuf *err);
/* "Re: " + subject, unless subject already starts with "Re:" (any case).
 * Returns a malloc'd string, or NULL when out of memory. */
char *compose_reply_subject(const char *subject);
/* The domain part of an address ("example.com"), borrowed from addr, or NULL. */
const char *compose_domain(const char *addr);
/* The Content-Transfer-Encoding GMime judges best for a part holding these
 * len bytes (LF line ends) under the 7-bit constraint, as a
 * GMimeContentEncoding: the decision of g_mime_part_get_best_content_encoding()
 * (GMimeFilterBest) made in one pass, without the stream, filter and null
 * stream GMime makes per part. t_compose checks the two agree. */
int compose_best_encoding_7bit(const char *s, size_t len);

#endif /* DRUMBEAT_COMPOSE_H */
