/* SPDX-License-Identifier: MIT */
/* tests/plugins/opts_channel.c: a channel with one option of every type
 * (required, secret, defaults), for the loader's option tests. Each send
 * completes (through queue_work) with DONE and a detail that spells out the
 * settings the host filled in, so the test can see defaults applied. The
 * secret is reported only as its length. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <drumbeat/plugin.h>

struct oc_settings {
    const char *url;
    const char *token;
    int64_t port;
    bool verbose;
    uint64_t timeout_ms;
};

static const struct drumbeat_option oc_options[] = {
    { "url", DRUMBEAT_OPT_STRING, NULL, DRUMBEAT_OPT_REQUIRED,
      offsetof(struct oc_settings, url), "where to send" },
    { "token", DRUMBEAT_OPT_STRING, NULL, DRUMBEAT_OPT_SECRET,
      offsetof(struct oc_settings, token), "a secret" },
    { "port", DRUMBEAT_OPT_INT, "25", 0, offsetof(struct oc_settings, port), "a port" },
    { "verbose", DRUMBEAT_OPT_BOOL, "false", 0, offsetof(struct oc_settings, verbose), "chatty" },
    { "timeout", DRUMBEAT_OPT_DURATION_MS, "10s", 0,
      offsetof(struct oc_settings, timeout_ms), "give up after" },
    { 0 },
};

struct oc {
    const struct drumbeat_host *host;
    struct drumbeat_instance *inst;
    const struct oc_settings *set;
};

struct oc_job {
    struct oc *oc;
    struct drumbeat_op *op;
};

static void oc_work(void *arg)
{
    (void)arg;
}

static void oc_after(void *arg, int status)
{
    struct oc_job *job = arg;
    const struct oc_settings *s = job->oc->set;
    char detail[256];

    snprintf(detail, sizeof(detail), "url=%s token_len=%zu port=%" PRId64 " verbose=%d "
             "timeout=%" PRIu64 " status=%d", s->url, s->token ? strlen(s->token) : 0,
             s->port, (int)s->verbose, s->timeout_ms, status);
    struct drumbeat_result res = { .outcome = DRUMBEAT_DONE, .code = 200, .detail = detail };
    job->oc->host->done(job->op, &res);
    free(job);
}

static int oc_send(void *state, const struct drumbeat_message *msgs,
                   struct drumbeat_op *const *ops, size_t n)
{
    struct oc *oc = state;
    struct oc_job *job = calloc(1, sizeof(*job));
    int rc;

    (void)msgs;
    (void)n;
    if (job == NULL)
        return -ENOMEM;
    job->oc = oc;
    job->op = ops[0];
    rc = oc->host->queue_work(oc->inst, oc_work, oc_after, job);
    if (rc < 0)
        free(job);
    return rc;
}

static int oc_init(const struct drumbeat_host *host, struct drumbeat_instance *inst,
                   const void *settings, void **state)
{
    struct oc *oc = calloc(1, sizeof(*oc));

    if (oc == NULL)
        return -ENOMEM;
    oc->host = host;
    oc->inst = inst;
    oc->set = settings;
    *state = oc;
    return 0;
}

static void oc_fini(void *state)
{
    free(state);
}

static const struct drumbeat_channel_ops oc_ops = { .send = oc_send };

const struct drumbeat_plugin drumbeat_plugin = {
    DRUMBEAT_PLUGIN_HEADER,
    .kind = DRUMBEAT_KIND_CHANNEL,
    .name = "opts_channel",
    .version = "0.0.1",
    .options = oc_options,
    .settings_size = sizeof(struct oc_settings),
    .init = oc_init,
    .fini = oc_fini,
    .channel = &oc_ops,
};
