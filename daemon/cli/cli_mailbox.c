/* SPDX-License-Identifier: MIT */
/* daemon/cli/cli_mailbox.c: `drumbeat mailbox check NAME [-c FILE]
 * [--dns SERVERS] [--json]`: the sending preflight of one mailbox, offline.
 * It reads the config, finds the mailbox's domain, its DKIM selector and the
 * SMTP relay of its channel (channel_smtp's "host", or its provider's), runs
 * its own libuv loop with dns.c to fetch SPF, DMARC and DKIM records
 * (preflight_fetch), and prints each decision (preflight_evaluate).
 * Exit 0 when nothing failed (warnings allowed), 1 when a check failed,
 * 2 for bad input (config, unknown mailbox, bad --dns), 64 for usage. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <uv.h>

#include "cli.h"
#include "config.h"
#include "../dns.h"
#include "../preflight.h"

static void mailbox_usage(FILE *out)
{
    fprintf(out,
            "Usage: drumbeat mailbox check NAME [-c FILE] [--dns SERVERS] [--json]\n"
            "       drumbeat mailbox list [common options]\n"
            "       drumbeat mailbox pause NAME [--note TEXT] [common options]\n"
            "       drumbeat mailbox resume NAME [common options]\n\n"
            "list    every configured mailbox: active or paused (why, by whom, since when,\n"
            "        how many touches wait), today's daily cap (with warm-up), its sends in\n"
            "        the last 24 hours, and the cadences that retire it.\n"
            "pause   stops sending from the mailbox. Its leads stay with it (moving them\n"
            "        would spread whatever made it fail); their touches wait, deferred\n"
            "        with the reason mailbox_paused. The daemon pauses a mailbox by itself\n"
            "        when its server refuses the mailbox (a 5.7.x at MAIL FROM, repeated\n"
            "        AUTH failures): `drumbeat mailbox list` shows the server's text.\n"
            "resume  sends again: the waiting touches go, each inside its lead's window.\n"
            "        (To hand a mailbox's leads to the others on purpose, list it under\n"
            "        \"retired_mailboxes\" in the cadence file and reload.)\n"
            "Common options: -c FILE, --url URL, --token-file F, --json.\n\n"
            "check: checks, with live DNS lookups, that the domain of mailbox NAME's address\n"
            "publishes what Gmail and Yahoo require of bulk senders:\n"
            "  spf        exactly one valid SPF record\n"
            "  spf_relay  that record authorizes the SMTP relay's addresses (the\n"
            "             channel_smtp \"host\" option, or its provider's server;\n"
            "             not applicable for other channels); include, redirect, a\n"
            "             and mx are followed, with RFC 7208's limit of 10 lookups\n"
            "  dmarc      a DMARC record at _dmarc.DOMAIN and its policy\n"
            "  dkim       the key of the mailbox's \"dkim_selector\" at\n"
            "             SELECTOR._domainkey.DOMAIN (a warning when none is set)\n\n"
            "  -c, --config FILE   the config (default config/drumbeat.json)\n"
            "      --dns SERVERS   DNS servers to ask, \"127.0.0.1:5353,[::1]:53\"\n"
            "                      (default: the config's dns.servers, else\n"
            "                      /etc/resolv.conf); timeout and tries come from\n"
            "                      dns.timeout (3s) and dns.tries (2)\n"
            "      --json          print the report as JSON\n"
            "  -h, --help          show this help\n\n"
            "Exit status: check: 0 no check failed (warnings allowed), 1 a check failed,\n"
            "2 invalid config, mailbox or --dns; others: 0 done, 1 failed, 2 rejected\n"
            "(unknown mailbox, already paused, not paused); 64 usage.\n");
}

/* The relay host of a channel_smtp instance, as the plugin would pick it. */
static const char *smtp_host(const struct config_plugin_instance *ch, const char **provider)
{
    const char *host = json_string_value(json_object_get(ch->options, "host"));

    *provider = json_string_value(json_object_get(ch->options, "provider"));
    if (host != NULL && host[0] != '\0')
        return host;
    if (*provider != NULL && strcmp(*provider, "google_workspace") == 0)
        return "smtp.gmail.com";
    if (*provider != NULL && strcmp(*provider, "microsoft_365") == 0)
        return "smtp.office365.com";
    return NULL;
}

static bool is_smtp_plugin(const char *plugin)
{
    const char *base = strrchr(plugin, '/');
    base = base != NULL ? base + 1 : plugin;
    return strcmp(base, "channel_smtp") == 0 || strcmp(base, "channel_smtp.so") == 0;
}

struct run {
    struct dns *dns;
    bool done;
};

static void on_fetched(void *arg)
{
    struct run *r = arg;
    r->done = true;
    dns_free(r->dns);
    r->dns = NULL;
}

static void on_walk_close(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

/* Runs the lookups on a private loop. Returns 0 or a negative errno. */
static int fetch_all(const struct dns_options *opts, const struct preflight_input *in,
                     struct preflight_dns *snap)
{
    uv_loop_t loop;
    struct run r = { 0 };
    int rc = uv_loop_init(&loop);

    if (rc < 0)
        return rc;
    rc = dns_new_opts(&loop, opts, &r.dns);
    if (rc == 0) {
        rc = preflight_fetch(r.dns, in, snap, on_fetched, &r);
        if (rc < 0)
            dns_free(r.dns);
    }
    uv_run(&loop, UV_RUN_DEFAULT);
    /* Should nothing be left, this is a no-op; a leak here must not hang. */
    uv_walk(&loop, on_walk_close, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    return rc;
}

/* The first lookup that failed at the server rather than in the zone. */
static int dns_trouble(const struct preflight_dns *snap)
{
    for (const struct preflight_answer *a = snap->head; a != NULL; a = a->next)
        if (a->status == -ETIMEDOUT || a->status == -ECONNREFUSED || a->status == -EIO ||
            a->status == -EACCES)
            return a->status;
    return 0;
}

static void print_json(const struct config_mailbox *mb, const struct preflight_input *in,
                       const struct preflight_report *rep)
{
    json_t *checks = json_array();
    for (size_t i = 0; i < rep->n; i++)
        json_array_append_new(checks, json_pack("{s:s, s:s, s:s}", "name", rep->checks[i].name,
                                                "status",
                                                preflight_status_format(rep->checks[i].status),
                                                "message", rep->checks[i].message));
    json_t *out = json_pack("{s:s, s:s, s:s, s:o, s:b, s:o}", "mailbox", mb->name, "address",
                            mb->address, "domain", in->domain, "relay",
                            in->relay_host != NULL ? json_string(in->relay_host) : json_null(),
                            "ok", preflight_report_ok(rep), "checks", checks);
    char *text = out != NULL ? json_dumps(out, JSON_INDENT(2)) : NULL;
    if (text != NULL)
        printf("%s\n", text);
    free(text);
    json_decref(out);
}

static void print_text(const struct config_mailbox *mb, const struct preflight_input *in,
                       const struct preflight_report *rep)
{
    size_t failed = 0, warned = 0;

    printf("mailbox %s <%s>: domain %s, relay %s\n", mb->name, mb->address, in->domain,
           in->relay_host != NULL ? in->relay_host : "(none)");
    for (size_t i = 0; i < rep->n; i++) {
        const struct preflight_check *c = &rep->checks[i];
        printf("  %-4s  %-9s  %s\n", preflight_status_format(c->status), c->name, c->message);
        failed += c->status == PREFLIGHT_FAIL;
        warned += c->status == PREFLIGHT_WARN;
    }
    if (failed > 0)
        printf("%zu check%s failed\n", failed, failed == 1 ? "" : "s");
    else
        printf("ok%s\n", warned > 0 ? " (with warnings)" : "");
}

static int mailbox_check(const char *name, const char *config_path, const char *servers,
                         bool json)
{
    struct config_errors errs = { 0 };
    struct config *cfg = NULL;
    struct preflight_dns snap = { 0 };
    struct preflight_report rep;
    char line[1200], na[400];
    int ret = CLI_INVALID;

    log_set_level((enum log_level)(LOG_LEVEL_ERROR - 1));
    if (config_load(config_path, &cfg, &errs) < 0) {
        for (size_t i = 0; i < errs.count; i++)
            fprintf(stderr, "drumbeat: %s\n", errbuf_format(&errs.items[i], line, sizeof(line)));
        goto out;
    }
    const struct config_mailbox *mb = config_mailbox_get(cfg, name);
    if (mb == NULL) {
        fprintf(stderr, "drumbeat: mailbox check: no mailbox named \"%s\" in %s", name, cfg->path);
        for (size_t i = 0; i < cfg->n_mailboxes; i++)
            fprintf(stderr, "%s\"%s\"", i == 0 ? " (there are: " : ", ", cfg->mailboxes[i].name);
        fprintf(stderr, "%s\n", cfg->n_mailboxes > 0 ? ")" : "");
        goto out;
    }
    const char *at = strrchr(mb->address, '@');
    struct preflight_input in = {
        .mailbox = mb->name, .domain = at != NULL ? at + 1 : mb->address,
        .selector = mb->dkim_selector,
    };
    const struct config_plugin_instance *ch = config_channel_get(cfg, mb->channel);
    if (ch != NULL && is_smtp_plugin(ch->plugin)) {
        in.relay_host = smtp_host(ch, &in.provider);
        if (in.relay_host == NULL) {
            snprintf(na, sizeof(na), "channel \"%s\" has no \"host\" option", ch->name);
            in.relay_na = na;
        }
    } else {
        snprintf(na, sizeof(na), "mailbox %s sends through channel \"%s\" (plugin %s), not "
                 "an SMTP relay", mb->name, mb->channel, ch != NULL ? ch->plugin : "?");
        in.relay_na = na;
    }
    struct dns_options opts = {
        .servers = servers != NULL ? servers : cfg->dns.servers,
        .timeout_ms = cfg->dns.timeout_ms, .tries = cfg->dns.tries,
    };
    int rc = fetch_all(&opts, &in, &snap);
    if (rc == -EINVAL) {
        fprintf(stderr, "drumbeat: mailbox check: invalid DNS servers \"%s\": expected "
                "\"127.0.0.1:5353,[::1]:53\"\n", opts.servers != NULL ? opts.servers : "");
        goto out;
    }
    if (rc < 0) {
        fprintf(stderr, "drumbeat: mailbox check: cannot start DNS lookups: %s\n",
                error_text(rc));
        ret = CLI_FAIL;
        goto out;
    }
    int trouble = dns_trouble(&snap);
    if (trouble != 0)
        fprintf(stderr, "drumbeat: mailbox check: DNS lookups through %s failed: %s; the "
                "checks that needed them could not be decided\n", opts.servers != NULL ? opts.servers
                                                                 : "(from /etc/resolv.conf)",
                dns_status_text(trouble));
    preflight_evaluate(&in, &snap, &rep);
    if (json)
        print_json(mb, &in, &rep);
    else
        print_text(mb, &in, &rep);
    ret = preflight_report_ok(&rep) ? CLI_OK : CLI_FAIL;
out:
    preflight_dns_clear(&snap);
    config_free(cfg);
    config_errors_free(&errs);
    return ret;
}

int cli_mailbox(int argc, char **argv)
{
    struct cli_common common = { 0 };
    const char *servers = NULL, *name = NULL, *sub = NULL, *note = NULL;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int c;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            mailbox_usage(stdout);
            return CLI_OK;
        } else if (strcmp(a, "--dns") == 0 && i + 1 < argc) {
            servers = argv[++i];
        } else if (strncmp(a, "--dns=", 6) == 0) {
            servers = a + 6;
        } else if (strcmp(a, "--note") == 0 && i + 1 < argc) {
            note = argv[++i];
        } else if (strncmp(a, "--note=", 7) == 0) {
            note = a + 7;
        } else if ((c = cli_common_opt(&common, &i, argc, argv)) != 0) {
            if (c < 0)
                return CLI_USAGE;
        } else if (a[0] != '-' && sub == NULL) {
            sub = a;
        } else if (a[0] != '-' && name == NULL) {
            name = a;
        } else {
            fprintf(stderr, "drumbeat: mailbox: unexpected argument '%s'\n", a);
            mailbox_usage(stderr);
            return CLI_USAGE;
        }
    }
    bool check = sub != NULL && strcmp(sub, "check") == 0;
    bool list = sub != NULL && strcmp(sub, "list") == 0;
    bool pause = sub != NULL && strcmp(sub, "pause") == 0;
    bool resume = sub != NULL && strcmp(sub, "resume") == 0;
    if ((!check && !list && !pause && !resume) || (list != (name == NULL)) ||
        (servers != NULL && !check) || (note != NULL && !pause)) {
        if (sub != NULL && !check && !list && !pause && !resume)
            fprintf(stderr, "drumbeat: mailbox: unknown subcommand '%s'\n", sub);
        mailbox_usage(stderr);
        return CLI_USAGE;
    }
    if (check)
        return mailbox_check(name, common.config_path, servers, common.json);
    if (list)
        return cli_mailbox_list(&common);
    return cli_mailbox_pause(&common, name, pause, note);
}
