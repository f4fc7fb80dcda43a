/* SPDX-License-Identifier: MIT */
/* plugins/enrich_mx/mx.c: an enricher that says whether a lead's mail
 * domain takes mail at all. It looks the domain's MX records up through
 * host->dns_query (the daemon's resolver, on its loop): MX hosts mean
 * "deliverable"; no MX records means the domain's own address is the mail
 * host (implicit MX, RFC 5321 section 5.1), so it asks for A/AAAA next; a
 * domain that does not exist, has neither, or publishes a null MX (RFC
 * 7505) is "undeliverable". A lookup that failed (timeout, SERVFAIL,
 * REFUSED) says nothing about the domain: the op is retried, never marked
 * undeliverable. An MX only says the domain takes mail, not that a mailbox
 * exists, so an address is never called "verified".
 *
 * Answers are cached by the host under "mx:<domain>" for the records' TTL
 * (a negative answer for the zone's negative-caching TTL), at least a
 * minute and at most the max_cache_ttl option. */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <drumbeat/plugin.h>

#define MIN_CACHE_TTL_MS 60000u   /* a TTL below a minute would mean a lookup per lead */

struct mx_settings {
    uint64_t max_cache_ttl_ms;
};

static const struct drumbeat_option mx_options[] = {
    { "max_cache_ttl", DRUMBEAT_OPT_DURATION_MS, "1d", 0,
      offsetof(struct mx_settings, max_cache_ttl_ms),
      "Longest time an answer is cached, whatever its DNS TTL (0 turns caching off)" },
    { 0 },
};

struct mx {
    const struct drumbeat_host *host;
    struct drumbeat_instance *inst;
    uint64_t max_cache_ttl_ms;
};

/* One enrich op: the MX lookup, then maybe the address lookup. */
struct mx_query {
    struct mx *mx;
    struct drumbeat_op *op;
    bool has_email;            /* the domain came from the lead's email */
    uint32_t mx_neg_ttl;       /* the MX lookup's negative TTL, 0 if unknown */
    char domain[256];
};

/* Copies a domain into buf lower-cased, without surrounding white space or
 * a trailing dot. Returns 0, or -ENOENT when text is not a plain ASCII DNS
 * name (empty, too long, an empty label, characters a host name cannot
 * have): there is nothing to look up. */
static int clean_domain(const char *text, char *buf, size_t cap)
{
    size_t len, label = 0;

    while (*text == ' ' || *text == '\t')
        text++;
    len = strlen(text);
    while (len > 0 && (text[len - 1] == ' ' || text[len - 1] == '\t'))
        len--;
    if (len > 0 && text[len - 1] == '.')
        len--;
    if (len == 0 || len > 253 || len >= cap)
        return -ENOENT;
    for (size_t i = 0; i < len; i++) {
        char c = text[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (c == '.') {
            if (label == 0)
                return -ENOENT;
            label = 0;
        } else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_') {
            if (++label > 63)
                return -ENOENT;
        } else {
            return -ENOENT;
        }
        buf[i] = c;
    }
    buf[len] = '\0';
    return 0;
}

/* The domain the lead's mail goes to: its email's, else its "domain". */
static int lead_domain(const json_t *lead, char *buf, size_t cap, bool *has_email)
{
    const char *email = json_string_value(json_object_get(lead, "email"));
    const char *at = email != NULL ? strrchr(email, '@') : NULL;

    *has_email = false;
    if (at != NULL && clean_domain(at + 1, buf, cap) == 0) {
        *has_email = true;
        return 0;
    }
    const char *domain = json_string_value(json_object_get(lead, "domain"));
    return domain != NULL ? clean_domain(domain, buf, cap) : -ENOENT;
}

static int mx_cache_key(void *state, const json_t *lead, char *buf, size_t cap)
{
    char domain[256];
    bool has_email;
    int rc = lead_domain(lead, domain, sizeof(domain), &has_email);

    (void)state;
    if (rc < 0)
        return rc;
    if ((size_t)snprintf(buf, cap, "mx:%s", domain) >= cap)
        return -ENOSPC;
    return 0;
}

static const char *const mx_fields[] = { "domain_status", "email_status", NULL };

static const char *const *mx_provides(void *state)
{
    (void)state;
    return mx_fields;
}

static const char *lookup_text(int status)
{
    switch (status) {
    case -ETIMEDOUT: return "no DNS server answered in time";
    case -ECONNREFUSED: return "the DNS server is not answering (connection refused)";
    case -EIO: return "the DNS server failed (SERVFAIL)";
    case -EACCES: return "the DNS server refused the query (REFUSED)";
    case -EBADMSG: return "the DNS answer could not be parsed";
    case -ECANCELED: return "the lookup was cancelled";
    case -ENOSYS: return "the daemon has no DNS resolver";
    default: return strerror(-status);
    }
}

/* The TTL as a cache lifetime: at least a minute, at most the option. */
static uint64_t cache_ms(const struct mx *mx, uint32_t ttl_s)
{
    uint64_t ms = (uint64_t)ttl_s * 1000;

    if (ms < MIN_CACHE_TTL_MS)
        ms = MIN_CACHE_TTL_MS;
    return ms < mx->max_cache_ttl_ms ? ms : mx->max_cache_ttl_ms;
}

/* Completes q's op and frees q. attrs is stolen; cache_ttl_ms 0 means the
 * answer must not be cached. */
static void finish(struct mx_query *q, enum drumbeat_outcome outcome, json_t *attrs,
                   uint64_t cache_ttl_ms, const char *detail)
{
    const struct drumbeat_host *host = q->mx->host;
    struct drumbeat_result res = { .outcome = outcome, .detail = detail };

    host->log(q->mx->inst, DRUMBEAT_LOG_DEBUG, "msg=\"looked up\" domain=%s outcome=%s "
              "detail=\"%s\" cache_ttl_ms=%llu", q->domain,
              outcome == DRUMBEAT_DONE ? "done" : outcome == DRUMBEAT_RETRY ? "retry" : "failed",
              detail, (unsigned long long)cache_ttl_ms);
    host->enrich_cache_ttl(q->op, cache_ttl_ms);
    host->enrich_done(q->op, &res, attrs);
    free(q);
}

static void deliverable(struct mx_query *q, const char *mail_host, uint32_t ttl_s,
                        const char *detail)
{
    json_t *attrs = json_pack("{s:s, s:s}", "domain_status", "deliverable", "mx", mail_host);
    finish(q, DRUMBEAT_DONE, attrs, cache_ms(q->mx, ttl_s), detail);
}

static void undeliverable(struct mx_query *q, uint32_t ttl_s, const char *detail)
{
    json_t *attrs = json_pack("{s:s}", "domain_status", "undeliverable");

    if (attrs != NULL && q->has_email)
        json_object_set_new(attrs, "email_status", json_string("undeliverable"));
    finish(q, DRUMBEAT_DONE, attrs, cache_ms(q->mx, ttl_s), detail);
}

/* Not an answer about the domain: try again later, cache nothing. A name
 * the resolver calls invalid will not become valid: that one fails. */
static void lookup_failed(struct mx_query *q, const char *what, int status)
{
    char detail[512];

    snprintf(detail, sizeof(detail), "%s lookup for %s failed: %s", what, q->domain,
             status == -EINVAL ? "not a valid DNS name" : lookup_text(status));
    finish(q, status == -EINVAL ? DRUMBEAT_FAILED : DRUMBEAT_RETRY, NULL, 0, detail);
}

/* The smaller of two TTLs where 0 means "unknown". */
static uint32_t ttl_min_known(uint32_t a, uint32_t b)
{
    if (a == 0 || b == 0)
        return a == 0 ? b : a;
    return a < b ? a : b;
}

static void on_addr(int status, const json_t *answers, uint32_t ttl_s, void *arg)
{
    struct mx_query *q = arg;

    (void)answers;
    if (status == 0)
        deliverable(q, q->domain, ttl_s, "no MX records; the domain's own address takes mail");
    else if (status == -ENOENT || status == -ENODATA)
        undeliverable(q, ttl_min_known(q->mx_neg_ttl, ttl_s),
                      "the domain has neither MX records nor an address");
    else
        lookup_failed(q, "address", status);
}

/* The most preferred real mail host (answers come sorted by preference),
 * or NULL when the only MX is the null MX "." (RFC 7505). A null MX next
 * to real ones is a misconfiguration; the real ones win. */
static const char *best_host(const json_t *answers)
{
    size_t i;
    json_t *rec;

    json_array_foreach(answers, i, rec) {
        const char *h = json_string_value(json_object_get(rec, "host"));
        if (h != NULL && h[0] != '\0' && strcmp(h, ".") != 0)
            return h;
    }
    return NULL;
}

static void on_mx(int status, const json_t *answers, uint32_t ttl_s, void *arg)
{
    struct mx_query *q = arg;
    char detail[512];
    int rc;

    if (status == 0) {
        const char *h = best_host(answers);
        if (h == NULL) {
            undeliverable(q, ttl_s, "the domain accepts no mail (null MX, RFC 7505)");
            return;
        }
        snprintf(detail, sizeof(detail), "MX %s", h);
        deliverable(q, h, ttl_s, detail);
    } else if (status == -ENOENT) {
        /* A name that does not exist has no address either. */
        undeliverable(q, ttl_s, "the domain does not exist (NXDOMAIN)");
    } else if (status == -ENODATA) {
        q->mx_neg_ttl = ttl_s;
        rc = q->mx->host->dns_query(q->mx->inst, q->domain, DRUMBEAT_DNS_A, on_addr, q);
        if (rc < 0)
            lookup_failed(q, "address", rc);
    } else {
        lookup_failed(q, "MX", status);
    }
}

static int mx_enrich(void *state, const json_t *lead, struct drumbeat_op *op)
{
    struct mx *mx = state;
    struct mx_query *q = calloc(1, sizeof(*q));
    int rc;

    if (q == NULL)
        return -ENOMEM;
    q->mx = mx;
    q->op = op;
    rc = lead_domain(lead, q->domain, sizeof(q->domain), &q->has_email);
    if (rc == 0)
        rc = mx->host->dns_query(mx->inst, q->domain, DRUMBEAT_DNS_MX, on_mx, q);
    if (rc < 0)
        free(q);
    return rc;
}

static int mx_init(const struct drumbeat_host *host, struct drumbeat_instance *inst,
                   const void *settings, void **state)
{
    const struct mx_settings *set = settings;

    if (!DRUMBEAT_HOST_HAS(host, dns_query) || !DRUMBEAT_HOST_HAS(host, enrich_cache_ttl)) {
        host->log(inst, DRUMBEAT_LOG_ERROR, "msg=\"the daemon is older than plugin ABI 1.1: "
                  "no DNS service\"");
        return -ENOTSUP;
    }
    struct mx *mx = calloc(1, sizeof(*mx));
    if (mx == NULL)
        return -ENOMEM;
    mx->host = host;
    mx->inst = inst;
    mx->max_cache_ttl_ms = set->max_cache_ttl_ms;
    host->log(inst, DRUMBEAT_LOG_INFO, "msg=\"checking mail domains\" max_cache_ttl_ms=%llu",
              (unsigned long long)mx->max_cache_ttl_ms);
    *state = mx;
    return 0;
}

static void mx_fini(void *state)
{
    /* Every op has completed: no query of ours is left to answer. */
    free(state);
}

static const struct drumbeat_enricher_ops mx_ops = {
    .enrich = mx_enrich,
    .provides = mx_provides,
    .cache_key = mx_cache_key,
};

/* The one exported symbol. */
const struct drumbeat_plugin drumbeat_plugin = {
    DRUMBEAT_PLUGIN_HEADER,
    .kind = DRUMBEAT_KIND_ENRICHER,
    .name = "enrich_mx",
    .version = "1.0.0",
    .options = mx_options,
    .settings_size = sizeof(struct mx_settings),
    .init = mx_init,
    .fini = mx_fini,
    .enricher = &mx_ops,
};
