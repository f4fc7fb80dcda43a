/* SPDX-License-Identifier: MIT */
/* tests/unit/t_unsub_token.c: the List-Unsubscribe token: a round trip, then
 * every way to get it wrong: each character edited, truncation, padding,
 * a foreign alphabet, a MAC from another secret, a forged MAC, and the
 * secret file's rules. A hostile mailbox name survives as data. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "unsub_token.h"

static const char secret[] = "test-secret-0123456789abcdef";
static const char other[] = "test-secret-0123456789abcdeX";

static int verify(const char *s, const char *token, int64_t *id, char *mb)
{
    return unsub_token_verify(s, strlen(s), token, id, mb, UNSUB_MAILBOX_MAX + 1);
}

static void round_trip(void)
{
    char *a = NULL, *b = NULL, mb[UNSUB_MAILBOX_MAX + 1];
    int64_t id = 0;

    tap_is_int(unsub_token_sign(secret, strlen(secret), 42, "ada", &a), 0, "a token is signed");
    tap_is_int(unsub_token_sign(secret, strlen(secret), 42, "ada", &b), 0, "and again");
    tap_is_str(a, b, "signing is deterministic");
    tap_ok(strspn(a, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") ==
               strlen(a), "the token is base64url without padding");
    tap_is_int(verify(secret, a, &id, mb), 0, "the token verifies");
    tap_is_int(id, 42, "it names the lead");
    tap_is_str(mb, "ada", "and the mailbox");
    tap_is_int(verify(other, a, &id, mb), -EINVAL, "another secret rejects it");
    free(b);

    int bad = 0, n = (int)strlen(a);
    for (int i = 0; i < n; i++) {
        char saved = a[i];
        a[i] = saved == 'A' ? 'B' : 'A';
        bad += verify(secret, a, &id, mb) == -EINVAL;
        a[i] = saved == '-' ? '_' : '-';
        bad += verify(secret, a, &id, mb) == -EINVAL;
        a[i] = saved;
    }
    tap_is_int(bad, 2 * n, "every one-character edit is rejected");
    char *cut = strndup(a, (size_t)n - 1);
    tap_is_int(verify(secret, cut, &id, mb), -EINVAL, "a truncated token is rejected");
    free(cut);
    char *longer = malloc((size_t)n + 3);
    snprintf(longer, (size_t)n + 3, "%sAA", a);
    tap_is_int(verify(secret, longer, &id, mb), -EINVAL, "a lengthened token is rejected");
    snprintf(longer, (size_t)n + 3, "%s==", a);
    tap_is_int(verify(secret, longer, &id, mb), -EINVAL, "padding is rejected");
    free(longer);
    tap_is_int(verify(secret, "", &id, mb), -EINVAL, "an empty token is rejected");
    tap_is_int(verify(secret, "AQAAAAAAAAAqYWRh+/+/", &id, mb), -EINVAL,
               "the base64 (not url) alphabet is rejected");
    tap_is_int(unsub_token_verify(secret, strlen(secret), a, &id, mb, 8), -EINVAL,
               "a too small mailbox buffer is refused");
    free(a);
}

static void forgery(void)
{
    char *t = NULL, mb[UNSUB_MAILBOX_MAX + 1];
    int64_t id = 0;

    /* Signed under another secret: a well-formed token that must not pass. */
    tap_is_int(unsub_token_sign(other, strlen(other), 7, "ada", &t), 0, "a foreign token is signed");
    tap_is_int(verify(secret, t, &id, mb), -EINVAL, "a token from another secret is a forgery");
    free(t);
    /* version 1, lead 1, mailbox "a", MAC of zeros: 42 bytes, base64url. */
    const char *zero_mac = "AQAAAAAAAAABYQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    tap_is_int(verify(secret, zero_mac, &id, mb), -EINVAL, "a made-up MAC is rejected");
    tap_is_int(id, 0, "a rejected token fills nothing");

    tap_is_int(unsub_token_sign(secret, 8, 1, "ada", &t), -EINVAL, "a short secret is refused");
    tap_is_int(unsub_token_sign(secret, strlen(secret), 0, "ada", &t), -EINVAL,
               "lead id 0 is refused");
    tap_is_int(unsub_token_sign(secret, strlen(secret), 1, "", &t), -EINVAL,
               "an empty mailbox is refused");
    char longname[UNSUB_MAILBOX_MAX + 2];
    memset(longname, 'm', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    tap_is_int(unsub_token_sign(secret, strlen(secret), 1, longname, &t), -EINVAL,
               "a mailbox name over 64 bytes is refused");

    const char *hostile = "ada\r\nBcc: x@evil.test\xe2\x80\xae";
    tap_is_int(unsub_token_sign(secret, strlen(secret), INT64_MAX, hostile, &t), 0,
               "a hostile mailbox name signs");
    tap_ok(strpbrk(t, "\r\n :@") == NULL, "and the token holds none of its characters");
    tap_is_int(verify(secret, t, &id, mb), 0, "it verifies");
    tap_is_str(mb, hostile, "the name comes back as it was");
    tap_is_int(id, INT64_MAX, "the largest lead id survives");
    free(t);
}

static void secret_file(void)
{
    char path[512];
    char *s = NULL;
    size_t len = 0;
    struct errbuf err = { 0 };

    snprintf(path, sizeof(path), "%s/secret", tap_tmpdir());
    FILE *f = fopen(path, "w");
    fputs("0123456789abcdef0123\n\n", f);
    fclose(f);
    tap_is_int(unsub_secret_load(path, &s, &len, &err), 0, "a secret file loads");
    tap_is_str(s, "0123456789abcdef0123", "trailing whitespace is trimmed");
    tap_is_int((int64_t)len, 20, "its length is known");
    free(s);
    f = fopen(path, "w");
    fputs("short\n", f);
    fclose(f);
    tap_is_int(unsub_secret_load(path, &s, &len, &err), -EINVAL, "a short secret is refused");
    tap_ok(strstr(err.what, "short") == NULL, "the message does not quote the secret");
    tap_is_str(err.file, path, "the error names the file");
    snprintf(path, sizeof(path), "%s/none", tap_tmpdir());
    tap_is_int(unsub_secret_load(path, &s, &len, &err), -ENOENT, "a missing file is an error");
}

int main(void)
{
    tap_plan(35);
    round_trip();
    forgery();
    secret_file();
    return tap_done();
}
