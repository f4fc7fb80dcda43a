/* SPDX-License-Identifier: MIT */
/* daemon/dns.c: c-ares on the libuv loop. c-ares tells us which sockets it
 * wants watched (socket-state callback): each gets a uv_poll, and a uv_timer
 * follows ares_timeout() so retries and timeouts fire without traffic.
 * Answers are parsed in the ares callback and queued; a zero-delay timer
 * hands them to the caller, so a callback never runs inside dns_query_*()
 * even when c-ares fails a query synchronously (bad name, no memory). */
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <ares.h>

#include "dns.h"
#include "dns_ttl.h"
#include "log.h"

struct dns_sock {
    uv_poll_t poll;
    ares_socket_t fd;
    struct dns *d;
    struct dns_sock *next;
};

enum dns_kind { DNS_KIND_TXT, DNS_KIND_MX, DNS_KIND_ADDR };

struct dns_req;

/* One ares query of a request; ADDR requests have two (A and AAAA). */
struct dns_sub {
    struct dns_req *req;
    int family;
};

struct dns_req {
    struct dns *d;
    enum dns_kind kind;
    union {
        dns_txt_cb txt;
        dns_mx_cb mx;
        dns_addr_cb addr;
    } cb;
    void *arg;
    int pending;            /* ares queries still out */
    int status4, status6;   /* per family, for ADDR */
    int status;             /* the final status */
    uint32_t ttl4, ttl6;    /* per family (the only one for TXT and MX: ttl4) */
    bool known4, known6;    /* the message gave that TTL */
    uint32_t ttl;           /* the final TTL, 0 when unknown */
    char **strs;            /* TXT records or addresses */
    struct dns_mx *mx;
    size_t n;
    struct dns_sub sub4, sub6;
    struct dns_req *next;   /* in d's done list */
};

struct dns {
    uv_loop_t *loop;               /* borrowed */
    ares_channel ch;
    bool ch_ok;
    uv_timer_t timer;              /* ares_timeout() */
    uv_timer_t deliver;            /* hands finished requests to callers */
    struct dns_sock *socks;
    struct dns_req *done_head, *done_tail;
    int open_handles;
    bool closing;
};

static int dns_status(int ares_status)
{
    switch (ares_status) {
    case ARES_SUCCESS: return 0;
    case ARES_ENODATA: return -ENODATA;
    case ARES_ENOTFOUND: return -ENOENT;
    case ARES_ETIMEOUT: return -ETIMEDOUT;
    case ARES_ECONNREFUSED: return -ECONNREFUSED;
    case ARES_ESERVFAIL: return -EIO;
    case ARES_EREFUSED: return -EACCES;
    case ARES_EFORMERR: case ARES_EBADRESP: return -EBADMSG;
    case ARES_ENOTIMP: return -EOPNOTSUPP;
    case ARES_EBADNAME: return -EINVAL;
    case ARES_ENOMEM: return -ENOMEM;
    case ARES_ECANCELLED: case ARES_EDESTRUCTION: return -ECANCELED;
    default: return -EIO;
    }
}

const char *dns_status_text(int status)
{
    switch (status) {
    case 0: return "found";
    case -ENOENT: return "the name does not exist (NXDOMAIN)";
    case -ENODATA: return "the name has no records of that type";
    case -ETIMEDOUT: return "no DNS server answered in time (timed out)";
    case -ECONNREFUSED: return "the DNS server is not answering (connection refused)";
    case -EIO: return "the DNS server failed (SERVFAIL)";
    case -EACCES: return "the DNS server refused the query (REFUSED)";
    case -EBADMSG: return "the DNS answer could not be parsed";
    case -EOPNOTSUPP: return "the DNS server does not implement the query";
    case -EINVAL: return "not a valid DNS name";
    case -ECANCELED: return "the lookup was cancelled";
    case -ENOMEM: return "out of memory";
    default: return "the lookup failed";
    }
}

static void strv_free(char **v, size_t n)
{
    for (size_t i = 0; i < n && v != NULL; i++)
        free(v[i]);
    free(v);
}

static void req_free(struct dns_req *r)
{
    strv_free(r->strs, r->n);
    if (r->mx != NULL)
        for (size_t i = 0; i < r->n; i++)
            free(r->mx[i].host);
    free(r->mx);
    free(r);
}

static void req_call(struct dns_req *r)
{
    switch (r->kind) {
    case DNS_KIND_TXT: r->cb.txt(r->status, r->strs, r->n, r->ttl, r->arg); break;
    case DNS_KIND_MX: r->cb.mx(r->status, r->mx, r->n, r->ttl, r->arg); break;
    case DNS_KIND_ADDR: r->cb.addr(r->status, r->strs, r->n, r->ttl, r->arg); break;
    }
}

/* Calls every finished request; callbacks may add queries (and so more
 * finished requests) or call dns_free(). */
static void drain(struct dns *d)
{
    while (d->done_head != NULL) {
        struct dns_req *r = d->done_head;
        d->done_head = r->next;
        if (d->done_head == NULL)
            d->done_tail = NULL;
        req_call(r);
        req_free(r);
    }
}

static void on_deliver(uv_timer_t *t)
{
    drain(t->data);
}

static void req_done(struct dns_req *r)
{
    struct dns *d = r->d;

    r->next = NULL;
    if (d->done_tail != NULL)
        d->done_tail->next = r;
    else
        d->done_head = r;
    d->done_tail = r;
    if (!d->closing)
        uv_timer_start(&d->deliver, on_deliver, 0, 0);
}

static int push_str(struct dns_req *r, const char *s, size_t len)
{
    char **v = realloc(r->strs, (r->n + 1) * sizeof(*v));
    if (v == NULL)
        return -ENOMEM;
    r->strs = v;
    if ((v[r->n] = strndup(s, len)) == NULL)
        return -ENOMEM;
    r->n++;
    return 0;
}

/* Joins each record's character-strings into one string. */
static int parse_txt(struct dns_req *r, const unsigned char *abuf, int alen)
{
    struct ares_txt_ext *head = NULL;
    int rc = dns_status(ares_parse_txt_reply_ext(abuf, alen, &head));

    for (struct ares_txt_ext *t = head; t != NULL && rc == 0; t = t->next) {
        if (t->record_start || r->n == 0) {
            rc = push_str(r, (const char *)t->txt, t->length);
            continue;
        }
        char *last = r->strs[r->n - 1];
        size_t have = strlen(last), add = strnlen((const char *)t->txt, t->length);
        char *joined = realloc(last, have + add + 1);
        if (joined == NULL) {
            rc = -ENOMEM;
            break;
        }
        memcpy(joined + have, t->txt, add);
        joined[have + add] = '\0';
        r->strs[r->n - 1] = joined;
    }
    ares_free_data(head);
    return rc;
}

static int mx_cmp(const void *a, const void *b)
{
    const struct dns_mx *x = a, *y = b;
    if (x->preference != y->preference)
        return x->preference < y->preference ? -1 : 1;
    return strcasecmp(x->host, y->host);
}

static int parse_mx(struct dns_req *r, const unsigned char *abuf, int alen)
{
    struct ares_mx_reply *head = NULL;
    int rc = dns_status(ares_parse_mx_reply(abuf, alen, &head));
    size_t n = 0;

    for (struct ares_mx_reply *m = head; m != NULL; m = m->next)
        n++;
    if (rc == 0 && n > 0) {
        r->mx = calloc(n, sizeof(*r->mx));
        if (r->mx == NULL)
            rc = -ENOMEM;
    }
    for (struct ares_mx_reply *m = head; m != NULL && rc == 0; m = m->next) {
        r->mx[r->n].preference = m->priority;
        if ((r->mx[r->n].host = strdup(m->host)) == NULL)
            rc = -ENOMEM;
        else
            r->n++;
    }
    ares_free_data(head);
    if (rc == 0 && r->n == 0)
        rc = -ENODATA;
    /* c-ares returns MX records in answer order, which servers shuffle. */
    if (rc == 0)
        qsort(r->mx, r->n, sizeof(*r->mx), mx_cmp);
    return rc;
}

static int parse_addr(struct dns_req *r, int family, const unsigned char *abuf, int alen)
{
    struct hostent *host = NULL;
    char text[INET6_ADDRSTRLEN];
    int rc;

    if (family == AF_INET)
        rc = dns_status(ares_parse_a_reply(abuf, alen, &host, NULL, NULL));
    else
        rc = dns_status(ares_parse_aaaa_reply(abuf, alen, &host, NULL, NULL));
    for (char **a = host != NULL ? host->h_addr_list : NULL; rc == 0 && a != NULL && *a != NULL;
         a++)
        if (inet_ntop(family, *a, text, sizeof(text)) != NULL)
            rc = push_str(r, text, strlen(text));
    if (host != NULL)
        ares_free_hostent(host);
    return rc;
}

/* Both families done: any address wins; otherwise a real error beats
 * NXDOMAIN, which beats "no data". */
static int addr_status(const struct dns_req *r)
{
    if (r->n > 0)
        return 0;
    int a = r->status4, b = r->status6;
    bool soft_a = a == 0 || a == -ENOENT || a == -ENODATA;
    bool soft_b = b == 0 || b == -ENOENT || b == -ENODATA;
    if (!soft_a)
        return a;
    if (!soft_b)
        return b;
    if (a == -ENOENT || b == -ENOENT)
        return -ENOENT;
    return -ENODATA;
}

/* The TTL for the final status: the families that decided it (those with
 * answers when any had some, else the negative ones), smallest first. */
static uint32_t final_ttl(const struct dns_req *r)
{
    bool use4 = r->known4, use6 = r->known6;

    if (r->status != 0 && r->status != -ENOENT && r->status != -ENODATA)
        return 0;
    if (r->kind == DNS_KIND_ADDR && r->status == 0) {
        use4 = use4 && r->status4 == 0;
        use6 = use6 && r->status6 == 0;
    }
    if (use4 && use6)
        return r->ttl4 < r->ttl6 ? r->ttl4 : r->ttl6;
    return use4 ? r->ttl4 : use6 ? r->ttl6 : 0;
}

static void on_answer(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
    struct dns_sub *sub = arg;
    struct dns_req *r = sub->req;
    int rc = dns_status(status);
    uint32_t ttl = 0;
    /* c-ares passes the message for NXDOMAIN and no-data answers too. */
    bool known = (rc == 0 || rc == -ENOENT || rc == -ENODATA) && abuf != NULL && alen > 0 &&
                 dns_answer_ttl(abuf, (size_t)alen, &ttl) == 0;

    (void)timeouts;
    if (sub->family == AF_INET6) {
        r->ttl6 = ttl;
        r->known6 = known;
    } else {
        r->ttl4 = ttl;
        r->known4 = known;
    }
    if (rc == 0 && r->kind == DNS_KIND_TXT)
        rc = parse_txt(r, abuf, alen);
    else if (rc == 0 && r->kind == DNS_KIND_MX)
        rc = parse_mx(r, abuf, alen);
    else if (rc == 0)
        rc = parse_addr(r, sub->family, abuf, alen);
    if (r->kind == DNS_KIND_ADDR) {
        if (sub->family == AF_INET)
            r->status4 = rc;
        else
            r->status6 = rc;
        rc = addr_status(r);
    }
    r->status = rc;
    if (--r->pending == 0) {
        r->ttl = final_ttl(r);
        req_done(r);
    }
}

static void rearm(struct dns *d);

static void on_timer(uv_timer_t *t)
{
    struct dns *d = t->data;
    ares_process_fd(d->ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
    rearm(d);
}

static void rearm(struct dns *d)
{
    struct timeval tv, *tvp;

    if (d->closing)
        return;
    tvp = ares_timeout(d->ch, NULL, &tv);
    if (tvp == NULL) {
        uv_timer_stop(&d->timer);
        return;
    }
    uint64_t ms = (uint64_t)tvp->tv_sec * 1000 + ((uint64_t)tvp->tv_usec + 999) / 1000;
    uv_timer_start(&d->timer, on_timer, ms, 0);
}

static void on_poll(uv_poll_t *h, int status, int events)
{
    struct dns_sock *s = h->data;
    struct dns *d = s->d;
    ares_socket_t fd = s->fd;
    /* On a poll error let c-ares read and write: it sees the error itself. */
    bool r = status < 0 || (events & UV_READABLE);
    bool w = status < 0 || (events & UV_WRITABLE);

    ares_process_fd(d->ch, r ? fd : ARES_SOCKET_BAD, w ? fd : ARES_SOCKET_BAD);
    rearm(d);
}

static void maybe_free(struct dns *d)
{
    if (--d->open_handles == 0) {
        free(d);
    }
}

static void on_sock_close(uv_handle_t *h)
{
    struct dns_sock *s = h->data;
    struct dns *d = s->d;
    free(s);
    maybe_free(d);
}

static void on_timer_close(uv_handle_t *h)
{
    maybe_free(h->data);
}

static void sock_close(struct dns *d, struct dns_sock *s)
{
    for (struct dns_sock **p = &d->socks; *p != NULL; p = &(*p)->next)
        if (*p == s) {
            *p = s->next;
            break;
        }
    uv_poll_stop(&s->poll);
    uv_close((uv_handle_t *)&s->poll, on_sock_close);
}

static void on_sock_state(void *data, ares_socket_t fd, int readable, int writable)
{
    struct dns *d = data;
    struct dns_sock *s = d->socks;

    while (s != NULL && s->fd != fd)
        s = s->next;
    if (!readable && !writable) {
        if (s != NULL)
            sock_close(d, s);
        return;
    }
    if (s == NULL) {
        if ((s = calloc(1, sizeof(*s))) == NULL) {
            log_error("dns: out of memory watching a socket");
            return;
        }
        int rc = uv_poll_init_socket(d->loop, &s->poll, fd);
        if (rc < 0) {
            /* c-ares times the query out: the failure is reported, not lost. */
            log_error("dns: cannot watch socket %d: %s", (int)fd, uv_strerror(rc));
            free(s);
            return;
        }
        s->fd = fd;
        s->d = d;
        s->poll.data = s;
        s->next = d->socks;
        d->socks = s;
        d->open_handles++;
    }
    uv_poll_start(&s->poll, (readable ? UV_READABLE : 0) | (writable ? UV_WRITABLE : 0),
                  on_poll);
}

int dns_new(uv_loop_t *loop, const char *servers, struct dns **out)
{
    struct dns_options o = { .servers = servers };
    return dns_new_opts(loop, &o, out);
}

int dns_new_opts(uv_loop_t *loop, const struct dns_options *opts, struct dns **out)
{
    struct ares_options ao = { 0 };
    struct dns *d;
    int rc;

    if (opts->tries < 0 || opts->timeout_ms > INT32_MAX)
        return -EINVAL;
    if ((d = calloc(1, sizeof(*d))) == NULL)
        return -ENOMEM;
    d->loop = loop;
    rc = dns_status(ares_library_init(ARES_LIB_INIT_ALL));
    if (rc < 0) {
        free(d);
        return rc;
    }
    ao.timeout = opts->timeout_ms > 0 ? (int)opts->timeout_ms : DNS_DEFAULT_TIMEOUT_MS;
    ao.tries = opts->tries > 0 ? opts->tries : DNS_DEFAULT_TRIES;
    ao.sock_state_cb = on_sock_state;
    ao.sock_state_cb_data = d;
    rc = ares_init_options(&d->ch, &ao,
                           ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_SOCK_STATE_CB);
    if (rc != ARES_SUCCESS) {
        rc = rc == ARES_ENOMEM ? -ENOMEM : -EIO;
        goto fail;
    }
    d->ch_ok = true;
    if (opts->servers != NULL && opts->servers[0] != '\0') {
        rc = ares_set_servers_ports_csv(d->ch, opts->servers);
        if (rc != ARES_SUCCESS) {
            rc = rc == ARES_ENOMEM ? -ENOMEM : -EINVAL;
            goto fail;
        }
    }
    uv_timer_init(loop, &d->timer);
    uv_timer_init(loop, &d->deliver);
    d->timer.data = d;
    d->deliver.data = d;
    d->open_handles = 2;
    *out = d;
    return 0;
fail:
    if (d->ch_ok)
        ares_destroy(d->ch);
    ares_library_cleanup();
    free(d);
    return rc;
}

void dns_free(struct dns *d)
{
    if (d == NULL || d->closing)
        return;
    d->closing = true;
    /* Pending queries end with ARES_EDESTRUCTION (queued as -ECANCELED) and
     * c-ares reports each socket closed, which closes its uv_poll. */
    ares_destroy(d->ch);
    ares_library_cleanup();
    drain(d);
    while (d->socks != NULL)
        sock_close(d, d->socks);
    uv_close((uv_handle_t *)&d->timer, on_timer_close);
    uv_close((uv_handle_t *)&d->deliver, on_timer_close);
}

static struct dns_req *req_new(struct dns *d, enum dns_kind kind, void *arg)
{
    struct dns_req *r = calloc(1, sizeof(*r));
    if (r == NULL)
        return NULL;
    r->d = d;
    r->kind = kind;
    r->arg = arg;
    r->sub4 = (struct dns_sub){ .req = r, .family = AF_INET };
    r->sub6 = (struct dns_sub){ .req = r, .family = AF_INET6 };
    return r;
}

static int submit(struct dns *d, struct dns_req *r, const char *name, int type)
{
    r->pending = 1;
    ares_query(d->ch, name, ns_c_in, type, on_answer, type == ns_t_aaaa ? &r->sub6 : &r->sub4);
    rearm(d);
    return 0;
}

int dns_query_txt(struct dns *d, const char *name, dns_txt_cb cb, void *arg)
{
    if (d->closing)
        return -ECANCELED;
    struct dns_req *r = req_new(d, DNS_KIND_TXT, arg);
    if (r == NULL)
        return -ENOMEM;
    r->cb.txt = cb;
    return submit(d, r, name, ns_t_txt);
}

int dns_query_mx(struct dns *d, const char *name, dns_mx_cb cb, void *arg)
{
    if (d->closing)
        return -ECANCELED;
    struct dns_req *r = req_new(d, DNS_KIND_MX, arg);
    if (r == NULL)
        return -ENOMEM;
    r->cb.mx = cb;
    return submit(d, r, name, ns_t_mx);
}

int dns_query_a(struct dns *d, const char *name, dns_addr_cb cb, void *arg)
{
    if (d->closing)
        return -ECANCELED;
    struct dns_req *r = req_new(d, DNS_KIND_ADDR, arg);
    if (r == NULL)
        return -ENOMEM;
    r->cb.addr = cb;
    /* Both queries are counted before either is sent: c-ares may finish the
     * first one synchronously. */
    r->pending = 2;
    ares_query(d->ch, name, ns_c_in, ns_t_a, on_answer, &r->sub4);
    ares_query(d->ch, name, ns_c_in, ns_t_aaaa, on_answer, &r->sub6);
    rearm(d);
    return 0;
}
