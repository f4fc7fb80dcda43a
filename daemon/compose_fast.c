/* SPDX-License-Identifier: MIT */
/* daemon/compose_fast.c: the common cold email written straight into one
 * buffer, byte for byte what compose_message_tree gets from GMime. Building
 * and writing GMime's tree (about 30 objects a message, made, filled and
 * released) was most of composing, and composing a fifth of the daemon's
 * CPU per email sent; for a message where GMime has nothing to encode,
 * quote or fold, its output is fixed text around the inputs.
 *
 * So this writes only what it can be sure of and declines the rest: every
 * header line under GMime's folding width, names and a subject made of
 * plain words, ASCII addresses. Bodies are any UTF-8: GMime's 7-bit rules
 * pick the transfer encoding (compose_best_encoding_7bit) and GMime's own
 * encoder writes quoted-printable or base64. Anything else (an accent in a
 * name, a long subject) goes to GMime's tree. t_compose_fast compares the
 * two on thousands of generated inputs around each of those limits, and
 * fuzz_compose on every input it makes.
 *
 * Ownership: inputs borrowed; *out malloc'd for the caller.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gmime/gmime.h>

#include "compose_internal.h"
#include "strbuf.h"

/* GMime folds or encodes a header line of 78 octets or more (its
 * max_line_len); t_compose finds lines of up to 77 written as they are. One
 * octet of margin keeps clear of the exact rule. */
#define FAST_LINE_MAX 76

/* The message being written; failed once an append ran out of memory. */
struct out {
    struct strbuf b;
    bool failed;
};

static void put(struct out *o, const char *s, size_t n)
{
    if (!o->failed && strbuf_append(&o->b, s, n) < 0)
        o->failed = true;
}

static void puts_(struct out *o, const char *s)
{
    put(o, s, strlen(s));
}

/* Text with LF line ends, written with CRLF (GMime's DOS newline format). */
static void put_crlf(struct out *o, const char *s, size_t n)
{
    size_t from = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\n') {
            put(o, s + from, i - from);
            put(o, "\r\n", 2);
            from = i + 1;
        }
    }
    put(o, s + from, n - from);
}

/* "Name: " + the value's pieces + CRLF when the line fits unfolded; false
 * (nothing written) when it would not. The pieces end at a NULL. */
static bool put_header_pieces(struct out *o, const char *name, const char *const *pieces)
{
    size_t line = strlen(name) + 2;
    for (size_t i = 0; pieces[i] != NULL; i++)
        line += strlen(pieces[i]);
    if (line > FAST_LINE_MAX)
        return false;
    puts_(o, name);
    put(o, ": ", 2);
    for (size_t i = 0; pieces[i] != NULL; i++)
        puts_(o, pieces[i]);
    put(o, "\r\n", 2);
    return true;
}

static bool put_header(struct out *o, const char *name, const char *value)
{
    return put_header_pieces(o, name, (const char *const[]){ value, NULL });
}

/* Plain words: letters and digits, '-' and '\'' inside words, single spaces
 * between words. GMime writes such a name or subject exactly as given (no
 * quotes, no encoded words, nothing to fold under the line limit). */
static bool plain_words(const char *s, bool subject)
{
    if (s == NULL)
        return true;
    bool word = false;          /* the last octet was part of a word */
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
        unsigned char c = *p;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
            word = true;
        } else if (c == ' ') {
            if (!word || p[1] == '\0')
                return false;
            word = false;
        } else if ((c == '-' || c == '\'') && word && p[1] != '\0' && p[1] != ' ') {
            word = true;
        } else if (subject && word && (c == ',' || c == '.' || c == '?' || c == '!' ||
                                       c == ':') && (p[1] == ' ' || p[1] == '\0')) {
            /* Punctuation ending a word of a subject: still unstructured
             * text GMime leaves alone. */
            word = true;
        } else {
            return false;
        }
    }
    return true;
}

/* An address GMime writes as given: a dot-atom local part and an ASCII
 * host name, no quoting and no IDNA conversion. */
static bool plain_address(const char *addr)
{
    const char *at = strrchr(addr, '@');
    if (at == NULL || at == addr || at[1] == '\0' || addr[0] == '.' || at[-1] == '.')
        return false;
    for (const char *p = addr; p < at; p++) {
        unsigned char c = (unsigned char)*p;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-' || c == '+') || (c == '.' && p[1] == '.'))
            return false;
    }
    const char *host = at + 1;
    if (host[0] == '.' || host[0] == '-' || host[strlen(host) - 1] == '.')
        return false;
    for (const char *p = host; *p != '\0'; p++) {
        unsigned char c = (unsigned char)*p;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '-') || (c == '.' && p[1] == '.'))
            return false;
    }
    return true;
}

static bool put_mailbox(struct out *o, const char *header, const char *name, const char *addr)
{
    if (!plain_address(addr))
        return false;
    if (name == NULL || name[0] == '\0')
        return put_header(o, header, addr);
    return put_header_pieces(o, header, (const char *const[]){ name, " <", addr, ">", NULL });
}

/* An id GMime writes as given: an address's plain form (GMime parses the
 * others and may write them back another way, "<e@T.>" as "<e@T>"). */
static bool plain_msgid(const char *id)
{
    return compose_msgid_ok(id) && plain_address(id);
}

/* A message id in its brackets on one line. */
static bool put_msgid(struct out *o, const char *header, const char *id)
{
    return plain_msgid(id) &&
           put_header_pieces(o, header, (const char *const[]){ "<", id, ">", NULL });
}

static bool put_references(struct out *o, const char *const *refs)
{
    size_t line = strlen("References:");
    for (size_t i = 0; refs[i] != NULL; i++) {
        if (!plain_msgid(refs[i]))
            return false;
        line += 3 + strlen(refs[i]);
        if (line > FAST_LINE_MAX)
            return false;
    }
    puts_(o, "References:");
    for (size_t i = 0; refs[i] != NULL; i++) {
        put(o, " <", 2);
        puts_(o, refs[i]);
        put(o, ">", 1);
    }
    put(o, "\r\n", 2);
    return true;
}

/* RFC 5322's date, as g_mime_utils_header_format_date writes it in UTC. */
static void put_date(struct out *o, int64_t date_ms)
{
    static const char days[7][4] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
    static const char months[12][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
    time_t t = (time_t)(date_ms / 1000);
    struct tm tm;
    char line[64];
    gmtime_r(&t, &tm);
    snprintf(line, sizeof line, "Date: %s, %02d %s %04d %02d:%02d:%02d +0000\r\n",
             days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour,
             tm.tm_min, tm.tm_sec);
    puts_(o, line);
}

/* A part's body as GMime writes it: LF line ends (the newline format makes
 * them CRLF), encoded by GMime's own encoder when its 7-bit rules ask for
 * quoted-printable or base64 (cte names it; NULL when the body goes as it
 * is). bytes is g_malloc'd. */
struct body {
    char *bytes;
    size_t len;
    const char *cte;
};

static void body_prepare(const char *s, size_t n, struct body *b)
{
    size_t len;
    char *lf = compose_newlines(s, n, &len);
    int best = compose_best_encoding_7bit(lf, len);
    if (best == GMIME_CONTENT_ENCODING_DEFAULT) {
        *b = (struct body){ .bytes = lf, .len = len, .cte = NULL };
        return;
    }
    GMimeEncoding enc;
    g_mime_encoding_init_encode(&enc, (GMimeContentEncoding)best);
    char *encoded = g_malloc(g_mime_encoding_outlen(&enc, len) + 1);
    size_t n_out = g_mime_encoding_flush(&enc, lf, len, encoded);
    g_free(lf);
    *b = (struct body){
        .bytes = encoded, .len = n_out,
        .cte = best == GMIME_CONTENT_ENCODING_BASE64 ? "base64" : "quoted-printable",
    };
}

static void put_part(struct out *o, const char *subtype, const struct body *b)
{
    puts_(o, "Content-Type: text/");
    puts_(o, subtype);
    puts_(o, "; charset=utf-8\r\n");
    if (b->cte != NULL) {
        puts_(o, "Content-Transfer-Encoding: ");
        puts_(o, b->cte);
        puts_(o, "\r\n");
    }
    puts_(o, "\r\n");
    put_crlf(o, b->bytes, b->len);
}

int compose_fast(const struct compose_in *in, char **out, size_t *len)
{
    /* Dates GMime would write differently (before 1970, past 9999). */
    if (in->date_ms < 0 || in->date_ms >= 253402300800000LL)
        return 0;
    if (!plain_words(in->from_name, false) || !plain_words(in->to_name, false) ||
        !plain_words(in->subject, true))
        return 0;

    struct body text, html_body = { 0 };
    body_prepare(in->text, strlen(in->text), &text);
    GString *html = NULL;
    GString *unsub = NULL;
    struct out o = { 0 };
    int rc = 0;

    if (in->html != NULL) {
        html = compose_html(in->html, in->preheader);
        body_prepare(html->str, html->len, &html_body);
    }
    if (compose_unsub_value(in, &unsub, NULL) < 0)
        goto decline;           /* the tree reports which field is wrong */

    put_date(&o, in->date_ms);
    if (!put_mailbox(&o, "From", in->from_name, in->from_addr) ||
        !put_header(&o, "Subject", in->subject != NULL ? in->subject : "") ||
        !put_mailbox(&o, "To", in->to_name, in->to_addr))
        goto decline;
    if (in->message_id != NULL && !put_msgid(&o, "Message-Id", in->message_id))
        goto decline;
    if (in->in_reply_to != NULL && !put_msgid(&o, "In-Reply-To", in->in_reply_to))
        goto decline;
    if (in->references != NULL && in->references[0] != NULL &&
        !put_references(&o, in->references))
        goto decline;
    if (unsub != NULL) {
        puts_(&o, "List-Unsubscribe:");
        put_crlf(&o, unsub->str, unsub->len);
        if (strncmp(in->unsub_url != NULL ? in->unsub_url : "", "https://", 8) == 0)
            puts_(&o, "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n");
    }
    if (in->lang != NULL) {
        if (!compose_lang_ok(in->lang) || !put_header(&o, "Content-Language", in->lang))
            goto decline;
    }
    puts_(&o, "MIME-Version: 1.0\r\n");
    if (html == NULL) {
        put_part(&o, "plain", &text);
        /* GMime ends a message's only part with a newline. */
        if (text.len > 0 && text.bytes[text.len - 1] != '\n')
            put(&o, "\r\n", 2);
    } else {
        char *boundary = compose_boundary(in, html);
        puts_(&o, "Content-Type: multipart/alternative;\r\n\tboundary=\"");
        puts_(&o, boundary);
        puts_(&o, "\"\r\n\r\n--");
        puts_(&o, boundary);
        puts_(&o, "\r\n");
        put_part(&o, "plain", &text);
        puts_(&o, "\r\n--");
        puts_(&o, boundary);
        puts_(&o, "\r\n");
        put_part(&o, "html", &html_body);
        puts_(&o, "\r\n--");
        puts_(&o, boundary);
        puts_(&o, "--\r\n");
        g_free(boundary);
    }
    char *text_out = o.failed ? NULL : strbuf_detach(&o.b, len);
    if (text_out == NULL) {
        rc = -ENOMEM;
        goto done;
    }
    *out = text_out;
    rc = 1;
    goto done;
decline:
    rc = 0;
done:
    strbuf_free(&o.b);
    g_free(text.bytes);
    g_free(html_body.bytes);
    if (html != NULL)
        g_string_free(html, TRUE);
    if (unsub != NULL)
        g_string_free(unsub, TRUE);
    return rc;
}
