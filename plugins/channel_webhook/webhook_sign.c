/* SPDX-License-Identifier: MIT */
/* plugins/channel_webhook/webhook_sign.c: HMAC-SHA256 over "<t>.<body>" with
 * OpenSSL 3's EVP_MAC interface, written as lower-case hex. The timestamp, the
 * dot and the body are fed to one MAC context in three updates, so the body is
 * never copied into a "<t>.<body>" buffer. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "webhook_sign.h"

int wh_sign(const char *secret, size_t secret_len, int64_t unix_seconds, const char *body,
            size_t body_len, char *out, size_t out_len)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    char stamp[24];
    int rc = -EIO;

    if (secret == NULL || secret_len == 0 || out_len < WH_SIGNATURE_MAX)
        return -EINVAL;
    int stamp_len = snprintf(stamp, sizeof(stamp), "%" PRId64, unix_seconds);

    EVP_MAC *hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    EVP_MAC_CTX *ctx = hmac != NULL ? EVP_MAC_CTX_new(hmac) : NULL;
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string("digest", (char *)"SHA256", 0),
        OSSL_PARAM_construct_end(),
    };
    size_t got = 0;
    if (ctx != NULL && EVP_MAC_init(ctx, (const unsigned char *)secret, secret_len, params) == 1 &&
        EVP_MAC_update(ctx, (const unsigned char *)stamp, (size_t)stamp_len) == 1 &&
        EVP_MAC_update(ctx, (const unsigned char *)".", 1) == 1 &&
        (body_len == 0 || EVP_MAC_update(ctx, (const unsigned char *)body, body_len) == 1) &&
        EVP_MAC_final(ctx, mac, &got, sizeof(mac)) == 1) {
        mac_len = (unsigned int)got;
        rc = 0;
    }
    EVP_MAC_CTX_free(ctx);
    EVP_MAC_free(hmac);
    if (rc < 0)
        return rc;

    size_t at = (size_t)snprintf(out, out_len, "t=%s,v1=", stamp);
    for (unsigned int i = 0; i < mac_len && at + 2 < out_len; i++) {
        out[at++] = hex[mac[i] >> 4];
        out[at++] = hex[mac[i] & 15];
    }
    out[at] = '\0';
    OPENSSL_cleanse(mac, sizeof(mac));
    return 0;
}
