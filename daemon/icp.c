/* SPDX-License-Identifier: MIT */
/* daemon/icp.c: scores one lead against the ideal customer profile. Pure:
 * the same rules and lead always give the same score and breakdown. Titles
 * are matched word by word (case-blind, punctuation splits words), so
 * "Head of Sales" holds "head" and "sales" but "Salesforce admin" does not
 * hold "sales". Seniority is read from the title, decision-makers first: a
 * c-level word wins over a vp word, which wins over director, and so on.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "icp.h"

static const char *const seniority_names[ICP_SENIORITY_COUNT] = {
    "c-level", "vp", "director", "head", "manager", "individual",
};

/* Words (or phrases) per level, checked from the top level down. "vice
 * president" is checked before "president" by checking vp phrases first
 * for that one word (see icp_seniority_of). */
static const char *const c_level_words[] = {
    "ceo", "cto", "cfo", "coo", "cmo", "cro", "cio", "ciso", "cpo", "cso", "cdo", "chief",
    "founder", "cofounder", "owner", "president", "chairman", "chairwoman", "partner", NULL,
};
static const char *const vp_words[] = {
    "vp", "svp", "evp", "avp", "vice president", "vicepresident", NULL,
};
static const char *const director_words[] = { "director", "directeur", "directora", NULL };
static const char *const head_words[] = { "head", NULL };
static const char *const manager_words[] = { "manager", "lead", "supervisor", "gerente", NULL };

const char *icp_seniority_name(enum icp_seniority s)
{
    return s < ICP_SENIORITY_COUNT ? seniority_names[s] : NULL;
}

int icp_seniority_parse(const char *text, enum icp_seniority *out)
{
    for (int i = 0; text != NULL && i < ICP_SENIORITY_COUNT; i++)
        if (strcmp(text, seniority_names[i]) == 0) {
            *out = (enum icp_seniority)i;
            return 0;
        }
    return -EINVAL;
}

void icp_seniority_defaults(double out[ICP_SENIORITY_COUNT])
{
    static const double d[ICP_SENIORITY_COUNT] = { 40, 30, 25, 20, 10, 0 };
    memcpy(out, d, sizeof(d));
}

/* Moves *p past separators; returns the length of the word there (0 at end). */
static size_t next_word(const char **p)
{
    const unsigned char *s = (const unsigned char *)*p;
    while (*s != '\0' && !isalnum(*s) && *s < 0x80)
        s++;
    *p = (const char *)s;
    size_t n = 0;
    while (s[n] != '\0' && (isalnum(s[n]) || s[n] >= 0x80))
        n++;
    return n;
}

bool icp_has_words(const char *text, const char *phrase)
{
    if (text == NULL || phrase == NULL)
        return false;
    for (const char *start = text;;) {
        size_t n = next_word(&start);
        if (n == 0)
            return false;
        /* Compare phrase word by word from here. */
        const char *t = start, *p = phrase;
        bool all = true, any = false;
        for (;;) {
            size_t pn = next_word(&p);
            if (pn == 0)
                break;
            size_t tn = next_word(&t);
            if (tn != pn || strncasecmp(t, p, pn) != 0) {
                all = false;
                break;
            }
            any = true;
            t += tn;
            p += pn;
        }
        if (all && any)
            return true;
        start += n;
    }
}

static bool has_any(const char *title, const char *const *words)
{
    for (; *words != NULL; words++)
        if (icp_has_words(title, *words))
            return true;
    return false;
}

enum icp_seniority icp_seniority_of(const char *title)
{
    if (title == NULL || *title == '\0')
        return ICP_SENIORITY_INDIVIDUAL;
    /* "Vice President" is a vp, not a president. */
    bool vp = has_any(title, vp_words);
    if (has_any(title, c_level_words) &&
        !(vp && !icp_has_words(title, "chief") && icp_has_words(title, "vice president")))
        return ICP_SENIORITY_C_LEVEL;
    if (vp)
        return ICP_SENIORITY_VP;
    if (has_any(title, director_words))
        return ICP_SENIORITY_DIRECTOR;
    if (has_any(title, head_words))
        return ICP_SENIORITY_HEAD;
    if (has_any(title, manager_words))
        return ICP_SENIORITY_MANAGER;
    return ICP_SENIORITY_INDIVIDUAL;
}

void icp_rules_free(struct icp_rules *r)
{
    if (r == NULL)
        return;
    for (size_t i = 0; i < r->n_rules; i++) {
        free(r->rules[i].name);
        free(r->rules[i].field);
        json_decref(r->rules[i].values);
        if (r->rules[i].re_ok)
            regfree(&r->rules[i].re);
    }
    free(r->rules);
    free(r);
}

/* The value of field in lead: a top-level column when there is one (not
 * null), else the attribute of that name; "attrs.x" names an attribute. */
static const json_t *lead_field(const json_t *lead, const char *field)
{
    const json_t *attrs = json_object_get(lead, "attrs");
    if (strncmp(field, "attrs.", 6) == 0)
        return json_object_get(attrs, field + 6);
    const json_t *v = json_object_get(lead, field);
    if (v != NULL && !json_is_null(v) && strcmp(field, "attrs") != 0)
        return v;
    v = json_object_get(attrs, field);
    return v != NULL && !json_is_null(v) ? v : NULL;
}

/* A number from a JSON number or a text like "250", "1,200" or "51-200"
 * (a size bucket: its middle). */
static bool as_number(const json_t *v, double *out)
{
    if (json_is_number(v)) {
        *out = json_number_value(v);
        return true;
    }
    const char *s = json_string_value(v);
    if (s == NULL)
        return false;
    char buf[64];
    size_t n = 0;
    for (; *s != '\0' && n + 1 < sizeof(buf); s++)
        if (*s != ',' && *s != ' ' && *s != '+')
            buf[n++] = *s;
    buf[n] = '\0';
    char *end;
    double a = strtod(buf, &end);
    if (end == buf)
        return false;
    if (*end == '-' && end[1] != '\0') {
        char *end2;
        double b = strtod(end + 1, &end2);
        if (*end2 != '\0' || end2 == end + 1)
            return false;
        a = (a + b) / 2;
        end = end2;
    }
    if (*end != '\0' || !isfinite(a))
        return false;
    *out = a;
    return true;
}

/* Text form of a scalar into buf (numbers without a trailing ".0"). */
static const char *as_text(const json_t *v, char *buf, size_t len)
{
    if (json_is_string(v))
        return json_string_value(v);
    if (json_is_integer(v))
        snprintf(buf, len, "%lld", (long long)json_integer_value(v));
    else if (json_is_real(v))
        snprintf(buf, len, "%g", json_real_value(v));
    else if (json_is_boolean(v))
        snprintf(buf, len, "%s", json_is_true(v) ? "true" : "false");
    else
        return NULL;
    return buf;
}

static bool same_value(const json_t *want, const json_t *got)
{
    double a, b;
    char b1[64], b2[64];
    if (json_is_number(want) && as_number(got, &b))
        return as_number(want, &a) && a == b;
    const char *w = as_text(want, b1, sizeof(b1)), *g = as_text(got, b2, sizeof(b2));
    return w != NULL && g != NULL && strcasecmp(w, g) == 0;
}

/* Fills why and returns whether rule matches lead. */
static bool rule_match(const struct icp_rule *rule, const json_t *lead, char *why, size_t len)
{
    char buf[64];
    double x;

    if (rule->op == ICP_OP_TITLE_KEYWORDS) {
        const char *title = json_string_value(json_object_get(lead, "title"));
        if (title == NULL || *title == '\0')
            return snprintf(why, len, "no title"), false;
        size_t i;
        const json_t *kw;
        json_array_foreach(rule->values, i, kw)
            if (icp_has_words(title, json_string_value(kw)))
                return snprintf(why, len, "title has \"%s\"", json_string_value(kw)), true;
        return snprintf(why, len, "title has none of the keywords"), false;
    }
    const json_t *v = lead_field(lead, rule->field);
    if (v == NULL || (json_is_string(v) && json_string_value(v)[0] == '\0'))
        return snprintf(why, len, "no %s", rule->field), false;
    switch (rule->op) {
    case ICP_OP_EQUALS:
        if (same_value(rule->values, v))
            return snprintf(why, len, "%s is %s", rule->field, as_text(rule->values, buf,
                            sizeof(buf))), true;
        return snprintf(why, len, "%s is not %s", rule->field,
                        as_text(rule->values, buf, sizeof(buf))), false;
    case ICP_OP_IN: {
        size_t i;
        const json_t *w;
        json_array_foreach(rule->values, i, w)
            if (same_value(w, v))
                return snprintf(why, len, "%s is %s", rule->field,
                                as_text(w, buf, sizeof(buf))), true;
        return snprintf(why, len, "%s is not in the list", rule->field), false;
    }
    case ICP_OP_RANGE:
        if (!as_number(v, &x))
            return snprintf(why, len, "%s is not a number", rule->field), false;
        if (x >= rule->min && x <= rule->max)
            return snprintf(why, len, "%s %g is in range", rule->field, x), true;
        return snprintf(why, len, "%s %g is out of range", rule->field, x), false;
    case ICP_OP_REGEX: {
        const char *t = as_text(v, buf, sizeof(buf));
        if (t != NULL && rule->re_ok && regexec(&rule->re, t, 0, NULL, 0) == 0)
            return snprintf(why, len, "%s matches", rule->field), true;
        return snprintf(why, len, "%s does not match", rule->field), false;
    }
    default:
        return snprintf(why, len, "unknown rule"), false;
    }
}

static bool truthy(const json_t *v)
{
    return json_is_true(v) || (json_is_integer(v) && json_integer_value(v) != 0);
}

/* "email", "phone" or NULL: how the lead can be reached. */
static const char *contact_of(const json_t *lead)
{
    if (truthy(json_object_get(lead, "suppressed")) ||
        truthy(json_object_get(lead, "unsubscribed")))
        return NULL;
    const char *email = json_string_value(json_object_get(lead, "email"));
    const char *status = json_string_value(json_object_get(lead, "email_status"));
    if (email != NULL && strchr(email, '@') != NULL && !truthy(json_object_get(lead, "bounced")) &&
        (status == NULL || (strcmp(status, "undeliverable") != 0 && strcmp(status, "guessed") != 0)))
        return "email";
    const char *phone = json_string_value(json_object_get(lead, "phone"));
    if (phone != NULL && *phone != '\0')
        return "phone";
    return NULL;
}

static int add_entry(json_t *list, json_t *failed, const char *name, bool matched,
                     double points, const char *why)
{
    json_t *e = json_pack("{s:s, s:b, s:f, s:s}", "rule", name, "matched", matched,
                          "points", matched ? points : 0.0, "why", why);
    if (e == NULL || json_array_append_new(list, e) < 0)
        return -ENOMEM;
    if (!matched && json_array_append_new(failed, json_string(name)) < 0)
        return -ENOMEM;
    return 0;
}

int icp_score(const struct icp_rules *r, const json_t *lead, struct icp_result *out)
{
    json_t *rules = json_array(), *failed = json_array();
    char why[256];
    double score = 0;
    int rc = rules != NULL && failed != NULL ? 0 : -ENOMEM;
    const char *title = json_string_value(json_object_get(lead, "title"));
    enum icp_seniority level = icp_seniority_of(title);

    if (rc == 0 && r->seniority_on) {
        double pts = r->seniority[level];
        bool matched = pts != 0;
        if (title == NULL || *title == '\0')
            snprintf(why, sizeof(why), "no title");
        else
            snprintf(why, sizeof(why), "title is %s", icp_seniority_name(level));
        if (matched)
            score += pts;
        rc = add_entry(rules, failed, "seniority", matched, pts, why);
    }
    for (size_t i = 0; rc == 0 && i < r->n_rules; i++) {
        const struct icp_rule *rule = &r->rules[i];
        bool matched = rule_match(rule, lead, why, sizeof(why));
        if (matched)
            score += rule->points;
        rc = add_entry(rules, failed, rule->name, matched, rule->points, why);
    }
    if (rc < 0) {
        json_decref(rules);
        json_decref(failed);
        return rc;
    }
    const char *contact = contact_of(lead);
    out->score = score;
    out->qualified = score >= r->threshold;
    out->ready = out->qualified && contact != NULL;
    out->breakdown = json_pack("{s:f, s:f, s:b, s:b, s:s?, s:s, s:o, s:o}", "score", score,
                               "threshold", r->threshold, "qualified", out->qualified,
                               "ready", out->ready, "contact", contact,
                               "seniority", icp_seniority_name(level), "rules", rules,
                               "failed", failed);
    return out->breakdown != NULL ? 0 : -ENOMEM;
}
