/* SPDX-License-Identifier: MIT */
/* tests/unit/t_compose.c: the MIME message of an email touch, checked
 * byte for byte where it matters: encoded names and subjects, CRLF line
 * ends, a Message-ID from the touch's key, and no header injection through
 * lead data. */
#include <stdlib.h>
#include <string.h>

#include <gmime/gmime.h>

#include "compose.h"
#include "gmime_oracle.h"
#include "config.h"
#include "dispatch.h"
#include "draft.h"
#include "tap.h"

/* The header block: everything before the first empty line. */
static char *headers_of(const char *msg)
{
    const char *end = strstr(msg, "\r\n\r\n");
    size_t n = end != NULL ? (size_t)(end - msg) + 2 : strlen(msg);
    char *h = malloc(n + 1);
    memcpy(h, msg, n);
    h[n] = '\0';
    return h;
}

/* True when some header line (after a CRLF) starts with name. */
static bool has_header_line(const char *headers, const char *name)
{
    size_t n = strlen(name);
    if (strncmp(headers, name, n) == 0)
        return true;
    for (const char *p = strstr(headers, "\r\n"); p != NULL; p = strstr(p + 2, "\r\n"))
        if (strncmp(p + 2, name, n) == 0)
            return true;
    return false;
}

static void plain_message(void)
{
    struct compose_in in = {
        .from_name = "Ada", .from_addr = "ada@example.com",
        .to_name = "Bob Stone", .to_addr = "bob@example.org",
        .subject = "AT&T and you", .text = "Hello Bob,\nshort note.\n",
        .message_id = "abc.12@example.com", .date_ms = 1767600000000LL,
    };
    struct errbuf err = { 0 };
    char *msg = NULL;
    size_t len = 0;

    tap_is_int(compose_message(&in, &msg, &len, &err), 0, "a plain message composes");
    tap_contains(msg, "From: Ada <ada@example.com>\r\n", "From has the display name, CRLF ended");
    tap_contains(msg, "To: Bob Stone <bob@example.org>\r\n", "To has the lead's name");
    tap_contains(msg, "Subject: AT&T and you\r\n", "a plain subject stays as written (no HTML escaping)");
    tap_contains(msg, "Message-Id: <abc.12@example.com>", "Message-ID comes from the touch key");
    /* Written by compose itself, where GMime would have put it: first. */
    static const char date_first[] = "Date: Mon, 05 Jan 2026 08:00:00 +0000\r\nFrom: ";
    tap_ok(msg != NULL && strncmp(msg, date_first, sizeof(date_first) - 1) == 0,
           "the Date header comes first, in RFC 5322 form, from date_ms");
    tap_ok(strstr(msg, "\n") == NULL || strstr(msg, "\r\n") != NULL, "lines end in CRLF");
    bool bare_lf = false;
    for (size_t i = 0; i < len; i++)
        if (msg[i] == '\n' && (i == 0 || msg[i - 1] != '\r'))
            bare_lf = true;
    tap_ok(!bare_lf, "no bare LF anywhere in the message");
    tap_is_int((int64_t)strlen(msg), (int64_t)len, "the length matches the bytes");
    free(msg);
}

/* Domains: an ASCII one is written as given (compose fills GMime's IDN
 * cache for it, to skip libidn2; GMime keeps an ASCII domain as given
 * too), a non-ASCII one in its IDNA (punycode) form, through libidn2. */
static void address_domains(void)
{
    static const struct { const char *from, *to, *want_from, *want_to, *what; } cases[] = {
        { "Ada@Example.COM", "bob@EXAMPLE.org", "From: Ada <Ada@Example.COM>\r\n",
          "To: Bob <bob@EXAMPLE.org>\r\n", "an ASCII domain keeps its case" },
        { "ada@example.com", "maria@b\xc3\xbc" "cher.example", "From: Ada <ada@example.com>\r\n",
          "To: Bob <maria@xn--bcher-kva.example>\r\n", "a non-ASCII domain is written as IDNA" },
        { "ada@xn--bcher-kva.example", "bob@example.org",
          "From: Ada <ada@xn--bcher-kva.example>\r\n", "To: Bob <bob@example.org>\r\n",
          "an IDNA domain stays as it is" },
        /* GMime's parser decodes the label, libidn2 cannot encode it back
         * (over 63 octets): it once came out as raw UTF-8 (fuzz_compose). */
        { "ada@example.com", "bob@xn--" "vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvxn-ex.example",
          "From: Ada <ada@example.com>\r\n", "To: Bob\r\n\t<bob@xn--vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvxn-ex.example>\r\n",
          "an ASCII address that is bad IDNA is written as given" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct compose_in in = { .from_name = "Ada", .from_addr = cases[i].from,
                                 .to_name = "Bob", .to_addr = cases[i].to, .subject = "S",
                                 .text = "T", .date_ms = 1767600000000LL };
        /* compose_message may write a plain message directly; the tree is
         * always GMime's. */
        for (int tree = 0; tree < 2; tree++) {
            struct errbuf err = { 0 };
            char *msg = NULL;
            size_t len = 0;
            int rc = tree ? compose_message_tree(&in, &msg, &len, &err)
                          : compose_message(&in, &msg, &len, &err);
            bool ok = rc == 0 && msg != NULL && strstr(msg, cases[i].want_from) != NULL &&
                      strstr(msg, cases[i].want_to) != NULL;
            if (!ok)
                tap_diag("got:\n%s", msg != NULL ? msg : "(nothing)");
            tap_ok(ok, "%s (%s)", cases[i].what, tree ? "GMime's tree" : "compose_message");
            free(msg);
        }
    }
}

/* SMTP's limits on an address (RFC 5321 4.5.3.1): 64 octets of local part,
 * 254 in all. An address is never folded, so a longer one could also
 * make a header line longer than 998 octets. */
static void address_limits(void)
{
    char local[80], addr[300];
    struct errbuf err = { 0 };
    char *msg = NULL;
    size_t len = 0;
    struct compose_in in = { .from_addr = "ada@example.com", .to_addr = addr, .subject = "S",
                             .text = "T", .date_ms = 1767600000000LL };

    memset(local, 'l', 64);
    local[64] = '\0';
    snprintf(addr, sizeof(addr), "%s@example.org", local);
    tap_is_int(compose_message(&in, &msg, &len, &err), 0, "a 64-octet local part composes");
    free(msg);
    msg = NULL;
    snprintf(addr, sizeof(addr), "%sl@example.org", local);
    tap_is_int(compose_message(&in, &msg, &len, &err), -EINVAL, "a 65-octet one is refused");
    free(msg);
    msg = NULL;
    /* b@ and a domain of 252 octets: 254 in all, then one more. */
    memset(addr, 'd', sizeof(addr));
    memcpy(addr, "b@", 2);
    memcpy(addr + 250, ".org", 5);      /* addr[254] is the NUL */
    tap_is_int(compose_message(&in, &msg, &len, &err), 0, "a 254-octet address composes");
    free(msg);
    msg = NULL;
    memcpy(addr + 251, ".org", 5);
    tap_is_int(compose_message(&in, &msg, &len, &err), -EINVAL,
               "a 255-octet address is refused, with the field named");
    tap_is_str(err.where, "to", "... the error names the field");
    free(msg);
}

static void encoded_and_injection(void)
{
    struct compose_in in = {
        .from_name = "Ada", .from_addr = "ada@example.com",
        .to_name = "María\r\nBcc: victim@example.com", .to_addr = "maria@example.org",
        .subject = "Hola\r\nX-Injected: yes", .text = "Olá, tudo bem?\n",
        .message_id = "k@example.com", .date_ms = 0,
    };
    struct errbuf err = { 0 };
    char *msg = NULL;
    size_t len = 0;

    tap_is_int(compose_message(&in, &msg, &len, &err), 0, "a message with hostile lead data composes");
    char *h = headers_of(msg);
    tap_ok(!has_header_line(h, "Bcc:"), "CR/LF in the name cannot start a Bcc header");
    tap_ok(!has_header_line(h, "X-Injected:"), "CR/LF in the subject cannot start a header");
    tap_contains(h, "To: =?UTF-8?", "the non-ASCII name is RFC 2047-encoded");
    tap_contains(h, "charset=utf-8", "the body declares UTF-8");
    tap_ok(strstr(h, "Content-Transfer-Encoding: 8bit") == NULL, "the body is 7-bit clean");
    tap_ok(strstr(h, "Content-Transfer-Encoding: base64") != NULL ||
               strstr(h, "Content-Transfer-Encoding: quoted-printable") != NULL,
           "non-ASCII text is transfer-encoded");
    free(h);
    free(msg);

    in.to_addr = "maria@example.org\r\nBcc: x@example.com";
    tap_is_int(compose_message(&in, &msg, &len, &err), -EINVAL, "an address with CR/LF is refused");
    tap_is_str(err.where, "to", "the error names the field");
}

/* Whether every CR in msg starts a CRLF and every LF ends one. */
static bool crlf_only(const char *msg, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if ((msg[i] == '\r' && (i + 1 >= len || msg[i + 1] != '\n')) ||
            (msg[i] == '\n' && (i == 0 || msg[i - 1] != '\r')))
            return false;
    return true;
}

/* Line ends in a body from lead data or a template: a lone CR would reach
 * the DATA as is (SMTP smuggling rides on "\r.\r"); CRLF, CR and LF each
 * become one CRLF, in the text and in the HTML part. (fuzz_compose found
 * the lone CR.) */
static void body_line_ends(void)
{
    struct compose_in in = {
        .from_name = "Ada", .from_addr = "ada@example.com", .to_addr = "lead@example.org",
        .subject = "Lines", .text = "one\rtwo\r\nthree\nfour\r.\rfive\r",
        .html = "<p>a</p>\r<p>b</p>\r\n<p>c</p>", .message_id = "k@example.com",
    };
    struct errbuf err = { 0 };
    char *msg = NULL;
    size_t len = 0;

    tap_is_int(compose_message(&in, &msg, &len, &err), 0, "a body with CR, LF and CRLF composes");
    tap_ok(msg != NULL && crlf_only(msg, len), "no CR or LF stands alone in the message");
    tap_contains(msg, "one\r\ntwo\r\nthree\r\nfour\r\n.\r\nfive\r\n",
                 "each line end of the text is one CRLF");
    tap_contains(msg, "<p>a</p>\r\n<p>b</p>\r\n<p>c</p>", "and of the HTML");
    free(msg);
}

/* The longest line of msg, without its CRLF. */
static size_t longest_line(const char *msg, size_t len)
{
    size_t best = 0, start = 0;
    for (size_t i = 0; i < len; i++)
        if (msg[i] == '\n') {
            if (i - 1 - start > best)
                best = i - 1 - start;
            start = i + 1;
        }
    return best;
}

/* List-Unsubscribe is written pre-folded, one URI per line; its first line
 * also holds "List-Unsubscribe:", which counts toward RFC 5322's 998 octets
 * (fuzz_compose found a line over 998 octets when the mailto came first). */
static void unsub_line_limits(void)
{
    char subject[1000], url[1000];
    struct compose_in in = {
        .from_addr = "ada@example.com", .to_addr = "lead@example.org", .subject = "Hi",
        .text = "Body\n", .message_id = "k@example.com", .unsub_mailto = "u@example.com",
        .unsub_mailto_subject = subject,
    };
    struct errbuf err = { 0 };
    char *msg = NULL;
    size_t len = 0;

    /* "List-Unsubscribe: <mailto:u@example.com?subject=" is 48 octets, ">" one. */
    memset(subject, 'a', 949);
    subject[949] = '\0';
    tap_ok(compose_message(&in, &msg, &len, &err) == 0 && longest_line(msg, len) == 998,
           "a mailto alone on the first line may fill it to 998 octets");
    free(msg);
    msg = NULL;
    strcat(subject, "a");
    tap_ok(compose_message(&in, &msg, &len, &err) == -EINVAL && msg == NULL &&
           strcmp(err.where, "unsub_mailto_subject") == 0,
           "one octet more is refused, naming the mailto's subject");

    /* "List-Unsubscribe: <" is 19 octets, ">," two more before the mailto's line. */
    in.unsub_mailto_subject = NULL;
    in.unsub_url = url;
    snprintf(url, sizeof(url), "https://x.example.com/u/");
    memset(url + 24, 'b', 977 - 24);
    url[977] = '\0';
    tap_ok(compose_message(&in, &msg, &len, &err) == 0 && longest_line(msg, len) == 998,
           "a link before a mailto may fill the first line to 998 octets");
    free(msg);
    msg = NULL;
    strcat(url, "b");
    tap_ok(compose_message(&in, &msg, &len, &err) == -EINVAL && msg == NULL &&
           strcmp(err.where, "unsub_url") == 0, "one octet more is refused, naming the link");
}

static void drafts(void)
{
    struct config_mailbox mb = { .name = "ada", .address = "ada@example.com",
                                 .display_name = "Ada", .channel = "outbox", .daily_cap = 10 };
    json_t *d = draft_new("Subject", "Body", "Zoë");
    char *payload = json_dumps(d, JSON_COMPACT);
    char *a = NULL, *b = NULL;
    size_t alen, blen;
    struct errbuf err = { 0 };

    tap_is_int(draft_compose(payload, strlen(payload), &mb, "zoe@example.org", "s1.7", 1000,
                             &a, &alen, &err), 0, "a draft composes");
    tap_is_int(draft_compose(payload, strlen(payload), &mb, "zoe@example.org", "s1.7", 1000,
                             &b, &blen, &err), 0, "the same draft composes again");
    tap_ok(alen == blen && memcmp(a, b, alen) == 0, "a retry of one touch gives the same bytes");
    tap_contains(a, "Message-Id: <s1.7@example.com>", "the Message-ID is key@mailbox-domain");
    free(b);
    b = NULL;
    tap_is_int(draft_compose("{\"subject\":1}", 13, &mb, "zoe@example.org", "k", 0, &b, &blen, &err),
               -EINVAL, "a malformed draft is refused");
    tap_is_int(draft_compose(payload, strlen(payload), NULL, "zoe@example.org", "k", 0, &b, &blen, &err),
               -EINVAL, "a draft without a mailbox is refused");
    free(a);
    free(payload);
    json_decref(d);

    /* A lead without a name: the draft has no to_name at all. */
    d = draft_new("S", "B", NULL);
    payload = json_dumps(d, JSON_COMPACT);
    tap_is_int(draft_compose(payload, strlen(payload), &mb, "anon@example.org", "k2", 0, &a, &alen,
                             &err), 0, "a draft for a lead without a name composes");
    tap_contains(a, "To: anon@example.org", "To is the bare address");
    free(a);
    free(payload);
    json_decref(d);
}

static void backoff(void)
{
    tap_is_int(dispatch_backoff_ms(1), 60000, "the first retry waits a minute");
    tap_is_int(dispatch_backoff_ms(3), 240000, "the wait doubles");
    tap_is_int(dispatch_backoff_ms(20), 3600000, "and is capped at an hour");
}

static void best_encoding(void)
{
    static char buf[12000];
    struct { const char *text; int want; const char *what; } cases[] = {
        { "", GMIME_CONTENT_ENCODING_DEFAULT, "an empty body is 7bit" },
        { "Hello Bob,\nshort.\n", GMIME_CONTENT_ENCODING_DEFAULT, "ASCII text is 7bit" },
        { "From here on\n", GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE,
          "a line starting \"From \" is quoted-printable (mbox readers would mangle it)" },
        { "Hi\nFrom me\n", GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE, "... on any line" },
        { "Hi\nFrom", GMIME_CONTENT_ENCODING_DEFAULT, "\"From\" without its space is not" },
        { "Hi\n>From me\n", GMIME_CONTENT_ENCODING_DEFAULT, "nor a quoted \">From \"" },
        { "Hi, From me\n", GMIME_CONTENT_ENCODING_DEFAULT, "nor one inside a line" },
        { "H\xc3\xa9llo, a mostly ASCII line\n", GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE,
          "a little 8-bit text is quoted-printable" },
        { "\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82\n", GMIME_CONTENT_ENCODING_BASE64,
          "mostly 8-bit text is base64" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t n = strlen(cases[i].text);
        int got = compose_best_encoding_7bit(cases[i].text, n);
        tap_ok(got == cases[i].want && got == gmime_best_encoding(cases[i].text, n), "%s",
               cases[i].what);
    }
    memset(buf, 'a', 999);
    tap_ok(compose_best_encoding_7bit(buf, 998) == GMIME_CONTENT_ENCODING_DEFAULT &&
               compose_best_encoding_7bit(buf, 999) == GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE &&
               gmime_best_encoding(buf, 999) == GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE,
           "a 998-octet line is 7bit, a 999-octet one quoted-printable");
    /* The 17% line between quoted-printable and base64, from both sides. */
    bool agree = true;
    for (size_t eight = 10; eight <= 30; eight++) {
        memset(buf, 'a', 100);
        memset(buf, 0xe9, eight);
        agree = agree && compose_best_encoding_7bit(buf, 100) == gmime_best_encoding(buf, 100);
    }
    tap_ok(agree, "the quoted-printable/base64 line at 17%% 8-bit octets is GMime's");
    /* Random texts over the bytes that matter, past GMime's 4 KiB reads (a
     * "From " line can straddle two of them). Fixed seed: the same run each
     * time. */
    static const char alphabet[] = "aF romF\n\n \xc3\xa9";
    unsigned seed = 20261130;
    size_t disagree = 0;
    for (int t = 0; t < 3000; t++) {
        seed = seed * 1103515245u + 12345u;
        size_t n = (seed >> 8) % (t < 2000 ? 64 : sizeof(buf));
        for (size_t k = 0; k < n; k++) {
            seed = seed * 1103515245u + 12345u;
            buf[k] = alphabet[(seed >> 16) % (sizeof(alphabet) - 1)];
        }
        if (t % 7 == 0 && n > 4100)
            memcpy(buf + 4093, "\nFrom ", 7);      /* across the first 4 KiB read */
        disagree += compose_best_encoding_7bit(buf, n) != gmime_best_encoding(buf, n);
    }
    tap_is_int((int64_t)disagree, 0, "GMime agrees on 3000 random texts up to 12 KB");
}

int main(void)
{
    compose_init();
    tap_plan(62);
    plain_message();
    address_domains();
    address_limits();
    encoded_and_injection();
    body_line_ends();
    unsub_line_limits();
    drafts();
    backoff();
    best_encoding();
    return tap_done();
}
