/* SPDX-License-Identifier: MIT */
/* tests/plugins/t_enrich_mx.c: plugins/enrich_mx through the real loader
 * (dlopen of the built .so) and the host's dns_query service (dns.c on a
 * real uv loop), against a real dnsmasq serving an authoritative zone
 * "test" (so negative answers carry an SOA): MX records give "deliverable"
 * and the best host, with the records' TTL as the cache lifetime (clamped by
 * max_cache_ttl); a domain with only an address is deliverable (implicit
 * MX); NXDOMAIN, no records and a null MX are "undeliverable" (and the
 * email too when the lead has one) for the negative TTL; a dead server is
 * RETRY, never undeliverable; cache keys and provides; no resolver means
 * -ENOSYS; and plugins freed with a query in flight hear -ECANCELED before
 * fini and never again (ASan watches the late answer). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config.h"
#include "dns.h"
#include "log.h"
#include "plugin_loader.h"
#include "plugin_test_util.h"
#include "tap.h"

#define AUTH_TTL 7200

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

/* A UDP port free right now: bound to 0 by us, then released. */
static int free_udp_port(void)
{
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof(sa);
    int fd = socket(AF_INET, SOCK_DGRAM, 0), port = 0;

    if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
        getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
        port = ntohs(sa.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

static pid_t spawn(const char *bin, int port)
{
    char portarg[32], ttlarg[32];
    pid_t pid;

    snprintf(portarg, sizeof(portarg), "--port=%d", port);
    snprintf(ttlarg, sizeof(ttlarg), "--auth-ttl=%d", AUTH_TTL);
    if ((pid = fork()) != 0)
        return pid;
    if (freopen("/dev/null", "w", stderr) == NULL)
        _exit(127);
    execl(bin, bin, "--no-daemon", "--conf-file=/dev/null", "--no-resolv", "--no-hosts", portarg,
          "--listen-address=127.0.0.1", "--bind-interfaces", "--auth-zone=test",
          "--auth-server=ns.test,127.0.0.1", ttlarg, "--local-ttl=300",
          "--mx-host=mx.test,backup.mx.test,20", "--mx-host=mx.test,mail.mx.test,10",
          "--mx-host=nullmx.test,.,0", "--host-record=aonly.test,127.0.0.5",
          "--txt-record=txtonly.test,hello", (char *)NULL);
    _exit(127);
}

struct probe {
    int calls, status;
};

static void on_probe(int status, const struct dns_mx *mx, size_t n, uint32_t ttl_s, void *arg)
{
    struct probe *pr = arg;
    pr->calls++;
    pr->status = status;
}

static bool probe_done(void *arg)
{
    return ((struct probe *)arg)->calls > 0;
}

/* Starts dnsmasq and waits until it answers on *dns; returns the port or 0. */
static int start_dnsmasq(uv_loop_t *loop, struct dns **dns)
{
    const char *bin = find_dnsmasq();
    char servers[64];

    if (bin == NULL)
        return 0;
    for (int attempt = 0; attempt < 5; attempt++) {
        int port = free_udp_port();
        dnsmasq_pid = spawn(bin, port);
        snprintf(servers, sizeof(servers), "127.0.0.1:%d", port);
        struct dns_options o = { .servers = servers, .timeout_ms = 300, .tries = 2 };
        if (dns_new_opts(loop, &o, dns) != 0)
            return 0;
        for (int i = 0; i < 50; i++) {
            struct probe pr = { 0 };
            if (waitpid(dnsmasq_pid, NULL, WNOHANG) == dnsmasq_pid) {
                dnsmasq_pid = 0;   /* the port was taken meanwhile: try another */
                break;
            }
            if (dns_query_mx(*dns, "mx.test", on_probe, &pr) == 0)
                test_run_until(loop, probe_done, &pr, 2000);
            if (pr.status == 0 && pr.calls == 1)
                return port;
            usleep(50000);
        }
        stop_dnsmasq();
        dns_free(*dns);
        *dns = NULL;
    }
    return 0;
}

struct got {
    int calls;
    struct drumbeat_result res;
    char detail[512];
    json_t *attrs;
    int64_t cache_ttl_ms;
};

static void on_enrich(void *arg, const struct drumbeat_result *res, json_t *attrs,
                      int64_t cache_ttl_ms)
{
    struct got *g = arg;
    g->calls++;
    g->res = *res;
    snprintf(g->detail, sizeof(g->detail), "%s", res->detail ? res->detail : "");
    json_decref(g->attrs);
    g->attrs = attrs;
    g->cache_ttl_ms = cache_ttl_ms;
}

static bool got_one(void *arg)
{
    return ((struct got *)arg)->calls > 0;
}

static const char *attr(const struct got *g, const char *key)
{
    return json_string_value(json_object_get(g->attrs, key));
}

/* Enriches lead (a JSON text) with enricher and waits for the answer. */
static void enrich(uv_loop_t *loop, struct plugins *p, const char *enricher, const char *lead,
                   struct got *g)
{
    json_t *l = json_loads(lead, 0, NULL);

    json_decref(g->attrs);
    memset(g, 0, sizeof(*g));
    int rc = plugins_enrich(p, enricher, l, on_enrich, g);
    if (rc != 0)
        tap_diag("plugins_enrich(%s, %s) refused: %d", enricher, lead, rc);
    else
        test_run_until(loop, got_one, g, 10000);
    json_decref(l);
}

static int key_of(struct plugins *p, const char *lead, char *buf, size_t cap)
{
    json_t *l = json_loads(lead, 0, NULL);
    buf[0] = '\0';
    int rc = plugins_enrich_cache_key(p, "mx", l, buf, cap);
    json_decref(l);
    return rc;
}

int main(void)
{
    uv_loop_t loop;
    struct dns *dns = NULL;
    struct plugins *p = NULL, *p2 = NULL, *p3 = NULL;
    struct got g = { 0 };
    char so[600], key[128];

    uv_loop_init(&loop);
    if (start_dnsmasq(&loop, &dns) == 0) {
        test_loop_finish(&loop);
        tap_skip_all(find_dnsmasq() == NULL ? "needs dnsmasq (Debian package dnsmasq-base)"
                                            : "dnsmasq did not start");
    }
    atexit(stop_dnsmasq);
    tap_plan(35);
    snprintf(so, sizeof(so), "%s", tap_buildpath("plugins/enrich_mx/.libs/enrich_mx.so"));

    struct config_plugin_instance ci[] = {
        test_instance("mx", so, NULL),
        test_instance("mx1h", so, json_pack("{s:s}", "max_cache_ttl", "1h")),
    };
    struct config cfg = { .path = "mx.json", .enrichers = ci, .n_enrichers = 2 };

    log_set_level(LOG_LEVEL_DEBUG);
    test_capture_start();
    plugins_new(&loop, NULL, NULL, &p);
    plugins_set_dns(p, dns);
    plugins_load(p, &cfg, NULL);

    const char *const *prov = plugins_enricher_provides(p, "mx");
    tap_ok(prov != NULL && prov[0] != NULL && strcmp(prov[0], "domain_status") == 0 &&
           prov[1] != NULL && strcmp(prov[1], "email_status") == 0 && prov[2] == NULL,
           "provides: domain_status, email_status");
    tap_ok(key_of(p, "{\"email\": \"Ada@MX.Test\"}", key, sizeof(key)) == 0 &&
           strcmp(key, "mx:mx.test") == 0, "cache key from the email, lower-cased (%s)", key);
    tap_ok(key_of(p, "{\"domain\": \" Example.ORG. \"}", key, sizeof(key)) == 0 &&
           strcmp(key, "mx:example.org") == 0, "cache key from the domain field (%s)", key);
    tap_ok(key_of(p, "{\"email\": \"not-an-address\", \"domain\": \"b.test\"}", key,
                  sizeof(key)) == 0 && strcmp(key, "mx:b.test") == 0,
           "an email without a domain falls back to the domain field");
    tap_is_int(key_of(p, "{\"first_name\": \"Ada\"}", key, sizeof(key)), -ENOENT,
               "no email and no domain: -ENOENT");
    tap_is_int(key_of(p, "{\"domain\": \"not a domain\"}", key, sizeof(key)), -ENOENT,
               "a domain that is no DNS name: -ENOENT");

    /* MX records: the best one, the records' TTL. */
    enrich(&loop, p, "mx", "{\"email\": \"ada@mx.test\"}", &g);
    tap_is_int(g.res.outcome, DRUMBEAT_DONE, "MX: DONE");
    tap_is_str(attr(&g, "domain_status"), "deliverable", "MX: deliverable");
    tap_is_str(attr(&g, "mx"), "mail.mx.test", "MX: the most preferred host");
    tap_ok(json_object_get(g.attrs, "email_status") == NULL,
           "MX: the email is not called verified (no email_status)");
    tap_is_int(g.cache_ttl_ms, AUTH_TTL * 1000LL, "MX: cached for the records' TTL");
    enrich(&loop, p, "mx1h", "{\"email\": \"ada@mx.test\"}", &g);
    tap_is_int(g.cache_ttl_ms, 3600000, "max_cache_ttl 1h caps the TTL");

    /* Only an address: implicit MX. */
    enrich(&loop, p, "mx", "{\"domain\": \"AOnly.test\"}", &g);
    tap_is_str(attr(&g, "domain_status"), "deliverable", "A only: deliverable (implicit MX)");
    tap_is_str(attr(&g, "mx"), "aonly.test", "A only: the domain itself is the mail host");
    tap_is_int(g.cache_ttl_ms, AUTH_TTL * 1000LL, "A only: the address's TTL");

    /* Nothing there. */
    enrich(&loop, p, "mx", "{\"email\": \"bob@nothing.test\"}", &g);
    tap_is_int(g.res.outcome, DRUMBEAT_DONE, "NXDOMAIN: DONE (an answer, not a failure)");
    tap_is_str(attr(&g, "domain_status"), "undeliverable", "NXDOMAIN: undeliverable");
    tap_is_str(attr(&g, "email_status"), "undeliverable", "... and so is the email");
    tap_is_int(g.cache_ttl_ms, AUTH_TTL * 1000LL, "NXDOMAIN: cached for the SOA negative TTL");
    tap_contains(g.detail, "NXDOMAIN", "NXDOMAIN: the detail says so");
    enrich(&loop, p, "mx", "{\"domain\": \"txtonly.test\"}", &g);
    tap_is_str(attr(&g, "domain_status"), "undeliverable", "no MX, no address: undeliverable");
    tap_ok(json_object_get(g.attrs, "email_status") == NULL,
           "... without an email nothing is said about one");
    tap_is_int(g.cache_ttl_ms, AUTH_TTL * 1000LL, "... for the negative TTL");
    enrich(&loop, p, "mx", "{\"email\": \"eve@nullmx.test\"}", &g);
    tap_is_str(attr(&g, "domain_status"), "undeliverable", "null MX (RFC 7505): undeliverable");
    tap_is_str(attr(&g, "email_status"), "undeliverable", "... the email too");

    /* No resolver: the host says -ENOSYS and the op is not made. */
    plugins_new(&loop, NULL, NULL, &p3);
    plugins_load(p3, &cfg, NULL);
    json_t *lead = json_pack("{s:s}", "email", "ada@mx.test");
    tap_is_int(plugins_enrich(p3, "mx", lead, on_enrich, &g), -ENOSYS,
               "without plugins_set_dns: -ENOSYS");
    plugins_free(p3);

    /* Plugins freed with a query in flight: the plugin hears -ECANCELED
     * before fini; the real answer that comes later is dropped. */
    struct got gone = { 0 };
    struct probe pr = { 0 };
    plugins_new(&loop, NULL, NULL, &p2);
    plugins_set_dns(p2, dns);
    plugins_load(p2, &cfg, NULL);
    tap_is_int(plugins_enrich(p2, "mx", lead, on_enrich, &gone), 0, "a query goes out");
    plugins_free(p2);
    dns_query_mx(dns, "mx.test", on_probe, &pr);   /* answered after the orphan */
    test_run_until(&loop, probe_done, &pr, 5000);
    test_run_for(&loop, 100);
    tap_ok(pr.status == 0 && gone.calls == 0,
           "after the answer: nothing delivered for the freed plugins (probe %d)", pr.status);

    /* The server gone: a failed lookup, not a negative answer. */
    stop_dnsmasq();
    enrich(&loop, p, "mx", "{\"email\": \"ada@mx.test\"}", &g);
    tap_is_int(g.res.outcome, DRUMBEAT_RETRY, "DNS server down: RETRY");
    tap_ok(g.attrs == NULL || json_object_get(g.attrs, "domain_status") == NULL,
           "... and nothing is called undeliverable");
    tap_contains(g.detail, "MX lookup for mx.test failed", "... the detail says what failed");
    tap_is_int(g.cache_ttl_ms, 0, "... and is not cached");

    plugins_free(p);
    dns_free(dns);
    int closed = test_loop_finish(&loop);
    char *logged = test_capture_end();
    tap_contains(logged != NULL ? logged : "", "the lookup was cancelled",
                 "the freed plugin heard -ECANCELED before its fini");
    tap_ok(logged != NULL && strstr(logged, "ada@") == NULL, "no email address is logged");
    free(logged);
    tap_is_int(closed, 0, "the loop closes cleanly");

    json_decref(lead);
    json_decref(g.attrs);
    for (size_t i = 0; i < 2; i++)
        test_instance_clear(&ci[i]);
    return tap_done();
}
