/* SPDX-License-Identifier: MIT */
/* daemon/cadence_check_dns.c: the network part of a cadence's launch check
 * (cadence_check.h, `drumbeat cadence check NAME --dns`): the mailbox
 * preflight of `drumbeat mailbox check` (preflight.h: SPF and the relay's
 * authorization, DMARC, DKIM) for every configured mailbox of the cadence,
 * one after the other on the daemon's loop with a resolver of its own, the
 * failed checks becoming problems. What it needs from the config and the
 * cadence is copied at the start, so a reload meanwhile changes nothing.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "cadence_check.h"
#include "cadence_def.h"
#include "config.h"
#include "daemon.h"
#include "dns.h"
#include "log.h"
#include "preflight.h"

struct dns_target {
    char *mailbox, *domain, *relay_host, *relay_na, *provider, *selector;
};

struct dns_run {
    struct dns *dns;
    struct dns_target *targets;
    size_t n, next;
    struct preflight_dns snap;
    json_t *problems;            /* borrowed from the caller */
    cadence_check_done done;
    void *arg;
    uv_idle_t *idle;             /* delivers the end on a later turn */
    int status;
};

/* The relay a channel_smtp instance sends through, as the plugin picks it
 * (the same rule as `drumbeat mailbox check`). */
static const char *smtp_relay(const struct config_plugin_instance *ch, const char **provider)
{
    const char *base = strrchr(ch->plugin, '/');
    base = base != NULL ? base + 1 : ch->plugin;
    *provider = NULL;
    if (strcmp(base, "channel_smtp") != 0 && strcmp(base, "channel_smtp.so") != 0)
        return NULL;
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

static void run_free(struct dns_run *r)
{
    for (size_t i = 0; i < r->n; i++) {
        struct dns_target *t = &r->targets[i];
        g_free(t->mailbox);
        g_free(t->domain);
        g_free(t->relay_host);
        g_free(t->relay_na);
        g_free(t->provider);
        g_free(t->selector);
    }
    free(r->targets);
    preflight_dns_clear(&r->snap);
    free(r);
}

static void on_idle_closed(uv_handle_t *h)
{
    struct dns_run *r = h->data;
    free(h);
    r->done(r->status, r->problems, r->arg);
    run_free(r);
}

static void finish(struct dns_run *r, int status)
{
    r->status = status;
    dns_free(r->dns);            /* its handles close on their own */
    r->dns = NULL;
    uv_close((uv_handle_t *)r->idle, on_idle_closed);
}

static void next_target(struct dns_run *r);

static void on_fetched(void *arg)
{
    struct dns_run *r = arg;
    struct dns_target *t = &r->targets[r->next++];
    struct preflight_input in = {
        .mailbox = t->mailbox, .domain = t->domain, .relay_host = t->relay_host,
        .relay_na = t->relay_na, .provider = t->provider, .selector = t->selector,
    };
    struct preflight_report rep;
    char where[160];
    preflight_evaluate(&in, &r->snap, &rep);
    snprintf(where, sizeof(where), "mailbox %s", t->mailbox);
    for (size_t i = 0; i < rep.n; i++) {
        if (rep.checks[i].status != PREFLIGHT_FAIL)
            continue;
        char *text = g_strdup_printf("%s: %s", rep.checks[i].name, rep.checks[i].message);
        json_array_append_new(r->problems, json_pack("{s:s, s:s, s:s}", "check", "dns", "where",
                                                     where, "problem", text));
        g_free(text);
    }
    preflight_dns_clear(&r->snap);
    next_target(r);
}

static void next_target(struct dns_run *r)
{
    while (r->next < r->n) {
        struct dns_target *t = &r->targets[r->next];
        struct preflight_input in = {
            .mailbox = t->mailbox, .domain = t->domain, .relay_host = t->relay_host,
            .relay_na = t->relay_na, .provider = t->provider, .selector = t->selector,
        };
        int rc = preflight_fetch(r->dns, &in, &r->snap, on_fetched, r);
        if (rc == 0)
            return;
        log_warn("msg=\"cannot run a mailbox preflight\" mailbox=%s error=%s", t->mailbox,
                 error_name(rc));
        return finish(r, rc);
    }
    finish(r, 0);
}

int cadence_check_dns(struct daemon *d, const struct cadence_def *def, json_t *problems,
                      cadence_check_done done, void *arg)
{
    const struct config *cfg = d->cfg;
    struct dns_run *r = calloc(1, sizeof(*r));
    if (r == NULL)
        return -ENOMEM;
    r->problems = problems;
    r->done = done;
    r->arg = arg;
    r->targets = calloc(def->n_mailboxes + 1, sizeof(*r->targets));
    r->idle = calloc(1, sizeof(*r->idle));
    if (r->targets == NULL || r->idle == NULL) {
        free(r->idle);
        run_free(r);
        return -ENOMEM;
    }
    for (size_t i = 0; i < def->n_mailboxes; i++) {
        const struct config_mailbox *mb = config_mailbox_get(cfg, def->mailboxes[i]);
        if (mb == NULL)
            continue;            /* cadence_check() reports it */
        const struct config_plugin_instance *ch = config_channel_get(cfg, mb->channel);
        const char *at = strrchr(mb->address, '@'), *provider = NULL;
        const char *relay = ch != NULL ? smtp_relay(ch, &provider) : NULL;
        struct dns_target *t = &r->targets[r->n++];
        t->mailbox = g_strdup(mb->name);
        t->domain = g_strdup(at != NULL ? at + 1 : mb->address);
        t->relay_host = g_strdup(relay);
        t->provider = g_strdup(provider);
        t->selector = g_strdup(mb->dkim_selector);
        if (relay == NULL)
            t->relay_na = g_strdup_printf("mailbox %s sends through channel \"%s\", not an "
                                          "SMTP relay with a known host", mb->name, mb->channel);
    }
    struct dns_options opts = { .servers = cfg->dns.servers, .timeout_ms = cfg->dns.timeout_ms,
                                .tries = cfg->dns.tries };
    int rc = dns_new_opts(d->loop, &opts, &r->dns);
    if (rc < 0) {
        free(r->idle);
        run_free(r);
        return rc;
    }
    uv_idle_init(d->loop, r->idle);
    r->idle->data = r;
    /* preflight_fetch() never calls back from inside; with no mailbox the
     * end still comes on a later turn, through the idle handle's close. */
    next_target(r);
    return 0;
}
