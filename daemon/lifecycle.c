/* SPDX-License-Identifier: MIT */
/* daemon/lifecycle.c: the start and stop order of drumbeatd, its signals and
 * its configuration reload. Everything runs on one libuv loop; this file only
 * wires the modules together in the right order. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <uv.h>

#include "api.h"
#include "cadence_def.h"
#include "build-aux/config.h"
#include "clock.h"
#include "compose.h"
#include "config.h"
#include "curl_loop.h"
#include "daemon.h"
#include "dispatch.h"
#include "dns.h"
#include "enrich.h"
#include "http.h"
#include "icp.h"
#include "lifecycle.h"
#include "log.h"
#include "log_buffer.h"
#include "notify.h"
#include "pidfile.h"
#include "sequencer.h"
#include "plugin_loader.h"
#include "store.h"
#include "template_file.h"

/* How often the loop-lag probe fires; lateness beyond this is lag. */
#define LAG_PROBE_MS 250

struct lifecycle {
    struct daemon d;
    const struct lifecycle_options *opts;
    uv_signal_t sig_term, sig_int, sig_hup;
    uv_timer_t lag_timer;
    uv_timer_t stop_timer;
    uint64_t lag_expected_ns;
    const char *pidfile;           /* borrowed from opts or the config */
    bool pidfile_written;
    bool dispatch_stopped, plugins_drained, stop_finishing, timed_out;
    int exit_code;
    struct dns *dns;               /* host->dns_query's resolver (cfg->dns at start), or NULL */
};

/* The templates of cfg, all compiled now so that no send meets a syntax
 * error; every error is logged. *out is NULL when cfg names no folder. */
static int lifecycle_templates(const struct config *cfg, struct template_set **out)
{
    struct config_errors errs = { 0 };

    *out = NULL;
    if (cfg->templates_dir == NULL)
        return 0;
    int rc = template_set_load(cfg->templates_dir, out, &errs);
    config_errors_log(&errs);
    config_errors_free(&errs);
    if (rc == 0)
        log_info("msg=\"templates loaded\" dir=%s count=%zu", cfg->templates_dir, (*out)->n);
    return rc;
}

/* The cadence files of cfg, checked against cfg and templates; every error
 * is logged. *out is NULL when cfg has no cadences folder. */
static int lifecycle_cadences(const struct config *cfg, const struct template_set *templates,
                              struct cadence_set **out)
{
    struct config_errors errs = { 0 };
    struct cadence_env env = { .cfg = cfg, .templates = templates };

    *out = NULL;
    if (cfg->cadences_dir == NULL)
        return 0;
    int rc = cadence_set_load(cfg->cadences_dir, &env, out, &errs);
    config_errors_log(&errs);
    config_errors_free(&errs);
    if (rc == 0)
        log_info("msg=\"cadences loaded\" dir=%s count=%zu", cfg->cadences_dir, (*out)->n);
    return rc == -ENOENT ? 0 : rc;
}

static const struct config_person *lookup_token(void *arg, const char *token)
{
    struct daemon *d = arg;
    return config_person_by_token(d->cfg, token);
}

static void on_lag_probe(uv_timer_t *t)
{
    struct lifecycle *lc = t->data;
    uint64_t now = uv_hrtime();
    uint64_t late = now > lc->lag_expected_ns ? (now - lc->lag_expected_ns) / 1000 : 0;
    lc->d.loop_lag_us = late;
    if (late > lc->d.loop_lag_max_us)
        lc->d.loop_lag_max_us = late;
    lc->lag_expected_ns = now + (uint64_t)LAG_PROBE_MS * 1000000;
}

/* ---- stop ---- */

static void on_handle_closed(uv_handle_t *h)
{
    (void)h;
}

static void lifecycle_close_rest(struct lifecycle *lc)
{
    struct daemon *d = &lc->d;

    dispatch_free(d->dispatch);
    d->dispatch = NULL;
    if (!lc->timed_out) {
        /* Only after every accepted op completed may plugins be finalised. */
        plugins_free(d->plugins);
    } else {
        log_warn("msg=\"operations still in flight at the shutdown timeout; their touches "
                 "stay 'sending' and become in_doubt at the next start\"");
    }
    d->plugins = NULL;
    /* After the plugins: their queries still out were answered -ECANCELED. */
    dns_free(lc->dns);
    lc->dns = NULL;
    curl_loop_close(d->curl);
    d->curl = NULL;
    store_close(d->store);
    d->store = NULL;
    /* After the store: its last completions still count the runner's writes. */
    icp_runner_free(d->icp);
    d->icp = NULL;
    enrich_free(d->enrich);
    d->enrich = NULL;
    sequencer_free(d->sequencer);
    d->sequencer = NULL;
    uv_close((uv_handle_t *)&lc->sig_term, on_handle_closed);
    uv_close((uv_handle_t *)&lc->sig_int, on_handle_closed);
    uv_close((uv_handle_t *)&lc->sig_hup, on_handle_closed);
    uv_close((uv_handle_t *)&lc->lag_timer, on_handle_closed);
    uv_close((uv_handle_t *)&lc->stop_timer, on_handle_closed);
}

static void on_store_flushed(int status, int64_t id, void *arg)
{
    lifecycle_close_rest(arg);
}

static void lifecycle_maybe_finish(struct lifecycle *lc)
{
    if (lc->stop_finishing || !(lc->timed_out || (lc->dispatch_stopped && lc->plugins_drained)))
        return;
    lc->stop_finishing = true;
    uv_timer_stop(&lc->stop_timer);
    if (store_flush(lc->d.store, on_store_flushed, lc) < 0)
        lifecycle_close_rest(lc);
}

static void on_dispatch_stopped(void *arg)
{
    struct lifecycle *lc = arg;
    lc->dispatch_stopped = true;
    lifecycle_maybe_finish(lc);
}

static void on_plugins_drained(void *arg)
{
    struct lifecycle *lc = arg;
    lc->plugins_drained = true;
    lifecycle_maybe_finish(lc);
}

static void on_stop_timeout(uv_timer_t *t)
{
    struct lifecycle *lc = t->data;
    log_warn("msg=\"shutdown timeout reached\" timeout_ms=%llu",
             (unsigned long long)lc->d.cfg->shutdown_timeout_ms);
    lc->timed_out = true;
    lifecycle_maybe_finish(lc);
}

static void lifecycle_stop(struct lifecycle *lc, const char *why)
{
    struct daemon *d = &lc->d;

    if (d->stopping) {
        log_warn("msg=\"second stop signal: not waiting for in-flight work\"");
        lc->timed_out = true;
        lifecycle_maybe_finish(lc);
        return;
    }
    d->stopping = true;
    log_info("msg=\"stopping\" signal=%s", why);
    /* Leads mid-waterfall stay queued and resume at the next start. */
    enrich_stop(d->enrich);
    sequencer_stop(d->sequencer);
    /* Listeners first: nothing new may arrive while we drain. */
    http_server_close(d->api);
    d->api = NULL;
    http_server_close(d->pub);
    d->pub = NULL;
    uv_timer_start(&lc->stop_timer, on_stop_timeout, d->cfg->shutdown_timeout_ms, 0);
    dispatch_stop(d->dispatch, on_dispatch_stopped, lc);
    if (plugins_drain(d->plugins, d->cfg->shutdown_timeout_ms, on_plugins_drained, lc) < 0)
        on_plugins_drained(lc);
}

/* ---- reload ---- */

/* The resolver is made once at start; a reload only says it changed. */
static bool same_dns(const struct config_dns *a, const struct config_dns *b)
{
    return strcmp(a->servers ? a->servers : "", b->servers ? b->servers : "") == 0 &&
           a->timeout_ms == b->timeout_ms && a->tries == b->tries;
}

static void lifecycle_reload(struct lifecycle *lc)
{
    struct daemon *d = &lc->d;
    struct config *fresh = NULL;
    struct config_errors errs = { 0 };

    log_info("msg=\"reloading configuration\" path=%s", d->cfg->path);
    if (config_load(d->cfg->path, &fresh, &errs) < 0) {
        config_errors_log(&errs);
        config_errors_free(&errs);
        d->reload_failures++;
        log_error("msg=\"new configuration rejected; the old one stays in force\" path=%s",
                  d->cfg->path);
        return;
    }
    if (fresh->api.port != d->cfg->api.port || fresh->public_.port != d->cfg->public_.port ||
        strcmp(fresh->api.address, d->cfg->api.address) != 0 ||
        strcmp(fresh->public_.address, d->cfg->public_.address) != 0 ||
        strcmp(fresh->store_path, d->cfg->store_path) != 0)
        log_warn("msg=\"listener and store changes take effect at the next restart\"");
    if (!same_dns(&fresh->dns, &d->cfg->dns))
        log_warn("msg=\"dns changes take effect at the next restart\"");
    struct template_set *templates = NULL;
    if (lifecycle_templates(fresh, &templates) < 0) {
        config_free(fresh);
        d->reload_failures++;
        log_error("msg=\"new templates rejected; the old configuration stays in force\" "
                  "path=%s", d->cfg->path);
        return;
    }
    struct cadence_set *cadences = NULL;
    if (lifecycle_cadences(fresh, templates, &cadences) < 0) {
        template_set_free(templates);
        config_free(fresh);
        d->reload_failures++;
        log_error("msg=\"new cadences rejected; the old configuration stays in force\" "
                  "path=%s", d->cfg->path);
        return;
    }
    /* Keep the listeners where they are: copy the running ones over. */
    fresh->api.port = d->cfg->api.port;
    fresh->public_.port = d->cfg->public_.port;

    plugins_reload(d->plugins, fresh, &errs);
    config_errors_log(&errs);
    config_errors_free(&errs);
    if (lc->opts->log_level == NULL)
        log_set_level(fresh->log_level);

    /* Everything that kept data from the old config copied it (plugins copy
     * their settings; the dispatcher and the listeners read d->cfg when they
     * run), so the old one can go now. */
    struct config *old = d->cfg;
    struct template_set *old_templates = d->templates;
    struct cadence_set *old_cadences = d->cadences;
    d->cfg = fresh;
    d->templates = templates;
    d->cadences = cadences;
    /* Changed files become new versions; running enrollments keep theirs. */
    sequencer_sync(d->sequencer);
    notify_configure(d);
    config_free(old);
    template_set_free(old_templates);
    cadence_set_free(old_cadences);
    d->reloads++;
    log_info("msg=\"configuration reloaded\" reloads=%llu", (unsigned long long)d->reloads);
    dispatch_kick(d->dispatch);
    /* The profile may have changed: score the intelligence leads again. */
    icp_rescore_all(d);
}

static void on_signal(uv_signal_t *s, int signum)
{
    struct lifecycle *lc = s->data;
    if (signum == SIGHUP) {
        if (!lc->d.stopping)
            lifecycle_reload(lc);
        return;
    }
    lifecycle_stop(lc, signum == SIGTERM ? "SIGTERM" : "SIGINT");
}

/* ---- start ---- */

static int lifecycle_listen(struct lifecycle *lc)
{
    struct daemon *d = &lc->d;
    struct errbuf err = { 0 };
    char buf[1024];

    if (http_server_start(d->loop, &d->cfg->api, "api", &d->api, &err) < 0 ||
        http_server_start(d->loop, &d->cfg->public_, "public", &d->pub, &err) < 0) {
        log_error("msg=\"cannot listen\" error=\"%s\"", errbuf_format(&err, buf, sizeof(buf)));
        return -1;
    }
    http_server_set_auth(d->api, lookup_token, d);
    if (api_register(d) < 0) {
        log_error("msg=\"cannot register the API routes\"");
        return -1;
    }
    /* Record the ports really bound (port 0 picks a free one), so that status
     * and a reload see the truth. */
    d->cfg->api.port = http_server_port(d->api);
    d->cfg->public_.port = http_server_port(d->pub);
    log_info("listener=api address=%s port=%d", d->cfg->api.address, d->cfg->api.port);
    log_info("listener=public address=%s port=%d", d->cfg->public_.address, d->cfg->public_.port);
    return 0;
}

/* The resolver behind host->dns_query. Without one the daemon still runs:
 * plugins' lookups fail with -ENOSYS. */
static void lifecycle_dns(struct lifecycle *lc)
{
    const struct config_dns *c = &lc->d.cfg->dns;
    struct dns_options o = { .servers = c->servers, .timeout_ms = c->timeout_ms,
                             .tries = c->tries };
    int rc = dns_new_opts(lc->d.loop, &o, &lc->dns);

    if (rc < 0) {
        lc->dns = NULL;
        log_warn("msg=\"no DNS resolver for plugins\" error=%s", error_name(rc));
        return;
    }
    plugins_set_dns(lc->d.plugins, lc->dns);
}

static int lifecycle_start(struct lifecycle *lc)
{
    struct daemon *d = &lc->d;
    struct errbuf err = { 0 };
    struct config_errors errs = { 0 };
    char buf[1024];
    int rc;

    if ((rc = store_open(d->loop, d->cfg->store_path, &d->store, &err)) < 0) {
        log_error("msg=\"cannot open the store\" error=\"%s\"", errbuf_format(&err, buf, sizeof(buf)));
        return -1;
    }
    if ((rc = curl_loop_init(d->loop, &d->curl)) < 0 ||
        (rc = plugins_new(d->loop, d->store, d->curl, &d->plugins)) < 0 ||
        (rc = dispatch_new(d, &d->dispatch)) < 0 ||
        (rc = icp_runner_new(d, &d->icp)) < 0 ||
        (rc = enrich_new(d, &d->enrich)) < 0 ||
        (rc = sequencer_new(d, &d->sequencer)) < 0) {
        log_error("msg=\"cannot start\" error=%s", error_name(rc));
        return -1;
    }
    lifecycle_dns(lc);
    if (notify_configure(d) < 0)
        return -1;
    /* A plugin that fails to load is marked failed; the daemon carries on. */
    plugins_load(d->plugins, d->cfg, &errs);
    config_errors_log(&errs);
    config_errors_free(&errs);
    if (lifecycle_listen(lc) < 0)
        return -1;

    uv_signal_init(d->loop, &lc->sig_term);
    uv_signal_init(d->loop, &lc->sig_int);
    uv_signal_init(d->loop, &lc->sig_hup);
    lc->sig_term.data = lc->sig_int.data = lc->sig_hup.data = lc;
    uv_signal_start(&lc->sig_term, on_signal, SIGTERM);
    uv_signal_start(&lc->sig_int, on_signal, SIGINT);
    uv_signal_start(&lc->sig_hup, on_signal, SIGHUP);

    lc->pidfile = lc->opts->pidfile != NULL ? lc->opts->pidfile : d->cfg->pidfile;
    if (lc->pidfile != NULL) {
        if (pidfile_write(lc->pidfile, &err) < 0) {
            log_error("msg=\"cannot write the pidfile\" error=\"%s\"",
                      errbuf_format(&err, buf, sizeof(buf)));
            return -1;
        }
        lc->pidfile_written = true;
    }
    lc->lag_expected_ns = uv_hrtime() + (uint64_t)LAG_PROBE_MS * 1000000;
    uv_timer_start(&lc->lag_timer, on_lag_probe, LAG_PROBE_MS, LAG_PROBE_MS);
    /* The lag probe must never keep the loop alive on its own. */
    uv_unref((uv_handle_t *)&lc->lag_timer);
    dispatch_kick(d->dispatch);
    /* Leads imported or rules changed while we were down. */
    icp_rescore_all(d);
    /* Leads still queued for enrichment when we stopped. */
    enrich_kick(d->enrich);
    log_info("msg=\"drumbeatd started\" version=%s pid=%d store=%s test_clock=%s",
             PACKAGE_VERSION, (int)getpid(), d->cfg->store_path,
             clock_is_test() ? "on" : "off");
    return 0;
}

static void close_any(uv_handle_t *h, void *arg)
{
    if (!uv_is_closing(h))
        uv_close(h, on_handle_closed);
}

static int lifecycle_prepare(struct lifecycle *lc)
{
    const struct lifecycle_options *opts = lc->opts;
    struct config_errors errs = { 0 };
    enum log_level level;

    if (config_load(opts->config_path, &lc->d.cfg, &errs) < 0) {
        config_errors_log(&errs);
        config_errors_free(&errs);
        log_error("msg=\"invalid configuration; not starting\" path=%s",
                  opts->config_path != NULL ? opts->config_path : "config/drumbeat.json");
        return 2;
    }
    config_errors_free(&errs);
    if (lifecycle_templates(lc->d.cfg, &lc->d.templates) < 0) {
        log_error("msg=\"invalid templates; not starting\" dir=%s", lc->d.cfg->templates_dir);
        return 2;
    }
    if (lifecycle_cadences(lc->d.cfg, lc->d.templates, &lc->d.cadences) < 0) {
        log_error("msg=\"invalid cadences; not starting\" dir=%s", lc->d.cfg->cadences_dir);
        return 2;
    }
    if (opts->log_level != NULL) {
        if (log_level_parse(opts->log_level, &level) < 0) {
            log_error("msg=\"--log-level: expected error, warn, info or debug\"");
            return 2;
        }
        log_set_level(level);
    } else {
        log_set_level(lc->d.cfg->log_level);
    }
    if (opts->api_port >= 0)
        lc->d.cfg->api.port = opts->api_port;
    if (opts->public_port >= 0)
        lc->d.cfg->public_.port = opts->public_port;
    if (opts->test_clock)
        clock_use_test(opts->test_clock_start_ms);

    /* The threadpool is sized before its first use, so that slow SMTP servers
     * cannot starve it (DESIGN.md). */
    char size[16];
    snprintf(size, sizeof(size), "%d", lc->d.cfg->threadpool_size);
    setenv("UV_THREADPOOL_SIZE", size, 1);
    return 0;
}

int lifecycle_run(const struct lifecycle_options *opts)
{
    struct lifecycle lc = { .opts = opts };
    uv_loop_t loop;
    int rc;

    signal(SIGPIPE, SIG_IGN);
    /* GMime and curl must be initialised once, before any thread starts. */
    compose_init();
    curl_global_init(CURL_GLOBAL_DEFAULT);

    rc = lifecycle_prepare(&lc);
    if (rc != 0) {
        template_set_free(lc.d.templates);
        cadence_set_free(lc.d.cadences);
        config_free(lc.d.cfg);
        curl_global_cleanup();
        return rc;
    }
    uv_loop_init(&loop);
    lc.d.loop = &loop;
    if (log_buffer_start(&loop) < 0)
        log_warn("msg=\"log lines are written one by one (cannot hold them per turn)\"");
    lc.d.started_at_ms = clock_now_ms();
    uv_timer_init(&loop, &lc.lag_timer);
    uv_timer_init(&loop, &lc.stop_timer);
    lc.lag_timer.data = lc.stop_timer.data = &lc;

    if (lifecycle_start(&lc) < 0) {
        http_server_close(lc.d.api);
        http_server_close(lc.d.pub);
        dispatch_free(lc.d.dispatch);
        plugins_free(lc.d.plugins);
        dns_free(lc.dns);
        curl_loop_close(lc.d.curl);
        store_close(lc.d.store);
        icp_runner_free(lc.d.icp);
        lc.d.icp = NULL;
        enrich_free(lc.d.enrich);
        lc.d.enrich = NULL;
        sequencer_free(lc.d.sequencer);
        lc.d.sequencer = NULL;
        uv_walk(&loop, close_any, NULL);
        lc.exit_code = 1;
    }
    uv_run(&loop, UV_RUN_DEFAULT);
    log_buffer_stop();
    uv_run(&loop, UV_RUN_NOWAIT);      /* completes the handle's close */

    if (uv_loop_close(&loop) != 0) {
        /* Only after a shutdown timeout may work still be in flight. */
        if (!lc.timed_out)
            log_warn("msg=\"the loop still had open handles at exit\"");
    }
    if (lc.pidfile_written)
        pidfile_remove(lc.pidfile);
    if (lc.exit_code == 0)
        log_info("msg=\"drumbeatd stopped\"");
    template_set_free(lc.d.templates);
    cadence_set_free(lc.d.cadences);
    config_free(lc.d.cfg);
    curl_global_cleanup();
    return lc.exit_code;
}
