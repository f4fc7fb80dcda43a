/* SPDX-License-Identifier: MIT */
/* daemon/dns.h: DNS lookups with c-ares, driven by a libuv loop (the ares
 * socket-state callback opens one uv_poll per socket; one uv_timer follows
 * ares_timeout()). Used by the mailbox preflight (SPF, DMARC, DKIM TXT
 * records, relay addresses, MX hosts) and by plugins through
 * host->dns_query (host_dns.c). Answers carry their TTL (dns_ttl.c).
 *
 * Every query has an explicit per-try timeout and a number of tries: c-ares
 * doubles the timeout on each round over the servers, so with one server a
 * lookup gives up after about timeout * (2^tries - 1).
 *
 * Status codes passed to callbacks:
 *   0            answers found (n >= 1)
 *   -ENOENT      the name does not exist (NXDOMAIN)
 *   -ENODATA     the name exists but has no records of that type
 *   -ETIMEDOUT   no server answered in time
 *   -ECONNREFUSED the server's port is closed (ICMP port unreachable)
 *   -EIO         the server failed (SERVFAIL), -EACCES it refused (REFUSED)
 *   -EBADMSG     the answer could not be parsed
 *   -EINVAL      the name is not a valid DNS name
 *   -ECANCELED   dns_free() ran before the answer came
 *   -ENOMEM      out of memory
 *
 * Ownership:
 *   struct dns   owned by the caller of dns_new(); dns_free() releases it;
 *                its memory goes in the uv close callbacks, so keep running
 *                the loop until it has no handles.
 *   the arrays passed to callbacks (txts, mx, addrs) are borrowed for the
 *   duration of the callback; copy what you keep.
 * Threads: loop thread only.
 */
#ifndef DRUMBEAT_DNS_H
#define DRUMBEAT_DNS_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

struct dns;

#define DNS_DEFAULT_TIMEOUT_MS 3000
#define DNS_DEFAULT_TRIES 2

struct dns_options {
    const char *servers;   /* "127.0.0.1:5353,[::1]:53"; NULL or "" = /etc/resolv.conf */
    uint64_t timeout_ms;   /* per try; 0 = DNS_DEFAULT_TIMEOUT_MS */
    int tries;             /* 0 = DNS_DEFAULT_TRIES */
};

/* One MX answer. */
struct dns_mx {
    char *host;
    int preference;
};

/* ttl_s: for status 0 the smallest TTL of the answer's records (for
 * dns_query_a, over the A and AAAA answers that were found); for -ENOENT and
 * -ENODATA the zone's negative-caching TTL (RFC 2308: min(SOA TTL, SOA
 * MINIMUM) from the authority section) when the server sent one; else 0. */
typedef void (*dns_txt_cb)(int status, char **txts, size_t n, uint32_t ttl_s, void *arg);
typedef void (*dns_mx_cb)(int status, const struct dns_mx *mx, size_t n, uint32_t ttl_s,
                          void *arg);
typedef void (*dns_addr_cb)(int status, char **addrs, size_t n, uint32_t ttl_s, void *arg);

/* A resolver on loop with the defaults above; servers as in dns_options.
 * Returns 0, -EINVAL for a bad servers list, -ENOMEM, or -EIO when c-ares
 * could not start (no usable resolv.conf). */
int dns_new(uv_loop_t *loop, const char *servers, struct dns **out);
int dns_new_opts(uv_loop_t *loop, const struct dns_options *opts, struct dns **out);

/* Cancels pending queries (their callbacks run with -ECANCELED before this
 * returns, and so do answers not yet delivered, with their own status) and
 * closes the uv handles. d may be NULL. */
void dns_free(struct dns *d);

/* Each query returns 0, and then cb runs exactly once on the loop thread,
 * never from inside this call; or a negative errno (-ENOMEM, -ECANCELED
 * while closing) and then cb never runs. */

/* TXT records of name; each record's strings are joined (RFC 7208 3.3). */
int dns_query_txt(struct dns *d, const char *name, dns_txt_cb cb, void *arg);
/* MX records of name, sorted by preference (then by host). */
int dns_query_mx(struct dns *d, const char *name, dns_mx_cb cb, void *arg);
/* A and AAAA records of name, as text ("192.0.2.1", "2001:db8::1"); IPv4
 * first. Fails only when both lookups found nothing. */
int dns_query_a(struct dns *d, const char *name, dns_addr_cb cb, void *arg);

/* A plain sentence for a status above ("the name does not exist"). */
const char *dns_status_text(int status);

#endif /* DRUMBEAT_DNS_H */
