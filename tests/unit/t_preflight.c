/* SPDX-License-Identifier: MIT */
/* tests/unit/t_preflight.c: the mailbox preflight's pure parts, without DNS:
 * SPF parsing and check_host() over hand-built snapshots of DNS answers
 * (ip4/ip6 CIDR, a, mx, include chains, redirect, the 10-lookup and
 * 2-void-lookup limits), DMARC and DKIM record parsing, and the report's
 * decisions and sentences; and the config keys the preflight reads
 * (mailboxes[].dkim_selector and the "dns" section). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "preflight.h"
#include "tap.h"

static struct preflight_dns snap;

static void txt(const char *name, const char *value)
{
    char *v[1] = { (char *)value };
    preflight_dns_set(&snap, PREFLIGHT_RR_TXT, name, 0, v, value != NULL ? 1 : 0);
}

static void txt2(const char *name, const char *a, const char *b)
{
    char *v[2] = { (char *)a, (char *)b };
    preflight_dns_set(&snap, PREFLIGHT_RR_TXT, name, 0, v, 2);
}

static void missing(enum preflight_rr type, const char *name, int status)
{
    preflight_dns_set(&snap, type, name, status, NULL, 0);
}

static void addrs(const char *name, const char *a, const char *b)
{
    char *v[2] = { (char *)a, (char *)b };
    preflight_dns_set(&snap, PREFLIGHT_RR_ADDR, name, 0, v, b != NULL ? 2 : 1);
}

static enum spf_result check(const char *domain, const char *ip, struct spf_verdict *v)
{
    spf_check_host(&snap, domain, ip, v);
    return v->result;
}

static void test_spf_parse(void)
{
    struct spf_record r;
    struct errbuf err = { 0 };

    tap_ok(spf_is_record("v=spf1 -all") && spf_is_record("V=SPF1") &&
           !spf_is_record("v=spf10 -all") && !spf_is_record("spf1"),
           "spf_is_record wants \"v=spf1\" then a space or the end");
    int rc = spf_parse("v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 a mx:mail.example.com/24//64 "
                       "include:_spf.example.com exp=explain.example.com ~all "
                       "redirect=other.example.com", &r, &err);
    tap_is_int(rc, 0, "a record with every common term parses");
    tap_is_int((int64_t)r.n, 6, "six mechanisms (exp= is a modifier)");
    tap_ok(r.n == 6 && r.terms[0].mech == SPF_IP4 && r.terms[0].cidr4 == 24 &&
           r.terms[1].mech == SPF_IP6 && r.terms[1].cidr6 == 32 &&
           r.terms[2].mech == SPF_A && r.terms[2].domain == NULL &&
           r.terms[3].mech == SPF_MX && r.terms[3].cidr4 == 24 && r.terms[3].cidr6 == 64 &&
           strcmp(r.terms[3].domain, "mail.example.com") == 0 &&
           r.terms[4].mech == SPF_INCLUDE && r.terms[5].mech == SPF_ALL &&
           r.terms[5].qualifier == '~', "terms, qualifiers, domains and dual CIDRs are kept");
    tap_ok(r.redirect != NULL && strcmp(r.redirect, "other.example.com") == 0,
           "redirect= is kept");
    spf_record_clear(&r);

    static const struct { const char *txt, *where; } bad[] = {
        { "v=spf1 ip4:300.1.1.1 -all", "ip4:300.1.1.1" },
        { "v=spf1 ip4:192.0.2.1/33", "ip4:192.0.2.1/33" },
        { "v=spf1 include -all", "include" },
        { "v=spf1 frobnicate:x", "frobnicate:x" },
        { "v=spf1 redirect=a redirect=b", "redirect=b" },
        { "v=spf1 all:x", "all:x" },
        { "v=spf1 ip6:2001:db8::/129", "ip6:2001:db8::/129" },
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memset(&err, 0, sizeof(err));
        rc = spf_parse(bad[i].txt, &r, &err);
        tap_ok(rc == -EINVAL && strcmp(err.where, bad[i].where) == 0,
               "\"%s\" is rejected at \"%s\" (%s)", bad[i].txt, bad[i].where, err.what);
    }
}

static void test_spf_check(void)
{
    struct spf_verdict v;

    txt("example.com", "v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/48 -all");
    tap_is_int(check("example.com", "192.0.2.77", &v), SPF_PASS, "ip4 inside the /24 passes");
    tap_is_str(v.matched, "ip4:192.0.2.0/24", "the matching term is named");
    tap_is_int(check("example.com", "192.0.3.1", &v), SPF_FAIL, "outside the /24: -all fails");
    tap_is_int(check("example.com", "2001:db8:0:ffff::1", &v), SPF_PASS, "ip6 /48 passes");
    tap_is_int(check("example.com", "2001:db9::1", &v), SPF_FAIL, "another /48 fails");
    tap_is_int(check("Example.COM.", "192.0.2.1", &v), SPF_PASS,
               "names match regardless of case and a trailing dot");

    /* include chain: a -> b -> c, which lists the relay */
    txt("a.test", "v=spf1 include:b.test ~all");
    txt("b.test", "v=spf1 include:c.test -all");
    txt("c.test", "v=spf1 ip4:198.51.100.0/24 -all");
    tap_is_int(check("a.test", "198.51.100.9", &v), SPF_PASS, "an include chain passes");
    tap_is_str(v.matched, "include:b.test", "the top-level include is named");
    tap_is_int(v.lookups, 2, "two lookups were counted");
    tap_is_int(check("a.test", "203.0.113.5", &v), SPF_SOFTFAIL,
               "a failing include does not match; ~all decides");

    txt("noinc.test", "v=spf1 include:nospf.test -all");
    missing(PREFLIGHT_RR_TXT, "nospf.test", -ENOENT);
    tap_is_int(check("noinc.test", "192.0.2.1", &v), SPF_PERMERROR,
               "including a domain without SPF is a permerror");

    /* a and mx */
    txt("am.test", "v=spf1 a/24 mx -all");
    addrs("am.test", "203.0.113.10", "2001:db8::10");
    const char *mx[] = { "mx1.am.test", "mx2.am.test" };
    preflight_dns_set(&snap, PREFLIGHT_RR_MX, "am.test", 0, (char **)mx, 2);
    addrs("mx1.am.test", "198.51.100.1", NULL);
    addrs("mx2.am.test", "198.51.100.2", NULL);
    tap_is_int(check("am.test", "203.0.113.200", &v), SPF_PASS, "a/24 covers the /24");
    tap_is_str(v.matched, "a/24", "a/24 is the matching term");
    tap_is_int(check("am.test", "198.51.100.2", &v), SPF_PASS, "mx covers the second MX host");
    tap_is_int(check("am.test", "2001:db8::10", &v), SPF_PASS, "a matches an AAAA address");
    tap_is_int(check("am.test", "198.51.100.3", &v), SPF_FAIL, "an address of neither fails");

    /* redirect */
    txt("redir.test", "v=spf1 redirect=c.test");
    tap_is_int(check("redir.test", "198.51.100.1", &v), SPF_PASS, "redirect= passes");
    tap_is_int(check("redir.test", "192.0.2.1", &v), SPF_FAIL, "redirect= target's -all fails");

    /* 11 includes: more than 10 lookups */
    char name[32], rec[64];
    for (int i = 0; i < 12; i++) {
        snprintf(name, sizeof(name), "l%d.test", i);
        snprintf(rec, sizeof(rec), "v=spf1 include:l%d.test -all", i + 1);
        txt(name, i < 11 ? rec : "v=spf1 +all");
    }
    tap_is_int(check("l0.test", "192.0.2.1", &v), SPF_PERMERROR,
               "a chain of 11 includes exceeds the 10-lookup limit");
    tap_contains(v.why, "more than 10 DNS lookups", "the limit is named");
    tap_is_int(check("l2.test", "192.0.2.1", &v), SPF_PASS, "9 includes are within the limit");

    /* void lookups */
    txt("void.test", "v=spf1 a:v1.test a:v2.test a:v3.test -all");
    missing(PREFLIGHT_RR_ADDR, "v1.test", -ENOENT);
    missing(PREFLIGHT_RR_ADDR, "v2.test", -ENODATA);
    missing(PREFLIGHT_RR_ADDR, "v3.test", -ENOENT);
    tap_is_int(check("void.test", "192.0.2.1", &v), SPF_PERMERROR,
               "a third lookup that finds nothing is a permerror");

    txt("temp.test", "v=spf1 include:slow.test -all");
    missing(PREFLIGHT_RR_TXT, "slow.test", -ETIMEDOUT);
    tap_is_int(check("temp.test", "192.0.2.1", &v), SPF_TEMPERROR, "a timed-out include is a "
               "temperror");
    txt("gap.test", "v=spf1 include:notfetched.test -all");
    tap_is_int(check("gap.test", "192.0.2.1", &v), SPF_TEMPERROR,
               "an answer missing from the snapshot is a temperror");
    txt2("two.test", "v=spf1 -all", "v=spf1 +all");
    tap_is_int(check("two.test", "192.0.2.1", &v), SPF_PERMERROR, "two SPF records: permerror");
    txt("macro.test", "v=spf1 include:%{d}.spf.test -all");
    tap_is_int(check("macro.test", "192.0.2.1", &v), SPF_TEMPERROR,
               "a macro makes the result undecidable here");
    tap_contains(v.why, "macro", "and says why");
    txt("plain.test", "google-site-verification=abc");
    tap_is_int(check("plain.test", "192.0.2.1", &v), SPF_NONE,
               "TXT records without v=spf1: none");
    tap_is_int(check("example.com", "not-an-ip", &v), SPF_PERMERROR, "a bad IP is refused");
}

static void test_dmarc_dkim(void)
{
    struct dmarc_record d;
    struct dkim_key k;
    struct errbuf err = { 0 };

    tap_ok(dmarc_parse("v=DMARC1; p=Reject; rua=mailto:d@example.com; pct=50", &d, &err) == 0 &&
           strcmp(d.policy, "reject") == 0 && strcmp(d.rua, "mailto:d@example.com") == 0 &&
           d.pct == 50, "DMARC: policy, rua and pct are read");
    tap_ok(dmarc_parse("v=DMARC1;p=none", &d, &err) == 0 && d.pct == 100 && d.rua[0] == '\0',
           "DMARC: tags without spaces; pct defaults to 100");
    tap_ok(dmarc_parse("v=DMARC1; rua=mailto:x@example.com", &d, &err) == -EINVAL &&
           strcmp(err.where, "p") == 0, "DMARC: a record without p= is rejected");
    tap_ok(dmarc_parse("v=DMARC1; p=block", &d, &err) == -EINVAL, "DMARC: an unknown policy");
    tap_ok(dmarc_parse("p=reject; v=DMARC1", &d, &err) == -EINVAL,
           "DMARC: v=DMARC1 must come first");
    tap_ok(dmarc_parse("v=DMARC1; p=reject; pct=101", &d, &err) == -EINVAL, "DMARC: pct > 100");

    tap_ok(dkim_parse("v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQC", &k, &err) == 0 &&
           strcmp(k.key_type, "rsa") == 0 &&
           k.key_len == strlen("MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQC") && !k.testing,
           "DKIM: an rsa key is read");
    tap_ok(dkim_parse("k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=", &k, &err) == 0 &&
           strcmp(k.key_type, "ed25519") == 0, "DKIM: an ed25519 key without v=");
    tap_ok(dkim_parse("v=DKIM1; p=", &k, &err) == 0 && k.key_len == 0,
           "DKIM: an empty p= parses as revoked");
    tap_ok(dkim_parse("v=DKIM1; k=rsa", &k, &err) == -EINVAL && strcmp(err.where, "p") == 0,
           "DKIM: a record without p= is rejected");
    tap_ok(dkim_parse("v=DKIM1; k=dsa; p=abc", &k, &err) == -EINVAL, "DKIM: k=dsa is rejected");
    tap_ok(dkim_parse("k=rsa; v=DKIM1; p=abc", &k, &err) == -EINVAL, "DKIM: v= must come first");
    tap_ok(dkim_parse("v=DKIM1; t=y; p=MIGf MA0G", &k, &err) == 0 && k.testing &&
           k.key_len == 8, "DKIM: t=y and a key split by spaces");
}

static const struct preflight_check *find(const struct preflight_report *r, const char *name)
{
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->checks[i].name, name) == 0)
            return &r->checks[i];
    static const struct preflight_check none = { .name = "?", .status = PREFLIGHT_NA };
    return &none;
}

static void test_report(void)
{
    struct preflight_report rep;
    struct preflight_input in = {
        .mailbox = "ada", .domain = "example.org", .relay_host = "smtp.example.org",
        .selector = "s1",
    };

    preflight_dns_clear(&snap);
    txt("example.org", "v=spf1 include:_spf.example.org -all");
    txt("_spf.example.org", "v=spf1 ip4:203.0.113.0/28 -all");
    addrs("smtp.example.org", "203.0.113.5", NULL);
    txt("_dmarc.example.org", "v=DMARC1; p=quarantine; rua=mailto:dmarc@example.org");
    txt("s1._domainkey.example.org", "v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQ");
    preflight_evaluate(&in, &snap, &rep);
    tap_is_int((int64_t)rep.n, 4, "four checks");
    tap_ok(preflight_report_ok(&rep) && find(&rep, "spf")->status == PREFLIGHT_OK &&
           find(&rep, "spf_relay")->status == PREFLIGHT_OK &&
           find(&rep, "dmarc")->status == PREFLIGHT_OK && find(&rep, "dkim")->status ==
           PREFLIGHT_OK, "all good: every check is ok");
    tap_contains(find(&rep, "spf_relay")->message, "covers the relay 203.0.113.5 "
                 "(smtp.example.org) via \"include:_spf.example.org\"", "says how it is covered");

    addrs("smtp.example.org", "203.0.113.99", NULL);
    preflight_evaluate(&in, &snap, &rep);
    tap_ok(!preflight_report_ok(&rep) && find(&rep, "spf_relay")->status == PREFLIGHT_FAIL,
           "a relay outside the record fails");
    tap_contains(find(&rep, "spf_relay")->message, "SPF for example.org does not cover the "
                 "relay 203.0.113.99 (smtp.example.org)", "the sentence names domain and relay");
    tap_contains(find(&rep, "spf_relay")->message, "add ip4:203.0.113.99", "and the fix");
    in.provider = "google_workspace";
    preflight_evaluate(&in, &snap, &rep);
    tap_contains(find(&rep, "spf_relay")->message, "add include:_spf.google.com",
                 "a provider's include is suggested");
    in.provider = NULL;

    missing(PREFLIGHT_RR_TXT, "_dmarc.example.org", -ENOENT);
    preflight_evaluate(&in, &snap, &rep);
    tap_is_str(preflight_status_format(find(&rep, "dmarc")->status), "fail", "no DMARC: fail");
    tap_contains(find(&rep, "dmarc")->message, "no DMARC record at _dmarc.example.org: Gmail "
                 "and Yahoo reject bulk mail without one", "the sentence says why it matters");

    txt("_dmarc.example.org", "v=DMARC1; p=none");
    addrs("smtp.example.org", "203.0.113.5", NULL);
    preflight_evaluate(&in, &snap, &rep);
    tap_ok(find(&rep, "dmarc")->status == PREFLIGHT_WARN && preflight_report_ok(&rep),
           "p=none is a warning, which does not fail the report");

    missing(PREFLIGHT_RR_TXT, "s1._domainkey.example.org", -ENOENT);
    preflight_evaluate(&in, &snap, &rep);
    tap_ok(find(&rep, "dkim")->status == PREFLIGHT_FAIL, "a missing DKIM key fails");
    tap_contains(find(&rep, "dkim")->message, "no DKIM key at s1._domainkey.example.org",
                 "naming where it should be");
    txt("s1._domainkey.example.org", "v=DKIM1; p=");
    preflight_evaluate(&in, &snap, &rep);
    tap_contains(find(&rep, "dkim")->message, "revoked", "an empty p= is called revoked");

    in.selector = NULL;
    in.relay_host = NULL;
    in.relay_na = "mailbox ada sends through channel \"outbox\" (plugin example_channel)";
    preflight_evaluate(&in, &snap, &rep);
    tap_ok(find(&rep, "dkim")->status == PREFLIGHT_WARN, "no selector: a warning");
    tap_ok(find(&rep, "spf_relay")->status == PREFLIGHT_NA &&
           strstr(find(&rep, "spf_relay")->message, "not applicable") != NULL,
           "no SMTP relay: not applicable");

    missing(PREFLIGHT_RR_TXT, "example.org", -ENODATA);
    in.relay_host = "203.0.113.5";
    preflight_evaluate(&in, &snap, &rep);
    tap_contains(find(&rep, "spf")->message, "no SPF record at example.org",
                 "no SPF record: said plainly");
    tap_ok(find(&rep, "spf_relay")->status == PREFLIGHT_FAIL, "and the relay is not covered");

    missing(PREFLIGHT_RR_TXT, "example.org", -ETIMEDOUT);
    preflight_evaluate(&in, &snap, &rep);
    tap_contains(find(&rep, "spf")->message, "timed out", "a DNS timeout is named as such");

    /* DMARC from the organizational domain */
    tap_is_str(preflight_org_domain("mail.example.org"), "example.org", "org domain");
    tap_ok(preflight_org_domain("example.org") == NULL, "a two-label domain has no parent");
    in.domain = "mail.example.org";
    missing(PREFLIGHT_RR_TXT, "_dmarc.mail.example.org", -ENOENT);
    txt("_dmarc.example.org", "v=DMARC1; p=none; sp=reject");
    preflight_evaluate(&in, &snap, &rep);
    tap_ok(find(&rep, "dmarc")->status == PREFLIGHT_OK &&
           strstr(find(&rep, "dmarc")->message, "inherited from the organizational domain") &&
           strstr(find(&rep, "dmarc")->message, "p=reject"),
           "DMARC falls back to the organizational domain and uses its sp=");
}

/* Loads text; returns the load's result and the errors joined in buf. */
static int load(const char *text, struct config **cfg, char *buf, size_t len)
{
    struct config_errors errs = { 0 };
    char line[1200];
    int rc = config_load_string(text, strlen(text), "t.json", "/tmp", cfg, &errs);

    buf[0] = '\0';
    for (size_t i = 0; i < errs.count; i++) {
        strncat(buf, errbuf_format(&errs.items[i], line, sizeof(line)), len - strlen(buf) - 1);
        strncat(buf, "\n", len - strlen(buf) - 1);
    }
    config_errors_free(&errs);
    return rc;
}

#define MAILBOX_CFG(sel, dns) \
    "{\"channels\": [{\"name\": \"r\", \"plugin\": \"channel_smtp\", " \
    "\"options\": {\"host\": \"smtp.example.org\"}}], " \
    "\"mailboxes\": [{\"name\": \"ada\", \"address\": \"ada@example.org\", " \
    "\"channel\": \"r\"" sel "}]" dns "}"

static void test_config(void)
{
    struct config *cfg = NULL;
    char errs[4096];

    tap_is_int(load(MAILBOX_CFG(", \"dkim_selector\": \"s1.2024\"",
                                ", \"dns\": {\"servers\": \"127.0.0.1:5353,[::1]:53\", "
                                "\"timeout\": \"250ms\", \"tries\": 3}"), &cfg, errs,
                    sizeof(errs)), 0, "config: dkim_selector and dns load");
    tap_ok(cfg != NULL && strcmp(cfg->mailboxes[0].dkim_selector, "s1.2024") == 0 &&
           strcmp(cfg->dns.servers, "127.0.0.1:5353,[::1]:53") == 0 &&
           cfg->dns.timeout_ms == 250 && cfg->dns.tries == 3, "config: their values are kept");
    config_free(cfg);
    cfg = NULL;
    tap_is_int(load(MAILBOX_CFG("", ""), &cfg, errs, sizeof(errs)), 0, "config: both optional");
    tap_ok(cfg != NULL && cfg->mailboxes[0].dkim_selector == NULL && cfg->dns.servers == NULL &&
           cfg->dns.timeout_ms == 3000 && cfg->dns.tries == 2, "config: dns defaults 3s, 2 tries");
    config_free(cfg);
    cfg = NULL;
    load(MAILBOX_CFG(", \"dkim_selector\": \"a b\"",
                     ", \"dns\": {\"servers\": \"dns.example.org\", \"timout\": \"1s\", "
                     "\"tries\": 0}"), &cfg, errs, sizeof(errs));
    tap_contains(errs, "t.json: mailboxes[0].dkim_selector: expected a DKIM selector",
                 "config: a selector with a space is refused");
    tap_contains(errs, "dns.servers: expected comma-separated IP addresses",
                 "config: dns.servers must be addresses");
    tap_contains(errs, "dns.timout: unknown key; did you mean \"timeout\"?",
                 "config: unknown dns keys get a hint");
    tap_contains(errs, "dns.tries", "config: tries must be 1..10");
    tap_ok(cfg == NULL, "config: and the load fails");
}

int main(void)
{
    test_config();
    test_spf_parse();
    test_spf_check();
    test_dmarc_dkim();
    test_report();
    preflight_dns_clear(&snap);
    return tap_done();
}
