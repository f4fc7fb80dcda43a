/* SPDX-License-Identifier: MIT */
/* plugins/enrich_http/ehttp_reply.h: reading an API's 2xx reply, apart from
 * any I/O: the body parsed as JSON, the configured map's pointers picked
 * out of it, and a one-line detail saying what came of it. The body is
 * outside input; tests/fuzz/fuzz_enrich_http.c drives this with it.
 *
 * Ownership: conf and data are borrowed for the call; *attrs is a new
 * object (the caller json_decref()s it) when the outcome is DRUMBEAT_DONE,
 * and NULL otherwise.
 * Threads: any (no state).
 */
#ifndef EHTTP_REPLY_H
#define EHTTP_REPLY_H

#include <stddef.h>

#include <drumbeat/plugin.h>
#include <jansson.h>

#include "ehttp_conf.h"

/* A 2xx reply (status) of len bytes at data (NULL when len is 0):
 *   an empty 204                 DONE with no fields
 *   a JSON object or array       DONE with the mapped fields ({} if none): a
 *                                pointer that leads nowhere, to null, or to
 *                                an object or array sets nothing
 *   anything else                FAILED ("not JSON", "a JSON scalar")
 *   out of memory                RETRY
 * detail (cap bytes) gets one printable line; no part of the body but
 * jansson's own error text, cleaned, goes into it. */
enum drumbeat_outcome ehttp_reply_read(const struct ehttp_conf *conf, long status,
                                       const char *data, size_t len, json_t **attrs,
                                       char *detail, size_t cap);

/* Keeps text printable on one line (controls become spaces): it ends up in
 * a detail and a log. */
void ehttp_clean_text(char *s);

#endif /* EHTTP_REPLY_H */
