/* SPDX-License-Identifier: MIT */
/* daemon/compose.c: one email per touch, composed with GMime so that
 * encoding and folding are a well-kept library's job, not ours. Messages
 * whose headers need no encoding, quoting or folding are written directly
 * by compose_fast.c (bodies through GMime's encoders), to the same bytes,
 * since GMime's object tree costs more than the rest of composing. The few
 * headers GMime would mangle (List-Unsubscribe) or that carry tokens rather
 * than text (message ids, links) are checked here to hold nothing but safe
 * printable ASCII before they are written. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <gmime/gmime.h>

#include "compose.h"
#include "compose_internal.h"

void compose_init(void)
{
    g_mime_init();
}

const char *compose_domain(const char *addr)
{
    const char *at = addr != NULL ? strrchr(addr, '@') : NULL;
    return at != NULL && at[1] != '\0' ? at + 1 : NULL;
}

/* Lead data is data: control characters in a display name or subject are
 * folded to spaces before encoding, so nothing can smuggle a line break. */
static char *compose_one_line(const char *s)
{
    char *copy = g_strdup(s != NULL ? s : "");
    for (char *p = copy; *p != '\0'; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = ' ';
    return copy;
}

/* An address must be a bare addr-spec with no spaces, controls or brackets,
 * within SMTP's limits (RFC 5321 4.5.3.1: a local part of at most 64
 * octets, a path of at most 256 with its brackets). An address cannot be
 * folded, so a longer one could also push its header line past 998
 * octets (found by fuzz_compose). */
bool compose_addr_ok(const char *addr)
{
    const char *at = addr != NULL ? strrchr(addr, '@') : NULL;
    if (at == NULL || at == addr || at[1] == '\0' || at - addr > 64 || strlen(addr) > 254)
        return false;
    for (const unsigned char *p = (const unsigned char *)addr; *p != '\0'; p++)
        if (*p <= 0x20 || *p == 0x7f || *p == '<' || *p == '>' || *p == ',' || *p == ';' ||
            *p == '"' || *p == '(' || *p == ')')
            return false;
    return true;
}

/* A msg-id's inside, or a link: printable ASCII without spaces, brackets,
 * quotes or commas, so it can never end its header or its <...>. */
static bool compose_token_ok(const char *s, size_t max)
{
    size_t n = 0;
    if (s == NULL || *s == '\0')
        return false;
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++, n++)
        if (*p <= 0x20 || *p >= 0x7f || *p == '<' || *p == '>' || *p == '"' || *p == ',' ||
            *p == '\\' || n >= max)
            return false;
    return true;
}

bool compose_msgid_ok(const char *id)
{
    const char *at = id != NULL ? strchr(id, '@') : NULL;
    return compose_token_ok(id, 250) && at != NULL && at != id && at[1] != '\0' &&
           strchr(at + 1, '@') == NULL;
}

char *compose_reply_subject(const char *subject)
{
    const char *s = subject != NULL ? subject : "";
    if (strncasecmp(s, "Re:", 3) == 0)
        return strdup(s);
    size_t n = strlen(s);
    char *out = malloc(n + 5);
    if (out != NULL) {
        memcpy(out, "Re: ", 4);
        memcpy(out + 4, s, n + 1);
    }
    return out;
}

static InternetAddress *compose_mailbox(const char *name, const char *addr)
{
    char *clean = compose_one_line(name);
    InternetAddress *ia = internet_address_mailbox_new(clean, addr);
    /* Force UTF-8 so non-ASCII names are RFC 2047-encoded, never raw 8-bit. */
    internet_address_set_charset(ia, "utf-8");
    g_free(clean);
    /* GMime fills idn_addr (a public field of the mailbox, its cache of the
     * IDNA form) on first encoding, through libidn2, and writes it. An
     * address given in ASCII is written as given, filled in here: that
     * saves libidn2's normalisation (17% of composing a message), and it
     * keeps raw 8-bit out of the header. GMime's parser turns "xn--" labels
     * into Unicode, and when libidn2 cannot turn them back (a label over 63
     * octets, bad Punycode) it wrote the Unicode form (found by
     * fuzz_compose). A non-ASCII domain still goes through libidn2. */
    InternetAddressMailbox *mb = INTERNET_ADDRESS_MAILBOX(ia);
    if (mb->idn_addr == NULL && mb->addr != NULL && mb->at > 0) {
        bool ascii = true;
        for (const unsigned char *p = (const unsigned char *)addr; *p != '\0' && ascii; p++)
            ascii = *p < 0x80;
        if (ascii)
            mb->idn_addr = g_strdup(addr);
    }
    return ia;
}

/* The query part of a mailto: every byte but RFC 3986's unreserved ones
 * percent-encoded, so UTF-8, spaces and controls all become %XX. */
static void compose_pct(GString *out, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
        if (g_ascii_isalnum(*p) || *p == '-' || *p == '.' || *p == '_' || *p == '~')
            g_string_append_c(out, (char)*p);
        else
            g_string_append_printf(out, "%%%02X", *p);
    }
}

/* List-Unsubscribe, pre-folded one URI per line: GMime's folder would
 * RFC 2047-encode a long value, which breaks the URIs. */
int compose_unsub_value(const struct compose_in *in, GString **out, struct errbuf *err)
{
    *out = NULL;
    if (in->unsub_url == NULL && in->unsub_mailto == NULL)
        return 0;
    if (in->unsub_url != NULL &&
        (!compose_token_ok(in->unsub_url, COMPOSE_LINE_MAX_OCTETS - 4) ||
         (strncmp(in->unsub_url, "https://", 8) != 0 && strncmp(in->unsub_url, "http://", 7) != 0)))
        return errbuf_at(err, -EINVAL, NULL, "unsub_url", "expected an https:// URL without "
                         "spaces, quotes or brackets");
    if (in->unsub_mailto != NULL && !compose_addr_ok(in->unsub_mailto))
        return errbuf_at(err, -EINVAL, NULL, "unsub_mailto",
                         "expected an address like unsubscribe@example.com");
    /* The first line also holds the header's name and colon. */
    size_t line = strlen("List-Unsubscribe:");
    GString *v = g_string_new(NULL);
    if (in->unsub_url != NULL) {
        g_string_append_printf(v, " <%s>%s", in->unsub_url, in->unsub_mailto != NULL ? "," : "");
        if (line + v->len > COMPOSE_LINE_MAX_OCTETS) {
            g_string_free(v, TRUE);
            return errbuf_at(err, -EINVAL, NULL, "unsub_url", "expected a URL that fits on "
                             "one header line (%d octets)", COMPOSE_LINE_MAX_OCTETS);
        }
        g_string_append_c(v, '\n');
        line = 0;
    }
    if (in->unsub_mailto != NULL) {
        size_t start = v->len;
        g_string_append_printf(v, " <mailto:%s", in->unsub_mailto);
        if (in->unsub_mailto_subject != NULL && in->unsub_mailto_subject[0] != '\0') {
            g_string_append(v, "?subject=");
            compose_pct(v, in->unsub_mailto_subject);
        }
        g_string_append_c(v, '>');
        if (line + v->len - start > COMPOSE_LINE_MAX_OCTETS) {
            g_string_free(v, TRUE);
            return errbuf_at(err, -EINVAL, NULL, "unsub_mailto_subject", "expected a mailto: "
                             "that fits on one header line (%d octets)", COMPOSE_LINE_MAX_OCTETS);
        }
        g_string_append_c(v, '\n');
    }
    *out = v;
    return 0;
}

static int compose_unsub(GMimeMessage *msg, const struct compose_in *in, struct errbuf *err)
{
    GString *v;
    int rc = compose_unsub_value(in, &v, err);
    if (rc < 0 || v == NULL)
        return rc;
    GMimeHeaderList *headers = g_mime_object_get_header_list(GMIME_OBJECT(msg));
    g_mime_header_list_set(headers, "List-Unsubscribe", "", NULL);
    g_mime_header_set_raw_value(g_mime_header_list_get_header(headers, "List-Unsubscribe"),
                                v->str);
    g_string_free(v, TRUE);
    /* RFC 8058: one-click needs an https URI to POST to. */
    if (in->unsub_url != NULL && strncmp(in->unsub_url, "https://", 8) == 0)
        g_mime_object_set_header(GMIME_OBJECT(msg), "List-Unsubscribe-Post",
                                 "List-Unsubscribe=One-Click", NULL);
    return 0;
}

static int compose_thread(GMimeMessage *msg, const struct compose_in *in, struct errbuf *err)
{
    if (in->in_reply_to != NULL) {
        if (!compose_msgid_ok(in->in_reply_to))
            return errbuf_at(err, -EINVAL, NULL, "in_reply_to",
                             "expected a message id like KEY@example.com");
        char *v = g_strdup_printf("<%s>", in->in_reply_to);
        g_mime_object_set_header(GMIME_OBJECT(msg), "In-Reply-To", v, NULL);
        g_free(v);
    }
    if (in->references == NULL || in->references[0] == NULL)
        return 0;
    GString *refs = g_string_new(NULL);
    for (size_t i = 0; in->references[i] != NULL; i++) {
        if (!compose_msgid_ok(in->references[i])) {
            g_string_free(refs, TRUE);
            return errbuf_at(err, -EINVAL, NULL, "references",
                             "expected message ids like KEY@example.com");
        }
        g_string_append_printf(refs, "%s<%s>", i > 0 ? " " : "", in->references[i]);
    }
    /* GMime folds References between ids. */
    g_mime_object_set_header(GMIME_OBJECT(msg), "References", refs->str, NULL);
    g_string_free(refs, TRUE);
    return 0;
}

/* A body's line ends as LF only: CRLF and a lone CR each become one LF, and
 * the DOS newline format then writes every one as CRLF. A lone CR (or LF)
 * left in the DATA is what SMTP smuggling rides on (a relay that ends lines
 * at it can see "\r.\r" as the end of the message), and RFC 5322 forbids it. */
char *compose_newlines(const char *s, size_t len, size_t *out_len)
{
    char *out = g_malloc(len + 1);
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '\r') {
            out[n++] = '\n';
            if (i + 1 < len && s[i + 1] == '\n')
                i++;
        } else {
            out[n++] = s[i];
        }
    }
    out[n] = '\0';
    *out_len = n;
    return out;
}

int compose_best_encoding_7bit(const char *s, size_t len)
{
    size_t count0 = 0, count8 = 0, maxline = 0, line = 0;
    bool from = false, line_start = true;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (line_start && !from && len - i >= 5 && memcmp(s + i, "From ", 5) == 0)
            from = true;
        line_start = false;
        if (c == '\n') {
            if (line > maxline)
                maxline = line;
            line = 0;
            line_start = true;
            continue;
        }
        if (c == 0)
            count0++;
        else if (c & 0x80)
            count8++;
        line++;
    }
    if (line > maxline)
        maxline = line;
    /* GMime's rules for GMIME_ENCODING_CONSTRAINT_7BIT, in its order. */
    if (count0 > 0)
        return GMIME_CONTENT_ENCODING_BASE64;
    if (count8 > 0)
        return count8 >= (size_t)((double)len * (17.0 / 100.0))
            ? GMIME_CONTENT_ENCODING_BASE64 : GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE;
    if (maxline > 998 || from)
        return GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE;
    return GMIME_CONTENT_ENCODING_DEFAULT;
}

/* A UTF-8 text part, 7-bit clean: quoted-printable or base64 as GMime judges
 * best, so no relay needs 8BITMIME and no line exceeds 998 octets. */
static GMimeObject *compose_text_part(const char *subtype, const char *text, size_t text_len)
{
    GMimeTextPart *part = g_mime_text_part_new_with_subtype(subtype);
    size_t len;
    char *lf = compose_newlines(text, text_len, &len);
    GMimeStream *content = g_mime_stream_mem_new_with_buffer(lf, len);
    GMimeContentEncoding best = (GMimeContentEncoding)compose_best_encoding_7bit(lf, len);
    g_free(lf);
    GMimeDataWrapper *wrapper = g_mime_data_wrapper_new_with_stream(content,
                                                                    GMIME_CONTENT_ENCODING_DEFAULT);
    g_mime_part_set_content(GMIME_PART(part), wrapper);
    g_object_unref(wrapper);
    g_object_unref(content);
    g_mime_object_set_content_type_parameter(GMIME_OBJECT(part), "charset", "utf-8");
    g_mime_part_set_content_encoding(GMIME_PART(part), best);
    return GMIME_OBJECT(part);
}

/* The HTML with the preheader as a hidden first element of the body: mail
 * clients show the first text as the inbox preview. */
GString *compose_html(const char *html, const char *preheader)
{
    GString *out = g_string_new(NULL);
    if (preheader == NULL || preheader[0] == '\0') {
        g_string_append(out, html);
        return out;
    }
    const char *at = html;
    for (const char *p = html; (p = strchr(p, '<')) != NULL; p++) {
        if (g_ascii_strncasecmp(p, "<body", 5) == 0 && (p[5] == '>' || g_ascii_isspace(p[5]))) {
            const char *gt = strchr(p, '>');
            if (gt != NULL)
                at = gt + 1;
            break;
        }
    }
    char *line = compose_one_line(preheader);
    char *esc = g_markup_escape_text(line, -1);
    g_string_append_len(out, html, at - html);
    g_string_append_printf(out, "<div style=\"display:none;font-size:1px;line-height:1px;"
                           "max-height:0;max-width:0;opacity:0;overflow:hidden;mso-hide:all\">"
                           "%s</div>", esc);
    g_string_append(out, at);
    g_free(esc);
    g_free(line);
    return out;
}

/* A boundary from a hash of the content, not a random one: a retry of a
 * touch gives the same bytes, and no part can contain the hash of itself. */
char *compose_boundary(const struct compose_in *in, const GString *html)
{
    GChecksum *sum = g_checksum_new(G_CHECKSUM_SHA256);
    g_checksum_update(sum, (const guchar *)in->text, (gssize)strlen(in->text));
    g_checksum_update(sum, (const guchar *)html->str, (gssize)html->len);
    if (in->message_id != NULL)
        g_checksum_update(sum, (const guchar *)in->message_id, -1);
    char *boundary = g_strdup_printf("=_drumbeat_%.32s", g_checksum_get_string(sum));
    g_checksum_free(sum);
    return boundary;
}

bool compose_lang_ok(const char *s)
{
    if (s == NULL || *s == '\0' || strlen(s) > 35)
        return false;
    for (; *s != '\0'; s++)
        if (!g_ascii_isalnum(*s) && *s != '-')
            return false;
    return true;
}

/* What every message needs from its input, whichever way it is written. */
static int compose_check(const struct compose_in *in, struct errbuf *err)
{
    if (!compose_addr_ok(in->from_addr))
        return errbuf_at(err, -EINVAL, NULL, "from", "expected an address like name@example.com");
    if (!compose_addr_ok(in->to_addr))
        return errbuf_at(err, -EINVAL, NULL, "to", "expected an address like name@example.com");
    if (in->text == NULL || !g_utf8_validate(in->text, -1, NULL))
        return errbuf_at(err, -EINVAL, NULL, "text", "expected UTF-8 text");
    if (in->subject != NULL && !g_utf8_validate(in->subject, -1, NULL))
        return errbuf_at(err, -EINVAL, NULL, "subject", "expected UTF-8 text");
    if (in->html != NULL && !g_utf8_validate(in->html, -1, NULL))
        return errbuf_at(err, -EINVAL, NULL, "html", "expected UTF-8 text");
    if (in->preheader != NULL && !g_utf8_validate(in->preheader, -1, NULL))
        return errbuf_at(err, -EINVAL, NULL, "preheader", "expected UTF-8 text");
    if (in->message_id != NULL && !compose_msgid_ok(in->message_id))
        return errbuf_at(err, -EINVAL, NULL, "message_id",
                         "expected a message id like KEY@example.com");
    if (in->lang != NULL && !compose_lang_ok(in->lang))
        return errbuf_at(err, -EINVAL, NULL, "lang", "expected a language tag such as \"en\"");
    if (in->from_name != NULL && !g_utf8_validate(in->from_name, -1, NULL))
        return errbuf_at(err, -EINVAL, NULL, "from_name", "expected UTF-8 text");
    if (in->to_name != NULL && !g_utf8_validate(in->to_name, -1, NULL))
        return errbuf_at(err, -EINVAL, NULL, "to_name", "expected UTF-8 text");
    return 0;
}

static int compose_tree(const struct compose_in *in, char **out, size_t *len,
                        struct errbuf *err);

int compose_message(const struct compose_in *in, char **out, size_t *len, struct errbuf *err)
{
    int rc = compose_check(in, err);
    if (rc < 0)
        return rc;
    rc = compose_fast(in, out, len);
    if (rc > 0)
        return 0;
    if (rc < 0)
        return errbuf_set(err, rc, "out of memory composing a message");
    return compose_tree(in, out, len, err);
}

int compose_message_tree(const struct compose_in *in, char **out, size_t *len,
                         struct errbuf *err)
{
    int rc = compose_check(in, err);
    return rc < 0 ? rc : compose_tree(in, out, len, err);
}

/* GMime's tree for an input compose_check passed. */
static int compose_tree(const struct compose_in *in, char **out, size_t *len,
                        struct errbuf *err)
{
    int rc;

    /* No prefilled headers (pretty_headers FALSE: a third fewer objects to
     * make and free); they are set in the order the prefilled list had,
     * which is the order they are written in. */
    GMimeMessage *msg = g_mime_message_new(FALSE);
    InternetAddressList *list;
    InternetAddress *ia;

    /* The Date header is written ahead of the others (below), where GMime
     * would write it as the first header set: g_mime_message_set_date()
     * formats the date and then parses its own text back (a tenth of the
     * time spent composing). */
    GDateTime *date = g_date_time_new_from_unix_utc(in->date_ms / 1000);
    char *date_text = g_mime_utils_header_format_date(date);
    g_date_time_unref(date);
    /* The list takes its own reference; drop ours. */
    list = g_mime_message_get_addresses(msg, GMIME_ADDRESS_TYPE_FROM);
    ia = compose_mailbox(in->from_name, in->from_addr);
    internet_address_list_add(list, ia);
    g_object_unref(ia);
    char *subject = compose_one_line(in->subject);
    g_mime_message_set_subject(msg, subject, "utf-8");
    g_free(subject);
    list = g_mime_message_get_addresses(msg, GMIME_ADDRESS_TYPE_TO);
    ia = compose_mailbox(in->to_name, in->to_addr);
    internet_address_list_add(list, ia);
    g_object_unref(ia);
    if (in->message_id != NULL)
        g_mime_message_set_message_id(msg, in->message_id);

    rc = compose_thread(msg, in, err);
    if (rc == 0)
        rc = compose_unsub(msg, in, err);
    if (rc < 0) {
        g_free(date_text);
        g_object_unref(msg);
        return rc;
    }
    if (in->lang != NULL)
        g_mime_object_set_header(GMIME_OBJECT(msg), "Content-Language", in->lang, NULL);

    /* The body stays UTF-8, never re-encoded to a legacy charset. */
    GMimeObject *text = compose_text_part("plain", in->text, strlen(in->text));
    if (in->html != NULL) {
        GMimeMultipart *alt = g_mime_multipart_new_with_subtype("alternative");
        GString *html = compose_html(in->html, in->preheader);
        char *boundary = compose_boundary(in, html);
        g_mime_multipart_set_boundary(alt, boundary);
        g_free(boundary);
        GMimeObject *hpart = compose_text_part("html", html->str, html->len);
        /* Plain text first: clients show the last part they understand. */
        g_mime_multipart_add(alt, text);
        g_mime_multipart_add(alt, hpart);
        g_object_unref(hpart);
        g_object_unref(text);
        g_string_free(html, TRUE);
        g_mime_message_set_mime_part(msg, GMIME_OBJECT(alt));
        g_object_unref(alt);
    } else {
        g_mime_message_set_mime_part(msg, text);
        g_object_unref(text);
    }

    GMimeFormatOptions *fmt = g_mime_format_options_new();
    g_mime_format_options_set_newline_format(fmt, GMIME_NEWLINE_FORMAT_DOS);
    GMimeStream *mem = g_mime_stream_mem_new();
    char *date_line = g_strdup_printf("Date: %s\r\n", date_text);
    g_mime_stream_write_string(mem, date_line);
    g_free(date_line);
    g_free(date_text);
    g_mime_object_write_to_stream(GMIME_OBJECT(msg), fmt, mem);
    GByteArray *bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));

    char *buf = malloc(bytes->len + 1);
    if (buf == NULL) {
        rc = errbuf_set(err, -ENOMEM, "out of memory composing a message");
    } else {
        memcpy(buf, bytes->data, bytes->len);
        buf[bytes->len] = '\0';
        *out = buf;
        *len = bytes->len;
    }
    g_object_unref(mem);
    g_mime_format_options_free(fmt);
    g_object_unref(msg);
    return rc;
}
