/* SPDX-License-Identifier: MIT */
/* tests/unit/t_compose_fast.c: compose_fast (the common message written
 * directly) against compose_message_tree (GMime's object tree), byte for
 * byte: on fixed messages, on each limit where the direct writer must hand
 * over to GMime, and on 40,000 generated inputs that mix plain fields with
 * the ones GMime quotes, encodes or folds (bodies included: quoted-printable
 * and base64 are written with GMime's encoder). Also that compose_message
 * uses the direct writer for the common message and GMime for the rest. */
#include <stdlib.h>
#include <string.h>

#include "compose.h"
#include "compose_internal.h"
#include "tap.h"

/* xorshift64: a fixed seed gives the same inputs on every run. */
static unsigned long long rng_state = 0x9e3779b97f4a7c15ULL;

static unsigned rnd(unsigned n)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (unsigned)(rng_state % n);
}

#define PICK(a, n) ((a)[rnd(n)])
#define COUNT(a) (sizeof(a) / sizeof(*(a)))

/* Words a name or subject is made of. The first PLAIN_WORDS ones are plain;
 * the others each need GMime: quoting, encoded words, folding or escapes. */
static const char *const words[] = {
    "Company", "42", "Quick", "about", "and", "the", "Ada", "Lovelace", "O'Brien", "Jean-Luc",
    "Inc.", "you,", "question?", "now!", "Re:",
#define PLAIN_WORDS 15
    "AT&T", "Jos\xc3\xa9", "M\xc3\xbcller", "Co,", "a.b", "\"q\"", "(c)", "=?utf-8?q?x?=",
    "a@b", "<x>", "tab\there", "verylongwordverylongwordverylongwordverylongword", "-dash",
    "end-", "'q", "a'", "x:y", "semi;", "back\\slash", "\xe2\x80\x94", "a,b", "[x]",
};

static void gen_words(char *buf, size_t cap, bool plain, unsigned max_words)
{
    size_t n = 0;
    buf[0] = '\0';
    unsigned count = rnd(max_words + 1);
    for (unsigned i = 0; i < count; i++) {
        const char *sep = i == 0 ? (rnd(plain ? 200 : 12) == 0 ? " " : "")
                                 : (rnd(plain ? 200 : 12) == 0 ? "  " : " ");
        const char *w = rnd(plain ? 60 : 3) == 0 ? PICK(words, COUNT(words))
                                                  : PICK(words, PLAIN_WORDS);
        if (n + strlen(sep) + strlen(w) + 2 >= cap)
            break;
        n += (size_t)snprintf(buf + n, cap - n, "%s%s", sep, w);
    }
    if (rnd(plain ? 200 : 12) == 0 && n + 2 < cap)
        strcat(buf, " ");
}

static const char *const addresses[] = {
    "grace@example.org", "ada@example.com",
    "a.b+c@ex-ample.co.uk", "x_y@example.com", "a..b@example.com", ".a@example.com",
    "a.@example.com", "q!x@example.com", "a@-bad.example", "a@example.", "a@ex\xc3\xa9mple.com",
    "A.Very.Long.Local.Part.Name.That.Goes.On@subdomain.of.a.rather.long.example.domain.com",
    "a#b@example.com", "a=b@example.com", "UPPER@EXAMPLE.COM",
};

static const char *const lines[] = {
    "Hi Grace,", "", "I noticed you are hiring.", "Best,", "Ada", ".",
#define PLAIN_LINES 6
    "From the team", "From: x", ">From here", "..", "caf\xc3\xa9", "tab\there", "trailing space ",
    "crlf\r", "lone\rcr", "= sign", "=?utf-8?q?a?=", "<b>bold</b>", "\x01control",
    "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", "trailing tab\t", "x =\xc3\xa9 =",
    "a line with = and \xc3\xa9 that goes on and on to make quoted-printable break it softly",
    "\xe2\x80\x94\xe2\x80\x94 dash dash",
};

static void gen_text(char *buf, size_t cap, bool plain)
{
    size_t n = 0;
    buf[0] = '\0';
    unsigned count = rnd(12);
    for (unsigned i = 0; i < count; i++) {
        if (rnd(plain ? 400 : 40) == 0) {       /* about the 998-octet line limit */
            size_t k = 990 + rnd(20);
            if (n + k + 3 >= cap)
                break;
            memset(buf + n, 'a', k);
            n += k;
        } else {
            const char *l = plain && rnd(3) != 0 ? PICK(lines, PLAIN_LINES)
                                                  : PICK(lines, COUNT(lines));
            if (n + strlen(l) + 3 >= cap)
                break;
            memcpy(buf + n, l, strlen(l));
            n += strlen(l);
        }
        if (i + 1 < count || rnd(2) == 0) {
            unsigned end = rnd(plain ? 100 : 8);
            if (end == 0) {
                buf[n++] = '\r';
            } else if (end == 1) {
                buf[n++] = '\r';
                buf[n++] = '\n';
            } else {
                buf[n++] = '\n';
            }
        }
        buf[n] = '\0';
    }
}

static const char *const ids[] = {
    "t123.abc@example.com", "k@x.example",
    "a.very.long.message.identifier.that.keeps.going.and.going.on@mail.example.com",
    "no-at-sign", "two@at@x", "sp ace@x",
};

struct tally {
    int fast, same, differ, encoded;
};

static void compare_one(const struct compose_in *in, struct tally *t)
{
    char *a = NULL, *b = NULL;
    size_t al = 0, bl = 0;
    struct errbuf err = { 0 };
    int rf = compose_fast(in, &a, &al);
    if (rf <= 0)
        return;
    t->fast++;
    t->encoded += strstr(a, "Content-Transfer-Encoding:") != NULL;
    int rt = compose_message_tree(in, &b, &bl, &err);
    if (rt == 0 && al == bl && memcmp(a, b, al) == 0) {
        t->same++;
    } else if (++t->differ <= 2) {
        tap_diag("direct:\n%.*s\nGMime (rc %d):\n%.*s", (int)al, a, rt, (int)bl, b ? b : "");
    }
    free(a);
    free(b);
}

static void generated(void)
{
    struct tally t = { 0 };
    int n = 40000;
    for (int i = 0; i < n; i++) {
        bool plain = rnd(4) != 0;
        char fn[200], tn[200], subj[400], text[4096], html[4096], pre[200];
        const char *refs[4] = { 0 };
        gen_words(fn, sizeof fn, plain, 4);
        gen_words(tn, sizeof tn, plain, 4);
        gen_words(subj, sizeof subj, plain, plain ? 12 : 16);
        gen_text(text, sizeof text, plain);
        gen_text(html, sizeof html, plain);
        gen_words(pre, sizeof pre, plain, 6);
        unsigned nref = rnd(4);
        for (unsigned k = 0; k < nref; k++)
            refs[k] = plain && rnd(10) != 0 ? PICK(ids, 2) : PICK(ids, COUNT(ids));
        struct compose_in in = {
            .from_name = rnd(6) != 0 ? fn : NULL,
            .from_addr = plain && rnd(20) != 0 ? "ada@example.com" : PICK(addresses, COUNT(addresses)),
            .to_name = rnd(6) != 0 ? tn : NULL,
            .to_addr = plain && rnd(20) != 0 ? "grace@example.org" : PICK(addresses, COUNT(addresses)),
            .subject = rnd(10) != 0 ? subj : NULL,
            .text = text,
            .message_id = rnd(10) != 0 ? (plain ? PICK(ids, 3) : PICK(ids, COUNT(ids))) : NULL,
            .date_ms = rnd(20) == 0 ? -1000 : (int64_t)rnd(2000000000) * 1000 + rnd(1000),
            .html = rnd(3) == 0 ? html : NULL,
            .preheader = rnd(2) != 0 ? pre : NULL,
            .lang = rnd(4) == 0 ? (rnd(5) != 0 ? "en" : "bad tag") : NULL,
            .in_reply_to = rnd(4) == 0 ? (plain ? PICK(ids, 3) : PICK(ids, COUNT(ids))) : NULL,
            .references = nref > 0 ? refs : NULL,
            .unsub_url = rnd(2) != 0 ? (rnd(4) != 0 ? "https://example.com/u/abc"
                                                     : "http://example.com/u/x") : NULL,
            .unsub_mailto = rnd(2) != 0 ? "unsub@example.com" : NULL,
            .unsub_mailto_subject = rnd(2) != 0 ? "unsubscribe me" : NULL,
        };
        compare_one(&in, &t);
    }
    tap_diag("%d generated inputs, %d written directly, %d of those with an encoded body", n,
             t.fast, t.encoded);
    tap_ok(t.encoded > t.fast / 10, "quoted-printable and base64 bodies are among them (%d)",
           t.encoded);
    tap_ok(t.fast > n / 20, "the direct writer takes a good share of the generated inputs (%d)",
           t.fast);
    tap_is_int(t.differ, 0, "every message written directly is GMime's, byte for byte");
}

/* Subjects of every length around the folding limit, and names too. */
static void line_limits(void)
{
    struct tally t = { 0 };
    char subject[200], name[200];
    for (size_t n = 50; n < 110; n++) {
        for (size_t k = 0; k < n; k++)
            subject[k] = k % 6 == 5 ? ' ' : 'a' + (char)(k % 26);
        subject[n] = '\0';
        if (subject[n - 1] == ' ')
            subject[n - 1] = 'z';
        memcpy(name, subject, n + 1);
        name[n > 60 ? n - 45 : 15] = '\0';
        if (name[strlen(name) - 1] == ' ')
            name[strlen(name) - 1] = 'y';
        struct compose_in in = {
            .from_name = "Ada", .from_addr = "ada@example.com", .to_name = name,
            .to_addr = "grace@example.org", .subject = subject, .text = "Hi\n",
            .message_id = "t1.key@example.com", .date_ms = 1767600000000LL,
        };
        compare_one(&in, &t);
    }
    tap_ok(t.fast >= 15, "lines short enough are written directly (%d of 60)", t.fast);
    tap_is_int(t.differ, 0, "around the folding limit, the direct writer agrees with GMime");
}

/* What a campaign sends most: compose_message writes it directly, and what
 * needs GMime still comes out right. */
static void which_writer(void)
{
    const char *refs[] = { "t1.first@example.com", NULL };
    struct compose_in in = {
        .from_name = "Ada Lovelace", .from_addr = "ada@example.com",
        .to_name = "Grace Hopper", .to_addr = "grace@example.org",
        .subject = "Re: Quick question about Company 42",
        .text = "Hi Grace,\n\nI noticed Company 42 is hiring.\n\nBest,\nAda\n",
        .message_id = "t2.key@example.com", .date_ms = 1767600000000LL,
        .in_reply_to = "t1.first@example.com", .references = refs,
        .unsub_url = "https://example.com/u/abc", .unsub_mailto = "unsub@example.com",
        .unsub_mailto_subject = "unsubscribe", .lang = "en",
    };
    char *a = NULL, *b = NULL;
    size_t al = 0, bl = 0;
    struct errbuf err = { 0 };
    tap_is_int(compose_fast(&in, &a, &al), 1, "a plain follow-up is written directly");
    tap_is_int(compose_message(&in, &b, &bl, &err), 0, "compose_message composes it");
    tap_ok(a != NULL && b != NULL && al == bl && memcmp(a, b, al) == 0,
           "compose_message gives the direct writer's bytes");
    free(a);
    free(b);

    in.to_name = "Jos\xc3\xa9 M\xc3\xbcller";
    a = NULL;
    tap_is_int(compose_fast(&in, &a, &al), 0, "a name with accents is left to GMime");
    tap_ok(a == NULL, "declining writes nothing");
    tap_is_int(compose_message(&in, &b, &bl, &err), 0, "compose_message composes it with GMime");
    tap_contains(b, "To: =?UTF-8?b?Sm9zw6kgTcO8bGxlcg==?= <grace@example.org>\r\n",
                 "the name is RFC 2047-encoded");
    free(b);

    in.to_name = "Grace Hopper";
    in.text = "Hi Grace, the caf\xc3\xa9 on Main Street opens soon.\n";
    a = NULL;
    tap_is_int(compose_fast(&in, &a, &al), 1, "a body that needs quoted-printable is written directly");
    tap_contains(a, "Content-Transfer-Encoding: quoted-printable\r\n\r\nHi Grace, the caf=C3=A9 on",
                 "encoded by GMime's own encoder");
    tap_is_int(compose_message_tree(&in, &b, &bl, &err), 0, "GMime's tree composes it too");
    tap_ok(a != NULL && b != NULL && al == bl && memcmp(a, b, al) == 0, "to the same bytes");
    free(a);
    free(b);

    in.text = "Hi\n";
    in.in_reply_to = "no at sign";
    tap_is_int(compose_fast(&in, &a, &al), 0, "a bad message id is left to GMime's path");
    tap_ok(compose_message(&in, &b, &bl, &err) < 0 && strcmp(err.where, "in_reply_to") == 0,
           "which names the field (%s: %s)", err.where, err.what);
}

int main(void)
{
    compose_init();
    tap_plan(18);
    generated();
    line_limits();
    which_writer();
    return tap_done();
}
