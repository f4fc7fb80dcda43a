/* SPDX-License-Identifier: MIT */
/* daemon/template_file.c: one template file: the header block parser (our
 * own small grammar, see template_file.h) and the compilation of its
 * subject, preheader, body and HTML sibling with the Mustache engine. Errors
 * inside a header value or the body are moved from the engine's positions to
 * the file's, so every message reads file:line:column. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <glib.h>

#include "template_file.h"

/* Far above any real email; a bound so a wrong path cannot eat memory. */
#define TEMPLATE_FILE_MAX (1u << 20)

static const char *const header_names[] = {
    "Subject", "Preheader", "Lang", "Kind", "Missing", NULL,
};
enum { H_SUBJECT, H_PREHEADER, H_LANG, H_KIND, H_MISSING, H_COUNT };

/* Quotes a piece of the file for a message: at most 40 bytes, controls and
 * quotes replaced, so an error line can never be forged by the file. */
static const char *quote_got(const char *s, size_t n, char *buf, size_t cap)
{
    size_t o = 0;
    buf[o++] = '"';
    for (size_t i = 0; i < n && o + 5 < cap; i++) {
        if (i == 40) {
            memcpy(buf + o, "...", 3);
            o += 3;
            break;
        }
        unsigned char c = (unsigned char)s[i];
        buf[o++] = c < 0x20 || c == 0x7f || c == '"' || c == '\\' ? '?' : (char)c;
    }
    buf[o++] = '"';
    buf[o] = '\0';
    return buf;
}

static int head_error(struct errbuf *err, const char *file, int line, int column,
                      const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static int head_error(struct errbuf *err, const char *file, int line, int column,
                      const char *fmt, ...)
{
    va_list ap;
    char what[sizeof(err->what)];

    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    errbuf_at(err, -EINVAL, file, NULL, "%s", what);
    if (err != NULL) {
        err->line = line;
        err->column = column;
    }
    return -EINVAL;
}

/* The first NUL or invalid UTF-8 sequence, as line and column, or 0. */
static int check_text(const char *text, size_t len, const char *file, struct errbuf *err)
{
    const char *end = NULL;
    const char *nul = memchr(text, '\0', len);
    size_t bad = len;

    if (!g_utf8_validate(text, (gssize)len, &end))
        bad = (size_t)(end - text);
    if (nul != NULL && (size_t)(nul - text) < bad)
        bad = (size_t)(nul - text);
    if (bad == len)
        return 0;
    int line = 1, col = 1;
    for (size_t i = 0; i < bad; i++) {
        if (text[i] == '\n') {
            line++;
            col = 1;
        } else {
            col++;
        }
    }
    return head_error(err, file, line, col, text[bad] == '\0'
                      ? "expected text, found a NUL byte"
                      : "expected UTF-8 text, found an invalid byte sequence");
}

static bool lang_ok(const char *v)
{
    size_t i = 0, n = 0;
    while (g_ascii_isalpha(v[i]))
        i++;
    if (i < 2 || i > 8)
        return false;
    while (v[i] == '-') {
        i++;
        for (n = 0; g_ascii_isalnum(v[i]); n++)
            i++;
        if (n < 1 || n > 8)
            return false;
    }
    return v[i] == '\0';
}

/* Checks one header's value; 0 or -EINVAL with err filled. */
static int head_value(struct template_file_head *head, int h, const char *file,
                      struct template_file_field *f, struct errbuf *err)
{
    char got[64];
    const char *v = f->value;

    if (v[0] == '\0')
        return head_error(err, file, f->line, f->column, "expected a value after \"%s:\"",
                          header_names[h]);
    switch (h) {
    case H_LANG:
        if (!lang_ok(v))
            return head_error(err, file, f->line, f->column, "expected a language tag such "
                              "as \"en\" or \"pt-BR\", got %s",
                              quote_got(v, strlen(v), got, sizeof(got)));
        break;
    case H_KIND:
        if (strcasecmp(v, "email") == 0)
            head->kind = TEMPLATE_KIND_EMAIL;
        else if (strcasecmp(v, "call") == 0)
            head->kind = TEMPLATE_KIND_CALL;
        else
            return head_error(err, file, f->line, f->column, "expected \"email\" or \"call\", "
                              "got %s", quote_got(v, strlen(v), got, sizeof(got)));
        break;
    case H_MISSING:
        if (strcasecmp(v, "first-line") == 0)
            head->missing = TEMPLATE_MISSING_FIRST_LINE;
        else if (strcasecmp(v, "refuse") == 0)
            head->missing = TEMPLATE_MISSING_REFUSE;
        else if (strcasecmp(v, "empty") == 0)
            head->missing = TEMPLATE_MISSING_EMPTY;
        else
            return head_error(err, file, f->line, f->column, "expected \"first-line\", "
                              "\"refuse\" or \"empty\", got %s",
                              quote_got(v, strlen(v), got, sizeof(got)));
        break;
    default:
        break;
    }
    return 0;
}

/* One "Name: value" line (without its line end) at line number ln. */
static int head_line(struct template_file_head *head, struct template_file_field *fields,
                     const char *line, size_t n, int ln, const char *file, struct errbuf *err)
{
    char got[64];
    size_t name_len = 0;

    if (line[0] == ' ' || line[0] == '\t')
        return head_error(err, file, ln, 1, "expected a header line \"Name: value\"; a header "
                          "cannot continue on the next line");
    while (name_len < n && (g_ascii_isalnum(line[name_len]) || line[name_len] == '-'))
        name_len++;
    if (name_len == 0 || name_len == n || line[name_len] != ':')
        return head_error(err, file, ln, (int)name_len + 1, "expected a header line "
                          "\"Name: value\", or a blank line between the headers and the body");
    char name[65];
    snprintf(name, sizeof(name), "%.*s", (int)(name_len < 64 ? name_len : 64), line);
    int h = 0;
    while (header_names[h] != NULL && (name_len > 64 || strcasecmp(header_names[h], name) != 0))
        h++;
    if (header_names[h] == NULL) {
        const char *hint = config_suggest(name, header_names);
        quote_got(line, name_len, got, sizeof(got));
        if (hint != NULL)
            return head_error(err, file, ln, 1, "unknown header %s; did you mean \"%s\"?",
                              got, hint);
        return head_error(err, file, ln, 1, "unknown header %s; expected Subject, Preheader, "
                          "Lang, Kind or Missing", got);
    }
    struct template_file_field *f = &fields[h];
    if (f->value != NULL)
        return head_error(err, file, ln, 1, "duplicate header \"%s\" (first given on line %d)",
                          header_names[h], f->line);
    size_t v = name_len + 1;
    while (v < n && (line[v] == ' ' || line[v] == '\t'))
        v++;
    size_t e = n;
    while (e > v && (line[e - 1] == ' ' || line[e - 1] == '\t'))
        e--;
    f->value = g_strndup(line + v, e - v);
    f->line = ln;
    f->column = (int)v + 1;
    return head_value(head, h, file, f, err);
}

int template_file_parse_head(const char *text, size_t len, const char *file,
                             struct template_file_head *head, struct errbuf *err)
{
    struct template_file_field fields[H_COUNT];
    size_t pos = 0;
    int ln = 1, rc;

    memset(head, 0, sizeof(*head));
    memset(fields, 0, sizeof(fields));
    if ((rc = check_text(text, len, file, err)) < 0)
        return rc;
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
        pos = 3;
    for (;; ln++) {
        if (pos >= len) {
            rc = ln == 1 ? head_error(err, file, 1, 1, "expected a header line such as "
                                      "\"Subject: ...\", got an empty file")
                         : head_error(err, file, ln, 1, "expected a blank line after the "
                                      "headers, then the body");
            goto fail;
        }
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t end = nl != NULL ? (size_t)(nl - text) : len;
        size_t n = end - pos;
        if (n > 0 && text[pos + n - 1] == '\r')
            n--;
        if (n == 0) {
            if (nl == NULL) {
                rc = head_error(err, file, ln, 1, "expected a blank line after the headers, "
                                "then the body");
                goto fail;
            }
            head->body_offset = end + 1;
            head->body_line = ln + 1;
            break;
        }
        if ((rc = head_line(head, fields, text + pos, n, ln, file, err)) < 0)
            goto fail;
        pos = end + (nl != NULL ? 1 : 0);
    }
    if (fields[H_SUBJECT].value == NULL) {
        rc = head_error(err, file, ln, 1, "expected a \"Subject:\" header before the blank line");
        goto fail;
    }
    head->subject = fields[H_SUBJECT];
    head->preheader = fields[H_PREHEADER];
    head->lang = fields[H_LANG];
    g_free(fields[H_KIND].value);
    g_free(fields[H_MISSING].value);
    return 0;

fail:
    for (int i = 0; i < H_COUNT; i++)
        g_free(fields[i].value);
    memset(head, 0, sizeof(*head));
    return rc;
}

void template_file_head_clear(struct template_file_head *head)
{
    g_free(head->subject.value);
    g_free(head->preheader.value);
    g_free(head->lang.value);
    memset(head, 0, sizeof(*head));
}

const char *template_kind_format(enum template_kind kind)
{
    return kind == TEMPLATE_KIND_CALL ? "call" : "email";
}

/* Compiles src; moves an error from the engine's line:column (relative to
 * src) to the file's: src starts at line:col of the file. */
static int compile_at(const char *src, size_t len, const char *file, int line, int col,
                      struct template **out, struct errbuf *err)
{
    int rc = template_compile(src, len, file, out, err);
    if (rc < 0 && err != NULL && err->line > 0) {
        if (err->line == 1)
            err->column += col - 1;
        err->line += line - 1;
        /* The engine also names where an unclosed tag or section opened. */
        char *at = strstr(err->what, "opened at ");
        int l, c, n = 0;
        if (at != NULL && sscanf(at + 10, "%d:%d%n", &l, &c, &n) == 2 && n > 0) {
            char rest[sizeof(err->what)];
            snprintf(rest, sizeof(rest), "%s", at + 10 + n);
            snprintf(at + 10, sizeof(err->what) - (size_t)(at + 10 - err->what), "%d:%d%s",
                     l + line - 1, l == 1 ? c + col - 1 : c, rest);
        }
    }
    return rc;
}

static int read_file(const char *path, char **out, size_t *len, struct errbuf *err)
{
    FILE *fp = fopen(path, "rb");
    if (fp == NULL)
        return errbuf_at(err, -errno, path, NULL, "cannot read: %s", error_text(-errno));
    char *buf = malloc(TEMPLATE_FILE_MAX + 1);
    if (buf == NULL) {
        fclose(fp);
        return errbuf_set(err, -ENOMEM, "out of memory");
    }
    size_t n = fread(buf, 1, TEMPLATE_FILE_MAX + 1, fp);
    int bad = ferror(fp);
    fclose(fp);
    if (bad || n > TEMPLATE_FILE_MAX) {
        free(buf);
        return bad ? errbuf_at(err, -EIO, path, NULL, "cannot read: %s", error_text(-EIO))
                   : errbuf_at(err, -EFBIG, path, NULL, "expected a template of at most "
                               "%u bytes", TEMPLATE_FILE_MAX);
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return 0;
}

static bool is_blank_line(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
            return false;
    return true;
}

/* The first non-blank line of the body, compiled alone for the missing
 * policy. A line that opens a section closed further down does not compile
 * alone; then the whole body stands for it (first_line stays NULL). */
static int compile_first_line(const char *body, size_t len, const char *file,
                              struct template_file *tf)
{
    size_t pos = 0;
    while (pos < len) {
        const char *nl = memchr(body + pos, '\n', len - pos);
        size_t end = nl != NULL ? (size_t)(nl - body) : len;
        if (!is_blank_line(body + pos, end - pos)) {
            struct errbuf ignored = { 0 };
            int rc = template_compile(body + pos, end - pos, file, &tf->first_line, &ignored);
            return rc == -ENOMEM ? rc : 0;
        }
        pos = end + 1;
    }
    return 0;
}

/* "dir/intro.mustache" -> "intro". */
static char *name_of(const char *path)
{
    const char *base = strrchr(path, '/');
    base = base != NULL ? base + 1 : path;
    size_t n = strlen(base);
    if (n > 9 && strcmp(base + n - 9, ".mustache") == 0)
        n -= 9;
    return strndup(base, n);
}

int template_file_load_string(const char *text, size_t len, const char *name,
                              struct template_file **out, struct errbuf *err)
{
    struct template_file_head head;
    int rc = template_file_parse_head(text, len, name, &head, err);
    if (rc < 0)
        return rc;
    struct template_file *tf = calloc(1, sizeof(*tf));
    if (tf == NULL) {
        rc = errbuf_set(err, -ENOMEM, "out of memory");
        goto fail;
    }
    tf->path = strdup(name != NULL ? name : "");
    tf->name = name_of(name != NULL ? name : "");
    tf->lang = head.lang.value != NULL ? strdup(head.lang.value) : NULL;
    if (tf->path == NULL || tf->name == NULL || (head.lang.value != NULL && tf->lang == NULL)) {
        rc = errbuf_set(err, -ENOMEM, "out of memory");
        goto fail;
    }
    tf->kind = head.kind;
    tf->missing = head.missing;
    const struct template_file_field *s = &head.subject, *p = &head.preheader;
    if ((rc = compile_at(s->value, strlen(s->value), name, s->line, s->column, &tf->subject,
                         err)) < 0)
        goto fail;
    if (p->value != NULL && (rc = compile_at(p->value, strlen(p->value), name, p->line,
                                             p->column, &tf->preheader, err)) < 0)
        goto fail;
    const char *body = text + head.body_offset;
    size_t body_len = len - head.body_offset;
    if (is_blank_line(body, body_len)) {
        rc = head_error(err, name, head.body_line, 1, "expected the body after the blank line");
        goto fail;
    }
    if ((rc = compile_at(body, body_len, name, head.body_line, 1, &tf->text, err)) < 0)
        goto fail;
    if ((rc = compile_first_line(body, body_len, name, tf)) < 0) {
        errbuf_set(err, rc, "out of memory");
        goto fail;
    }
    template_file_head_clear(&head);
    *out = tf;
    return 0;

fail:
    template_file_head_clear(&head);
    template_file_free(tf);
    return rc;
}

int template_file_load(const char *path, const char *html_path, struct template_file **out,
                       struct errbuf *err)
{
    char *text = NULL, *html = NULL;
    size_t len = 0, html_len = 0;
    struct template_file *tf = NULL;
    int rc;

    if ((rc = read_file(path, &text, &len, err)) < 0)
        return rc;
    if ((rc = template_file_load_string(text, len, path, &tf, err)) < 0)
        goto fail;
    if (html_path != NULL) {
        if (tf->kind == TEMPLATE_KIND_CALL) {
            rc = errbuf_at(err, -EINVAL, html_path, NULL, "a call script has no HTML part; "
                           "expected no %s beside %s", html_path, path);
            goto fail;
        }
        if ((rc = read_file(html_path, &html, &html_len, err)) < 0 ||
            (rc = check_text(html, html_len, html_path, err)) < 0 ||
            (rc = template_compile(html, html_len, html_path, &tf->html, err)) < 0)
            goto fail;
        if ((tf->html_path = strdup(html_path)) == NULL) {
            rc = errbuf_set(err, -ENOMEM, "out of memory");
            goto fail;
        }
    }
    free(text);
    free(html);
    *out = tf;
    return 0;

fail:
    free(text);
    free(html);
    template_file_free(tf);
    return rc;
}

void template_file_free(struct template_file *tf)
{
    if (tf == NULL)
        return;
    free(tf->name);
    free(tf->path);
    free(tf->html_path);
    free(tf->lang);
    template_free(tf->subject);
    template_free(tf->preheader);
    template_free(tf->text);
    template_free(tf->first_line);
    template_free(tf->html);
    free(tf);
}
