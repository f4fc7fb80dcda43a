/* SPDX-License-Identifier: MIT */
/* tests/unit/t_dns.c: dns.c against a real dnsmasq on 127.0.0.1 (a random
 * high port): TXT records (multi-string ones joined), MX sorted by
 * preference, A/AAAA as text, NXDOMAIN vs no data, a server that never
 * answers (timeout) and a closed port, callbacks never from inside the
 * call, dns_free() cancelling what is pending, and a loop that closes. */
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <uv.h>

#include "dns.h"
#include "tap.h"

static pid_t dnsmasq_pid;

static const char *find_dnsmasq(void)
{
    static const char *const paths[] = { "/usr/sbin/dnsmasq", "/usr/bin/dnsmasq",
                                         "/sbin/dnsmasq", NULL };
    for (size_t i = 0; paths[i] != NULL; i++)
        if (access(paths[i], X_OK) == 0)
            return paths[i];
    return NULL;
}

static void stop_dnsmasq(void)
{
    if (dnsmasq_pid > 0) {
        kill(dnsmasq_pid, SIGTERM);
        waitpid(dnsmasq_pid, NULL, 0);
        dnsmasq_pid = 0;
    }
}

static pid_t spawn(const char *bin, int port)
{
    char portarg[32];
    pid_t pid;

    snprintf(portarg, sizeof(portarg), "--port=%d", port);
    if ((pid = fork()) != 0)
        return pid;
    if (freopen("/dev/null", "w", stderr) == NULL)
        _exit(127);
    execl(bin, bin, "--no-daemon", portarg, "--listen-address=127.0.0.1", "--bind-interfaces",
          "--no-resolv", "--no-hosts", "--conf-file=/dev/null", "--local=/test/",
          "--txt-record=example.test,v=spf1 ip4:127.0.0.0/8 -all",
          "--txt-record=example.test,google-site-verification=abc",
          "--txt-record=long.test,part one ,part two",
          "--host-record=relay.example.test,127.0.0.2",
          "--host-record=dual.test,127.0.0.3,::1",
          "--mx-host=mx.test,c.mx.test,30", "--mx-host=mx.test,a.mx.test,10",
          "--mx-host=mx.test,b.mx.test,20", "--local-ttl=300", (char *)NULL);
    _exit(127);
}

struct res {
    int calls;
    int status;
    size_t n;
    char vals[4][128];
    int prefs[4];
    uint32_t ttl;
    bool in_call;          /* set while dns_query_* runs */
    bool called_inside;
};

static bool *in_call_flag;

static void on_strs(int status, char **v, size_t n, uint32_t ttl_s, void *arg)
{
    struct res *r = arg;
    r->calls++;
    r->status = status;
    r->n = n;
    r->ttl = ttl_s;
    r->called_inside = r->called_inside || (in_call_flag != NULL && *in_call_flag);
    for (size_t i = 0; i < n && i < 4; i++)
        snprintf(r->vals[i], sizeof(r->vals[i]), "%s", v[i]);
}

static void on_mx(int status, const struct dns_mx *mx, size_t n, uint32_t ttl_s, void *arg)
{
    struct res *r = arg;
    r->calls++;
    r->status = status;
    r->n = n;
    r->ttl = ttl_s;
    for (size_t i = 0; i < n && i < 4; i++) {
        snprintf(r->vals[i], sizeof(r->vals[i]), "%s", mx[i].host);
        r->prefs[i] = mx[i].preference;
    }
}

/* Asks name's TXT on a fresh resolver and runs the loop until it is done. */
static void txt(uv_loop_t *loop, const char *servers, uint64_t timeout_ms, int tries,
                const char *name, struct res *r)
{
    struct dns_options o = { .servers = servers, .timeout_ms = timeout_ms, .tries = tries };
    struct dns *d;
    bool in_call = true;

    memset(r, 0, sizeof(*r));
    r->status = 12345;
    if (dns_new_opts(loop, &o, &d) != 0)
        return;
    in_call_flag = &in_call;
    dns_query_txt(d, name, on_strs, r);
    in_call = false;
    while (r->calls == 0 && uv_run(loop, UV_RUN_ONCE) != 0)
        ;
    in_call_flag = NULL;
    dns_free(d);
    uv_run(loop, UV_RUN_DEFAULT);
}

/* Starts dnsmasq on a random free port; returns the port or 0. */
static int start_dnsmasq(uv_loop_t *loop)
{
    const char *bin = find_dnsmasq();
    char servers[64];
    struct res r;

    if (bin == NULL)
        return 0;
    srand((unsigned)getpid() ^ (unsigned)uv_hrtime());
    for (int attempt = 0; attempt < 5; attempt++) {
        int port = 20000 + rand() % 40000;
        dnsmasq_pid = spawn(bin, port);
        snprintf(servers, sizeof(servers), "127.0.0.1:%d", port);
        for (int i = 0; i < 100; i++) {
            if (waitpid(dnsmasq_pid, NULL, WNOHANG) == dnsmasq_pid) {
                dnsmasq_pid = 0;   /* the port was taken: try another */
                break;
            }
            txt(loop, servers, 200, 1, "example.test", &r);
            if (r.status == 0)
                return port;
            usleep(50000);
        }
        stop_dnsmasq();
    }
    return 0;
}

int main(void)
{
    uv_loop_t loop;
    struct res r;
    char servers[64];
    struct dns *d;

    uv_loop_init(&loop);
    int port = start_dnsmasq(&loop);
    if (port == 0) {
        uv_loop_close(&loop);
        tap_skip_all(find_dnsmasq() == NULL ? "needs dnsmasq (Debian package dnsmasq-base)"
                                            : "dnsmasq did not start");
    }
    atexit(stop_dnsmasq);
    snprintf(servers, sizeof(servers), "127.0.0.1:%d", port);

    txt(&loop, servers, 1000, 2, "example.test", &r);
    tap_ok(r.status == 0 && r.n == 2, "TXT: both records of example.test (status %d, n %zu)",
           r.status, r.n);
    tap_ok((strcmp(r.vals[0], "v=spf1 ip4:127.0.0.0/8 -all") == 0) !=
           (strcmp(r.vals[1], "v=spf1 ip4:127.0.0.0/8 -all") == 0), "TXT: the SPF text whole");
    tap_ok(!r.called_inside && r.calls == 1, "the callback ran once, not inside the call");
    txt(&loop, servers, 1000, 2, "long.test", &r);
    tap_ok(r.status == 0 && r.n == 1 && strcmp(r.vals[0], "part one part two") == 0,
           "TXT: a record's strings are joined (got \"%s\")", r.vals[0]);
    tap_is_int(r.ttl, 300, "TXT: the record's TTL (--local-ttl) is reported");
    txt(&loop, servers, 1000, 2, "nothing.test", &r);
    tap_is_int(r.status, -ENOENT, "TXT: a name that does not exist is -ENOENT");
    tap_is_int(r.ttl, 0, "TXT: NXDOMAIN without an SOA: TTL 0 (unknown)");
    txt(&loop, servers, 1000, 2, "relay.example.test", &r);
    tap_is_int(r.status, -ENODATA, "TXT: a name without TXT records is -ENODATA");
    txt(&loop, servers, 1000, 2, "bad..name.test", &r);
    tap_ok(r.calls == 1 && r.status == -EINVAL && !r.called_inside,
           "a bad name fails with -EINVAL, still through the loop (status %d)", r.status);

    tap_is_int(dns_new(&loop, "not-an-address:x", &d), -EINVAL, "a bad servers list: -EINVAL");

    /* MX, A/AAAA and a cancelled query on one resolver */
    struct res mx = { 0 }, a = { 0 }, dual = { 0 }, none = { 0 }, cancelled = { 0 };
    tap_is_int(dns_new(&loop, servers, &d), 0, "dns_new with a server list");
    dns_query_mx(d, "mx.test", on_mx, &mx);
    dns_query_a(d, "relay.example.test", on_strs, &a);
    dns_query_a(d, "dual.test", on_strs, &dual);
    dns_query_a(d, "nothing.test", on_strs, &none);
    while ((mx.calls == 0 || a.calls == 0 || dual.calls == 0 || none.calls == 0) &&
           uv_run(&loop, UV_RUN_ONCE) != 0)
        ;
    tap_ok(mx.status == 0 && mx.n == 3 && strcmp(mx.vals[0], "a.mx.test") == 0 &&
           mx.prefs[0] == 10 && strcmp(mx.vals[1], "b.mx.test") == 0 &&
           strcmp(mx.vals[2], "c.mx.test") == 0 && mx.prefs[2] == 30,
           "MX: sorted by preference (%s %s %s)", mx.vals[0], mx.vals[1], mx.vals[2]);
    tap_is_int(mx.ttl, 300, "MX: the records' TTL is reported");
    tap_ok(a.status == 0 && a.n == 1 && strcmp(a.vals[0], "127.0.0.2") == 0,
           "A: the address as text");
    tap_ok(dual.status == 0 && dual.n == 2 && strcmp(dual.vals[0], "127.0.0.3") == 0 &&
           strcmp(dual.vals[1], "::1") == 0, "A/AAAA: IPv4 first, then IPv6");
    tap_ok(a.ttl == 300 && dual.ttl == 300, "A/AAAA: the TTL of the answers found (%u, %u)",
           a.ttl, dual.ttl);
    tap_is_int(none.status, -ENOENT, "A: NXDOMAIN is -ENOENT");
    dns_query_txt(d, "example.test", on_strs, &cancelled);
    dns_free(d);
    tap_ok(cancelled.calls == 1 && cancelled.status == -ECANCELED,
           "dns_free: a pending query ends -ECANCELED, exactly once");
    uv_run(&loop, UV_RUN_DEFAULT);

    /* A server that never answers: a bound UDP socket nobody reads. */
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t slen = sizeof(sin);
    bind(s, (struct sockaddr *)&sin, sizeof(sin));
    getsockname(s, (struct sockaddr *)&sin, &slen);
    snprintf(servers, sizeof(servers), "127.0.0.1:%d", ntohs(sin.sin_port));
    uint64_t t0 = uv_hrtime();
    txt(&loop, servers, 200, 2, "example.test", &r);
    uint64_t ms = (uv_hrtime() - t0) / 1000000;
    tap_is_int(r.status, -ETIMEDOUT, "a silent server: -ETIMEDOUT");
    tap_ok(ms >= 500 && ms < 3000, "after about 200ms + 400ms (two tries): %llums",
           (unsigned long long)ms);
    close(s);
    /* The same port, now closed: ICMP port unreachable. */
    txt(&loop, servers, 200, 2, "example.test", &r);
    tap_ok(r.status == -ECONNREFUSED || r.status == -ETIMEDOUT,
           "a closed port fails fast or times out (status %d: %s)", r.status,
           dns_status_text(r.status));

    stop_dnsmasq();
    tap_is_int(uv_loop_close(&loop), 0, "the loop closes: no handle left behind");
    return tap_done();
}
