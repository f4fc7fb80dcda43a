/* SPDX-License-Identifier: MIT */
/* plugins/enrich_http/ehttp_text.c: URL templates (RFC 6570 level 1), the
 * lead as a request body and JSON pointers (RFC 6901). A template is checked
 * once at init and then walked again for each lead: templates are short, and
 * walking the text keeps one representation instead of two. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ehttp_text.h"

/* The lead's own columns a template may name; "attrs.X" is the rest. */
static const char *const lead_fields[] = {
    "email", "domain", "first_name", "last_name", "company", "title", "phone", "country",
    "linkedin", NULL,
};

static bool attr_name_char(int c)
{
    return isalnum(c) || c == '_' || c == '-';
}

bool ehttp_field_known(const char *name, size_t len)
{
    if (len == 0 || len > EHTTP_FIELD_MAX)
        return false;
    if (len > 6 && strncmp(name, "attrs.", 6) == 0) {
        for (size_t i = 6; i < len; i++)
            if (!attr_name_char((unsigned char)name[i]))
                return false;
        return true;
    }
    for (const char *const *f = lead_fields; *f != NULL; f++)
        if (strlen(*f) == len && strncmp(*f, name, len) == 0)
            return true;
    return false;
}

int ehttp_template_check(const char *tmpl, char *why, size_t why_len)
{
    for (const char *p = tmpl; *p != '\0'; p++) {
        if (*p == '}') {
            snprintf(why, why_len, "url: a '}' at offset %td closes no '{'", p - tmpl);
            return -EINVAL;
        }
        if (*p != '{')
            continue;
        const char *end = strchr(p + 1, '}');
        if (end == NULL) {
            snprintf(why, why_len, "url: the '{' at offset %td is never closed", p - tmpl);
            return -EINVAL;
        }
        if (!ehttp_field_known(p + 1, (size_t)(end - p - 1))) {
            /* A field name is not a secret; the rest of the URL may be. */
            snprintf(why, why_len, "url: unknown field {%.*s}: expected email, domain, "
                     "first_name, last_name, company, title, phone, country, linkedin or "
                     "attrs.NAME", (int)(end - p - 1 > 40 ? 40 : end - p - 1), p + 1);
            return -EINVAL;
        }
        p = end;
    }
    return 0;
}

/* The lead's value of a field, NULL when missing, null or "". */
static const json_t *lead_value(const json_t *lead, const char *name, size_t len)
{
    char key[EHTTP_FIELD_MAX + 1];
    const json_t *from = lead;

    if (len > 6 && strncmp(name, "attrs.", 6) == 0) {
        from = json_object_get(lead, "attrs");
        name += 6;
        len -= 6;
    }
    if (len > EHTTP_FIELD_MAX || !json_is_object(from))
        return NULL;
    memcpy(key, name, len);
    key[len] = '\0';
    const json_t *v = json_object_get(from, key);
    if (json_is_string(v) && json_string_length(v) == 0)
        return NULL;
    if (json_is_string(v) || json_is_number(v) || json_is_boolean(v))
        return v;
    return NULL;
}

/* Writes v's text into buf (numbers and booleans as JSON spells them) and
 * returns it, or the string itself. */
static const char *value_text(const json_t *v, char *buf, size_t cap, size_t *len)
{
    if (json_is_string(v)) {
        *len = json_string_length(v);
        return json_string_value(v);
    }
    if (json_is_integer(v))
        snprintf(buf, cap, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    else if (json_is_real(v))
        snprintf(buf, cap, "%.17g", json_real_value(v));
    else
        snprintf(buf, cap, "%s", json_is_true(v) ? "true" : "false");
    *len = strlen(buf);
    return buf;
}

struct grow {
    char *s;
    size_t len, cap;
};

static int grow_put(struct grow *g, const char *s, size_t n)
{
    if (g->len + n + 1 > g->cap) {
        size_t cap = g->cap != 0 ? g->cap : 128;
        while (g->len + n + 1 > cap)
            cap *= 2;
        char *bigger = realloc(g->s, cap);
        if (bigger == NULL)
            return -ENOMEM;
        g->s = bigger;
        g->cap = cap;
    }
    memcpy(g->s + g->len, s, n);
    g->len += n;
    g->s[g->len] = '\0';
    return 0;
}

/* RFC 3986 unreserved: ALPHA / DIGIT / "-" / "." / "_" / "~". */
static bool unreserved(unsigned char c)
{
    return isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

static int put_encoded(struct grow *g, const char *s, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";

    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        char enc[3] = { '%', hex[c >> 4], hex[c & 15] };
        int rc = unreserved(c) ? grow_put(g, s + i, 1) : grow_put(g, enc, 3);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int ehttp_template_expand(const char *tmpl, const json_t *lead, char **out, char *missing)
{
    struct grow g = { 0 };
    int rc = grow_put(&g, "", 0);

    for (const char *p = tmpl; rc == 0 && *p != '\0';) {
        const char *open = strchr(p, '{');
        const char *end = open != NULL ? strchr(open, '}') : NULL;
        if (open == NULL || end == NULL) {
            rc = grow_put(&g, p, strlen(p));
            break;
        }
        rc = grow_put(&g, p, (size_t)(open - p));
        size_t name_len = (size_t)(end - open - 1);
        const json_t *v = rc == 0 ? lead_value(lead, open + 1, name_len) : NULL;
        if (rc == 0 && v == NULL) {
            snprintf(missing, EHTTP_FIELD_MAX + 1, "%.*s",
                     (int)(name_len > EHTTP_FIELD_MAX ? EHTTP_FIELD_MAX : name_len), open + 1);
            rc = -ENOENT;
            break;
        }
        if (rc == 0) {
            char buf[40];
            size_t len;
            const char *text = value_text(v, buf, sizeof(buf), &len);
            rc = put_encoded(&g, text, len);
        }
        p = end + 1;
    }
    if (rc < 0) {
        free(g.s);
        return rc;
    }
    *out = g.s;
    return 0;
}

json_t *ehttp_lead_body(const json_t *lead)
{
    json_t *body = json_object();
    if (body == NULL)
        return NULL;
    for (const char *const *f = lead_fields; *f != NULL; f++) {
        const json_t *v = lead_value(lead, *f, strlen(*f));
        if (v != NULL && json_object_set(body, *f, (json_t *)v) < 0)
            goto fail;
    }
    const json_t *attrs = json_object_get(lead, "attrs");
    if (json_is_object(attrs) && json_object_size(attrs) > 0 &&
        json_object_set(body, "attrs", (json_t *)attrs) < 0)
        goto fail;
    return body;
fail:
    json_decref(body);
    return NULL;
}

int ehttp_pointer_check(const char *ptr)
{
    if (ptr[0] != '\0' && ptr[0] != '/')
        return -EINVAL;
    for (const char *p = ptr; *p != '\0'; p++)
        if (*p == '~' && p[1] != '0' && p[1] != '1')
            return -EINVAL;
    return 0;
}

/* An array index: "0" or digits without a leading zero ("-" is past the end
 * and so never found). */
static bool array_index(const char *tok, size_t *out)
{
    size_t n = 0;

    if (tok[0] == '\0' || (tok[0] == '0' && tok[1] != '\0'))
        return false;
    for (const char *p = tok; *p != '\0'; p++) {
        if (!isdigit((unsigned char)*p) || n > (SIZE_MAX - 9) / 10)
            return false;
        n = n * 10 + (size_t)(*p - '0');
    }
    *out = n;
    return true;
}

json_t *ehttp_pointer_get(const json_t *doc, const char *ptr)
{
    json_t *at = (json_t *)doc;
    size_t cap = strlen(ptr) + 1;
    char *tok = malloc(cap);

    if (tok == NULL || ehttp_pointer_check(ptr) < 0) {
        free(tok);
        return NULL;
    }
    for (const char *p = ptr; at != NULL && *p == '/';) {
        size_t n = 0;
        /* ~1 then ~0, one escape at a time: "~01" is "~1", not "/". */
        for (p++; *p != '\0' && *p != '/'; p++) {
            if (*p == '~') {
                tok[n++] = p[1] == '1' ? '/' : '~';
                p++;
            } else {
                tok[n++] = *p;
            }
        }
        tok[n] = '\0';
        size_t index;
        if (json_is_object(at))
            at = json_object_get(at, tok);
        else if (json_is_array(at) && array_index(tok, &index))
            at = json_array_get(at, index);
        else
            at = NULL;
    }
    free(tok);
    return at;
}
