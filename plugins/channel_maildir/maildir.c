/* SPDX-License-Identifier: MIT */
/* plugins/channel_maildir/maildir.c: a channel that delivers each message as
 * one file in a Maildir, for dry runs and demos: a person checks a campaign
 * by opening the folder in mutt or Thunderbird before anything goes out for
 * real. This file is the plugin glue: the option table, init/fini, and send,
 * which hands each batch (up to 64 messages) to the threadpool as one job;
 * the job's after() reports one outcome per message on the loop thread. The
 * writing itself is maildir_write.c.
 *
 * Outcomes: DONE with the file's path relative to dir as detail; a full disk,
 * a quota or an I/O error is RETRY; a folder that cannot be written (no
 * permission, read-only, missing with create off, not a folder) is FAILED,
 * scope MESSAGE, with a detail naming the folder.
 *
 * Ownership: struct md is ours from init to fini; the settings (and the dir
 * string) are the host's until fini. A struct md_job is ours from send until
 * its after() has called done for every message; the messages and ops are the
 * host's until each op's done. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE                    /* the GNU strerror_r, which returns the text */
#endif
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <drumbeat/plugin.h>

#include "maildir_write.h"

#define MD_MAX_BATCH 64

/* Filled by the host following md_options. */
struct md_settings {
    const char *dir;
    bool create;
    bool per_mailbox;
    bool fsync;
};

static const struct drumbeat_option md_options[] = {
    { "dir", DRUMBEAT_OPT_PATH, NULL, DRUMBEAT_OPT_REQUIRED,
      offsetof(struct md_settings, dir),
      "The Maildir (with tmp/, new/, cur/) that receives the messages" },
    { "create", DRUMBEAT_OPT_BOOL, "true", 0, offsetof(struct md_settings, create),
      "Create missing folders; when false, a missing folder fails the message" },
    { "per_mailbox", DRUMBEAT_OPT_BOOL, "false", 0, offsetof(struct md_settings, per_mailbox),
      "One Maildir per sender address, as <dir>/<address>/" },
    { "fsync", DRUMBEAT_OPT_BOOL, "true", 0, offsetof(struct md_settings, fsync),
      "fsync each file and new/ before reporting delivered" },
    { 0 },
};

struct md {
    const struct drumbeat_host *host;
    struct drumbeat_instance *inst;
    struct md_config cfg;
};

/* One message of a batch: filled on the threadpool, reported in after(). */
struct md_item {
    const struct drumbeat_message *msg;
    struct drumbeat_op *op;
    enum drumbeat_outcome outcome;
    char detail[1200];
};

struct md_job {
    struct md *md;
    size_t n;
    struct md_item items[];
};

/* What a failed write means for the touch. Only what a person must fix is
 * permanent; anything else (full disk, quota, I/O, too many open files) may
 * pass, and the host's backoff retries it. */
static enum drumbeat_outcome md_classify(int err)
{
    switch (err) {
    case EACCES: case EPERM: case EROFS: case ENOENT: case ENOTDIR: case EISDIR:
    case ELOOP: case ENAMETOOLONG: case EEXIST: case EXDEV: case EINVAL:
        return DRUMBEAT_FAILED;
    default:
        return DRUMBEAT_RETRY;
    }
}

static const char *md_hint(const struct md *md, int err)
{
    switch (err) {
    case ENOENT:
        return md->cfg.create ? "" : " (the folder is missing and the option create is false)";
    case EACCES: case EPERM:
        return " (check the folder's owner and permissions)";
    case ENOTDIR:
        return " (a file is in the way of a folder)";
    case ENOSPC: case EDQUOT:
        return " (will retry)";
    default:
        return "";
    }
}

static void md_work(void *arg)
{
    struct md_job *job = arg;
    struct md *md = job->md;

    for (size_t i = 0; i < job->n; i++) {
        struct md_item *it = &job->items[i];
        char rel[1200], where[1024] = "", ebuf[128];
        int rc = md_deliver(&md->cfg, it->msg, rel, sizeof(rel), where, sizeof(where));

        if (rc >= 0) {
            it->outcome = DRUMBEAT_DONE;
            snprintf(it->detail, sizeof(it->detail), "%s", rel);
            if (rc > 0)
                md->host->log(md->inst, DRUMBEAT_LOG_WARN,
                              "msg=\"delivered, but syncing the folder failed\" touch=%lld "
                              "folder=\"%s\" error=\"%s\"", (long long)it->msg->touch_id, where,
                              strerror_r(rc, ebuf, sizeof(ebuf)));
            continue;
        }
        it->outcome = md_classify(-rc);
        snprintf(it->detail, sizeof(it->detail), "cannot deliver into %s: %s%s", where,
                 strerror_r(-rc, ebuf, sizeof(ebuf)), md_hint(md, -rc));
        md->host->log(md->inst, DRUMBEAT_LOG_WARN, "msg=\"delivery failed\" touch=%lld outcome=%s "
                      "error=\"%s\"", (long long)it->msg->touch_id,
                      it->outcome == DRUMBEAT_RETRY ? "retry" : "failed", it->detail);
    }
}

/* On the loop thread: one done per message, then the job is freed. */
static void md_after(void *arg, int status)
{
    struct md_job *job = arg;
    struct md *md = job->md;

    for (size_t i = 0; i < job->n; i++) {
        struct md_item *it = &job->items[i];
        struct drumbeat_result res = { .outcome = it->outcome, .scope = DRUMBEAT_SCOPE_MESSAGE,
                                       .detail = it->detail };
        if (status < 0) {
            /* The work never ran (shutdown): nothing was written. */
            res = (struct drumbeat_result){ .outcome = DRUMBEAT_RETRY,
                                            .scope = DRUMBEAT_SCOPE_MESSAGE,
                                            .detail = "cancelled before writing" };
        } else if (it->outcome == DRUMBEAT_DONE) {
            md->host->log(md->inst, DRUMBEAT_LOG_DEBUG, "msg=delivered touch=%lld file=\"%s\"",
                          (long long)it->msg->touch_id, it->detail);
        }
        md->host->done(it->op, &res);
    }
    free(job);
}

/* Never completes anything itself: everything happens in the job. */
static int md_send(void *state, const struct drumbeat_message *msgs,
                   struct drumbeat_op *const *ops, size_t n)
{
    struct md *md = state;
    struct md_job *job;
    int rc;

    if (n == 0 || n > MD_MAX_BATCH)
        return -EINVAL;
    job = calloc(1, sizeof(*job) + n * sizeof(job->items[0]));
    if (job == NULL)
        return -ENOMEM;
    job->md = md;
    job->n = n;
    for (size_t i = 0; i < n; i++) {
        job->items[i].msg = &msgs[i];
        job->items[i].op = ops[i];
    }
    rc = md->host->queue_work(md->inst, md_work, md_after, job);
    if (rc < 0)
        free(job);
    return rc;
}

/* The root Maildir must be usable at start-up: a wrong path or a missing
 * folder (with create off) is a mistake the operator should see now, as a
 * failed instance, rather than as failed touches later. */
static int md_init(const struct drumbeat_host *host, struct drumbeat_instance *inst,
                   const void *settings, void **state)
{
    const struct md_settings *set = settings;
    char where[1024] = "", ebuf[128];
    struct md *md = calloc(1, sizeof(*md));
    int rc, removed;

    if (md == NULL)
        return -ENOMEM;
    md->host = host;
    md->inst = inst;
    md->cfg.dir = set->dir;
    md->cfg.create = set->create;
    md->cfg.per_mailbox = set->per_mailbox;
    md->cfg.fsync = set->fsync;
    md_host_init(&md->cfg);
    rc = md_maildir_ready(set->dir, set->create, where, sizeof(where));
    if (rc < 0) {
        host->log(inst, DRUMBEAT_LOG_ERROR, "msg=\"maildir not usable\" folder=\"%s\" error=\"%s%s\"",
                  where, strerror_r(-rc, ebuf, sizeof(ebuf)), md_hint(md, -rc));
        free(md);
        return rc;
    }
    removed = md_purge_tmp(&md->cfg, time(NULL));
    if (removed > 0)
        host->log(inst, DRUMBEAT_LOG_INFO, "msg=\"removed files a crash left in tmp/\" count=%d",
                  removed);
    host->log(inst, DRUMBEAT_LOG_INFO, "msg=\"delivering into a maildir\" dir=\"%s\" "
              "per_mailbox=%s fsync=%s", set->dir, set->per_mailbox ? "true" : "false",
              set->fsync ? "true" : "false");
    *state = md;
    return 0;
}

static void md_fini(void *state)
{
    free(state);
}

static const struct drumbeat_channel_ops md_ops = {
    .send = md_send,
    .max_batch = MD_MAX_BATCH,
    .accepts = "message/rfc822",
};

const struct drumbeat_plugin drumbeat_plugin = {
    DRUMBEAT_PLUGIN_HEADER,
    .kind = DRUMBEAT_KIND_CHANNEL,
    .name = "channel_maildir",
    .version = "1.0.0",
    .options = md_options,
    .settings_size = sizeof(struct md_settings),
    .init = md_init,
    .fini = md_fini,
    .channel = &md_ops,
};
