/* SPDX-License-Identifier: MIT */
/* plugins/channel_smtp/smtp.c: the SMTP channel. send() packages a batch
 * (up to max_batch messages) as one job; the job runs one libesmtp session
 * on the threadpool through host->queue_work (smtp_session.c), and after()
 * completes every op on the loop thread. Jobs wait in a queue while the
 * instance has max_connections sessions open, or the server (host:port) has
 * server_connections open over all instances of this plugin.
 *
 * Ownership: struct smtp_plugin is ours from init to fini; its settings
 * belong to the host until fini. A struct smtp_job is ours from send until
 * its after() has called done for each of its messages; the messages are
 * the host's until then. The server registry (servers) is shared by the
 * instances of this plugin and touched only on the loop thread.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <drumbeat/plugin.h>

#include "smtp_conf.h"
#include "smtp_session.h"

/* One server (host:port) and the instances sending to it. */
struct smtp_server {
    struct smtp_server *next;
    char hostport[300];
    int limit;                     /* the smallest server_connections configured */
    int active;
    struct smtp_plugin *users;     /* linked through smtp_plugin.server_next */
};

struct smtp_job {
    struct smtp_job *next;
    struct smtp_plugin *sp;
    long session_ms;               /* how long the session took, for the log */
    struct smtp_session_report rep;
    size_t n;
    struct smtp_item items[];
};

struct smtp_plugin {
    const struct drumbeat_host *host;
    struct drumbeat_instance *inst;
    struct smtp_conf conf;
    SSL_CTX *tls;
    struct smtp_server *server;
    struct smtp_plugin *server_next;
    int active;                    /* sessions running for this instance */
    struct smtp_job *queue, *queue_tail;
    int auth_failures;             /* consecutive; loop thread only */
};

/* Instances of this plugin are all on the daemon's one loop thread, so the
 * registry needs no lock. */
static struct smtp_server *servers;

static struct smtp_server *server_join(struct smtp_plugin *sp)
{
    struct smtp_server *s;

    for (s = servers; s != NULL; s = s->next)
        if (strcmp(s->hostport, sp->conf.hostport) == 0)
            break;
    if (s == NULL) {
        if ((s = calloc(1, sizeof(*s))) == NULL)
            return NULL;
        snprintf(s->hostport, sizeof(s->hostport), "%s", sp->conf.hostport);
        s->limit = sp->conf.server_connections;
        s->next = servers;
        servers = s;
    } else if (sp->conf.server_connections < s->limit) {
        s->limit = sp->conf.server_connections;
    }
    sp->server_next = s->users;
    s->users = sp;
    return s;
}

static void server_leave(struct smtp_plugin *sp)
{
    struct smtp_server *s = sp->server;
    struct smtp_plugin **pp;
    struct smtp_server **sq;

    if (s == NULL)
        return;
    for (pp = &s->users; *pp != NULL; pp = &(*pp)->server_next)
        if (*pp == sp) {
            *pp = sp->server_next;
            break;
        }
    if (s->users != NULL) {
        /* The limit is the smallest of those still configured. */
        s->limit = s->users->conf.server_connections;
        for (struct smtp_plugin *u = s->users; u != NULL; u = u->server_next)
            if (u->conf.server_connections < s->limit)
                s->limit = u->conf.server_connections;
        return;
    }
    for (sq = &servers; *sq != NULL; sq = &(*sq)->next)
        if (*sq == s) {
            *sq = s->next;
            break;
        }
    free(s);
}

static bool can_start(const struct smtp_plugin *sp)
{
    return sp->active < sp->conf.max_connections && sp->server->active < sp->server->limit;
}

static void smtp_work(void *arg)
{
    struct smtp_job *job = arg;
    struct timespec a, b;

    clock_gettime(CLOCK_MONOTONIC, &a);
    smtp_session_run(&job->sp->conf, job->sp->tls, job->items, job->n, &job->rep);
    clock_gettime(CLOCK_MONOTONIC, &b);
    job->session_ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
}

static void smtp_after(void *arg, int status);

static int job_start(struct smtp_job *job)
{
    struct smtp_plugin *sp = job->sp;
    int rc = sp->host->queue_work(sp->inst, smtp_work, smtp_after, job);
    if (rc == 0) {
        sp->active++;
        sp->server->active++;
    }
    return rc;
}

/* Completes every op of a job that never ran: nothing was sent. Only from
 * after(), never inside send(). */
static void job_cancel(struct smtp_job *job, const char *why)
{
    struct smtp_plugin *sp = job->sp;
    for (size_t i = 0; i < job->n; i++) {
        struct drumbeat_result res = { .outcome = DRUMBEAT_RETRY, .detail = why };
        sp->host->done(job->items[i].op, &res);
    }
    free(job);
}

/* Starts queued jobs of every instance on this server while there is room. */
static void server_pump(struct smtp_server *s)
{
    bool progress = true;

    while (progress && s->active < s->limit) {
        progress = false;
        for (struct smtp_plugin *sp = s->users; sp != NULL && s->active < s->limit;
             sp = sp->server_next) {
            struct smtp_job *job = sp->queue;
            if (job == NULL || !can_start(sp))
                continue;
            sp->queue = job->next;
            if (sp->queue == NULL)
                sp->queue_tail = NULL;
            job->next = NULL;
            progress = true;
            int rc = job_start(job);
            if (rc < 0)
                job_cancel(job, "the daemon refused the work (shutting down?)");
        }
    }
}

static void log_batch(struct smtp_plugin *sp, const struct smtp_job *job)
{
    size_t done = 0, retry = 0, failed = 0, doubt = 0;

    for (size_t i = 0; i < job->n; i++) {
        const struct smtp_item *it = &job->items[i];
        switch (it->outcome) {
        case DRUMBEAT_DONE:
            done++;
            break;
        case DRUMBEAT_RETRY:
            retry++;
            break;
        case DRUMBEAT_FAILED:
            failed++;
            break;
        default:
            doubt++;
            break;
        }
        if (it->outcome == DRUMBEAT_FAILED || it->outcome == DRUMBEAT_IN_DOUBT)
            sp->host->log(sp->inst, it->outcome == DRUMBEAT_IN_DOUBT ? DRUMBEAT_LOG_ERROR
                                                                     : DRUMBEAT_LOG_WARN,
                          "msg=\"%s\" touch=%lld scope=%s reply=\"%s\"", it->why,
                          (long long)it->msg->touch_id,
                          it->scope == DRUMBEAT_SCOPE_RECIPIENT ? "recipient"
                          : it->scope == DRUMBEAT_SCOPE_MAILBOX ? "mailbox" : "message",
                          it->detail);
    }
    if (job->rep.session_failed || job->rep.auth_failed)
        sp->host->log(sp->inst, DRUMBEAT_LOG_WARN,
                      "msg=\"%s\" server=%s reason=\"%s\" batch=%zu",
                      job->rep.auth_failed ? "authentication failed" : "cannot send; will retry",
                      sp->conf.hostport, job->rep.reason, job->n);
    /* The first touch names the batch; it also keeps two batches' lines
     * apart, which the host's repeat filter would otherwise fold into a
     * "repeated log line suppressed" count (bench_smtp counts these lines). */
    sp->host->log(sp->inst, DRUMBEAT_LOG_DEBUG,
                  "msg=\"batch done\" server=%s tls=%s first_touch=%lld sent=%zu retry=%zu "
                  "failed=%zu in_doubt=%zu session_ms=%ld", sp->conf.hostport,
                  job->rep.tls_up ? "yes" : "no",
                  job->n > 0 ? (long long)job->items[0].msg->touch_id : 0LL, done, retry,
                  failed, doubt, job->session_ms);
}

/* An AUTH rejection pauses the mailbox (FAILED, scope MAILBOX) once it has
 * happened auth_failures_to_pause times in a row; before that it retries,
 * for relays that refuse a login now and then. */
static void apply_auth_policy(struct smtp_plugin *sp, struct smtp_job *job)
{
    if (!job->rep.auth_failed) {
        for (size_t i = 0; i < job->n; i++)
            if (job->items[i].outcome == DRUMBEAT_DONE) {
                sp->auth_failures = 0;
                break;
            }
        return;
    }
    sp->auth_failures++;
    if (sp->auth_failures >= sp->conf.auth_failures_to_pause)
        return;
    for (size_t i = 0; i < job->n; i++)
        if (job->items[i].auth_failure && job->items[i].outcome == DRUMBEAT_FAILED)
            job->items[i].outcome = DRUMBEAT_RETRY;
}

static void smtp_after(void *arg, int status)
{
    struct smtp_job *job = arg;
    struct smtp_plugin *sp = job->sp;
    struct smtp_server *server = sp->server;
    const struct drumbeat_host *host = sp->host;

    sp->active--;
    server->active--;
    if (status < 0) {
        /* Cancelled before it ran (shutdown): no connection was made. */
        for (size_t i = 0; i < job->n; i++) {
            job->items[i].outcome = DRUMBEAT_RETRY;
            job->items[i].scope = DRUMBEAT_SCOPE_MESSAGE;
            job->items[i].code = 0;
            job->items[i].enhanced[0] = '\0';
            snprintf(job->items[i].detail, sizeof(job->items[i].detail),
                     "cancelled before sending");
        }
    } else {
        apply_auth_policy(sp, job);
        log_batch(sp, job);
    }
    /* done() may lead the host to finalise this instance once its last op
     * completes, so the queue is pumped first and sp is not used after. */
    server_pump(server);
    for (size_t i = 0; i < job->n; i++) {
        struct smtp_item *it = &job->items[i];
        struct drumbeat_result res = {
            .outcome = it->outcome, .scope = it->scope, .code = it->code,
            .enhanced = it->enhanced[0] != '\0' ? it->enhanced : NULL,
            .detail = it->detail,
        };
        host->done(it->op, &res);
    }
    free(job);
}

static int smtp_send(void *state, const struct drumbeat_message *msgs,
                     struct drumbeat_op *const *ops, size_t n)
{
    struct smtp_plugin *sp = state;
    struct smtp_job *job = calloc(1, sizeof(*job) + n * sizeof(job->items[0]));

    if (job == NULL)
        return -ENOMEM;               /* and done is never called */
    job->sp = sp;
    job->n = n;
    for (size_t i = 0; i < n; i++) {
        job->items[i].msg = &msgs[i];
        job->items[i].op = ops[i];
    }
    /* First come, first served: start now only if nothing waits. */
    if (sp->queue == NULL && can_start(sp)) {
        int rc = job_start(job);
        if (rc < 0)
            free(job);
        return rc;
    }
    if (sp->queue_tail != NULL)
        sp->queue_tail->next = job;
    else
        sp->queue = job;
    sp->queue_tail = job;
    return 0;
}

static void smtp_free(struct smtp_plugin *sp)
{
    server_leave(sp);
    if (sp->tls != NULL)
        SSL_CTX_free(sp->tls);
    smtp_conf_clear(&sp->conf);
    free(sp);
}

static int smtp_init(const struct drumbeat_host *host, struct drumbeat_instance *inst,
                     const void *settings, void **state)
{
    struct smtp_plugin *sp = calloc(1, sizeof(*sp));
    char err[400], limits[200];
    int rc;

    if (sp == NULL)
        return -ENOMEM;
    sp->host = host;
    sp->inst = inst;
    rc = smtp_conf_resolve(settings, &sp->conf, err, sizeof(err));
    if (rc == 0 && sp->conf.tls != SMTP_TLS_NONE)
        rc = smtp_tls_ctx_new(&sp->conf, &sp->tls, err, sizeof(err));
    if (rc == 0 && (sp->server = server_join(sp)) == NULL) {
        rc = -ENOMEM;
        snprintf(err, sizeof(err), "out of memory");
    }
    if (rc < 0) {
        host->log(inst, DRUMBEAT_LOG_ERROR, "msg=\"bad configuration\" error=\"%s\"", err);
        smtp_free(sp);
        return rc;
    }
    /* The provider's limits, for the host to enforce: kept in the
     * instance's kv store under "limits" (and logged). */
    if (smtp_conf_limits_json(&sp->conf, limits, sizeof(limits)) == 0 &&
        DRUMBEAT_HOST_HAS(host, kv_set))
        host->kv_set(inst, "limits", limits, strlen(limits), NULL, NULL);
    host->log(inst, DRUMBEAT_LOG_INFO,
              "msg=\"relay\" server=%s tls=%s verify_cert=%s auth=%s provider=%s "
              "per_minute=%lld per_day=%lld recipients_per_day=%lld",
              sp->conf.hostport, smtp_tls_name(sp->conf.tls),
              sp->conf.verify_cert ? "on" : "off", sp->conf.username != NULL ? "yes" : "no",
              sp->conf.provider, (long long)sp->conf.limits.per_minute,
              (long long)sp->conf.limits.per_day, (long long)sp->conf.limits.recipients_per_day);
    if (!sp->conf.verify_cert && sp->conf.tls != SMTP_TLS_NONE)
        host->log(inst, DRUMBEAT_LOG_WARN, "msg=\"certificate verification is off\" server=%s",
                  sp->conf.hostport);
    *state = sp;
    return 0;
}

static void smtp_fini(void *state)
{
    smtp_free(state);
}

/* The sessions this instance may run at once: the dispatcher claims that
 * many batches (and one ahead), so none waits in our queue for long. */
static uint32_t smtp_concurrency(void *state)
{
    const struct smtp_plugin *sp = state;
    int n = sp->conf.max_connections;
    if (sp->server != NULL && sp->server->limit < n)
        n = sp->server->limit;
    return n > 0 ? (uint32_t)n : 1;
}

static const struct drumbeat_channel_ops smtp_ops = {
    .send = smtp_send,
    .max_batch = 50,
    .concurrency = smtp_concurrency,
};

const struct drumbeat_plugin drumbeat_plugin = {
    DRUMBEAT_PLUGIN_HEADER,
    .kind = DRUMBEAT_KIND_CHANNEL,
    .name = "channel_smtp",
    .version = "1.0.0",
    .options = smtp_options,
    .settings_size = sizeof(struct smtp_settings),
    .init = smtp_init,
    .fini = smtp_fini,
    .channel = &smtp_ops,
};
