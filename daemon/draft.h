/* SPDX-License-Identifier: MIT */
/* daemon/draft.h: an email touch is stored as a draft (subject, text, the
 * recipient's name) and composed into MIME when it is claimed, so that the
 * Message-ID comes from the touch's idempotency key and a retry of the same
 * touch produces the same Message-ID.
 *
 * Ownership: payload and mb are borrowed; *out is malloc'd for the caller.
 */
#ifndef DRUMBEAT_DRAFT_H
#define DRUMBEAT_DRAFT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "errors.h"

struct config_mailbox;

#define DRAFT_CONTENT_TYPE "application/vnd.drumbeat.draft+json"

/* Builds the draft payload {"subject","text","to_name"}; a new reference. */
json_t *draft_new(const char *subject, const char *text, const char *to_name);
/* Composes the draft into an RFC 5322 message from mailbox mb to recipient. */
int draft_compose(const char *payload, size_t len, const struct config_mailbox *mb,
                  const char *recipient, const char *idempotency_key, int64_t now_ms,
                  char **out, size_t *out_len, struct errbuf *err);
/* The same from a sender's name (may be NULL) and address (NULL: no
 * mailbox, an error); borrows nothing past the call, so any thread may
 * compose (the dispatcher composes a batch on the threadpool). */
int draft_compose_from(const char *payload, size_t len, const char *from_name,
                       const char *from_addr, const char *recipient,
                       const char *idempotency_key, int64_t now_ms, char **out,
                       size_t *out_len, struct errbuf *err);

#endif /* DRUMBEAT_DRAFT_H */
