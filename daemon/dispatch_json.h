/* SPDX-License-Identifier: MIT */
/* daemon/dispatch_json.h: the JSON document a channel that accepts
 * "application/json" (plugins_channel_accepts) receives for an email touch,
 * in place of the composed MIME message:
 *
 *   {"touch_id", "idempotency_key", "lead": {id, email, first_name,
 *    last_name, company, domain, title, phone, country, timezone, linkedin,
 *    stage, owners}, "step", "channel", "mailbox", "subject", "text",
 *    "message"}
 *
 * "message" is the composed RFC 5322 text (the same bytes, Message-ID
 * included, a mail channel would send), for receivers that forward email;
 * it is null when the touch has no configured mailbox. The lead's free
 * attributes and import bookkeeping are left out: a receiver gets the
 * fields it needs to reach the person and no more.
 *
 * Ownership: every argument is borrowed for the call; *out is malloc'd for
 * the caller (NUL-terminated; *out_len excludes the NUL).
 * Threads: loop thread (it reads the store's read connection).
 */
#ifndef DRUMBEAT_DISPATCH_JSON_H
#define DRUMBEAT_DISPATCH_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "errors.h"

struct store;
struct store_claimed;
struct config_mailbox;

/* Builds the document for the claimed draft touch t. Returns 0, -EINVAL (the
 * draft is not valid JSON with subject and text; err says why), -ENOENT (the
 * lead is gone) or -ENOMEM. */
int dispatch_json_build(struct store *st, const struct store_claimed *t,
                        const struct config_mailbox *mb, int64_t now_ms, char **out,
                        size_t *out_len, struct errbuf *err);

#endif /* DRUMBEAT_DISPATCH_JSON_H */
