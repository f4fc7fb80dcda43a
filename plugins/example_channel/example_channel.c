/* SPDX-License-Identifier: MIT */
/* plugins/example_channel/example_channel.c: a complete channel plugin that
 * "delivers" each message by writing it, maildir-style, as one file into a
 * folder: the bytes go to <dir>/tmp/ under a unique name, are fsync()ed, and
 * are then linked into <dir>/new/<idempotency key>.eml, so a reader of new/
 * never sees half a file and a resend of the same touch never makes a second
 * one. The blocking file work runs on the daemon's threadpool through
 * host->queue_work. docs/plugin-guide.md walks through this file.
 *
 * Options: dir (required), fail_recipients (addresses to reject, to show the
 * FAILED outcome), delay (sleep before completing, to show draining).
 *
 * Ownership: struct ex is ours from init to fini; its settings belong to the
 * host until fini; each struct ex_job is ours from send until its after()
 * has called done for every message. The messages are borrowed from the host
 * until each op's done. */
/* For the GNU strerror_r (it returns the text) when built out of tree. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <drumbeat/plugin.h>

/* Filled by the host from the instance's "options", following the table
 * below: the host owns the strings until fini. */
struct ex_settings {
    const char *dir;
    const char *fail_recipients;
    uint64_t delay_ms;
};

static const struct drumbeat_option ex_options[] = {
    { "dir", DRUMBEAT_OPT_PATH, NULL, DRUMBEAT_OPT_REQUIRED,
      offsetof(struct ex_settings, dir), "Folder that receives new/ and tmp/" },
    { "fail_recipients", DRUMBEAT_OPT_STRING, NULL, 0,
      offsetof(struct ex_settings, fail_recipients),
      "Comma-separated addresses to reject with 550 5.1.1 (to demonstrate outcomes)" },
    { "delay", DRUMBEAT_OPT_DURATION_MS, "0", 0,
      offsetof(struct ex_settings, delay_ms), "Wait this long before completing each batch" },
    { 0 },
};

/* One instance. Everything lives here, never in a global, so two instances
 * (two folders) work side by side. */
struct ex {
    const struct drumbeat_host *host;
    struct drumbeat_instance *inst;
    const struct ex_settings *set;
    char **reject;                 /* fail_recipients, split; NULL-terminated */
    unsigned long seq;             /* for unique tmp names; updated atomically */
};

/* What the threadpool decided for one message; read by after() on the loop. */
struct ex_item {
    const struct drumbeat_message *msg;
    struct drumbeat_op *op;
    enum drumbeat_outcome outcome;
    enum drumbeat_scope scope;
    int code;
    const char *enhanced;
    char detail[256];
};

/* One batch: a single queue_work for all its messages. */
struct ex_job {
    struct ex *ex;
    size_t n;
    struct ex_item items[];
};

static bool ex_rejects(const struct ex *ex, const char *recipient)
{
    for (char **r = ex->reject; r != NULL && *r != NULL; r++)
        if (recipient != NULL && strcasecmp(*r, recipient) == 0)
            return true;
    return false;
}

/* The idempotency key becomes a file name: characters that are unsafe in a
 * name ('/', control, space...) are written as %XX, which keeps distinct
 * keys distinct. */
static int ex_key_name(const char *key, char *out, size_t len)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t at = 0;

    if (key == NULL || *key == '\0')
        return -EINVAL;
    for (const unsigned char *p = (const unsigned char *)key; *p != '\0'; p++) {
        bool safe = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                    (*p >= '0' && *p <= '9') || strchr("@._+=-", *p) != NULL;
        if (at + 4 >= len)
            return -ENAMETOOLONG;
        if (safe && !(at == 0 && *p == '.')) {
            out[at++] = (char)*p;
        } else {
            out[at++] = '%';
            out[at++] = hex[*p >> 4];
            out[at++] = hex[*p & 15];
        }
    }
    out[at] = '\0';
    return 0;
}

static int ex_write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t w = write(fd, buf, len);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        buf += w;
        len -= (size_t)w;
    }
    return 0;
}

/* Makes the link into new/ durable: fsync the folder holding the entry. */
static int ex_sync_dir(const char *path)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rc = 0;

    if (fd < 0)
        return -errno;
    if (fsync(fd) < 0)
        rc = -errno;
    close(fd);
    return rc;
}

/* Delivers one message: returns 0 (written now), 1 (was already there) or a
 * negative errno. Runs on the threadpool: it must not call the host, except
 * host->log. */
static int ex_deliver(struct ex *ex, const struct drumbeat_message *m)
{
    const char *dir = ex->set->dir;
    char name[512], tmp[4096], dst[4096], newdir[4096];
    unsigned long seq = __atomic_add_fetch(&ex->seq, 1, __ATOMIC_RELAXED);
    int fd, rc;

    rc = ex_key_name(m->idempotency_key, name, sizeof(name));
    if (rc < 0)
        return rc;
    /* A unique tmp name, so two sends of one key never write the same file. */
    if ((size_t)snprintf(newdir, sizeof(newdir), "%s/new", dir) >= sizeof(newdir) ||
        (size_t)snprintf(dst, sizeof(dst), "%s/%s.eml", newdir, name) >= sizeof(dst) ||
        (size_t)snprintf(tmp, sizeof(tmp), "%s/tmp/%s.%ld.%lu.eml", dir, name,
                         (long)getpid(), seq) >= sizeof(tmp))
        return -ENAMETOOLONG;
    if (access(dst, F_OK) == 0)
        return 1;
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
    if (fd < 0)
        return -errno;
    rc = ex_write_all(fd, m->payload, m->payload_len);
    if (rc == 0 && fsync(fd) < 0)
        rc = -errno;
    if (close(fd) < 0 && rc == 0)
        rc = -errno;
    if (rc == 0) {
        /* link() refuses to replace: if another send of this key won the
         * race, the message is already there and ours is dropped. */
        if (link(tmp, dst) < 0)
            rc = errno == EEXIST ? 1 : -errno;
        else
            rc = ex_sync_dir(newdir);
    }
    unlink(tmp);
    return rc;
}

static void ex_work(void *arg)
{
    struct ex_job *job = arg;
    struct ex *ex = job->ex;

    if (ex->set->delay_ms > 0) {
        struct timespec ts = { .tv_sec = (time_t)(ex->set->delay_ms / 1000),
                               .tv_nsec = (long)(ex->set->delay_ms % 1000) * 1000000L };
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
            ;
    }
    for (size_t i = 0; i < job->n; i++) {
        struct ex_item *it = &job->items[i];
        if (ex_rejects(ex, it->msg->recipient)) {
            it->outcome = DRUMBEAT_FAILED;
            it->scope = DRUMBEAT_SCOPE_RECIPIENT;
            it->code = 550;
            it->enhanced = "5.1.1";
            snprintf(it->detail, sizeof(it->detail), "recipient listed in fail_recipients");
            continue;
        }
        int rc = ex_deliver(ex, it->msg);
        if (rc >= 0) {
            it->outcome = DRUMBEAT_DONE;
            it->code = 250;
            it->enhanced = "2.0.0";
            snprintf(it->detail, sizeof(it->detail), "%s",
                     rc == 1 ? "already delivered" : "delivered");
        } else {
            /* A full disk or a permission problem may be fixed: retry later.
             * A key that cannot be a file name never will be: fail. */
            char buf[128];
            it->outcome = rc == -ENAMETOOLONG || rc == -EINVAL ? DRUMBEAT_FAILED : DRUMBEAT_RETRY;
            snprintf(it->detail, sizeof(it->detail), "write failed: %s",
                     strerror_r(-rc, buf, sizeof(buf)));
            ex->host->log(ex->inst, DRUMBEAT_LOG_WARN, "msg=\"write failed\" touch=%lld error=\"%s\"",
                          (long long)it->msg->touch_id, it->detail);
        }
    }
}

/* Back on the loop thread: one done per message, then the job is ours to free. */
static void ex_after(void *arg, int status)
{
    struct ex_job *job = arg;
    struct ex *ex = job->ex;

    /* A little durable state, to show the kv service: the last key written.
     * It is read before the dones, after which the messages are gone. A
     * daemon without a store answers -ENOSYS, which is fine here. */
    for (size_t i = job->n; status == 0 && i-- > 0;) {
        const char *key = job->items[i].msg->idempotency_key;
        if (job->items[i].outcome == DRUMBEAT_DONE && DRUMBEAT_HOST_HAS(ex->host, kv_set)) {
            ex->host->kv_set(ex->inst, "last_key", key, strlen(key), NULL, NULL);
            break;
        }
    }
    for (size_t i = 0; i < job->n; i++) {
        struct ex_item *it = &job->items[i];
        struct drumbeat_result res = {
            .outcome = it->outcome, .scope = it->scope, .code = it->code,
            .enhanced = it->enhanced, .detail = it->detail,
        };
        if (status < 0) {
            /* The work never ran (shutdown): nothing was written. */
            res = (struct drumbeat_result){ .outcome = DRUMBEAT_RETRY,
                                            .detail = "cancelled before writing" };
        }
        ex->host->done(it->op, &res);
    }
    free(job);
}

static int ex_send(void *state, const struct drumbeat_message *msgs,
                   struct drumbeat_op *const *ops, size_t n)
{
    struct ex *ex = state;
    struct ex_job *job = calloc(1, sizeof(*job) + n * sizeof(job->items[0]));
    int rc;

    if (job == NULL)
        return -ENOMEM;                /* and done is never called */
    job->ex = ex;
    job->n = n;
    for (size_t i = 0; i < n; i++) {
        job->items[i].msg = &msgs[i];
        job->items[i].op = ops[i];
    }
    rc = ex->host->queue_work(ex->inst, ex_work, ex_after, job);
    if (rc < 0)
        free(job);                     /* refused: neither work nor after runs */
    return rc;
}

static void ex_free(struct ex *ex)
{
    for (char **r = ex->reject; r != NULL && *r != NULL; r++)
        free(*r);
    free(ex->reject);
    free(ex);
}

/* Splits "a@x.com, b@y.com" into a NULL-terminated array of trimmed entries. */
static int ex_split(const char *list, char ***out)
{
    size_t n = 0, cap = 4;
    char **v = calloc(cap, sizeof(*v));

    if (v == NULL)
        return -ENOMEM;
    for (const char *p = list; p != NULL && *p != '\0';) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        while (len > 0 && (*p == ' ' || *p == '\t'))
            p++, len--;
        while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
            len--;
        if (len > 0) {
            if (n + 2 > cap) {
                char **w = realloc(v, (cap *= 2) * sizeof(*v));
                if (w == NULL)
                    goto nomem;
                v = w;
            }
            if ((v[n] = strndup(p, len)) == NULL)
                goto nomem;
            v[++n] = NULL;
        }
        p = end ? end + 1 : NULL;
    }
    *out = v;
    return 0;
nomem:
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
    return -ENOMEM;
}

static int ex_mkdir(const char *path)
{
    return mkdir(path, 0750) == 0 || errno == EEXIST ? 0 : -errno;
}

/* Removes what a crash left in tmp/: maildir's rule is that a tmp file
 * untouched for 36 hours is garbage (newer ones may be another instance's
 * write in progress, for example during a reload). */
static void ex_purge_tmp(struct ex *ex, const char *tmpdir)
{
    DIR *d = opendir(tmpdir);
    struct dirent *e;
    struct stat st;
    time_t now = time(NULL);

    if (d == NULL)
        return;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.' || fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
            continue;
        if (S_ISREG(st.st_mode) && now - st.st_mtime > 36 * 3600 &&
            unlinkat(dirfd(d), e->d_name, 0) == 0)
            ex->host->log(ex->inst, DRUMBEAT_LOG_INFO, "msg=\"removed stale tmp file\" name=\"%s\"",
                          e->d_name);
    }
    closedir(d);
}

static int ex_init(const struct drumbeat_host *host, struct drumbeat_instance *inst,
                   const void *settings, void **state)
{
    const struct ex_settings *set = settings;
    char path[4096];
    int rc;

    struct ex *ex = calloc(1, sizeof(*ex));
    if (ex == NULL)
        return -ENOMEM;
    ex->host = host;
    ex->inst = inst;
    ex->set = set;
    rc = ex_split(set->fail_recipients, &ex->reject);
    if (rc < 0)
        goto fail;
    /* The folders exist before the first send, so a bad dir fails the
     * instance at start-up, where the operator sees it. */
    if (strlen(set->dir) + sizeof("/tmp") > sizeof(path)) {
        rc = -ENAMETOOLONG;
        goto fail_dir;
    }
    if ((rc = ex_mkdir(set->dir)) < 0)
        goto fail_dir;
    snprintf(path, sizeof(path), "%s/tmp", set->dir);
    if ((rc = ex_mkdir(path)) < 0)
        goto fail_dir;
    ex_purge_tmp(ex, path);
    snprintf(path, sizeof(path), "%s/new", set->dir);
    if ((rc = ex_mkdir(path)) < 0)
        goto fail_dir;

    char *last = NULL;
    if (host->kv_get(inst, "last_key", &last, NULL) == 0) {
        host->log(inst, DRUMBEAT_LOG_DEBUG, "msg=\"resuming\" last_key=\"%s\"", last);
        free(last);
    }
    host->log(inst, DRUMBEAT_LOG_INFO, "msg=\"writing messages\" dir=\"%s\"", set->dir);
    *state = ex;
    return 0;

fail_dir:
    host->log(inst, DRUMBEAT_LOG_ERROR, "msg=\"cannot create folder\" path=\"%s\" error=\"%s\"",
              set->dir, strerror(-rc));
fail:
    ex_free(ex);
    return rc;
}

static void ex_fini(void *state)
{
    ex_free(state);
}

static const struct drumbeat_channel_ops ex_ops = {
    .send = ex_send,
    .max_batch = 16,
};

/* The one exported symbol: the host finds it with dlsym and checks the
 * header (magic, ABI version, size) before reading anything else. */
const struct drumbeat_plugin drumbeat_plugin = {
    DRUMBEAT_PLUGIN_HEADER,
    .kind = DRUMBEAT_KIND_CHANNEL,
    .name = "example_channel",
    .version = "1.0.0",
    .options = ex_options,
    .settings_size = sizeof(struct ex_settings),
    .init = ex_init,
    .fini = ex_fini,
    .channel = &ex_ops,
};
