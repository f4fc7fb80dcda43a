/* SPDX-License-Identifier: MIT */
/* daemon/unsub_token.h: the signed token in every List-Unsubscribe link. It
 * names a lead and the mailbox that wrote to them, and carries an
 * HMAC-SHA256 over both with a server secret, so the public endpoint can act
 * on a click without a database lookup of the token and without anyone being
 * able to unsubscribe somebody else. Signer and verifier live here together
 * so that they cannot drift apart.
 *
 * Token format (version 1): base64url without padding of
 *     0x01 | lead id (8 bytes, big-endian) | mailbox name (1..64 bytes) | MAC (32 bytes)
 * where MAC = HMAC-SHA256(secret, "drumbeat-unsub\0" | everything before it).
 * The mailbox name is data: any bytes but NUL; base64url keeps it out of
 * URLs and headers.
 *
 * Ownership: secrets and names are borrowed for the call; *out strings are
 * malloc'd and owned by the caller. Threads: any (OpenSSL's HMAC is
 * reentrant).
 */
#ifndef DRUMBEAT_UNSUB_TOKEN_H
#define DRUMBEAT_UNSUB_TOKEN_H

#include <stddef.h>
#include <stdint.h>

#include "errors.h"

#define UNSUB_TOKEN_VERSION 1
#define UNSUB_MAILBOX_MAX 64     /* longest mailbox name a token carries */
#define UNSUB_SECRET_MIN 16      /* shortest secret accepted, in bytes */

/* Signs (lead_id, mailbox) into *out, a NUL-terminated base64url string.
 * Returns 0, -EINVAL (secret shorter than UNSUB_SECRET_MIN, lead_id <= 0,
 * mailbox empty or longer than UNSUB_MAILBOX_MAX) or -ENOMEM. */
int unsub_token_sign(const void *secret, size_t secret_len, int64_t lead_id,
                     const char *mailbox, char **out);
/* Checks token against secret. On success returns 0 and fills *lead_id and
 * mailbox (capacity mailbox_cap, at least UNSUB_MAILBOX_MAX + 1). Returns
 * -EINVAL for anything malformed or forged; the MAC is compared in constant
 * time and nothing says which part was wrong. */
int unsub_token_verify(const void *secret, size_t secret_len, const char *token,
                       int64_t *lead_id, char *mailbox, size_t mailbox_cap);
/* Reads a secret file: its contents without trailing whitespace, at least
 * UNSUB_SECRET_MIN bytes. Returns 0 with *out (malloc'd, NUL-terminated) and
 * *len, or a negative errno with err naming the file (never the contents). */
int unsub_secret_load(const char *path, char **out, size_t *len, struct errbuf *err);

#endif /* DRUMBEAT_UNSUB_TOKEN_H */
