/* SPDX-License-Identifier: MIT */
/* daemon/preflight.c: the mailbox preflight's decisions. From a snapshot of
 * DNS answers (preflight_fetch.c fills it) it decides, for the sending
 * domain: is there exactly one valid SPF record; does it authorize the SMTP
 * relay's addresses (check_host in preflight_spf.c); is there a DMARC record
 * and what policy; is the configured DKIM selector's key published. Each
 * check gets ok/warn/fail/not applicable and a sentence that says what to
 * fix, because Gmail and Yahoo reject unauthenticated bulk mail. Pure: no
 * DNS, no I/O. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dns.h"
#include "preflight.h"

const char *preflight_status_format(enum preflight_status s)
{
    static const char *const names[] = { "ok", "warn", "fail", "n/a" };
    return (unsigned)s < 4 ? names[s] : "?";
}

/* ---- tag lists: "v=DMARC1; p=reject; rua=mailto:x" ---- */

/* Calls fn for each tag=value with both trimmed; stops at a non-zero return. */
static int tag_list(const char *txt, int (*fn)(const char *tag, const char *val, size_t idx,
                                              void *arg, struct errbuf *err),
                    void *arg, struct errbuf *err)
{
    char *copy = strdup(txt), *save = NULL;
    size_t idx = 0;
    int rc = 0;

    if (copy == NULL)
        return -ENOMEM;
    for (char *item = strtok_r(copy, ";", &save); item != NULL && rc == 0;
         item = strtok_r(NULL, ";", &save)) {
        while (isspace((unsigned char)*item))
            item++;
        char *end = item + strlen(item);
        while (end > item && isspace((unsigned char)end[-1]))
            *--end = '\0';
        if (*item == '\0')
            continue;
        char *eq = strchr(item, '=');
        if (eq == NULL) {
            rc = errbuf_at(err, -EINVAL, NULL, item, "expected tag=value");
            break;
        }
        char *tend = eq;
        *eq = '\0';
        while (tend > item && isspace((unsigned char)tend[-1]))
            *--tend = '\0';
        char *val = eq + 1;
        while (isspace((unsigned char)*val))
            val++;
        rc = fn(item, val, idx++, arg, err);
    }
    free(copy);
    return rc;
}

static int dmarc_tag(const char *tag, const char *val, size_t idx, void *arg, struct errbuf *err)
{
    struct dmarc_record *d = arg;

    if (idx == 0 && (strcmp(tag, "v") != 0 || strcmp(val, "DMARC1") != 0))
        return errbuf_at(err, -EINVAL, NULL, "v", "expected the record to start with "
                         "\"v=DMARC1\"");
    if (strcmp(tag, "p") == 0 || strcmp(tag, "sp") == 0) {
        if (strcasecmp(val, "none") != 0 && strcasecmp(val, "quarantine") != 0 &&
            strcasecmp(val, "reject") != 0)
            return errbuf_at(err, -EINVAL, NULL, tag, "expected none, quarantine or reject, "
                             "got \"%s\"", val);
        char *dst = tag[0] == 'p' ? d->policy : d->subpolicy;
        for (size_t i = 0; val[i] != '\0' && i < 15; i++)
            dst[i] = (char)tolower((unsigned char)val[i]);
    } else if (strcmp(tag, "rua") == 0) {
        snprintf(d->rua, sizeof(d->rua), "%s", val);
    } else if (strcmp(tag, "pct") == 0) {
        char *end;
        long v = strtol(val, &end, 10);
        if (end == val || *end != '\0' || v < 0 || v > 100)
            return errbuf_at(err, -EINVAL, NULL, "pct", "expected 0..100, got \"%s\"", val);
        d->pct = (int)v;
    }
    return 0;
}

int dmarc_parse(const char *txt, struct dmarc_record *out, struct errbuf *err)
{
    struct dmarc_record d = { .pct = 100 };
    int rc = tag_list(txt, dmarc_tag, &d, err);

    if (rc < 0)
        return rc;
    if (d.policy[0] == '\0')
        return errbuf_at(err, -EINVAL, NULL, "p", "missing the p= tag (none, quarantine or "
                         "reject)");
    *out = d;
    return 0;
}

struct dkim_state {
    struct dkim_key key;
    bool have_p;
};

static int dkim_tag(const char *tag, const char *val, size_t idx, void *arg, struct errbuf *err)
{
    struct dkim_state *st = arg;
    struct dkim_key *k = &st->key;

    if (strcmp(tag, "v") == 0 && (idx != 0 || strcmp(val, "DKIM1") != 0))
        return errbuf_at(err, -EINVAL, NULL, "v", "expected \"v=DKIM1\" as the first tag");
    if (strcmp(tag, "k") == 0) {
        if (strcmp(val, "rsa") != 0 && strcmp(val, "ed25519") != 0)
            return errbuf_at(err, -EINVAL, NULL, "k", "expected rsa or ed25519, got \"%s\"",
                             val);
        snprintf(k->key_type, sizeof(k->key_type), "%s", val);
    } else if (strcmp(tag, "p") == 0) {
        /* Long keys come split over several strings; whitespace is not key. */
        k->key_len = 0;
        for (const char *p = val; *p != '\0'; p++) {
            if (isspace((unsigned char)*p))
                continue;
            if (!isalnum((unsigned char)*p) && *p != '+' && *p != '/' && *p != '=' &&
                *p != '.')
                return errbuf_at(err, -EINVAL, NULL, "p", "expected base64, got '%c'", *p);
            k->key_len++;
        }
        st->have_p = true;
    } else if (strcmp(tag, "t") == 0) {
        k->testing = strchr(val, 'y') != NULL;
    }
    return 0;
}

int dkim_parse(const char *txt, struct dkim_key *out, struct errbuf *err)
{
    struct dkim_state st = { .key = { .key_type = "rsa" } };
    int rc = tag_list(txt, dkim_tag, &st, err);

    if (rc < 0)
        return rc;
    if (!st.have_p)
        return errbuf_at(err, -EINVAL, NULL, "p", "missing the p= tag (the public key)");
    *out = st.key;
    return 0;
}

/* ---- the checks ---- */

static struct preflight_check *add(struct preflight_report *r, const char *name,
                                   enum preflight_status st, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static struct preflight_check *add(struct preflight_report *r, const char *name,
                                   enum preflight_status st, const char *fmt, ...)
{
    struct preflight_check *c = &r->checks[r->n++];
    va_list ap;

    c->name = name;
    c->status = st;
    va_start(ap, fmt);
    vsnprintf(c->message, sizeof(c->message), fmt, ap);
    va_end(ap);
    return c;
}

static bool is_void(int status)
{
    return status == -ENOENT || status == -ENODATA || status == 0;
}

const char *preflight_org_domain(const char *domain)
{
    size_t len = strlen(domain);
    int dots = 0;

    while (len > 0 && domain[len - 1] == '.')
        len--;
    for (size_t i = len; i > 0; i--)
        if (domain[i - 1] == '.' && ++dots == 2)
            return domain + i;
    return NULL;
}

/* The SPF record of the domain, or a failed check explaining why not. */
static const char *spf_check(const struct preflight_input *in, const struct preflight_dns *s,
                             struct preflight_report *r)
{
    const struct preflight_answer *a = preflight_dns_get(s, PREFLIGHT_RR_TXT, in->domain);
    const char *txt = NULL;

    if (a == NULL || a->status == PREFLIGHT_PENDING) {
        add(r, "spf", PREFLIGHT_FAIL, "the SPF record of %s was not looked up", in->domain);
        return NULL;
    }
    if (!is_void(a->status)) {
        add(r, "spf", PREFLIGHT_FAIL, "could not look up the SPF record of %s: %s", in->domain,
            dns_status_text(a->status));
        return NULL;
    }
    size_t n = spf_find(a->values, a->n, &txt);
    if (n == 0) {
        add(r, "spf", PREFLIGHT_FAIL, "no SPF record at %s: Gmail and Yahoo reject bulk mail "
            "that is not authenticated; publish a TXT record such as \"v=spf1 ip4:RELAY_IP "
            "-all\" (or your provider's include:)", in->domain);
        return NULL;
    }
    if (n > 1) {
        add(r, "spf", PREFLIGHT_FAIL, "%s has %zu SPF records: receivers treat that as an "
            "error (RFC 7208 permerror); merge them into one", in->domain, n);
        return NULL;
    }
    struct spf_record rec;
    struct errbuf err = { 0 };
    if (spf_parse(txt, &rec, &err) < 0) {
        add(r, "spf", PREFLIGHT_FAIL, "the SPF record at %s is invalid at \"%s\": %s",
            in->domain, err.where, err.what);
        return NULL;
    }
    bool plus_all = false;
    for (size_t i = 0; i < rec.n; i++)
        plus_all = plus_all || (rec.terms[i].mech == SPF_ALL && rec.terms[i].qualifier == '+');
    spf_record_clear(&rec);
    if (plus_all)
        add(r, "spf", PREFLIGHT_WARN, "the SPF record at %s ends in \"+all\", which authorizes "
            "every server on the internet to send as %s; use \"-all\" or \"~all\"", in->domain,
            in->domain);
    else
        add(r, "spf", PREFLIGHT_OK, "SPF record at %s: \"%.400s\"", in->domain, txt);
    return txt;
}

static const char *relay_hint(const struct preflight_input *in, const char *ip)
{
    static __thread char buf[128];
    bool six = strchr(ip, ':') != NULL;

    if (in->provider != NULL && strcmp(in->provider, "google_workspace") == 0)
        return "include:_spf.google.com";
    if (in->provider != NULL && strcmp(in->provider, "microsoft_365") == 0)
        return "include:spf.protection.outlook.com";
    snprintf(buf, sizeof(buf), "%s:%s (or your provider's include:)", six ? "ip6" : "ip4", ip);
    return buf;
}

static void relay_check(const struct preflight_input *in, const struct preflight_dns *s,
                        bool have_spf, struct preflight_report *r)
{
    unsigned char buf[16];
    char *literal[1];
    char *const *ips;
    size_t n;

    if (in->relay_host == NULL) {
        add(r, "spf_relay", PREFLIGHT_NA, "not applicable: %s",
            in->relay_na != NULL ? in->relay_na : "the mailbox does not send through an SMTP relay");
        return;
    }
    if (inet_pton(AF_INET, in->relay_host, buf) == 1 ||
        inet_pton(AF_INET6, in->relay_host, buf) == 1) {
        literal[0] = (char *)in->relay_host;
        ips = literal;
        n = 1;
    } else {
        const struct preflight_answer *a = preflight_dns_get(s, PREFLIGHT_RR_ADDR, in->relay_host);
        if (a == NULL || a->status != 0 || a->n == 0) {
            add(r, "spf_relay", PREFLIGHT_FAIL, "could not resolve the relay host %s: %s",
                in->relay_host, a == NULL || a->status == PREFLIGHT_PENDING
                ? "it was not looked up" : dns_status_text(a->status != 0 ? a->status : -ENODATA));
            return;
        }
        ips = a->values;
        n = a->n;
    }
    if (!have_spf) {
        add(r, "spf_relay", PREFLIGHT_FAIL, "the relay %s (%s) is not covered: %s has no usable "
            "SPF record; add %s to one", ips[0], in->relay_host, in->domain,
            relay_hint(in, ips[0]));
        return;
    }
    char matched[300] = "";
    for (size_t i = 0; i < n; i++) {
        struct spf_verdict v;
        spf_check_host(s, in->domain, ips[i], &v);
        switch (v.result) {
        case SPF_PASS:
            if (i == 0)
                snprintf(matched, sizeof(matched), "%s", v.matched);
            continue;
        case SPF_TEMPERROR:
            add(r, "spf_relay", PREFLIGHT_FAIL, "could not decide whether SPF for %s covers the "
                "relay %s (%s): %s", in->domain, ips[i], in->relay_host, v.why);
            return;
        case SPF_PERMERROR:
            add(r, "spf_relay", PREFLIGHT_FAIL, "SPF for %s is broken (permerror), so receivers "
                "treat mail from the relay %s (%s) as unauthenticated: %s", in->domain, ips[i],
                in->relay_host, v.why);
            return;
        default:
            add(r, "spf_relay", PREFLIGHT_FAIL, "SPF for %s does not cover the relay %s (%s): "
                "the result is %s%s%s%s; add %s to it", in->domain, ips[i], in->relay_host,
                spf_result_format(v.result), v.matched[0] != '\0' ? " (at \"" : "", v.matched,
                v.matched[0] != '\0' ? "\")" : " (no term matched)", relay_hint(in, ips[i]));
            return;
        }
    }
    add(r, "spf_relay", PREFLIGHT_OK, "SPF for %s covers the relay %s (%s%s) via \"%s\"",
        in->domain, ips[0], in->relay_host, n > 1 ? " and its other addresses" : "", matched);
}

/* The DMARC records at name: 0 (with *status), 1 (*txt set) or more. */
static size_t dmarc_find(const struct preflight_dns *s, const char *name, const char **txt,
                         int *status)
{
    const struct preflight_answer *a = preflight_dns_get(s, PREFLIGHT_RR_TXT, name);
    size_t count = 0;

    *txt = NULL;
    *status = a == NULL ? PREFLIGHT_PENDING : a->status;
    for (size_t i = 0; a != NULL && i < a->n; i++)
        if (strncmp(a->values[i], "v=DMARC1", 8) == 0 && count++ == 0)
            *txt = a->values[i];
    return count;
}

static void dmarc_check(const struct preflight_input *in, const struct preflight_dns *s,
                        struct preflight_report *r)
{
    char name[300], org_name[300];
    const char *org = preflight_org_domain(in->domain), *txt;
    int status, org_status = 0;

    snprintf(name, sizeof(name), "_dmarc.%s", in->domain);
    size_t n = dmarc_find(s, name, &txt, &status);
    const char *where = name;
    if (n == 0 && is_void(status) && org != NULL) {
        /* RFC 7489 6.6.3: fall back to the organizational domain. */
        snprintf(org_name, sizeof(org_name), "_dmarc.%s", org);
        n = dmarc_find(s, org_name, &txt, &org_status);
        where = org_name;
        if (!is_void(org_status))
            status = org_status;
    }
    if (n == 0 && !is_void(status)) {
        add(r, "dmarc", PREFLIGHT_FAIL, "could not look up the DMARC record at %s: %s", name,
            status == PREFLIGHT_PENDING ? "it was not looked up" : dns_status_text(status));
        return;
    }
    if (n == 0) {
        add(r, "dmarc", PREFLIGHT_FAIL, "no DMARC record at %s: Gmail and Yahoo reject bulk "
            "mail without one; publish a TXT record such as \"v=DMARC1; p=none; "
            "rua=mailto:dmarc-reports@%s\"", name, in->domain);
        return;
    }
    if (n > 1) {
        add(r, "dmarc", PREFLIGHT_FAIL, "%s has %zu DMARC records: receivers ignore them all; "
            "keep one", where, n);
        return;
    }
    struct dmarc_record d;
    struct errbuf err = { 0 };
    if (dmarc_parse(txt, &d, &err) < 0) {
        add(r, "dmarc", PREFLIGHT_FAIL, "the DMARC record at %s is invalid at \"%s\": %s", where,
            err.where, err.what);
        return;
    }
    bool inherited = where != name;
    const char *policy = inherited && d.subpolicy[0] != '\0' ? d.subpolicy : d.policy;
    char from[400] = "";
    if (inherited)
        snprintf(from, sizeof(from), " (inherited from the organizational domain %s)", org);
    if (strcmp(policy, "none") == 0) {
        add(r, "dmarc", PREFLIGHT_WARN, "DMARC at %s%s has p=none: that meets Gmail's and "
            "Yahoo's bulk-sender rule but asks receivers to do nothing with mail that fails; "
            "move to p=quarantine once the%s reports look clean", where, from,
            d.rua[0] != '\0' ? " rua" : " (add rua=mailto:...)");
        return;
    }
    add(r, "dmarc", PREFLIGHT_OK, "DMARC at %s%s: p=%s%s%s", where, from, policy,
        d.rua[0] != '\0' ? ", reports to " : ", no rua= (you get no aggregate reports)",
        d.rua);
}

static void dkim_check(const struct preflight_input *in, const struct preflight_dns *s,
                       struct preflight_report *r)
{
    char name[300];

    if (in->selector == NULL) {
        add(r, "dkim", PREFLIGHT_WARN, "no dkim_selector is set for mailbox %s, so DKIM was not "
            "checked: Gmail and Yahoo require DKIM-signed bulk mail; set it to the selector "
            "your provider signs with", in->mailbox != NULL ? in->mailbox : "?");
        return;
    }
    snprintf(name, sizeof(name), "%s._domainkey.%s", in->selector, in->domain);
    const struct preflight_answer *a = preflight_dns_get(s, PREFLIGHT_RR_TXT, name);
    if (a == NULL || a->status == PREFLIGHT_PENDING || !is_void(a->status)) {
        add(r, "dkim", PREFLIGHT_FAIL, "could not look up the DKIM key at %s: %s", name,
            a == NULL || a->status == PREFLIGHT_PENDING ? "it was not looked up"
                                                        : dns_status_text(a->status));
        return;
    }
    if (a->n == 0) {
        add(r, "dkim", PREFLIGHT_FAIL, "no DKIM key at %s: mail signed with selector \"%s\" "
            "fails DKIM, and Gmail and Yahoo reject unauthenticated bulk mail; publish the "
            "key your provider gives you there", name, in->selector);
        return;
    }
    /* Providers publish one record; join nothing, judge the first. */
    struct dkim_key k;
    struct errbuf err = { 0 };
    if (dkim_parse(a->values[0], &k, &err) < 0) {
        add(r, "dkim", PREFLIGHT_FAIL, "the DKIM key at %s is invalid at \"%s\": %s", name,
            err.where, err.what);
        return;
    }
    if (k.key_len == 0) {
        add(r, "dkim", PREFLIGHT_FAIL, "the DKIM key at %s is revoked (empty p=): signatures "
            "with selector \"%s\" fail; publish the current key", name, in->selector);
        return;
    }
    if (k.testing) {
        add(r, "dkim", PREFLIGHT_WARN, "DKIM key at %s (k=%s) is in testing mode (t=y): "
            "receivers may treat signed mail as unsigned; remove t=y", name, k.key_type);
        return;
    }
    add(r, "dkim", PREFLIGHT_OK, "DKIM key at %s (k=%s)", name, k.key_type);
}

void preflight_evaluate(const struct preflight_input *in, const struct preflight_dns *s,
                        struct preflight_report *out)
{
    memset(out, 0, sizeof(*out));
    const char *spf = spf_check(in, s, out);
    relay_check(in, s, spf != NULL, out);
    dmarc_check(in, s, out);
    dkim_check(in, s, out);
}

bool preflight_report_ok(const struct preflight_report *r)
{
    for (size_t i = 0; i < r->n; i++)
        if (r->checks[i].status == PREFLIGHT_FAIL)
            return false;
    return true;
}
