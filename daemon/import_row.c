/* SPDX-License-Identifier: MIT */
/* daemon/import_row.c: normalizes one import row into a store_lead_in (see
 * import_row.h for what is stored where). Time zone names given in a file
 * are checked with GLib (window_zone_ref(), whose zones stay loaded); the
 * answers are also cached per import because a list repeats a handful of
 * zones on every row.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>
#include <jansson.h>

#include "country.h"
#include "email_addr.h"
#include "import_row.h"
#include "phone.h"
#include "tz_infer.h"
#include "window.h"

#define ARENA_BLOCK (64u * 1024)
#define TZ_CACHE 32

struct import_arena_block {
    struct import_arena_block *next;
    size_t used, cap;
    char data[];
};

struct import_row_ctx {
    const struct import_rules *rules;     /* borrowed */
    struct { char name[TZ_INFER_MAX]; bool valid; } tz[TZ_CACHE];
    unsigned tz_next;
};

char *import_arena_dup(struct import_arena *a, const char *s, size_t n)
{
    struct import_arena_block *b = a->head;
    if (b == NULL || b->cap - b->used < n + 1) {
        size_t cap = n + 1 > ARENA_BLOCK ? n + 1 : ARENA_BLOCK;
        b = malloc(sizeof(*b) + cap);
        if (b == NULL)
            return NULL;
        b->used = 0;
        b->cap = cap;
        b->next = a->head;
        a->head = b;
    }
    char *p = b->data + b->used;
    memcpy(p, s, n);
    p[n] = '\0';
    b->used += n + 1;
    return p;
}

void import_arena_free(struct import_arena *a)
{
    while (a->head != NULL) {
        struct import_arena_block *next = a->head->next;
        free(a->head);
        a->head = next;
    }
}

int import_row_ctx_new(const struct import_rules *rules, struct import_row_ctx **out)
{
    struct import_row_ctx *cx = calloc(1, sizeof(*cx));
    if (cx == NULL)
        return -ENOMEM;
    cx->rules = rules;
    *out = cx;
    return 0;
}

void import_row_ctx_free(struct import_row_ctx *cx)
{
    free(cx);
}

static bool tz_valid(struct import_row_ctx *cx, const char *name)
{
    for (unsigned i = 0; i < TZ_CACHE; i++)
        if (cx->tz[i].name[0] != '\0' && strcmp(cx->tz[i].name, name) == 0)
            return cx->tz[i].valid;
    GTimeZone *z = strlen(name) < TZ_INFER_MAX ? window_zone_ref(name) : NULL;
    bool valid = z != NULL;
    if (z != NULL)
        g_time_zone_unref(z);
    unsigned slot = cx->tz_next++ % TZ_CACHE;
    snprintf(cx->tz[slot].name, sizeof(cx->tz[slot].name), "%s", name);
    cx->tz[slot].valid = valid;
    return valid;
}

/* The trimmed value of a field's column, or NULL when absent or empty. */
struct slice { const char *p; size_t n; };

static struct slice trim(const char *s, size_t n)
{
    while (n > 0 && isspace((unsigned char)*s)) {
        s++;
        n--;
    }
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        n--;
    return (struct slice){ s, n };
}

static struct slice field(const struct import_map *map, enum import_field f,
                          const char *const *fields, const size_t *lens, size_t n)
{
    int c = map->col[f];
    if (c < 0 || (size_t)c >= n || fields[c] == NULL)
        return (struct slice){ NULL, 0 };
    return trim(fields[c], lens[c]);
}

int import_website_domain(const char *site, char *out, size_t outlen)
{
    const char *p = site;
    if (strncasecmp(p, "https://", 8) == 0)
        p += 8;
    else if (strncasecmp(p, "http://", 7) == 0)
        p += 7;
    else if (strncmp(p, "//", 2) == 0)
        p += 2;
    if (strncasecmp(p, "www.", 4) == 0)
        p += 4;
    size_t n = strcspn(p, "/?#:");
    if (n == 0 || n + 1 > outlen)
        return -EINVAL;
    bool dot = false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c == '.')
            dot = true;
        else if (!isalnum(c) && c != '-' && c < 0x80)
            return -EINVAL;
        out[i] = (char)tolower(c);
    }
    out[n] = '\0';
    if (!dot || out[0] == '.' || out[n - 1] == '.' || strstr(out, "..") != NULL)
        return -EINVAL;
    return 0;
}

static int set_str(json_t *obj, const char *key, struct slice v)
{
    if (v.p == NULL || v.n == 0)
        return 0;
    return json_object_set_new(obj, key, json_stringn(v.p, v.n));
}

/* The row's own strings, in the arena. */
static const char *keep(struct import_arena *a, struct slice v, bool *oom)
{
    if (v.p == NULL || v.n == 0)
        return NULL;
    char *p = import_arena_dup(a, v.p, v.n);
    *oom = *oom || p == NULL;
    return p;
}

static bool row_blank(const char *const *fields, const size_t *lens, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (fields[i] != NULL && trim(fields[i], lens[i]).n > 0)
            return false;
    return true;
}

int import_row_build(struct import_row_ctx *cx, const struct import_map *map,
                     const char *const *fields, const size_t *lens, size_t n,
                     struct import_arena *a, struct store_lead_in *out, struct errbuf *err)
{
    const struct import_rules *rules = cx->rules;
    char email[EMAIL_ADDR_MAX + 1], lower[EMAIL_ADDR_MAX + 1];
    char e164[PHONE_E164_MAX], tz[TZ_INFER_MAX], domain[256];
    const char *why = NULL;
    bool oom = false;

    if (row_blank(fields, lens, n))
        return 1;
    memset(out, 0, sizeof(*out));
    struct slice em = field(map, IMPORT_F_EMAIL, fields, lens, n);
    /* Without an email the row needs a name and a company domain (checked
     * below, once they are known): enrich_guess can then propose one. */
    bool no_email = em.n == 0;
    if (no_email)
        email[0] = '\0';
    else if (email_addr_normalize(em.p, em.n, email, sizeof(email), &why) != 0)
        return errbuf_set(err, -EINVAL, "invalid email address: %s",
                          why != NULL ? why : "too long");
    snprintf(lower, sizeof(lower), "%s", email);
    for (char *p = lower; *p != '\0'; p++)
        *p = (char)tolower((unsigned char)*p);

    json_t *attrs = json_object(), *flags = json_object();
    if (attrs == NULL || flags == NULL)
        goto oom;
    for (size_t c = 0; c < map->n && c < n; c++)
        if (map->field[c] == IMPORT_F_ATTR && fields[c] != NULL)
            set_str(attrs, map->attr[c], trim(fields[c], lens[c]));

    struct slice first = field(map, IMPORT_F_FIRST_NAME, fields, lens, n);
    struct slice last = field(map, IMPORT_F_LAST_NAME, fields, lens, n);
    struct slice full = field(map, IMPORT_F_FULL_NAME, fields, lens, n);
    if (first.n == 0 && last.n == 0 && full.n > 0) {
        const char *sp = NULL;
        for (size_t i = 0; i < full.n; i++)
            if (full.p[i] == ' ')
                sp = full.p + i;
        first = sp != NULL ? trim(full.p, (size_t)(sp - full.p)) : full;
        last = sp != NULL ? trim(sp + 1, full.n - (size_t)(sp + 1 - full.p))
                          : (struct slice){ NULL, 0 };
    } else if (full.n > 0) {
        set_str(attrs, "name", full);
    }

    /* Country: an ISO code when it is one we know; otherwise as written. */
    struct slice cs = field(map, IMPORT_F_COUNTRY, fields, lens, n);
    const struct country *country = NULL;
    if (cs.n > 0) {
        char text[96];
        snprintf(text, sizeof(text), "%.*s", (int)(cs.n < 95 ? cs.n : 95), cs.p);
        country = country_find(text);
        if (country == NULL)
            json_object_set_new(flags, "country_unknown", json_true());
    }

    struct slice ph = field(map, IMPORT_F_PHONE, fields, lens, n);
    const char *phone = NULL;
    if (ph.n > 0) {
        char raw[128];
        snprintf(raw, sizeof(raw), "%.*s", (int)(ph.n < 127 ? ph.n : 127), ph.p);
        if (phone_normalize(raw, country, e164, sizeof(e164), &why) == 0) {
            phone = import_arena_dup(a, e164, strlen(e164));
            oom = oom || phone == NULL;
        } else {
            phone = keep(a, ph, &oom);
            json_object_set_new(flags, "phone_unnormalized", json_string(why));
        }
    }

    struct slice region = field(map, IMPORT_F_REGION, fields, lens, n);
    set_str(attrs, "region", region);
    struct slice tzs = field(map, IMPORT_F_TIMEZONE, fields, lens, n);
    const char *zone = NULL;
    if (tzs.n > 0) {
        char name[TZ_INFER_MAX];
        snprintf(name, sizeof(name), "%.*s", (int)(tzs.n < TZ_INFER_MAX - 1 ? tzs.n : TZ_INFER_MAX - 1),
                 tzs.p);
        if (tzs.n < TZ_INFER_MAX && tz_valid(cx, name))
            zone = keep(a, tzs, &oom);
        else
            json_object_set_new(flags, "timezone_invalid", json_true());
    }
    if (zone == NULL && country != NULL) {
        char rtext[96] = "";
        snprintf(rtext, sizeof(rtext), "%.*s", (int)(region.n < 95 ? region.n : 95),
                 region.p != NULL ? region.p : "");
        if (tz_infer(country, rtext, phone != NULL && phone[0] == '+' ? phone : NULL, tz,
                     sizeof(tz)) == 0 && tz[0] != '\0') {
            zone = import_arena_dup(a, tz, strlen(tz));
            oom = oom || zone == NULL;
        }
    }

    /* The company domain: the website's, else the email's unless that is a
     * free-mail provider (gmail.com says nothing about the company) or an
     * address literal. "" tells the store "none" (no default). */
    const char *edom = no_email ? "" : email_addr_domain(lower);
    bool free_mail = !no_email && email_domain_in(edom, rules->free_mail);
    struct slice web = field(map, IMPORT_F_WEBSITE, fields, lens, n);
    const char *dom = "";
    if (web.n > 0) {
        char site[512];
        snprintf(site, sizeof(site), "%.*s", (int)(web.n < 511 ? web.n : 511), web.p);
        set_str(attrs, "website", web);
        if (import_website_domain(site, domain, sizeof(domain)) == 0)
            dom = domain;
    }
    if (dom[0] == '\0' && !no_email && !free_mail && !email_addr_is_literal(lower))
        dom = edom;
    if (no_email && (first.n == 0 || last.n == 0 || dom[0] == '\0')) {
        json_decref(attrs);
        json_decref(flags);
        return errbuf_set(err, -EINVAL, "no email address, and no first name, last name and "
                          "company website to find one by");
    }
    if (free_mail)
        json_object_set_new(flags, "free_mail", json_true());
    if (!no_email && email_addr_is_role(lower, rules->role_locals))
        json_object_set_new(flags, "role_address", json_true());
    if (strcmp(lower, email) != 0)
        json_object_set_new(attrs, "email_as_given", json_string(email));
    if (json_object_size(flags) > 0)
        json_object_set(attrs, "_flags", flags);
    if (!no_email)
        json_object_set_new(attrs, "_provenance",
                            json_pack("{s:{s:s, s:s?}}", "email_status", "by", "import",
                                      "source", rules->source));

    char *text = json_dumps(attrs, JSON_COMPACT);
    if (text == NULL)
        goto oom;
    out->attrs_json = import_arena_dup(a, text, strlen(text));
    free(text);
    out->email = no_email ? NULL : import_arena_dup(a, lower, strlen(lower));
    out->first_name = keep(a, first, &oom);
    out->last_name = keep(a, last, &oom);
    out->company = keep(a, field(map, IMPORT_F_COMPANY, fields, lens, n), &oom);
    out->title = keep(a, field(map, IMPORT_F_TITLE, fields, lens, n), &oom);
    out->linkedin = keep(a, field(map, IMPORT_F_LINKEDIN, fields, lens, n), &oom);
    out->domain = import_arena_dup(a, dom, strlen(dom));
    out->phone = phone;
    out->country = country != NULL ? country->iso2 : keep(a, cs, &oom);
    out->timezone = zone;
    out->source = rules->source;
    out->lawful_basis = rules->lawful_basis;
    out->email_status = no_email ? NULL : email_status_format(EMAIL_STATUS_SYNTAX_OK);
    out->overwrite = rules->overwrite;
    if (oom || out->attrs_json == NULL || (out->email == NULL && !no_email) ||
        out->domain == NULL)
        goto oom;
    json_decref(attrs);
    json_decref(flags);
    /* The store keys such a row by these as C strings: a field that starts
     * with a NUL byte is empty there (found by fuzz_csv_import). */
    if (no_email && (out->first_name == NULL || out->first_name[0] == '\0' ||
                     out->last_name == NULL || out->last_name[0] == '\0' ||
                     out->domain[0] == '\0'))
        return errbuf_set(err, -EINVAL, "no email address, and no first name, last name and "
                          "company website to find one by");
    return 0;

oom:
    json_decref(attrs);
    json_decref(flags);
    return errbuf_set(err, -ENOMEM, "out of memory");
}
