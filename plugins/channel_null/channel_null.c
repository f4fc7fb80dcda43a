/* SPDX-License-Identifier: MIT */
/* plugins/channel_null/channel_null.c: a channel that accepts every message,
 * discards it and reports it DONE, for throughput tests of the daemon itself
 * (bench/bench_cadence.sh): with it, what is measured is the claim, the
 * composition, the store's commits and the sequencer, never a network or a
 * disk. It must never be bound to a real campaign's mailbox: everything
 * "sent" through it is gone.
 *
 * It keeps the channel contract like a real channel: send() never completes
 * anything itself; each batch (up to 1000 messages of one mailbox) goes to
 * the threadpool as one empty job, and the job's after() reports one DONE
 * per message on the loop thread, as channel_maildir does. At log level
 * debug it logs one line per batch with its size, its bytes and the real
 * (monotonic) time since the previous batch arrived, which is how a
 * benchmark sees the daemon's pace per batch.
 *
 * Ownership: struct cn is ours from init to fini. A struct cn_job is ours
 * from send until its after() has called done for each op; the messages and
 * ops are the host's until each op's done. */
#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include <drumbeat/plugin.h>

/* One claim of the dispatcher is one batch: 1000 is the batch the cadence
 * benchmark measures (issue 5, "claim and dispatch each batch of 1000"). */
#define CN_MAX_BATCH 1000

struct cn {
    const struct drumbeat_host *host;
    struct drumbeat_instance *inst;
    int64_t last_us;             /* monotonic time of the previous send; 0: none */
    uint64_t batches;
};

struct cn_job {
    struct cn *cn;
    size_t n;
    struct drumbeat_op *ops[];
};

static int64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Nothing to do on the threadpool: the job exists only so that the outcomes
 * come back on a later loop iteration, as the contract requires. */
static void cn_work(void *arg)
{
    (void)arg;
}

static void cn_after(void *arg, int status)
{
    struct cn_job *job = arg;
    /* Cancelled at shutdown: the job did not run, but it was accepted, so
     * each op still gets its one outcome; discarding cannot fail. */
    (void)status;
    for (size_t i = 0; i < job->n; i++) {
        struct drumbeat_result res = { .outcome = DRUMBEAT_DONE, .code = 250,
                                       .detail = "discarded (channel_null)" };
        job->cn->host->done(job->ops[i], &res);
    }
    free(job);
}

static int cn_send(void *state, const struct drumbeat_message *msgs,
                   struct drumbeat_op *const *ops, size_t n)
{
    struct cn *cn = state;
    struct cn_job *job = malloc(sizeof(*job) + n * sizeof(job->ops[0]));
    size_t bytes = 0;
    int64_t now = mono_us();
    int rc;

    if (job == NULL)
        return -ENOMEM;
    job->cn = cn;
    job->n = n;
    for (size_t i = 0; i < n; i++) {
        job->ops[i] = ops[i];
        bytes += msgs[i].payload_len;
    }
    cn->batches++;
    cn->host->log(cn->inst, DRUMBEAT_LOG_DEBUG,
                  "msg=\"batch discarded\" batch=%llu messages=%zu bytes=%zu since_last_us=%lld",
                  (unsigned long long)cn->batches, n, bytes,
                  cn->last_us != 0 ? (long long)(now - cn->last_us) : -1LL);
    cn->last_us = now;
    rc = cn->host->queue_work(cn->inst, cn_work, cn_after, job);
    if (rc < 0)
        free(job);
    return rc;
}

static int cn_init(const struct drumbeat_host *host, struct drumbeat_instance *inst,
                   const void *settings, void **state)
{
    struct cn *cn = calloc(1, sizeof(*cn));

    (void)settings;
    if (cn == NULL)
        return -ENOMEM;
    cn->host = host;
    cn->inst = inst;
    /* Loudly: a mailbox bound here by mistake silently loses its mail. */
    host->log(inst, DRUMBEAT_LOG_WARN, "msg=\"channel_null discards every message it is "
              "given; use it only for benchmarks and tests\"");
    *state = cn;
    return 0;
}

static void cn_fini(void *state)
{
    free(state);
}

static const struct drumbeat_channel_ops cn_ops = {
    .send = cn_send,
    .max_batch = CN_MAX_BATCH,
    .accepts = "message/rfc822",
};

const struct drumbeat_plugin drumbeat_plugin = {
    DRUMBEAT_PLUGIN_HEADER,
    .kind = DRUMBEAT_KIND_CHANNEL,
    .name = "channel_null",
    .version = "1.0.0",
    .init = cn_init,
    .fini = cn_fini,
    .channel = &cn_ops,
};
