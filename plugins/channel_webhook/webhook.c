/* SPDX-License-Identifier: MIT */
/* plugins/channel_webhook/webhook.c: a channel that POSTs each message to a
 * configured URL through the host's curl service (libcurl's multi-socket API
 * driven by the daemon's libuv loop: no threads, no blocking). Each request
 * carries an Idempotency-Key (the touch's key, the same on every retry) and,
 * when a shared secret is configured, an X-Drumbeat-Signature header
 * (webhook_sign.c). The HTTP status decides the outcome:
 *
 *   2xx            DONE
 *   408, 429, 5xx  RETRY, at Retry-After (seconds or an HTTP date) when given
 *   other codes    FAILED (scope MESSAGE): the request itself is wrong
 *   curl errors    RETRY (refused, unreachable, timed out, TLS trouble)
 *
 * A timeout is a RETRY, not IN_DOUBT, even though the receiver may have acted
 * on the request: the Idempotency-Key is how a receiver drops the repeat.
 *
 * At most max_in_flight requests are open at once; the rest wait in order in
 * a queue of the instance, so the request timeout only runs once a request
 * really starts.
 *
 * Ownership: struct wh is ours from init to fini; its settings are the
 * host's until fini; each struct wh_post is ours from send until it has
 * called done. Messages are borrowed from the host until their op's done, so
 * the body is handed to curl without a copy (CURLOPT_POSTFIELDS) and the easy
 * handle is cleaned up before done is called. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <drumbeat/plugin.h>

#include "webhook_conf.h"
#include "webhook_sign.h"

/* A Retry-After further out than this is read as this: a receiver's typo must
 * not park a touch for a year. */
#define WH_RETRY_AFTER_MAX_MS (24ull * 3600 * 1000)
/* How much of an error reply is kept for the touch's detail. */
#define WH_REPLY_KEEP 240

struct wh {
    const struct drumbeat_host *host;
    struct drumbeat_instance *inst;
    struct wh_conf conf;
    struct wh_post *queue_head, *queue_tail;   /* accepted, not yet started */
    size_t running;                            /* submitted to the host's curl */
};

struct wh_post {
    struct wh_post *next;
    struct wh *wh;
    const struct drumbeat_message *msg;        /* borrowed until done */
    struct drumbeat_op *op;
    CURL *easy;
    struct curl_slist *headers;
    char errbuf[CURL_ERROR_SIZE];
    char reply[WH_REPLY_KEEP + 1];
    size_t reply_len;
    int64_t retry_after_ms;                    /* -1: no Retry-After header */
};

static void wh_pump(struct wh *wh, bool in_send);

static void wh_post_free(struct wh_post *p)
{
    if (p->easy != NULL)
        curl_easy_cleanup(p->easy);
    curl_slist_free_all(p->headers);
    free(p);
}

static size_t on_reply(char *data, size_t size, size_t n, void *arg)
{
    struct wh_post *p = arg;
    size_t len = size * n, room = WH_REPLY_KEEP - p->reply_len;
    size_t take = len < room ? len : room;

    memcpy(p->reply + p->reply_len, data, take);
    p->reply_len += take;
    p->reply[p->reply_len] = '\0';
    return len;
}

/* Retry-After is "120" or an HTTP date. curl's CURLINFO_RETRY_AFTER reads it
 * only on 429 and 503, so the header is parsed here for every reply. */
static size_t on_header(char *data, size_t size, size_t n, void *arg)
{
    struct wh_post *p = arg;
    size_t len = size * n;
    static const char name[] = "Retry-After:";

    if (len >= 5 && strncmp(data, "HTTP/", 5) == 0) {
        p->retry_after_ms = -1;        /* a new response (after a 100 Continue) */
        return len;
    }
    if (len <= sizeof(name) - 1 || strncasecmp(data, name, sizeof(name) - 1) != 0)
        return len;
    char value[128];
    size_t vlen = len - (sizeof(name) - 1);
    if (vlen >= sizeof(value))
        return len;
    memcpy(value, data + sizeof(name) - 1, vlen);
    value[vlen] = '\0';
    char *v = value;
    while (isspace((unsigned char)*v))
        v++;
    for (size_t end = strlen(v); end > 0 && isspace((unsigned char)v[end - 1]);)
        v[--end] = '\0';
    if (*v == '\0')
        return len;
    if (isdigit((unsigned char)*v)) {
        char *rest;
        unsigned long long secs = strtoull(v, &rest, 10);
        if (*rest == '\0')
            p->retry_after_ms = secs > WH_RETRY_AFTER_MAX_MS / 1000
                ? (int64_t)WH_RETRY_AFTER_MAX_MS : (int64_t)secs * 1000;
        return len;
    }
    /* An HTTP date is the receiver's wall clock, so it is compared with ours,
     * not with the daemon's (possibly test) clock. */
    time_t at = curl_getdate(v, NULL);
    if (at != (time_t)-1) {
        int64_t delta = ((int64_t)at - (int64_t)time(NULL)) * 1000;
        p->retry_after_ms = delta < 0 ? 0
            : delta > (int64_t)WH_RETRY_AFTER_MAX_MS ? (int64_t)WH_RETRY_AFTER_MAX_MS : delta;
    }
    return len;
}

/* Keeps a reply printable on one line: it ends up in the touch's detail. */
static void wh_clean_text(char *s)
{
    for (; *s != '\0'; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            *s = ' ';
}

static void wh_finished(void *easy, int curl_code, void *arg)
{
    struct wh_post *p = arg;
    struct wh *wh = p->wh;
    long status = 0;
    char detail[400];
    struct drumbeat_result res = { .scope = DRUMBEAT_SCOPE_MESSAGE };

    if (curl_code == CURLE_OK)
        curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
    res.code = (int)status;
    if (curl_code != CURLE_OK) {
        /* Refused, unreachable, timed out, TLS: all may clear up. */
        res.outcome = DRUMBEAT_RETRY;
        snprintf(detail, sizeof(detail), "%s", p->errbuf[0] != '\0'
                 ? p->errbuf : curl_easy_strerror((CURLcode)curl_code));
    } else {
        wh_clean_text(p->reply);
        if (status >= 200 && status < 300)
            res.outcome = DRUMBEAT_DONE;
        else if (status == 408 || status == 429 || status >= 500)
            res.outcome = DRUMBEAT_RETRY;
        else
            res.outcome = DRUMBEAT_FAILED;   /* 3xx, other 4xx: resending won't help */
        snprintf(detail, sizeof(detail), "HTTP %ld%s%s", status, p->reply_len > 0 ? ": " : "",
                 p->reply);
        if (res.outcome == DRUMBEAT_RETRY && p->retry_after_ms >= 0)
            /* 0 ("retry now") still waits a second, so a busy receiver
             * answering "0" cannot make us spin. */
            res.retry_after_ms = p->retry_after_ms > 0 ? (uint64_t)p->retry_after_ms : 1000;
    }
    res.detail = detail;

    int64_t touch = p->msg->touch_id;
    if (res.outcome == DRUMBEAT_DONE)
        wh->host->log(wh->inst, DRUMBEAT_LOG_DEBUG, "touch=%" PRId64 " msg=\"delivered\" code=%ld",
                      touch, status);
    else
        wh->host->log(wh->inst, DRUMBEAT_LOG_WARN,
                      "touch=%" PRId64 " msg=\"not delivered\" outcome=%s code=%ld "
                      "retry_after_ms=%" PRIu64 " detail=\"%s\"", touch,
                      res.outcome == DRUMBEAT_RETRY ? "retry" : "failed", status,
                      res.retry_after_ms, detail);

    /* The easy handle is done with the body; after done the message is gone. */
    struct drumbeat_op *op = p->op;
    wh->running--;
    wh_post_free(p);
    wh->host->done(op, &res);
    wh_pump(wh, false);
}

/* Header values must not carry CR or LF: a key or type that does would let
 * a value start a header of its own. */
static bool wh_header_safe(const char *v)
{
    return v != NULL && strpbrk(v, "\r\n") == NULL;
}

static int wh_add_header(struct curl_slist **list, const char *name, const char *value)
{
    char line[512];
    if ((size_t)snprintf(line, sizeof(line), "%s: %s", name, value) >= sizeof(line))
        return -EINVAL;
    struct curl_slist *grown = curl_slist_append(*list, line);
    if (grown == NULL)
        return -ENOMEM;
    *list = grown;
    return 0;
}

/* Builds the easy handle of one post. Returns 0, -EINVAL (the message cannot
 * be sent as a request: the outcome is FAILED) or -ENOMEM/-EIO. */
static int wh_prepare(struct wh *wh, struct wh_post *p)
{
    const struct drumbeat_message *m = p->msg;
    const char *type = m->content_type != NULL ? m->content_type : "application/json";
    int rc;

    if (!wh_header_safe(m->idempotency_key) || !wh_header_safe(type))
        return -EINVAL;
    p->easy = curl_easy_init();
    if (p->easy == NULL)
        return -ENOMEM;
    for (const struct curl_slist *h = wh->conf.headers; h != NULL; h = h->next) {
        struct curl_slist *grown = curl_slist_append(p->headers, h->data);
        if (grown == NULL)
            return -ENOMEM;
        p->headers = grown;
    }
    if ((rc = wh_add_header(&p->headers, "Content-Type", type)) < 0 ||
        (rc = wh_add_header(&p->headers, "Idempotency-Key", m->idempotency_key)) < 0)
        return rc;
    if (wh->conf.secret != NULL) {
        char sig[WH_SIGNATURE_MAX];
        /* The receiver compares t with its own wall clock to refuse replays,
         * so t is real time even when the daemon runs a test clock. */
        rc = wh_sign(wh->conf.secret, wh->conf.secret_len, (int64_t)time(NULL), m->payload,
                     m->payload_len, sig, sizeof(sig));
        if (rc < 0)
            return rc == -EINVAL ? -EIO : rc;
        if ((rc = wh_add_header(&p->headers, "X-Drumbeat-Signature", sig)) < 0)
            return rc;
    }
    /* No "Expect: 100-continue" round trip for larger bodies. */
    if ((rc = wh_add_header(&p->headers, "Expect", "")) < 0)
        return rc;

    CURL *e = p->easy;
    curl_easy_setopt(e, CURLOPT_URL, wh->conf.set->url);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_POST, 1L);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, m->payload);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)m->payload_len);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, p->headers);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "drumbeat-channel_webhook/1.0");
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)wh->conf.set->timeout_ms);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, p->errbuf);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_reply);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, p);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, p);
    return 0;
}

/* Completes a post that never became a request; never from inside send. */
static void wh_complete_unsent(struct wh *wh, struct wh_post *p, int rc)
{
    char detail[160];
    struct drumbeat_op *op = p->op;
    struct drumbeat_result res = {
        .outcome = rc == -EINVAL ? DRUMBEAT_FAILED : DRUMBEAT_RETRY,
        .scope = DRUMBEAT_SCOPE_MESSAGE, .detail = detail,
    };

    snprintf(detail, sizeof(detail), rc == -EINVAL
             ? "the message cannot be sent as an HTTP request (a header would hold CR or LF)"
             : "could not start the request: error %d", -rc);
    wh->host->log(wh->inst, DRUMBEAT_LOG_WARN, "touch=%" PRId64 " msg=\"not sent\" detail=\"%s\"",
                  p->msg->touch_id, detail);
    wh_post_free(p);
    wh->host->done(op, &res);
}

static struct wh_post *wh_pop(struct wh *wh)
{
    struct wh_post *p = wh->queue_head;
    if (p != NULL) {
        wh->queue_head = p->next;
        if (wh->queue_head == NULL)
            wh->queue_tail = NULL;
        p->next = NULL;
    }
    return p;
}

static void wh_push_front(struct wh *wh, struct wh_post *p)
{
    p->next = wh->queue_head;
    wh->queue_head = p;
    if (wh->queue_tail == NULL)
        wh->queue_tail = p;
}

/* Starts queued posts while there is room. Inside send nothing may complete,
 * so a post that cannot start goes back to the front of the queue (send then
 * decides); outside send it completes at once. Returns the first error seen
 * inside send, or 0. */
static int wh_pump_once(struct wh *wh, bool in_send)
{
    while (wh->running < wh->conf.max_in_flight && wh->queue_head != NULL) {
        struct wh_post *p = wh_pop(wh);
        int rc = p->easy == NULL ? wh_prepare(wh, p) : 0;
        if (rc == 0) {
            rc = wh->host->curl_submit(wh->inst, p->easy, wh_finished, p);
            if (rc == 0) {
                wh->running++;
                continue;
            }
        }
        if (in_send) {
            wh_push_front(wh, p);
            return rc;
        }
        wh_complete_unsent(wh, p, rc);
    }
    return 0;
}

static void wh_pump(struct wh *wh, bool in_send)
{
    (void)wh_pump_once(wh, in_send);
}

static int wh_send(void *state, const struct drumbeat_message *msgs,
                   struct drumbeat_op *const *ops, size_t n)
{
    struct wh *wh = state;
    struct wh_post *first = NULL, *last = NULL;

    for (size_t i = 0; i < n; i++) {
        struct wh_post *p = calloc(1, sizeof(*p));
        if (p == NULL) {
            while (first != NULL) {
                struct wh_post *next = first->next;
                free(first);
                first = next;
            }
            return -ENOMEM;            /* and done is never called */
        }
        p->wh = wh;
        p->msg = &msgs[i];
        p->op = ops[i];
        p->retry_after_ms = -1;
        if (last != NULL)
            last->next = p;
        else
            first = p;
        last = p;
    }
    if (wh->queue_tail != NULL)
        wh->queue_tail->next = first;
    else
        wh->queue_head = first;
    wh->queue_tail = last;

    int rc = wh_pump_once(wh, true);
    if (rc < 0 && wh->running == 0 && wh->queue_head == first) {
        /* Nothing of this batch started and nothing running will pump the
         * queue again: refuse the batch, so the host retries it later. The
         * queue held nothing else (with nothing running it is always empty
         * before a send). */
        wh->queue_head = wh->queue_tail = NULL;
        while (first != NULL) {
            struct wh_post *next = first->next;
            wh_post_free(first);
            first = next;
        }
        return rc;
    }
    /* Otherwise what could not start now starts when a running request
     * finishes, or completes then as not sent. */
    return 0;
}

static int wh_init(const struct drumbeat_host *host, struct drumbeat_instance *inst,
                   const void *settings, void **state)
{
    char why[256] = "";
    int rc;

    if (!DRUMBEAT_HOST_HAS(host, curl_submit))
        return -ENOTSUP;
    struct wh *wh = calloc(1, sizeof(*wh));
    if (wh == NULL)
        return -ENOMEM;
    wh->host = host;
    wh->inst = inst;
    rc = wh_conf_init(&wh->conf, settings, why, sizeof(why));
    if (rc < 0) {
        host->log(inst, DRUMBEAT_LOG_ERROR, "msg=\"bad configuration\" error=\"%s\"",
                  why[0] != '\0' ? why : "out of memory");
        free(wh);
        return rc;
    }
    /* Neither the URL (it may carry a token) nor the secret is logged. */
    host->log(inst, DRUMBEAT_LOG_INFO, "msg=\"posting touches\" signed=%s timeout_ms=%" PRIu64
              " max_in_flight=%zu", wh->conf.secret != NULL ? "yes" : "no",
              wh->conf.set->timeout_ms, wh->conf.max_in_flight);
    *state = wh;
    return 0;
}

static void wh_fini(void *state)
{
    struct wh *wh = state;

    /* The host calls fini only once every accepted op has completed, so the
     * queue is empty and nothing is running. */
    wh_conf_free(&wh->conf);
    free(wh);
}

static const struct drumbeat_channel_ops wh_ops = {
    .send = wh_send,
    .max_batch = 16,
    .accepts = "application/json",
};

/* The one exported symbol. */
const struct drumbeat_plugin drumbeat_plugin = {
    DRUMBEAT_PLUGIN_HEADER,
    .kind = DRUMBEAT_KIND_CHANNEL,
    .name = "channel_webhook",
    .version = "1.0.0",
    .options = wh_options,
    .settings_size = sizeof(struct wh_settings),
    .init = wh_init,
    .fini = wh_fini,
    .channel = &wh_ops,
};
