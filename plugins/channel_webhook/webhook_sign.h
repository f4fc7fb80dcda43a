/* SPDX-License-Identifier: MIT */
/* plugins/channel_webhook/webhook_sign.h: the request signature a receiver
 * checks: X-Drumbeat-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of
 * "<t>.<body>"> keyed with the shared secret (OpenSSL). Signing the
 * timestamp with the body lets a receiver refuse replays of old requests.
 *
 * Ownership: every pointer is borrowed for the call; out is the caller's.
 * Threads: any.
 */
#ifndef WEBHOOK_SIGN_H
#define WEBHOOK_SIGN_H

#include <stddef.h>
#include <stdint.h>

/* "t=" + 20 digits + ",v1=" + 64 hex digits + NUL, rounded up. */
#define WH_SIGNATURE_MAX 96

/* Writes the header value (without "X-Drumbeat-Signature: ") into out.
 * Returns 0, -EINVAL (no secret, or out too small) or -EIO (OpenSSL failed). */
int wh_sign(const char *secret, size_t secret_len, int64_t unix_seconds, const char *body,
            size_t body_len, char *out, size_t out_len);

#endif /* WEBHOOK_SIGN_H */
