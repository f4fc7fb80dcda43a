/* SPDX-License-Identifier: MIT */
/* daemon/host_api.c: the one struct drumbeat_host handed to every plugin
 * instance: logging with the instance's prefix, level and a repeat limit;
 * op completion; threadpool work; curl transfers on the shared multi handle;
 * per-instance key/value state in the store; the daemon's clock; DNS
 * lookups (host_dns.c).
 *
 * Every service request a plugin makes is tracked on its instance (struct
 * host_pending), so that an instance is finalised only once nothing of it is
 * outstanding, and so that shutdown can cancel or disown what is left. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "clock.h"
#include "curl_loop.h"
#include "log.h"
#include "plugin_instance.h"
#include "store.h"

void host_pending_add(struct drumbeat_instance *inst, struct host_pending *hp,
                      enum pending_kind kind)
{
    hp->inst = inst;
    hp->kind = kind;
    hp->prev = NULL;
    hp->next = inst->pending;
    if (inst->pending != NULL)
        inst->pending->prev = hp;
    inst->pending = hp;
    inst->n_pending++;
}

struct drumbeat_instance *host_pending_remove(struct host_pending *hp)
{
    struct drumbeat_instance *inst = hp->inst;

    if (inst == NULL)
        return NULL;
    if (hp->prev != NULL)
        hp->prev->next = hp->next;
    else
        inst->pending = hp->next;
    if (hp->next != NULL)
        hp->next->prev = hp->prev;
    hp->prev = hp->next = NULL;
    inst->n_pending--;
    return inst;
}

/* ---- log ---- */

static uint64_t hash_text(const char *s)
{
    uint64_t h = 1469598103934665603ull;   /* FNV-1a */
    for (; *s != '\0'; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ull;
    }
    return h;
}

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void log_line(struct drumbeat_instance *inst, enum log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void log_line(struct drumbeat_instance *inst, enum log_level level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_vwrite(level, 0, inst->prefix, fmt, ap);
    va_end(ap);
}

/* Decides whether a line may be written: at most LOG_REPEAT_MAX identical
 * lines per window, so a plugin stuck in a loop cannot flood the log. When a
 * window with suppressed lines ends, says how many were dropped. */
static bool repeat_allows(struct drumbeat_instance *inst, const char *text, unsigned *dropped)
{
    uint64_t h = hash_text(text), now = mono_ns();
    struct log_repeat *slot = NULL, *oldest = &inst->repeats[0];
    bool ok;

    *dropped = 0;
    pthread_mutex_lock(&inst->log_mu);
    for (int i = 0; i < LOG_REPEAT_SLOTS; i++) {
        struct log_repeat *r = &inst->repeats[i];
        if (r->count > 0 && r->hash == h) {
            slot = r;
            break;
        }
        if (r->window_start_ns < oldest->window_start_ns)
            oldest = r;
    }
    if (slot == NULL) {
        slot = oldest;
        memset(slot, 0, sizeof(*slot));
        slot->hash = h;
        slot->window_start_ns = now;
    } else if (now - slot->window_start_ns >= LOG_REPEAT_WINDOW_NS) {
        *dropped = slot->suppressed;
        slot->window_start_ns = now;
        slot->count = 0;
        slot->suppressed = 0;
    }
    ok = slot->count < LOG_REPEAT_MAX;
    if (ok)
        slot->count++;
    else
        slot->suppressed++;
    pthread_mutex_unlock(&inst->log_mu);
    return ok;
}

static void h_log(struct drumbeat_instance *inst, int level, const char *fmt, ...)
{
    char text[3072];
    unsigned dropped;
    va_list ap;

    if (inst == NULL || fmt == NULL)
        return;
    if (level < DRUMBEAT_LOG_ERROR)
        level = DRUMBEAT_LOG_ERROR;
    if (level > DRUMBEAT_LOG_DEBUG)
        level = DRUMBEAT_LOG_DEBUG;
    if (level > (int)inst->log_level)
        return;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    bool ok = repeat_allows(inst, text, &dropped);
    if (dropped > 0)
        log_line(inst, LOG_LEVEL_WARN, "msg=\"repeated log line suppressed\" count=%u", dropped);
    if (ok)
        log_line(inst, (enum log_level)level, "%s", text);
}

/* ---- completion ---- */

static void h_done(struct drumbeat_op *op, const struct drumbeat_result *res)
{
    if (op == NULL)
        return;
    instance_complete(op, res, NULL);
}

static void h_enrich_done(struct drumbeat_op *op, const struct drumbeat_result *res,
                          struct json_t *attrs)
{
    if (op == NULL) {
        json_decref(attrs);
        return;
    }
    instance_complete(op, res, attrs);
}

static void h_enrich_cache_ttl(struct drumbeat_op *op, uint64_t ttl_ms)
{
    if (op == NULL || !op->enrich || op->completed)
        return;
    op->cache_ttl_ms = ttl_ms > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)ttl_ms;
}

/* ---- queue_work ---- */

struct host_work {
    struct host_pending hp;        /* first: the pending list links */
    uv_work_t req;
    void (*work)(void *arg);
    void (*after)(void *arg, int status);
    void *arg;
    bool after_called;             /* abandon() already ran after */
};

static void w_work(uv_work_t *req)
{
    struct host_work *w = req->data;
    w->work(w->arg);
}

static void w_after(uv_work_t *req, int status)
{
    struct host_work *w = req->data;
    struct drumbeat_instance *inst = host_pending_remove(&w->hp);

    if (inst != NULL && !w->after_called)
        w->after(w->arg, status == UV_ECANCELED ? -ECANCELED : status);
    free(w);
    if (inst != NULL)
        instance_maybe_idle(inst);
}

static int h_queue_work(struct drumbeat_instance *inst, void (*work)(void *arg),
                        void (*after)(void *arg, int status), void *arg)
{
    struct host_work *w;
    int rc;

    if (inst == NULL || work == NULL || after == NULL)
        return -EINVAL;
    if (inst->owner->freeing)
        return -ECANCELED;
    w = calloc(1, sizeof(*w));
    if (w == NULL)
        return -ENOMEM;
    w->work = work;
    w->after = after;
    w->arg = arg;
    w->req.data = w;
    rc = uv_queue_work(inst->owner->loop, &w->req, w_work, w_after);
    if (rc < 0) {
        free(w);
        return rc;
    }
    host_pending_add(inst, &w->hp, PENDING_WORK);
    return 0;
}

/* ---- curl_submit ---- */

struct host_curl {
    struct host_pending hp;
    CURL *easy;
    void (*finished)(void *easy, int curl_code, void *arg);
    void *arg;
};

static void c_finished(CURL *easy, CURLcode rc, void *arg)
{
    struct host_curl *c = arg;
    struct drumbeat_instance *inst = host_pending_remove(&c->hp);

    if (inst != NULL)
        c->finished(easy, (int)rc, c->arg);
    free(c);
    if (inst != NULL)
        instance_maybe_idle(inst);
}

static int h_curl_submit(struct drumbeat_instance *inst, void *easy,
                         void (*finished)(void *easy, int curl_code, void *arg), void *arg)
{
    struct host_curl *c;
    int rc;

    if (inst == NULL || easy == NULL || finished == NULL)
        return -EINVAL;
    if (inst->owner->curl == NULL)
        return -ENOSYS;
    if (inst->owner->freeing)
        return -ECANCELED;
    c = calloc(1, sizeof(*c));
    if (c == NULL)
        return -ENOMEM;
    c->easy = easy;
    c->finished = finished;
    c->arg = arg;
    rc = curl_loop_submit(inst->owner->curl, easy, c_finished, c);
    if (rc < 0) {
        free(c);
        return rc;
    }
    host_pending_add(inst, &c->hp, PENDING_CURL);
    return 0;
}

/* ---- kv ---- */

struct host_kv {
    struct host_pending hp;
    void (*saved)(int status, void *arg);
    void *arg;
};

static void kv_saved(int status, int64_t id, void *arg)
{
    struct host_kv *k = arg;
    struct drumbeat_instance *inst = host_pending_remove(&k->hp);

    (void)id;
    if (inst != NULL && k->saved != NULL)
        k->saved(status, k->arg);
    free(k);
    if (inst != NULL)
        instance_maybe_idle(inst);
}

static int h_kv_get(struct drumbeat_instance *inst, const char *key, char **value, size_t *len)
{
    if (inst == NULL || key == NULL || value == NULL)
        return -EINVAL;
    if (inst->owner->store == NULL)
        return -ENOSYS;
    size_t dummy;
    return store_kv_get(inst->owner->store, inst->name, key, value, len ? len : &dummy);
}

static int h_kv_set(struct drumbeat_instance *inst, const char *key, const char *value,
                    size_t len, void (*saved)(int status, void *arg), void *arg)
{
    struct host_kv *k;
    int rc;

    if (inst == NULL || key == NULL)
        return -EINVAL;
    if (inst->owner->store == NULL)
        return -ENOSYS;
    k = calloc(1, sizeof(*k));
    if (k == NULL)
        return -ENOMEM;
    k->saved = saved;
    k->arg = arg;
    rc = store_kv_set(inst->owner->store, inst->name, key, value, len, kv_saved, k);
    if (rc < 0) {
        free(k);
        return rc;
    }
    host_pending_add(inst, &k->hp, PENDING_KV);
    return 0;
}

/* ---- clock, name ---- */

static int64_t h_now_ms(struct drumbeat_instance *inst)
{
    (void)inst;
    return clock_now_ms();
}

static const char *h_instance_name(struct drumbeat_instance *inst)
{
    return inst != NULL ? inst->name : NULL;
}

static const struct drumbeat_host host_table = {
    .size = sizeof(struct drumbeat_host),
    .abi_major = DRUMBEAT_ABI_MAJOR,
    .abi_minor = DRUMBEAT_ABI_MINOR,
    .log = h_log,
    .done = h_done,
    .queue_work = h_queue_work,
    .curl_submit = h_curl_submit,
    .enrich_done = h_enrich_done,
    .enrich_cache_ttl = h_enrich_cache_ttl,
    .kv_get = h_kv_get,
    .kv_set = h_kv_set,
    .now_ms = h_now_ms,
    .instance_name = h_instance_name,
    .dns_query = host_dns_query,
};

const struct drumbeat_host *host_api_table(void)
{
    return &host_table;
}

size_t host_api_abandon(struct drumbeat_instance *inst)
{
    size_t running = 0;
    struct host_pending *hp = inst->pending;

    /* Each cancellation may run plugin code that touches the list, so the
     * walk restarts from the head after every callback. */
    while (hp != NULL) {
        struct host_pending *next = hp->next;
        if (hp->kind == PENDING_CURL) {
            struct host_curl *c = (struct host_curl *)hp;
            /* finished(ABORTED) runs now and unlinks c. */
            if (curl_loop_cancel(inst->owner->curl, c->easy) == 0) {
                hp = inst->pending;
                continue;
            }
        } else if (hp->kind == PENDING_WORK) {
            struct host_work *w = (struct host_work *)hp;
            if (!w->after_called && uv_cancel((uv_req_t *)&w->req) == 0) {
                /* libuv will still run w_after later; the plugin hears now,
                 * while its state still exists. */
                w->after_called = true;
                w->after(w->arg, -ECANCELED);
                hp = inst->pending;
                continue;
            }
        } else if (hp->kind == PENDING_DNS && host_dns_abandon(hp)) {
            /* answered(-ECANCELED) ran; the query stays out, orphaned below. */
            hp = inst->pending;
            continue;
        }
        hp = next;
    }
    /* What is left completes after the instance is gone: disown it. Work
     * whose after has not run is still running plugin code on a thread. */
    while (inst->pending != NULL) {
        hp = inst->pending;
        if (hp->kind == PENDING_WORK && !((struct host_work *)hp)->after_called)
            running++;
        host_pending_remove(hp);
        hp->inst = NULL;
    }
    return running;
}
