/* SPDX-License-Identifier: MIT */
/* tests/unit/t_compose_parse.c: every composed message is parsed back with
 * GMime's parser and compared header by header and part by part with what
 * went in: threading, List-Unsubscribe (RFC 8058), multipart/alternative
 * with the hidden preheader. Then hostile values (CR LF, bare LF, bare CR,
 * NUL through the JSON data path, 1,200-byte names, RTL marks) in every
 * field that reaches a header: the parsed message must have exactly the
 * expected headers, no line over 998 octets and no bare LF. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gmime/gmime.h>

#include "compose.h"
#include "render_message.h"
#include "tap.h"
#include "template_file.h"

static GMimeMessage *parse(const char *msg, size_t len)
{
    GMimeStream *st = g_mime_stream_mem_new_with_buffer(msg, len);
    GMimeParser *p = g_mime_parser_new_with_stream(st);
    GMimeMessage *m = g_mime_parser_construct_message(p, NULL);
    g_object_unref(p);
    g_object_unref(st);
    return m;
}

/* The names of the message's top-level header fields, in order, joined by
 * ",", read from the bytes themselves: an injected header would show here
 * whatever GMime's parser makes of it. */
static char *header_names(const char *msg)
{
    GString *s = g_string_new(NULL);
    for (const char *p = msg; *p != '\0' && strncmp(p, "\r\n", 2) != 0;) {
        const char *eol = strstr(p, "\r\n");
        if (eol == NULL)
            break;
        if (*p != ' ' && *p != '\t') {
            const char *colon = memchr(p, ':', (size_t)(eol - p));
            g_string_append_printf(s, "%s%.*s", s->len > 0 ? "," : "",
                                   colon != NULL ? (int)(colon - p) : (int)(eol - p), p);
        }
        p = eol + 2;
    }
    return g_string_free(s, FALSE);
}

/* Whitespace runs as one space, trimmed: folding may turn a space into
 * CRLF TAB, which is the same text to a reader. */
static char *squash(const char *v)
{
    GString *s = g_string_new(NULL);
    bool space = false;
    for (const char *p = v != NULL ? v : ""; *p != '\0'; p++) {
        if (g_ascii_isspace(*p)) {
            space = s->len > 0;
        } else {
            if (space)
                g_string_append_c(s, ' ');
            space = false;
            g_string_append_c(s, *p);
        }
    }
    return g_string_free(s, FALSE);
}

/* CRLF as LF: the decoded parts carry the message's canonical CRLF. */
static char *lf(char *v)
{
    if (v == NULL)
        return NULL;
    char *w = v;
    for (char *r = v; *r != '\0'; r++)
        if (!(r[0] == '\r' && r[1] == '\n'))
            *w++ = *r;
    *w = '\0';
    return v;
}

/* CRLF everywhere and no line longer than RFC 5322's 998 octets. */
static bool lines_ok(const char *msg, size_t len)
{
    size_t start = 0;
    for (size_t i = 0; i < len; i++) {
        if (msg[i] == '\n') {
            if (i == 0 || msg[i - 1] != '\r' || i - start - 1 > 998)
                return false;
            start = i + 1;
        } else if (msg[i] == '\r' && (i + 1 >= len || msg[i + 1] != '\n')) {
            return false;
        }
    }
    return len - start <= 998;
}

static char *part_text(GMimeObject *part)
{
    return GMIME_IS_TEXT_PART(part) ? lf(g_mime_text_part_get_text(GMIME_TEXT_PART(part))) : NULL;
}

static const char *addr_name(GMimeMessage *m, GMimeAddressType type)
{
    InternetAddressList *l = g_mime_message_get_addresses(m, type);
    return internet_address_list_length(l) == 1
        ? internet_address_get_name(internet_address_list_get_address(l, 0)) : NULL;
}

static const char *addr_spec(GMimeMessage *m, GMimeAddressType type)
{
    InternetAddressList *l = g_mime_message_get_addresses(m, type);
    InternetAddress *ia = internet_address_list_length(l) == 1
        ? internet_address_list_get_address(l, 0) : NULL;
    return ia != NULL && INTERNET_ADDRESS_IS_MAILBOX(ia)
        ? internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(ia)) : NULL;
}

static void full_message(void)
{
    const char *refs[] = { "t1.1@example.com", "reply.9@mail.example.org", NULL };
    struct compose_in in = {
        .from_name = "Ada Lovelace", .from_addr = "ada@example.com",
        .to_name = "María López", .to_addr = "maria@example.org",
        .subject = "Re: AT&T and you", .text = "Hola María,\n\nshort note.\n",
        .message_id = "t1.2@example.com", .date_ms = 1767600000000LL,
        .html = "<html><BODY class=\"x\"><p>Hola Mar&iacute;a</p></BODY></html>",
        .preheader = "Two <minutes> & one idea", .lang = "es",
        .in_reply_to = "reply.9@mail.example.org", .references = refs,
        .unsub_url = "https://outreach.example.com/u/AQAAAAAAAAAq",
        .unsub_mailto = "unsubscribe@example.com",
        .unsub_mailto_subject = "unsubscribe AQAAAAAAAAAq",
    };
    struct errbuf err = { 0 };
    char *msg = NULL, *again = NULL;
    size_t len = 0, alen = 0;

    tap_is_int(compose_message(&in, &msg, &len, &err), 0, "a full message composes");
    tap_is_int(compose_message(&in, &again, &alen, &err), 0, "and again");
    tap_ok(len == alen && memcmp(msg, again, len) == 0,
           "a retry gives the same bytes (the MIME boundary is not random)");
    free(again);
    tap_ok(lines_ok(msg, len), "CRLF line ends, no line over 998 octets");
    GMimeMessage *m = parse(msg, len);
    tap_ok(m != NULL, "GMime parses it back");
    char *names = header_names(msg);
    tap_is_str(names, "Date,From,Subject,To,Message-Id,In-Reply-To,References,List-Unsubscribe,"
               "List-Unsubscribe-Post,Content-Language,MIME-Version,Content-Type",
               "exactly the expected headers, in order");
    g_free(names);
    tap_is_str(addr_name(m, GMIME_ADDRESS_TYPE_FROM), "Ada Lovelace", "From name");
    tap_is_str(addr_spec(m, GMIME_ADDRESS_TYPE_FROM), "ada@example.com", "From address");
    tap_is_str(addr_name(m, GMIME_ADDRESS_TYPE_TO), "María López", "To name, decoded");
    tap_is_str(addr_spec(m, GMIME_ADDRESS_TYPE_TO), "maria@example.org", "To address");
    tap_is_str(g_mime_message_get_subject(m), "Re: AT&T and you", "Subject");
    tap_is_str(g_mime_message_get_message_id(m), "t1.2@example.com", "Message-ID");
    GDateTime *date = g_mime_message_get_date(m);
    tap_is_int(date != NULL ? g_date_time_to_unix(date) : 0, 1767600000, "Date");
    tap_is_str(g_mime_object_get_header(GMIME_OBJECT(m), "In-Reply-To"),
               "<reply.9@mail.example.org>", "In-Reply-To");
    GMimeReferences *parsed = g_mime_references_parse(NULL,
        g_mime_object_get_header(GMIME_OBJECT(m), "References"));
    tap_ok(parsed != NULL && g_mime_references_length(parsed) == 2 &&
               strcmp(g_mime_references_get_message_id(parsed, 0), refs[0]) == 0 &&
               strcmp(g_mime_references_get_message_id(parsed, 1), refs[1]) == 0,
           "References, oldest first");
    if (parsed != NULL)
        g_mime_references_free(parsed);
    const char *lu = g_mime_object_get_header(GMIME_OBJECT(m), "List-Unsubscribe");
    tap_ok(lu != NULL && strstr(lu, "<https://outreach.example.com/u/AQAAAAAAAAAq>") != NULL &&
               strstr(lu, "<mailto:unsubscribe@example.com?subject=unsubscribe%20AQAAAAAAAAAq>"),
           "List-Unsubscribe holds both URIs intact (%s)", lu != NULL ? lu : "(none)");
    tap_ok(lu != NULL && strstr(lu, "=?") == NULL, "and no RFC 2047 mangling");
    tap_is_str(g_mime_object_get_header(GMIME_OBJECT(m), "List-Unsubscribe-Post"),
               "List-Unsubscribe=One-Click", "RFC 8058 one-click");
    /* GMime files Content-* headers under the top-level part. */
    tap_is_str(g_mime_object_get_header(g_mime_message_get_mime_part(m), "Content-Language"), "es",
               "Content-Language");

    GMimeObject *body = g_mime_message_get_mime_part(m);
    tap_ok(GMIME_IS_MULTIPART(body) &&
               g_mime_content_type_is_type(g_mime_object_get_content_type(body), "multipart",
                                           "alternative") &&
               g_mime_multipart_get_count(GMIME_MULTIPART(body)) == 2,
           "a multipart/alternative of two parts");
    if (GMIME_IS_MULTIPART(body) && g_mime_multipart_get_count(GMIME_MULTIPART(body)) == 2) {
        GMimeObject *text = g_mime_multipart_get_part(GMIME_MULTIPART(body), 0);
        GMimeObject *html = g_mime_multipart_get_part(GMIME_MULTIPART(body), 1);
        char *t = part_text(text), *h = part_text(html);
        tap_is_str(t, in.text, "the text part decodes to the text given");
        tap_ok(g_mime_content_type_is_type(g_mime_object_get_content_type(html), "text", "html"),
               "the second part is text/html");
        tap_contains(h, "<BODY class=\"x\"><div style=\"display:none;",
                     "the preheader is the first thing in the body");
        tap_contains(h, ">Two &lt;minutes&gt; &amp; one idea</div><p>Hola Mar&iacute;a</p>",
                     "escaped, then the HTML as given");
        tap_ok(strstr(t, "Two") == NULL, "the preheader is not in the text part");
        g_free(t);
        g_free(h);
    } else {
        tap_skip(5, "no multipart");
    }
    g_object_unref(m);
    free(msg);

    /* Without the https link there is no one-click. */
    in.unsub_url = NULL;
    in.html = NULL;
    tap_is_int(compose_message(&in, &msg, &len, &err), 0, "a mailto-only message composes");
    m = parse(msg, len);
    tap_ok(g_mime_object_get_header(GMIME_OBJECT(m), "List-Unsubscribe-Post") == NULL,
           "without an https link there is no List-Unsubscribe-Post");
    tap_ok(GMIME_IS_TEXT_PART(g_mime_message_get_mime_part(m)), "without HTML the body is text/plain");
    g_object_unref(m);
    free(msg);

    char *re = compose_reply_subject("Quick question");
    tap_is_str(re, "Re: Quick question", "a reply subject gets Re:");
    free(re);
    re = compose_reply_subject("RE: Quick question");
    tap_is_str(re, "RE: Quick question", "but only once");
    free(re);
}

/* Hostile values for fields GMime encodes: they must compose, and come back
 * as the same text with controls turned to spaces. */
static const char *const hostile[] = {
    "Bob\r\nBcc: x@evil.test",
    "Bob\nBcc: x@evil.test",
    "Bob\rBcc: x@evil.test",
    "\xe2\x80\x8f\xd7\x93\xd7\x95\xd7\x93 \xe2\x80\xae" "moc.live@x\xe2\x80\xac",  /* RLM, RLO */
    "Bob\t\x01\x7f: \"quoted\" <x@evil.test>, y@evil.test",
    NULL,   /* the long one, built in main */
};

static char *scrubbed(const char *s)
{
    char *c = strdup(s);
    for (char *p = c; *p != '\0'; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = ' ';
    return c;
}

/* The <mailto:...> of a List-Unsubscribe value holds only URI characters. */
static bool mailto_clean(const char *lu)
{
    const char *p = lu != NULL ? strstr(lu, "<mailto:u@example.com?subject=") : NULL;
    if (p == NULL)
        return false;
    for (p++; *p != '>'; p++)
        if (*p == '\0' || !(g_ascii_isalnum(*p) || strchr("-._~%@:?=", *p) != NULL))
            return false;
    return true;
}

static const char *const base_headers =
    "Date,From,Subject,To,Message-Id,In-Reply-To,References,List-Unsubscribe,"
    "List-Unsubscribe-Post,MIME-Version,Content-Type";

static void hostile_text_fields(const char *value, int idx)
{
    static const char *const fields[] = { "to_name", "from_name", "subject", "unsub_mailto_subject" };
    const char *refs[] = { "a@example.com", NULL };

    for (int f = 0; f < 4; f++) {
        struct compose_in in = {
            .from_name = "Ada", .from_addr = "ada@example.com",
            .to_name = "Bob", .to_addr = "bob@example.org",
            .subject = "Hello", .text = "Body\n", .message_id = "k.1@example.com",
            .in_reply_to = "a@example.com", .references = refs,
            .unsub_url = "https://x.example.com/u/T", .unsub_mailto = "u@example.com",
            .unsub_mailto_subject = "unsubscribe T",
        };
        const char **slot = f == 0 ? &in.to_name : f == 1 ? &in.from_name
                          : f == 2 ? &in.subject : &in.unsub_mailto_subject;
        *slot = value;
        struct errbuf err = { 0 };
        char *msg = NULL;
        size_t len = 0;
        int rc = compose_message(&in, &msg, &len, &err);
        if (f == 3 && rc == -EINVAL) {
            /* Only a mailto too long for one header line may be refused. */
            tap_ok(strlen(value) > 300 && strcmp(err.where, "unsub_mailto_subject") == 0,
                   "hostile #%d in %s: refused only for its length", idx, fields[f]);
            tap_ok(msg == NULL, "no message is handed out");
            tap_ok(strstr(err.what, "one header line") != NULL, "the error says why");
            continue;
        }
        tap_ok(rc == 0 && lines_ok(msg, len), "hostile #%d in %s: composes with clean lines",
               idx, fields[f]);
        GMimeMessage *m = rc == 0 ? parse(msg, len) : NULL;
        char *names = m != NULL ? header_names(msg) : g_strdup("");
        tap_is_str(names, base_headers, "hostile value: no header added or split");
        g_free(names);
        char *want = scrubbed(value);
        const char *got = m == NULL ? NULL
            : f == 0 ? addr_name(m, GMIME_ADDRESS_TYPE_TO)
            : f == 1 ? addr_name(m, GMIME_ADDRESS_TYPE_FROM)
            : f == 2 ? g_mime_message_get_subject(m)
            : g_mime_object_get_header(GMIME_OBJECT(m), "List-Unsubscribe");
        if (f == 3)
            tap_ok(mailto_clean(got), "the mailto subject is percent-encoded whole");
        else {
            char *a = squash(got), *b = squash(want);
            tap_is_str(a, b, "the value comes back as data (controls as spaces)");
            g_free(a);
            g_free(b);
        }
        free(want);
        if (m != NULL)
            g_object_unref(m);
        free(msg);
    }
}

/* Fields that must be plain tokens: hostile values are refused, naming the field. */
static void hostile_token_fields(const char *value, int idx)
{
    static const char *const fields[] = { "message_id", "in_reply_to", "references",
                                          "unsub_url", "unsub_mailto", "to", "lang" };
    for (int f = 0; f < 7; f++) {
        const char *refs[] = { "a@example.com", value, NULL };
        char url[2048];
        snprintf(url, sizeof(url), "https://x.example.com/u/%s", value);
        struct compose_in in = {
            .from_name = "Ada", .from_addr = "ada@example.com",
            .to_name = "Bob", .to_addr = "bob@example.org",
            .subject = "Hello", .text = "Body\n", .message_id = "k.1@example.com",
        };
        switch (f) {
        case 0: in.message_id = value; break;
        case 1: in.in_reply_to = value; break;
        case 2: in.references = refs; break;
        case 3: in.unsub_url = url; break;
        case 4: in.unsub_mailto = value; break;
        case 5: in.to_addr = value; break;
        case 6: in.lang = value; break;
        }
        struct errbuf err = { 0 };
        char *msg = NULL;
        size_t len = 0;
        int rc = compose_message(&in, &msg, &len, &err);
        tap_ok(rc == -EINVAL && strcmp(err.where, fields[f]) == 0,
               "hostile #%d in %s is refused, naming the field", idx, fields[f]);
        free(msg);
    }
}

/* The data path: DATA.json with \u0000 and CR LF in lead fields, through
 * render_message(), exactly as `drumbeat render --message` runs it. */
static void data_path(void)
{
    const char *json =
        "{\"lead\": {\"id\": 5, \"email\": \"bob@example.org\","
        "  \"first_name\": \"Bob\\u0000\\r\\nBcc: x@evil.test\","
        "  \"last_name\": \"Stone\\nX-Injected: 1\", \"company\": \"Evil\\r\\n\\r\\n<b>Co</b>\"},"
        " \"mailbox\": {\"name\": \"ada\\r\\nBcc: y@evil.test\", \"address\": \"ada@example.com\","
        "  \"display_name\": \"Ada\\u0000\\r\\nCc: z@evil.test\"},"
        " \"config\": {\"company_name\": \"Example\", \"public_url\": \"https://x.example.com/\","
        "  \"list_unsubscribe_mailto\": \"unsubscribe@example.com\"},"
        " \"step\": {\"number\": 2, \"date\": \"2026-01-05T09:00:00Z\", \"reply_subject\": true,"
        "  \"thread\": {\"message_id\": \"t5.1@example.com\", \"references\": [\"t5.1@example.com\"],"
        "   \"subject\": \"Hi\\r\\nBcc: w@evil.test\"}}}";
    json_error_t jerr;
    json_t *data = json_loads(json, JSON_ALLOW_NUL, &jerr);
    const char *src = "Subject: Hello {{first_name}}\nPreheader: For {{company}}\n\n"
                      "Hi {{first_name}} {{last_name}},\n{{company}}\n";
    const char *html = "<p>Hi {{first_name}}</p>";
    struct template_file *tf = NULL;
    struct errbuf err = { 0 };
    static const char secret[] = "0123456789abcdef0123456789abcdef";

    tap_ok(data != NULL, "the hostile DATA.json parses (with its NUL)");
    tap_is_int(template_file_load_string(src, strlen(src), "h.mustache", &tf, &err), 0,
               "a template loads");
    tap_is_int(template_compile(html, strlen(html), "h.html.mustache", &tf->html, &err), 0,
               "with an HTML part");
    struct render_message_in in = { .tf = tf, .data = data, .unsub_secret = secret,
                                    .unsub_secret_len = sizeof(secret) - 1, .now_ms = 0 };
    struct render_result res;
    char *msg = NULL;
    size_t len = 0;
    int rc = render_message(&in, &res, &msg, &len, &err);
    tap_is_int(rc, 0, "the hostile data renders and composes");
    tap_ok(msg != NULL && lines_ok(msg, len), "clean CRLF lines");
    tap_ok(msg != NULL && memchr(msg, '\0', len) == NULL, "no NUL reaches the message");
    GMimeMessage *m = msg != NULL ? parse(msg, len) : NULL;
    char *names = m != NULL ? header_names(msg) : g_strdup("");
    tap_is_str(names, "Date,From,Subject,To,Message-Id,In-Reply-To,References,List-Unsubscribe,"
               "List-Unsubscribe-Post,MIME-Version,Content-Type",
               "exactly the expected headers: nothing injected");
    g_free(names);
    if (m != NULL) {
        tap_is_str(g_mime_message_get_subject(m), "Re: Hi  Bcc: w@evil.test",
                   "Re: + the thread's subject, controls as spaces");
        tap_is_str(addr_name(m, GMIME_ADDRESS_TYPE_TO), "Bob Stone X-Injected: 1",
                   "the To name stops at the NUL; LF became a space");
        tap_is_str(addr_name(m, GMIME_ADDRESS_TYPE_FROM), "Ada", "the From name stops at the NUL");
        tap_is_str(g_mime_object_get_header(GMIME_OBJECT(m), "In-Reply-To"), "<t5.1@example.com>",
                   "In-Reply-To from the thread");
        const char *lu = g_mime_object_get_header(GMIME_OBJECT(m), "List-Unsubscribe");
        tap_ok(lu != NULL && strstr(lu, "<https://x.example.com/u/") == lu &&
                   strstr(lu, "Bcc") == NULL && strstr(lu, "<mailto:unsubscribe@example.com?subject="
                                                            "unsubscribe%20") != NULL,
               "the hostile mailbox name is inside the signed token only");
        GMimeObject *alt = g_mime_message_get_mime_part(m);
        char *t = GMIME_IS_MULTIPART(alt)
            ? part_text(g_mime_multipart_get_part(GMIME_MULTIPART(alt), 0)) : NULL;
        char *h = GMIME_IS_MULTIPART(alt)
            ? part_text(g_mime_multipart_get_part(GMIME_MULTIPART(alt), 1)) : NULL;
        tap_is_str(t, "Hi Bob\nBcc: x@evil.test Stone\nX-Injected: 1,\nEvil\n\n<b>Co</b>\n",
                   "the body holds the data as text, NUL removed");
        tap_contains(h, ">For Evil    &lt;b&gt;Co&lt;/b&gt;</div><p>Hi Bob\nBcc: x@evil.test</p>",
                     "the HTML part escapes it");
        g_free(t);
        g_free(h);
        g_object_unref(m);
    } else {
        tap_skip(7, "no message");
    }
    free(msg);
    render_result_clear(&res);

    /* A mailbox name too long for a token: refused, not truncated. */
    char longname[1300];
    memset(longname, 'n', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    json_object_set_new(json_object_get(data, "mailbox"), "name", json_string(longname));
    rc = render_message(&in, &res, &msg, &len, &err);
    tap_ok(rc == -EINVAL && strcmp(err.where, "mailbox.name") == 0,
           "a 1,299-byte mailbox name is refused for the token");
    render_result_clear(&res);
    json_object_set_new(json_object_get(json_object_get(data, "step"), "thread"), "references",
                        json_pack("[s]", "a@b.c>\r\nBcc: x@evil.test"));
    json_object_set_new(json_object_get(data, "mailbox"), "name", json_string("ada"));
    rc = render_message(&in, &res, &msg, &len, &err);
    tap_ok(rc == -EINVAL && strcmp(err.where, "step.thread.references") == 0,
           "a hostile reference is refused, naming the data field");
    render_result_clear(&res);
    template_file_free(tf);
    json_decref(data);
}

int main(void)
{
    char *longv = malloc(1201);
    for (int i = 0; i < 1200; i++)
        longv[i] = (char)("Bob Stone-Smythe \xc3\xa9 "[i % 20]);
    longv[1200] = '\0';
    /* Keep the UTF-8 intact at the end: 1200 is a multiple of the pattern. */
    compose_init();
    tap_plan(160);
    full_message();
    for (int i = 0; hostile[i] != NULL || i == 5; i++) {
        const char *v = hostile[i] != NULL ? hostile[i] : longv;
        hostile_text_fields(v, i);
        hostile_token_fields(v, i);
        if (hostile[i] == NULL)
            break;
    }
    data_path();
    free(longv);
    return tap_done();
}
