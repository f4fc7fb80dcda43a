/* SPDX-License-Identifier: MIT */
/* daemon/import_map.c: header names to lead fields: the table of common
 * spellings (folded: lower-case letters and digits only), --map overrides,
 * and the per-file map that also settles columns naming the same field.
 */
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "import_map.h"

static const char *const field_names[IMPORT_F_COUNT] = {
    "attr", "email", "first_name", "last_name", "name", "company", "title", "phone",
    "website", "country", "region", "timezone", "linkedin", "ignore",
};

/* Folded spellings, '|'-separated, per field. */
static const char *const spellings[IMPORT_F_COUNT] = {
    [IMPORT_F_EMAIL] = "email|emailaddress|mail|workemail|businessemail|emailid|"
                       "primaryemail|contactemail|emailaddr",
    [IMPORT_F_FIRST_NAME] = "firstname|first|givenname|forename|fname|prenom|vorname",
    [IMPORT_F_LAST_NAME] = "lastname|last|surname|familyname|lname|nom|nachname",
    [IMPORT_F_FULL_NAME] = "name|fullname|contactname|contact|person",
    [IMPORT_F_COMPANY] = "company|companyname|organization|organisation|org|account|"
                         "accountname|employer|business",
    [IMPORT_F_TITLE] = "title|jobtitle|position|role|designation|job",
    [IMPORT_F_PHONE] = "phone|phonenumber|telephone|tel|mobile|mobilephone|cell|cellphone|"
                       "workphone|directphone|directdial",
    [IMPORT_F_WEBSITE] = "website|web|url|companywebsite|domain|companydomain|site|homepage|"
                         "websiteurl|companyurl",
    [IMPORT_F_COUNTRY] = "country|countrycode|nation|countryname",
    [IMPORT_F_REGION] = "state|region|province|stateprovince|stateregion|county",
    [IMPORT_F_TIMEZONE] = "timezone|tz",
    [IMPORT_F_LINKEDIN] = "linkedin|linkedinurl|linkedinprofile|linkedinprofileurl|linkedincom",
    [IMPORT_F_IGNORE] = "ignore|skip",
};

struct import_overrides {
    size_t n;
    struct { char *col; enum import_field field; char *attr; } *item;
};

const char *import_field_name(enum import_field f)
{
    return (unsigned)f < IMPORT_F_COUNT ? field_names[f] : "attr";
}

void import_fold(const char *in, char *out, size_t cap)
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)in; *p != '\0' && n + 1 < cap; p++)
        if (isalnum(*p) || *p >= 0x80)
            out[n++] = (char)tolower(*p);
    out[n] = '\0';
}

/* "Company Size (FTE)" -> "company_size_fte". */
static void attr_key(const char *in, char *out, size_t cap)
{
    size_t n = 0;
    bool sep = false;
    for (const unsigned char *p = (const unsigned char *)in; *p != '\0' && n + 2 < cap; p++) {
        if (isalnum(*p) || *p >= 0x80) {
            if (sep && n > 0)
                out[n++] = '_';
            out[n++] = (char)tolower(*p);
            sep = false;
        } else {
            sep = true;
        }
    }
    out[n] = '\0';
    if (n == 0)
        snprintf(out, cap, "column");
}

static bool in_list(const char *list, const char *key)
{
    size_t n = strlen(key);
    for (const char *p = list; p != NULL && *p != '\0';) {
        const char *bar = strchr(p, '|');
        size_t len = bar != NULL ? (size_t)(bar - p) : strlen(p);
        if (len == n && strncmp(p, key, n) == 0)
            return true;
        p += len + (bar != NULL);
    }
    return false;
}

static enum import_field by_spelling(const char *folded)
{
    for (int f = 1; f < IMPORT_F_COUNT; f++)
        if (in_list(spellings[f], folded))
            return (enum import_field)f;
    return IMPORT_F_ATTR;
}

void import_overrides_free(struct import_overrides *ov)
{
    if (ov == NULL)
        return;
    for (size_t i = 0; i < ov->n; i++) {
        free(ov->item[i].col);
        free(ov->item[i].attr);
    }
    free(ov->item);
    free(ov);
}

static char *trimmed_dup(const char *s, size_t n)
{
    while (n > 0 && isspace((unsigned char)*s)) {
        s++;
        n--;
    }
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        n--;
    return strndup(s, n);
}

int import_overrides_parse(const char *text, struct import_overrides **out, struct errbuf *err)
{
    struct import_overrides *ov = calloc(1, sizeof(*ov));
    int rc = 0;

    if (ov == NULL)
        return -ENOMEM;
    for (const char *p = text != NULL ? text : ""; *p != '\0';) {
        const char *comma = strchr(p, ',');
        size_t len = comma != NULL ? (size_t)(comma - p) : strlen(p);
        const char *eq = memchr(p, '=', len);
        if (len == 0) {
            p += 1;
            continue;
        }
        char *col = eq != NULL ? trimmed_dup(p, (size_t)(eq - p)) : NULL;
        char *target = eq != NULL ? trimmed_dup(eq + 1, len - (size_t)(eq - p) - 1) : NULL;
        if (eq == NULL || col == NULL || target == NULL || col[0] == '\0' || target[0] == '\0') {
            rc = errbuf_at(err, -EINVAL, NULL, "map", "expected csvcol=field, got \"%.*s\"",
                           (int)(len > 80 ? 80 : len), p);
            free(col);
            free(target);
            goto fail;
        }
        void *grown = realloc(ov->item, (ov->n + 1) * sizeof(*ov->item));
        if (grown == NULL) {
            free(col);
            free(target);
            rc = -ENOMEM;
            goto fail;
        }
        ov->item = grown;
        char folded[128], key[128];
        /* "first_name" folds to "firstname", which the table knows. */
        import_fold(target, folded, sizeof(folded));
        enum import_field f = by_spelling(folded);
        if (strcmp(target, "name") == 0 || strcmp(target, "full_name") == 0)
            f = IMPORT_F_FULL_NAME;
        ov->item[ov->n].col = col;
        ov->item[ov->n].field = f;
        ov->item[ov->n].attr = NULL;
        if (f == IMPORT_F_ATTR) {
            attr_key(strncmp(target, "attr:", 5) == 0 ? target + 5 : target, key, sizeof(key));
            ov->item[ov->n].attr = strdup(key);
        }
        ov->n++;
        free(target);
        p += len + (comma != NULL);
    }
    *out = ov;
    return 0;

fail:
    import_overrides_free(ov);
    return rc;
}

/* The override for header, or NULL. */
static int override_for(const struct import_overrides *ov, const char *header)
{
    char a[256], b[256];
    if (ov == NULL)
        return -1;
    import_fold(header, a, sizeof(a));
    for (size_t i = 0; i < ov->n; i++) {
        import_fold(ov->item[i].col, b, sizeof(b));
        if (strcmp(a, b) == 0)
            return (int)i;
    }
    return -1;
}

enum import_field import_map_resolve(const struct import_overrides *ov, const char *header,
                                     char *attr, size_t cap)
{
    char folded[256];
    int i = override_for(ov, header);

    if (i >= 0) {
        if (ov->item[i].field == IMPORT_F_ATTR)
            snprintf(attr, cap, "%s", ov->item[i].attr);
        return ov->item[i].field;
    }
    import_fold(header, folded, sizeof(folded));
    enum import_field f = by_spelling(folded);
    if (f == IMPORT_F_ATTR)
        attr_key(header, attr, cap);
    return f;
}

void import_map_free(struct import_map *m)
{
    if (m == NULL)
        return;
    for (size_t i = 0; m->attr != NULL && i < m->n; i++)
        free(m->attr[i]);
    free(m->attr);
    free(m->field);
    free(m);
}

int import_map_new(const char *const *headers, size_t n, const struct import_overrides *ov,
                   unsigned flags, struct import_map **out, struct errbuf *err)
{
    struct import_map *m = calloc(1, sizeof(*m));
    char key[128];
    int rc = -ENOMEM;

    if (m == NULL)
        goto fail;
    m->n = n;
    m->field = calloc(n + 1, sizeof(*m->field));
    m->attr = calloc(n + 1, sizeof(*m->attr));
    if (m->field == NULL || m->attr == NULL)
        goto fail;
    for (int f = 0; f < IMPORT_F_COUNT; f++)
        m->col[f] = -1;
    /* Every override must name a column of this file. */
    for (size_t i = 0; ov != NULL && !(flags & IMPORT_MAP_LENIENT) && i < ov->n; i++) {
        char a[256], b[256];
        bool found = false;
        import_fold(ov->item[i].col, b, sizeof(b));
        for (size_t c = 0; c < n && !found; c++) {
            import_fold(headers[c], a, sizeof(a));
            found = strcmp(a, b) == 0;
        }
        if (!found) {
            rc = errbuf_at(err, -EINVAL, NULL, "map", "no column \"%.64s\" in the header",
                           ov->item[i].col);
            goto fail;
        }
    }
    /* Overridden columns claim their field first. */
    for (int pass = 0; pass < 2; pass++) {
        for (size_t c = 0; c < n; c++) {
            bool is_override = override_for(ov, headers[c]) >= 0;
            if (is_override != (pass == 0))
                continue;
            key[0] = '\0';
            enum import_field f = import_map_resolve(ov, headers[c], key, sizeof(key));
            if (f != IMPORT_F_ATTR && f != IMPORT_F_IGNORE && m->col[f] >= 0) {
                /* A second column for the same field stays an attribute. */
                attr_key(headers[c], key, sizeof(key));
                f = IMPORT_F_ATTR;
            }
            m->field[c] = f;
            if (f == IMPORT_F_ATTR) {
                m->attr[c] = strdup(key);
                if (m->attr[c] == NULL)
                    goto fail;
            } else if (f != IMPORT_F_IGNORE) {
                m->col[f] = (int)c;
            }
        }
    }
    *out = m;
    return 0;

fail:
    import_map_free(m);
    return rc;
}
