/* SPDX-License-Identifier: MIT */
/* daemon/preflight_spf.c: SPF (RFC 7208) for the preflight: parsing a record
 * into terms, and check_host() evaluated over a snapshot of DNS answers
 * (struct preflight_dns, also defined here) instead of live lookups, so the
 * decision is pure and unit-testable. The lookup limits of section 4.6.4 are
 * kept: 10 terms that query DNS (include, a, mx, ptr, exists, redirect) and
 * 2 lookups that find nothing. Macros (section 7) are not expanded: a term
 * that uses one makes the result undecidable here (temperror, said plainly). */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "preflight.h"

#define SPF_MAX_LOOKUPS 10
#define SPF_MAX_VOID 2
#define SPF_MAX_MX 10

/* ---- the snapshot ---- */

static void name_norm(const char *name, char *buf, size_t len)
{
    size_t i = 0;
    for (; name[i] != '\0' && i + 1 < len; i++)
        buf[i] = (char)tolower((unsigned char)name[i]);
    buf[i] = '\0';
    if (i > 0 && buf[i - 1] == '.')
        buf[i - 1] = '\0';
}

static void answer_free(struct preflight_answer *a)
{
    for (size_t i = 0; i < a->n; i++)
        free(a->values[i]);
    free(a->values);
    free(a->name);
    free(a);
}

const struct preflight_answer *preflight_dns_get(const struct preflight_dns *s,
                                                 enum preflight_rr type, const char *name)
{
    char key[300];

    name_norm(name, key, sizeof(key));
    for (const struct preflight_answer *a = s->head; a != NULL; a = a->next)
        if (a->type == type && strcmp(a->name, key) == 0)
            return a;
    return NULL;
}

int preflight_dns_set(struct preflight_dns *s, enum preflight_rr type, const char *name,
                      int status, char *const *values, size_t n)
{
    char key[300];
    struct preflight_answer *a = calloc(1, sizeof(*a));

    name_norm(name, key, sizeof(key));
    if (a == NULL || (a->name = strdup(key)) == NULL)
        goto fail;
    a->type = type;
    a->status = status;
    if (n > 0 && (a->values = calloc(n, sizeof(*a->values))) == NULL)
        goto fail;
    for (; a->n < n; a->n++)
        if ((a->values[a->n] = strdup(values[a->n])) == NULL)
            goto fail;
    /* Replace an earlier answer in place, so pointers to the list stay valid. */
    for (struct preflight_answer **p = &s->head; *p != NULL; p = &(*p)->next)
        if ((*p)->type == type && strcmp((*p)->name, a->name) == 0) {
            a->next = (*p)->next;
            answer_free(*p);
            *p = a;
            return 0;
        }
    a->next = s->head;
    s->head = a;
    s->count++;
    return 0;
fail:
    if (a != NULL)
        answer_free(a);
    return -ENOMEM;
}

void preflight_dns_clear(struct preflight_dns *s)
{
    while (s->head != NULL) {
        struct preflight_answer *a = s->head;
        s->head = a->next;
        answer_free(a);
    }
    s->count = 0;
}

/* ---- parsing ---- */

bool spf_is_record(const char *txt)
{
    return strncasecmp(txt, "v=spf1", 6) == 0 && (txt[6] == '\0' || txt[6] == ' ');
}

size_t spf_find(char *const *txts, size_t n, const char **first)
{
    size_t count = 0;
    *first = NULL;
    for (size_t i = 0; i < n; i++)
        if (spf_is_record(txts[i]) && count++ == 0)
            *first = txts[i];
    return count;
}

void spf_record_clear(struct spf_record *r)
{
    for (size_t i = 0; i < r->n; i++) {
        free(r->terms[i].text);
        free(r->terms[i].domain);
    }
    free(r->terms);
    free(r->redirect);
    memset(r, 0, sizeof(*r));
}

/* "/24" or "//64" or "/24//64" at *p: fills what is present. */
static bool parse_cidr(const char *p, int *c4, int *c6, bool ip6_only)
{
    char *end;
    if (*p == '\0')
        return true;
    if (p[0] == '/' && p[1] != '/') {
        long v = strtol(p + 1, &end, 10);
        if (end == p + 1 || !isdigit((unsigned char)p[1]) || v > (ip6_only ? 128 : 32))
            return false;
        *(ip6_only ? c6 : c4) = (int)v;
        p = end;
    }
    if (p[0] == '/' && p[1] == '/' && !ip6_only) {
        long v = strtol(p + 2, &end, 10);
        if (end == p + 2 || !isdigit((unsigned char)p[2]) || v > 128)
            return false;
        *c6 = (int)v;
        p = end;
    }
    return *p == '\0';
}

static const struct { const char *name; enum spf_mech mech; } spf_mechs[] = {
    { "all", SPF_ALL }, { "include", SPF_INCLUDE }, { "a", SPF_A }, { "mx", SPF_MX },
    { "ptr", SPF_PTR }, { "ip4", SPF_IP4 }, { "ip6", SPF_IP6 }, { "exists", SPF_EXISTS },
};

/* Fills t from one term text (already known not to be a modifier). */
static int parse_mechanism(const char *term, struct spf_term *t, struct errbuf *err)
{
    const char *p = term;
    size_t len;

    t->qualifier = '+';
    if (strchr("+-~?", *p) != NULL)
        t->qualifier = *p++;
    len = strcspn(p, ":/");
    size_t i = 0;
    for (; i < sizeof(spf_mechs) / sizeof(spf_mechs[0]); i++)
        if (strlen(spf_mechs[i].name) == len && strncasecmp(p, spf_mechs[i].name, len) == 0)
            break;
    if (i == sizeof(spf_mechs) / sizeof(spf_mechs[0]))
        return errbuf_at(err, -EINVAL, NULL, term, "unknown mechanism; expected all, include, "
                         "a, mx, ptr, ip4, ip6, exists or a modifier name=value");
    t->mech = spf_mechs[i].mech;
    t->cidr4 = 32;
    t->cidr6 = 128;
    p += len;
    const char *arg = *p == ':' ? p + 1 : NULL;
    switch (t->mech) {
    case SPF_ALL:
        if (*p != '\0')
            return errbuf_at(err, -EINVAL, NULL, term, "\"all\" takes no argument");
        return 0;
    case SPF_IP4:
    case SPF_IP6: {
        char addr[64];
        bool six = t->mech == SPF_IP6;
        if (arg == NULL)
            return errbuf_at(err, -EINVAL, NULL, term, "expected %s:ADDRESS[/PREFIX]",
                             six ? "ip6" : "ip4");
        size_t alen = strcspn(arg, "/");
        if (alen >= sizeof(addr))
            return errbuf_at(err, -EINVAL, NULL, term, "address too long");
        memcpy(addr, arg, alen);
        addr[alen] = '\0';
        if (inet_pton(six ? AF_INET6 : AF_INET, addr, t->addr) != 1)
            return errbuf_at(err, -EINVAL, NULL, term, "expected an IPv%d address, got \"%s\"",
                             six ? 6 : 4, addr);
        if (!parse_cidr(arg + alen, &t->cidr4, &t->cidr6, six))
            return errbuf_at(err, -EINVAL, NULL, term, "expected a prefix length /0..%d",
                             six ? 128 : 32);
        return 0;
    }
    default:
        break;
    }
    /* include, exists: ":domain" required; a, mx, ptr: optional; a and mx
     * may end in a dual CIDR. */
    if ((t->mech == SPF_INCLUDE || t->mech == SPF_EXISTS) && (arg == NULL || *arg == '\0'))
        return errbuf_at(err, -EINVAL, NULL, term, "expected %s:DOMAIN",
                         t->mech == SPF_INCLUDE ? "include" : "exists");
    const char *cidr = p;
    if (arg != NULL) {
        size_t dlen = t->mech == SPF_A || t->mech == SPF_MX ? strcspn(arg, "/") : strlen(arg);
        if (dlen == 0)
            return errbuf_at(err, -EINVAL, NULL, term, "expected a domain after \":\"");
        if ((t->domain = strndup(arg, dlen)) == NULL)
            return -ENOMEM;
        cidr = arg + dlen;
    }
    if ((t->mech == SPF_A || t->mech == SPF_MX) && !parse_cidr(cidr, &t->cidr4, &t->cidr6, false))
        return errbuf_at(err, -EINVAL, NULL, term, "expected a prefix length /0..32 and/or "
                         "//0..128");
    if (t->mech != SPF_A && t->mech != SPF_MX && arg == NULL && *p != '\0')
        return errbuf_at(err, -EINVAL, NULL, term, "unexpected \"%s\"", p);
    return 0;
}

int spf_parse(const char *txt, struct spf_record *out, struct errbuf *err)
{
    struct spf_record r = { 0 };
    char *copy = NULL, *save = NULL;
    int rc = -EINVAL;

    if (!spf_is_record(txt))
        return errbuf_at(err, -EINVAL, NULL, "v=", "expected the record to start with \"v=spf1\"");
    if ((copy = strdup(txt + 6)) == NULL)
        return -ENOMEM;
    for (char *term = strtok_r(copy, " ", &save); term != NULL; term = strtok_r(NULL, " ", &save)) {
        size_t nlen = strcspn(term, "=:/");
        if (term[nlen] == '=') {
            /* A modifier: name=value; only redirect matters here (exp= only
             * shapes the rejection text). */
            if (nlen == 0 || strchr("+-~?", term[0]) != NULL) {
                rc = errbuf_at(err, -EINVAL, NULL, term, "expected a modifier name=value");
                goto fail;
            }
            if (nlen == 8 && strncasecmp(term, "redirect", 8) == 0) {
                if (r.redirect != NULL || term[9] == '\0') {
                    rc = errbuf_at(err, -EINVAL, NULL, term, r.redirect != NULL
                                   ? "redirect= may appear only once"
                                   : "expected redirect=DOMAIN");
                    goto fail;
                }
                if ((r.redirect = strdup(term + 9)) == NULL)
                    goto oom;
            }
            continue;
        }
        struct spf_term *terms = realloc(r.terms, (r.n + 1) * sizeof(*terms));
        if (terms == NULL)
            goto oom;
        r.terms = terms;
        struct spf_term *t = &r.terms[r.n];
        memset(t, 0, sizeof(*t));
        r.n++;
        if ((t->text = strdup(term)) == NULL)
            goto oom;
        if ((rc = parse_mechanism(term, t, err)) < 0)
            goto fail;
    }
    free(copy);
    *out = r;
    return 0;
oom:
    rc = -ENOMEM;
fail:
    free(copy);
    spf_record_clear(&r);
    return rc;
}

const char *spf_result_format(enum spf_result r)
{
    static const char *const names[] = {
        "none", "neutral", "pass", "fail", "softfail", "temperror", "permerror",
    };
    return (unsigned)r < sizeof(names) / sizeof(names[0]) ? names[r] : "?";
}

/* ---- check_host() over the snapshot ---- */

struct spf_ctx {
    const struct preflight_dns *s;
    int family;
    unsigned char ip[16];
    int lookups;
    int voids;
    char *why;             /* the verdict's why buffer */
    size_t why_len;
};

static bool prefix_match(const unsigned char *a, const unsigned char *b, int bits)
{
    int full = bits / 8, rest = bits % 8;
    if (memcmp(a, b, (size_t)full) != 0)
        return false;
    if (rest == 0)
        return true;
    unsigned char mask = (unsigned char)(0xff << (8 - rest));
    return (a[full] & mask) == (b[full] & mask);
}

static bool addr_match(const struct spf_ctx *c, const char *text, int cidr4, int cidr6)
{
    unsigned char buf[16];
    int fam = strchr(text, ':') != NULL ? AF_INET6 : AF_INET;
    if (fam != c->family || inet_pton(fam, text, buf) != 1)
        return false;
    return prefix_match(buf, c->ip, fam == AF_INET ? cidr4 : cidr6);
}

enum { LK_OK, LK_VOID, LK_ERR };

/* One snapshot read: LK_OK with answers, LK_VOID (counted; past the limit a
 * permerror is signalled through *res), or LK_ERR with *res = temperror. */
static int lookup(struct spf_ctx *c, enum preflight_rr type, const char *name,
                  const struct preflight_answer **out, enum spf_result *res)
{
    const struct preflight_answer *a = preflight_dns_get(c->s, type, name);
    static const char *const types[] = { "TXT", "A/AAAA", "MX" };

    *out = a;
    if (a == NULL || a->status == PREFLIGHT_PENDING) {
        snprintf(c->why, c->why_len, "%s of %s was not looked up (too many lookups)",
                 types[type], name);
        *res = SPF_TEMPERROR;
        return LK_ERR;
    }
    if (a->status == 0 && a->n > 0)
        return LK_OK;
    if (a->status == 0 || a->status == -ENOENT || a->status == -ENODATA) {
        if (++c->voids > SPF_MAX_VOID) {
            snprintf(c->why, c->why_len, "more than %d SPF lookups found nothing (the last: "
                     "%s of %s)", SPF_MAX_VOID, types[type], name);
            *res = SPF_PERMERROR;
            return LK_ERR;
        }
        return LK_VOID;
    }
    snprintf(c->why, c->why_len, "the %s lookup of %s failed: error %d", types[type], name,
             a->status);
    *res = SPF_TEMPERROR;
    return LK_ERR;
}

static enum spf_result check(struct spf_ctx *c, const char *domain, char *matched,
                             size_t mlen);

/* Does term t match? Returns 1/0, or -1 with *res set (an error result). */
static int term_match(struct spf_ctx *c, const struct spf_term *t, const char *domain,
                      enum spf_result *res)
{
    const char *target = t->domain != NULL ? t->domain : domain;
    const struct preflight_answer *a;
    int lk;

    if (t->mech == SPF_ALL)
        return 1;
    if (t->mech == SPF_IP4 || t->mech == SPF_IP6) {
        if ((t->mech == SPF_IP4 ? AF_INET : AF_INET6) != c->family)
            return 0;
        return prefix_match(t->addr, c->ip, t->mech == SPF_IP4 ? t->cidr4 : t->cidr6);
    }
    if (++c->lookups > SPF_MAX_LOOKUPS) {
        snprintf(c->why, c->why_len, "more than %d DNS lookups (RFC 7208 4.6.4); the 11th "
                 "is %s", SPF_MAX_LOOKUPS, t->text);
        *res = SPF_PERMERROR;
        return -1;
    }
    if (strchr(target, '%') != NULL) {
        snprintf(c->why, c->why_len, "%s uses an SPF macro, which this check does not expand",
                 t->text);
        *res = SPF_TEMPERROR;
        return -1;
    }
    switch (t->mech) {
    case SPF_INCLUDE: {
        char ignored[8];
        enum spf_result r = check(c, target, ignored, sizeof(ignored));
        if (r == SPF_PASS)
            return 1;
        if (r == SPF_TEMPERROR || r == SPF_PERMERROR || r == SPF_NONE) {
            if (r == SPF_NONE)
                snprintf(c->why, c->why_len, "%s: %s has no SPF record", t->text, target);
            *res = r == SPF_TEMPERROR ? SPF_TEMPERROR : SPF_PERMERROR;
            return -1;
        }
        return 0;
    }
    case SPF_A:
    case SPF_EXISTS:
        lk = lookup(c, PREFLIGHT_RR_ADDR, target, &a, res);
        if (lk != LK_OK)
            return lk == LK_VOID ? 0 : -1;
        for (size_t i = 0; i < a->n; i++) {
            if (t->mech == SPF_EXISTS ? strchr(a->values[i], ':') == NULL
                                      : addr_match(c, a->values[i], t->cidr4, t->cidr6))
                return 1;
        }
        return 0;
    case SPF_MX:
        lk = lookup(c, PREFLIGHT_RR_MX, target, &a, res);
        if (lk != LK_OK)
            return lk == LK_VOID ? 0 : -1;
        for (size_t i = 0; i < a->n && i < SPF_MAX_MX; i++) {
            const struct preflight_answer *h;
            lk = lookup(c, PREFLIGHT_RR_ADDR, a->values[i], &h, res);
            if (lk == LK_ERR)
                return -1;
            for (size_t k = 0; lk == LK_OK && k < h->n; k++)
                if (addr_match(c, h->values[k], t->cidr4, t->cidr6))
                    return 1;
        }
        return 0;
    default:
        /* ptr: deprecated (RFC 7208 5.5) and needs reverse DNS of the
         * client; receivers rarely honour it, so it never vouches here. */
        return 0;
    }
}

static enum spf_result qualifier_result(char q)
{
    switch (q) {
    case '-': return SPF_FAIL;
    case '~': return SPF_SOFTFAIL;
    case '?': return SPF_NEUTRAL;
    default: return SPF_PASS;
    }
}

static enum spf_result check(struct spf_ctx *c, const char *domain, char *matched, size_t mlen)
{
    const struct preflight_answer *a;
    enum spf_result res = SPF_NONE;
    struct spf_record rec = { 0 };
    struct errbuf err = { 0 };
    const char *txt;

    int lk = lookup(c, PREFLIGHT_RR_TXT, domain, &a, &res);
    if (lk == LK_ERR)
        return res;
    /* A name without TXT records has no SPF record: that is "none", not a
     * void lookup of a mechanism. */
    if (lk == LK_VOID) {
        c->voids--;
        return SPF_NONE;
    }
    size_t count = spf_find(a->values, a->n, &txt);
    if (count == 0)
        return SPF_NONE;
    if (count > 1) {
        snprintf(c->why, c->why_len, "%s has %zu SPF records; there must be one", domain, count);
        return SPF_PERMERROR;
    }
    if (spf_parse(txt, &rec, &err) < 0) {
        snprintf(c->why, c->why_len, "the SPF record of %s is invalid at \"%s\": %s", domain,
                 err.where, err.what);
        return SPF_PERMERROR;
    }
    res = SPF_NEUTRAL;
    bool decided = false;
    for (size_t i = 0; i < rec.n && !decided; i++) {
        enum spf_result err_res = SPF_PERMERROR;
        int m = term_match(c, &rec.terms[i], domain, &err_res);
        if (m < 0) {
            res = err_res;
            decided = true;
        } else if (m == 1) {
            res = qualifier_result(rec.terms[i].qualifier);
            snprintf(matched, mlen, "%s", rec.terms[i].text);
            decided = true;
        }
    }
    if (!decided && rec.redirect != NULL) {
        if (++c->lookups > SPF_MAX_LOOKUPS) {
            snprintf(c->why, c->why_len, "more than %d DNS lookups (RFC 7208 4.6.4); the 11th "
                     "is redirect=%s", SPF_MAX_LOOKUPS, rec.redirect);
            res = SPF_PERMERROR;
        } else {
            res = check(c, rec.redirect, matched, mlen);
            if (res == SPF_NONE) {
                snprintf(c->why, c->why_len, "redirect=%s: it has no SPF record", rec.redirect);
                res = SPF_PERMERROR;
            } else if (res != SPF_TEMPERROR && res != SPF_PERMERROR && matched[0] == '\0') {
                snprintf(matched, mlen, "redirect=%s", rec.redirect);
            }
        }
    }
    spf_record_clear(&rec);
    return res;
}

void spf_check_host(const struct preflight_dns *s, const char *domain, const char *ip,
                    struct spf_verdict *out)
{
    struct spf_ctx c = { .s = s, .why = out->why, .why_len = sizeof(out->why) };

    memset(out, 0, sizeof(*out));
    c.family = strchr(ip, ':') != NULL ? AF_INET6 : AF_INET;
    if (inet_pton(c.family, ip, c.ip) != 1) {
        snprintf(out->why, sizeof(out->why), "\"%s\" is not an IP address", ip);
        out->result = SPF_PERMERROR;
        return;
    }
    out->result = check(&c, domain, out->matched, sizeof(out->matched));
    out->lookups = c.lookups;
}
