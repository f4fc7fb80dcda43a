/* SPDX-License-Identifier: MIT */
/* daemon/compose.h: builds the RFC 5322 message of one email touch with GMime.
 * Every header value that comes from lead data goes through GMime's encoders
 * (RFC 2047 for display names and the subject, address syntax for addresses),
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
};

void compose_init(void);
/* Composes the message with CRLF line ends. Returns 0, or -EINVAL with err
 * naming the field (an address that does not parse, text that is not UTF-8). */
int compose_message(const struct compose_in *in, char **out, size_t *len, struct errbuf *err);
/* The domain part of an address ("example.com"), borrowed from addr, or NULL. */
const char *compose_domain(const char *addr);

#endif /* DRUMBEAT_COMPOSE_H */
