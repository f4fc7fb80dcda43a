/* SPDX-License-Identifier: MIT */
/* daemon/preflight_fetch.c: the preflight's lookups. Starting from the
 * sending domain it asks, all at once, for its TXT records (SPF), the DMARC
 * records (the domain's and its organizational domain's), the DKIM key of
 * the selector and the relay's addresses; each SPF record that arrives is
 * parsed and what its terms name (include, redirect, a, mx, exists) is
 * looked up in turn. Every answer, errors included, lands in the snapshot
 * that preflight_evaluate() reads; nothing is decided here. The number of
 * queries is capped, so a loop of includes ends. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns.h"
#include "preflight.h"

struct fetch {
    struct dns *d;              /* borrowed */
    struct preflight_dns *s;    /* borrowed */
    void (*done)(void *arg);
    void *arg;
    int inflight;
    int queries;
};

struct fetch_q {
    struct fetch *f;
    enum preflight_rr type;
    bool spf;                   /* a TXT lookup in the SPF tree: expand its record */
    char name[300];
};

static void want(struct fetch *f, enum preflight_rr type, const char *name, bool spf);

static void finish(struct fetch *f)
{
    if (--f->inflight > 0)
        return;
    void (*done)(void *) = f->done;
    void *arg = f->arg;
    free(f);
    done(arg);
}

/* Queues what the terms of one SPF record (a TXT string of the SPF tree)
 * will need when check_host() evaluates them. */
static void expand_spf(struct fetch *f, const char *domain, char *const *txts, size_t n)
{
    const char *txt;
    struct spf_record rec;
    struct errbuf err = { 0 };

    if (spf_find(txts, n, &txt) != 1 || spf_parse(txt, &rec, &err) < 0)
        return;
    for (size_t i = 0; i < rec.n; i++) {
        const struct spf_term *t = &rec.terms[i];
        const char *target = t->domain != NULL ? t->domain : domain;
        if (strchr(target, '%') != NULL)
            continue;   /* macros are not expanded; evaluation says so */
        switch (t->mech) {
        case SPF_INCLUDE: want(f, PREFLIGHT_RR_TXT, target, true); break;
        case SPF_A: case SPF_EXISTS: want(f, PREFLIGHT_RR_ADDR, target, false); break;
        case SPF_MX: want(f, PREFLIGHT_RR_MX, target, false); break;
        default: break;
        }
    }
    if (rec.redirect != NULL && strchr(rec.redirect, '%') == NULL)
        want(f, PREFLIGHT_RR_TXT, rec.redirect, true);
    spf_record_clear(&rec);
}

static void on_txt(int status, char **txts, size_t n, uint32_t ttl_s, void *arg)
{
    struct fetch_q *q = arg;
    struct fetch *f = q->f;

    if (preflight_dns_set(f->s, PREFLIGHT_RR_TXT, q->name, status, txts, n) == 0 && q->spf &&
        status == 0)
        expand_spf(f, q->name, txts, n);
    free(q);
    finish(f);
}

static void on_addr(int status, char **addrs, size_t n, uint32_t ttl_s, void *arg)
{
    struct fetch_q *q = arg;
    struct fetch *f = q->f;

    preflight_dns_set(f->s, PREFLIGHT_RR_ADDR, q->name, status, addrs, n);
    free(q);
    finish(f);
}

static void on_mx(int status, const struct dns_mx *mx, size_t n, uint32_t ttl_s, void *arg)
{
    struct fetch_q *q = arg;
    struct fetch *f = q->f;
    /* RFC 7208 4.6.4: at most 10 MX names are looked up. */
    char *hosts[10] = { 0 };
    size_t k = n < 10 ? n : 10;

    for (size_t i = 0; i < k; i++)
        hosts[i] = mx[i].host;
    if (preflight_dns_set(f->s, PREFLIGHT_RR_MX, q->name, status, hosts, k) == 0)
        for (size_t i = 0; i < k; i++)
            want(f, PREFLIGHT_RR_ADDR, hosts[i], false);
    free(q);
    finish(f);
}

/* Looks (type, name) up unless it is already known or the cap is reached;
 * a name left out stays absent, and evaluation reports it as not looked up. */
static void want(struct fetch *f, enum preflight_rr type, const char *name, bool spf)
{
    struct fetch_q *q;
    int rc;

    if (name[0] == '\0' || preflight_dns_get(f->s, type, name) != NULL ||
        f->queries >= PREFLIGHT_MAX_QUERIES)
        return;
    if ((q = calloc(1, sizeof(*q))) == NULL)
        return;
    q->f = f;
    q->type = type;
    q->spf = spf;
    snprintf(q->name, sizeof(q->name), "%s", name);
    if (preflight_dns_set(f->s, type, name, PREFLIGHT_PENDING, NULL, 0) < 0) {
        free(q);
        return;
    }
    if (type == PREFLIGHT_RR_TXT)
        rc = dns_query_txt(f->d, name, on_txt, q);
    else if (type == PREFLIGHT_RR_MX)
        rc = dns_query_mx(f->d, name, on_mx, q);
    else
        rc = dns_query_a(f->d, name, on_addr, q);
    if (rc < 0) {
        preflight_dns_set(f->s, type, name, rc, NULL, 0);
        free(q);
        return;
    }
    f->queries++;
    f->inflight++;
}

int preflight_fetch(struct dns *d, const struct preflight_input *in, struct preflight_dns *s,
                    void (*done)(void *arg), void *arg)
{
    struct fetch *f = calloc(1, sizeof(*f));
    unsigned char buf[16];
    char name[300];

    if (f == NULL)
        return -ENOMEM;
    *f = (struct fetch){ .d = d, .s = s, .done = done, .arg = arg };
    /* Held while the first queries go out: no answer can come before we
     * return, but an early failure must not finish (and free) f mid-loop. */
    f->inflight = 1;
    want(f, PREFLIGHT_RR_TXT, in->domain, true);
    snprintf(name, sizeof(name), "_dmarc.%s", in->domain);
    want(f, PREFLIGHT_RR_TXT, name, false);
    const char *org = preflight_org_domain(in->domain);
    if (org != NULL) {
        snprintf(name, sizeof(name), "_dmarc.%s", org);
        want(f, PREFLIGHT_RR_TXT, name, false);
    }
    if (in->selector != NULL) {
        snprintf(name, sizeof(name), "%s._domainkey.%s", in->selector, in->domain);
        want(f, PREFLIGHT_RR_TXT, name, false);
    }
    if (in->relay_host != NULL && inet_pton(AF_INET, in->relay_host, buf) != 1 &&
        inet_pton(AF_INET6, in->relay_host, buf) != 1)
        want(f, PREFLIGHT_RR_ADDR, in->relay_host, false);
    if (f->inflight == 1) {
        /* Nothing went out (no memory, or dns closing). */
        free(f);
        return -ENOMEM;
    }
    f->inflight--;
    return 0;
}
