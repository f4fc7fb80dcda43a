/* SPDX-License-Identifier: MIT */
/* daemon/preflight.h: the mailbox preflight: does the sending domain publish
 * what Gmail and Yahoo require of bulk senders? SPF (and does it authorize
 * the SMTP relay's addresses?), DMARC, and the DKIM key of the configured
 * selector.
 *
 * It works in two steps so the decisions are testable without DNS:
 *   1. preflight_fetch() (preflight_fetch.c) looks up, with dns.c, every
 *      record the checks may need, following SPF include/redirect/a/mx,
 *      into a struct preflight_dns (a snapshot of answers);
 *   2. preflight_evaluate() (pure) decides each check from that snapshot
 *      and writes a plain sentence for it.
 * spf_parse(), dmarc_parse(), dkim_parse() and spf_check_host() are pure too.
 *
 * Ownership:
 *   struct preflight_dns   caller's storage; preflight_dns_clear() frees the
 *                          answers in it. preflight_dns_get() borrows.
 *   struct spf_record      caller's storage; spf_record_clear() frees terms.
 *   struct preflight_input every pointer borrowed for the call (for
 *                          preflight_fetch(): until done runs).
 *   struct preflight_report plain storage.
 * Threads: any thread for the pure parts; preflight_fetch() on the loop
 * thread that owns its struct dns.
 */
#ifndef DRUMBEAT_PREFLIGHT_H
#define DRUMBEAT_PREFLIGHT_H

#include <stdbool.h>
#include <stddef.h>

#include "errors.h"

struct dns;

/* ---- a snapshot of DNS answers ---- */
enum preflight_rr { PREFLIGHT_RR_TXT, PREFLIGHT_RR_ADDR, PREFLIGHT_RR_MX };

#define PREFLIGHT_PENDING 1   /* status of an answer still being looked up */

struct preflight_answer {
    enum preflight_rr type;
    char *name;            /* lower case, no trailing dot */
    int status;            /* as dns.h: 0, -ENOENT, -ENODATA, -ETIMEDOUT... */
    char **values;         /* TXT strings, address text, or MX hosts by preference */
    size_t n;
    struct preflight_answer *next;
};

struct preflight_dns {
    struct preflight_answer *head;
    size_t count;
};

/* Adds (or replaces) the answer for (type, name); values are copied.
 * Returns 0 or -ENOMEM. */
int preflight_dns_set(struct preflight_dns *s, enum preflight_rr type, const char *name,
                      int status, char *const *values, size_t n);
const struct preflight_answer *preflight_dns_get(const struct preflight_dns *s,
                                                 enum preflight_rr type, const char *name);
void preflight_dns_clear(struct preflight_dns *s);

/* ---- SPF (RFC 7208) ---- */
enum spf_mech {
    SPF_ALL, SPF_INCLUDE, SPF_A, SPF_MX, SPF_PTR, SPF_IP4, SPF_IP6, SPF_EXISTS,
};

struct spf_term {
    char qualifier;        /* '+', '-', '~', '?' */
    enum spf_mech mech;
    char *text;            /* the term as written, "include:_spf.example.com" */
    char *domain;          /* target domain, NULL = the current domain */
    unsigned char addr[16];/* ip4 (first 4 bytes) / ip6 */
    int cidr4, cidr6;      /* prefix lengths; 32 / 128 when absent */
};

struct spf_record {
    struct spf_term *terms;
    size_t n;
    char *redirect;        /* redirect= target or NULL */
};

/* True when txt is an SPF record ("v=spf1" then a space or the end). */
bool spf_is_record(const char *txt);
/* Parses an SPF record. Returns 0, -EINVAL (err: where = the term, what =
 * what was expected) or -ENOMEM. Unknown modifiers are ignored (RFC 7208 6). */
int spf_parse(const char *txt, struct spf_record *out, struct errbuf *err);
void spf_record_clear(struct spf_record *r);

enum spf_result {
    SPF_NONE, SPF_NEUTRAL, SPF_PASS, SPF_FAIL, SPF_SOFTFAIL, SPF_TEMPERROR, SPF_PERMERROR,
};
const char *spf_result_format(enum spf_result r);

/* The outcome of one check_host() and why. */
struct spf_verdict {
    enum spf_result result;
    char matched[300];     /* top-level term that decided it ("include:x"), or "" */
    char why[512];         /* for errors: what went wrong, where */
    int lookups;           /* DNS-querying terms used (limit 10) */
};

/* RFC 7208 check_host(ip, domain) over the snapshot, with the limits of 10
 * DNS-querying terms and 2 void lookups. ip is text ("192.0.2.1"). An
 * answer missing from the snapshot is a temperror. */
void spf_check_host(const struct preflight_dns *s, const char *domain, const char *ip,
                    struct spf_verdict *out);

/* The SPF records among a name's TXT strings: returns how many, and the
 * first in *first. */
size_t spf_find(char *const *txts, size_t n, const char **first);

/* ---- DMARC (RFC 7489) and DKIM (RFC 6376) ---- */
struct dmarc_record {
    char policy[16];       /* "none", "quarantine", "reject" */
    char subpolicy[16];    /* sp=, or "" */
    char rua[256];         /* or "" */
    int pct;               /* 100 when absent */
};
int dmarc_parse(const char *txt, struct dmarc_record *out, struct errbuf *err);

struct dkim_key {
    char key_type[16];     /* "rsa" (the default) or "ed25519" */
    size_t key_len;        /* length of p= (base64 characters); 0 = revoked */
    bool testing;          /* t=y */
};
int dkim_parse(const char *txt, struct dkim_key *out, struct errbuf *err);

/* ---- the checks ---- */
enum preflight_status { PREFLIGHT_OK, PREFLIGHT_WARN, PREFLIGHT_FAIL, PREFLIGHT_NA };
const char *preflight_status_format(enum preflight_status s);   /* "ok", "warn", ... */

struct preflight_input {
    const char *mailbox;     /* for messages */
    const char *domain;      /* the sending address's domain */
    const char *relay_host;  /* the SMTP relay (host or IP); NULL = not applicable */
    const char *relay_na;    /* why not applicable, when relay_host is NULL */
    const char *provider;    /* channel_smtp "provider" or NULL, for hints */
    const char *selector;    /* DKIM selector or NULL */
};

#define PREFLIGHT_CHECKS 4

struct preflight_check {
    const char *name;        /* "spf", "spf_relay", "dmarc", "dkim" */
    enum preflight_status status;
    char message[768];
};

struct preflight_report {
    struct preflight_check checks[PREFLIGHT_CHECKS];
    size_t n;
};

/* The organizational domain used for DMARC's fallback: the last two labels
 * (a simplification of the public-suffix rule), or NULL when domain has two
 * labels or fewer. Returns a pointer into domain. */
const char *preflight_org_domain(const char *domain);

/* Decides every check from the snapshot. Pure. */
void preflight_evaluate(const struct preflight_input *in, const struct preflight_dns *s,
                        struct preflight_report *out);
/* True when no check failed (warnings allowed). */
bool preflight_report_ok(const struct preflight_report *r);

/* Fetches every answer preflight_evaluate() may need into s, then calls
 * done(arg) on the loop thread (never from inside this call). Lookup errors
 * are recorded as answers, not returned. Returns 0, or a negative errno and
 * then done never runs. At most PREFLIGHT_MAX_QUERIES lookups are made. */
#define PREFLIGHT_MAX_QUERIES 64
int preflight_fetch(struct dns *d, const struct preflight_input *in, struct preflight_dns *s,
                    void (*done)(void *arg), void *arg);

#endif /* DRUMBEAT_PREFLIGHT_H */
