/* SPDX-License-Identifier: MIT */
/* daemon/compose_internal.h: what compose.c (GMime's object tree) and
 * compose_fast.c (the common message written directly) share: the checks
 * that keep lead data out of header syntax, and the pieces both write the
 * same way.
 *
 * Threads: any. Ownership: inputs are borrowed; every returned string or
 * GString is the caller's (g_free / g_string_free).
 */
#ifndef DRUMBEAT_COMPOSE_INTERNAL_H
#define DRUMBEAT_COMPOSE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include <glib.h>

#include "compose.h"

/* The octets a header line can hold (RFC 5322 allows 998). */
#define COMPOSE_LINE_MAX_OCTETS 998

/* A bare addr-spec within SMTP's limits: no spaces, controls or brackets. */
bool compose_addr_ok(const char *addr);
/* A message id without its angle brackets: printable ASCII, one '@'. */
bool compose_msgid_ok(const char *id);
/* A language tag: letters, digits and '-', at most 35 octets. */
bool compose_lang_ok(const char *s);
/* The body with CRLF and lone CR made LF; *out_len set. g_malloc'd. */
char *compose_newlines(const char *s, size_t len, size_t *out_len);
/* The HTML with the preheader as a hidden first element of its body. */
GString *compose_html(const char *html, const char *preheader);
/* The multipart boundary: a hash of the parts and the message id. g_malloc'd. */
char *compose_boundary(const struct compose_in *in, const GString *html);
/* List-Unsubscribe's value, pre-folded one URI per line, each line LF
 * ended; *out is NULL when the message has no unsubscribe link. Returns 0 or
 * -EINVAL with err naming the field. */
int compose_unsub_value(const struct compose_in *in, GString **out, struct errbuf *err);

/* The message written directly, for the inputs whose bytes from GMime's
 * tree are known exactly: names and a subject of plain words that need
 * neither quoting, encoding nor folding, ASCII addresses, and threading
 * headers that fit on a line; bodies in the transfer encoding GMime would
 * pick, written by GMime's encoder.
 * Returns 1 with *out (malloc'd) and *len set, 0 when the input needs the
 * tree (nothing is written), or -ENOMEM. The inputs must have passed
 * compose_message's checks. t_compose and fuzz_compose compare it, byte for
 * byte, with compose_message_tree. */
int compose_fast(const struct compose_in *in, char **out, size_t *len);

#endif /* DRUMBEAT_COMPOSE_INTERNAL_H */
