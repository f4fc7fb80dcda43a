/* SPDX-License-Identifier: MIT */
/* daemon/unsub_token.c: signs and verifies List-Unsubscribe tokens with
 * OpenSSL's HMAC-SHA256 (format in unsub_token.h), and reads the secret file.
 * The verifier decodes strictly, recomputes the MAC over the decoded bytes
 * and compares with CRYPTO_memcmp, so a forged or edited token costs the
 * same time as a good one and reveals nothing about which part was wrong. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "unsub_token.h"

#define MAC_LEN 32
/* Domain separation: the same secret must never sign something else that
 * could be replayed as a token. */
static const char mac_label[] = "drumbeat-unsub";
#define SECRET_FILE_MAX 4096
#define RAW_MAX (1 + 8 + UNSUB_MAILBOX_MAX + MAC_LEN)

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static void b64url_encode(const unsigned char *in, size_t n, char *out)
{
    size_t o = 0, i = 0;
    for (; i + 2 < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[o++] = b64url[v >> 18];
        out[o++] = b64url[(v >> 12) & 63];
        out[o++] = b64url[(v >> 6) & 63];
        out[o++] = b64url[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)in[i] << 16;
        out[o++] = b64url[v >> 18];
        out[o++] = b64url[(v >> 12) & 63];
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
        out[o++] = b64url[v >> 18];
        out[o++] = b64url[(v >> 12) & 63];
        out[o++] = b64url[(v >> 6) & 63];
    }
    out[o] = '\0';
}

static int b64url_value(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '-')
        return 62;
    if (c == '_')
        return 63;
    return -1;
}

/* Strict: no padding, no other alphabet, and unused trailing bits must be
 * zero, so each byte string has exactly one token spelling. */
static int b64url_decode(const char *in, size_t n, unsigned char *out, size_t cap, size_t *len)
{
    if (n % 4 == 1 || n * 3 / 4 > cap)
        return -EINVAL;
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        int v = b64url_value(in[i]);
        if (v < 0)
            return -EINVAL;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (unsigned char)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    if (acc != 0)
        return -EINVAL;
    *len = o;
    return 0;
}

static int mac_of(const void *secret, size_t secret_len, const unsigned char *msg, size_t n,
                  unsigned char mac[MAC_LEN])
{
    unsigned char buf[sizeof(mac_label) + RAW_MAX];
    unsigned int mac_len = 0;

    memcpy(buf, mac_label, sizeof(mac_label));   /* with its NUL */
    memcpy(buf + sizeof(mac_label), msg, n);
    if (HMAC(EVP_sha256(), secret, (int)secret_len, buf, sizeof(mac_label) + n, mac,
             &mac_len) == NULL || mac_len != MAC_LEN)
        return -EIO;
    return 0;
}

int unsub_token_sign(const void *secret, size_t secret_len, int64_t lead_id,
                     const char *mailbox, char **out)
{
    unsigned char raw[RAW_MAX];
    size_t mlen = mailbox != NULL ? strlen(mailbox) : 0;

    if (secret == NULL || secret_len < UNSUB_SECRET_MIN || secret_len > INT32_MAX ||
        lead_id <= 0 || mlen == 0 || mlen > UNSUB_MAILBOX_MAX)
        return -EINVAL;
    raw[0] = UNSUB_TOKEN_VERSION;
    for (int i = 0; i < 8; i++)
        raw[1 + i] = (unsigned char)((uint64_t)lead_id >> (56 - 8 * i));
    memcpy(raw + 9, mailbox, mlen);
    size_t n = 9 + mlen;
    int rc = mac_of(secret, secret_len, raw, n, raw + n);
    if (rc < 0)
        return rc;
    n += MAC_LEN;
    char *s = malloc((n + 2) / 3 * 4 + 1);
    if (s == NULL)
        return -ENOMEM;
    b64url_encode(raw, n, s);
    *out = s;
    return 0;
}

int unsub_token_verify(const void *secret, size_t secret_len, const char *token,
                       int64_t *lead_id, char *mailbox, size_t mailbox_cap)
{
    unsigned char raw[RAW_MAX], mac[MAC_LEN];
    size_t n = 0;

    if (secret == NULL || secret_len < UNSUB_SECRET_MIN || secret_len > INT32_MAX ||
        token == NULL || mailbox == NULL || mailbox_cap < UNSUB_MAILBOX_MAX + 1)
        return -EINVAL;
    size_t tlen = strnlen(token, (RAW_MAX + 2) / 3 * 4 + 1);
    if (b64url_decode(token, tlen, raw, sizeof(raw), &n) < 0 || n < 1 + 8 + 1 + MAC_LEN ||
        raw[0] != UNSUB_TOKEN_VERSION)
        return -EINVAL;
    size_t body = n - MAC_LEN;
    if (mac_of(secret, secret_len, raw, body, mac) < 0)
        return -EINVAL;
    if (CRYPTO_memcmp(mac, raw + body, MAC_LEN) != 0)
        return -EINVAL;
    /* Only a genuine token gets this far; its content is ours, but check
     * anyway: a name with a NUL or a non-positive id was never signed. */
    uint64_t id = 0;
    for (int i = 0; i < 8; i++)
        id = id << 8 | raw[1 + i];
    size_t mlen = body - 9;
    if ((int64_t)id <= 0 || memchr(raw + 9, '\0', mlen) != NULL)
        return -EINVAL;
    *lead_id = (int64_t)id;
    memcpy(mailbox, raw + 9, mlen);
    mailbox[mlen] = '\0';
    return 0;
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

int unsub_secret_load(const char *path, char **out, size_t *len, struct errbuf *err)
{
    char buf[SECRET_FILE_MAX + 1];
    size_t n = 0;
    struct stat st;
    int rc = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);

    if (fd < 0)
        return errbuf_at(err, -errno, path, NULL, "cannot read the unsubscribe secret: %s",
                         error_text(-errno));
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        rc = errbuf_at(err, -EINVAL, path, NULL, "expected a regular file holding the "
                       "unsubscribe secret");
        goto out;
    }
    while (n < sizeof(buf)) {
        ssize_t r = read(fd, buf + n, sizeof(buf) - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            rc = errbuf_at(err, -errno, path, NULL, "cannot read the unsubscribe secret: %s",
                           error_text(-errno));
            goto out;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    if (n > SECRET_FILE_MAX) {
        rc = errbuf_at(err, -EFBIG, path, NULL, "expected an unsubscribe secret of at most "
                       "%d bytes", SECRET_FILE_MAX);
        goto out;
    }
    while (n > 0 && is_space(buf[n - 1]))
        n--;
    if (n < UNSUB_SECRET_MIN || memchr(buf, '\0', n) != NULL) {
        rc = errbuf_at(err, -EINVAL, path, NULL, "expected an unsubscribe secret of at least "
                       "%d bytes without NUL (e.g. `openssl rand -hex 32 > FILE`)",
                       UNSUB_SECRET_MIN);
        goto out;
    }
    char *s = malloc(n + 1);
    if (s == NULL) {
        rc = errbuf_set(err, -ENOMEM, "out of memory");
        goto out;
    }
    memcpy(s, buf, n);
    s[n] = '\0';
    *out = s;
    *len = n;
out:
    /* The secret must not linger on the stack. */
    OPENSSL_cleanse(buf, sizeof(buf));
    close(fd);
    return rc;
}
