/* SPDX-License-Identifier: MIT */
/* plugins/enrich_http/enrich_http.c: an enricher that asks a JSON HTTP API
 * about a lead, through the host's curl service (libcurl's multi-socket API
 * on the daemon's libuv loop: no threads, no blocking). The URL is a template
 * filled from the lead (ehttp_text.c); the reply's fields are picked out with
 * JSON pointers (the "map" option). The HTTP status decides the outcome:
 *
 *   2xx with a JSON object or array   DONE, with the mapped fields ({} if none)
 *   2xx with anything else            FAILED ("not JSON")
 *   404                               DONE with no attributes: "not found" is
 *                                     an answer, and the host caches it
 *   408, 429, 5xx                     RETRY, at Retry-After when given
 *   other codes                       FAILED: the request itself is wrong
 *   curl errors (timeout, refused)    RETRY
 *   a body above max_response         FAILED
 *
 * A reply's Cache-Control max-age (or no-store/no-cache: 0) is handed to
 * host->enrich_cache_ttl for DONE answers; without it the instance's
 * configured cache_ttl applies.
 *
 * Ownership: struct eh is ours from init to fini, its settings the host's;
 * a struct eh_req is ours from enrich until its enrich_done, and the lead is
 * the host's until then. The easy handle is cleaned up before enrich_done. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <drumbeat/plugin.h>
#include <jansson.h>
#include <openssl/evp.h>

#include "ehttp_conf.h"
#include "ehttp_reply.h"
#include "ehttp_text.h"

/* A Retry-After further out than this is read as this: a typo in an API
 * gateway must not park the enrichment of a lead for a year. */
#define EH_RETRY_AFTER_MAX_MS (24ll * 3600 * 1000)
/* How much of an error reply is kept for the detail. */
#define EH_REPLY_KEEP 200

struct eh {
    const struct drumbeat_host *host;
    struct drumbeat_instance *inst;
    struct ehttp_conf conf;
};

struct eh_req {
    struct eh *eh;
    struct drumbeat_op *op;
    CURL *easy;
    char *url;
    char *body;                    /* POST only */
    char *data;                    /* the reply body so far */
    size_t len, cap;
    bool too_big;
    int64_t retry_after_ms;        /* -1: no Retry-After header */
    int64_t ttl_ms;                /* -1: no Cache-Control to go by */
    char errbuf[CURL_ERROR_SIZE];
};

static void eh_req_free(struct eh_req *r)
{
    if (r->easy != NULL)
        curl_easy_cleanup(r->easy);
    free(r->url);
    free(r->body);
    free(r->data);
    free(r);
}

static size_t on_data(char *data, size_t size, size_t n, void *arg)
{
    struct eh_req *r = arg;
    size_t len = size * n;

    if (len > r->eh->conf.max_response - r->len) {
        r->too_big = true;
        return 0;                      /* curl stops with CURLE_WRITE_ERROR */
    }
    if (r->len + len + 1 > r->cap) {
        size_t cap = r->cap != 0 ? r->cap : 4096;
        while (r->len + len + 1 > cap)
            cap *= 2;
        char *bigger = realloc(r->data, cap);
        if (bigger == NULL)
            return 0;
        r->data = bigger;
        r->cap = cap;
    }
    memcpy(r->data + r->len, data, len);
    r->len += len;
    r->data[r->len] = '\0';
    return len;
}

/* Retry-After: "120" or an HTTP date, compared with our wall clock (the
 * server's clock is real time even when the daemon runs a test clock). */
static void read_retry_after(struct eh_req *r, const char *v)
{
    if (isdigit((unsigned char)v[0])) {
        char *rest;
        unsigned long long secs = strtoull(v, &rest, 10);
        if (*rest == '\0')
            r->retry_after_ms = secs > (unsigned long long)EH_RETRY_AFTER_MAX_MS / 1000
                ? EH_RETRY_AFTER_MAX_MS : (int64_t)secs * 1000;
        return;
    }
    time_t at = curl_getdate(v, NULL);
    if (at == (time_t)-1)
        return;
    int64_t delta = ((int64_t)at - (int64_t)time(NULL)) * 1000;
    r->retry_after_ms = delta < 0 ? 0 : delta > EH_RETRY_AFTER_MAX_MS ? EH_RETRY_AFTER_MAX_MS
                                                                     : delta;
}

/* Cache-Control: "no-store" and "no-cache" forbid keeping the answer;
 * "max-age=N" bounds it. Other directives say nothing to us. */
static void read_cache_control(struct eh_req *r, char *v)
{
    bool forbid = false;
    int64_t max_age = -1;
    char *save = NULL;

    for (char *d = strtok_r(v, ",", &save); d != NULL; d = strtok_r(NULL, ",", &save)) {
        while (isspace((unsigned char)*d))
            d++;
        if (strncasecmp(d, "no-store", 8) == 0 || strncasecmp(d, "no-cache", 8) == 0)
            forbid = true;
        else if (strncasecmp(d, "max-age=", 8) == 0 && isdigit((unsigned char)d[8]))
            max_age = (int64_t)strtoll(d + 8, NULL, 10);
    }
    if (forbid)
        r->ttl_ms = 0;
    else if (max_age >= 0)
        r->ttl_ms = max_age > INT64_MAX / 1000 ? INT64_MAX : max_age * 1000;
}

static size_t on_header(char *data, size_t size, size_t n, void *arg)
{
    struct eh_req *r = arg;
    size_t total = size * n, len = total;
    char line[256];

    if (len >= 5 && strncmp(data, "HTTP/", 5) == 0) {
        r->retry_after_ms = -1;        /* a new response (after a 100 Continue) */
        r->ttl_ms = -1;
        return total;
    }
    if (len >= sizeof(line))
        return total;                  /* neither header we read is that long */
    memcpy(line, data, len);
    line[len] = '\0';
    while (len > 0 && isspace((unsigned char)line[len - 1]))
        line[--len] = '\0';
    char *colon = strchr(line, ':');
    if (colon == NULL)
        return total;
    *colon = '\0';
    char *v = colon + 1;
    while (isspace((unsigned char)*v))
        v++;
    if (strcasecmp(line, "Retry-After") == 0)
        read_retry_after(r, v);
    else if (strcasecmp(line, "Cache-Control") == 0)
        read_cache_control(r, v);
    return total;
}

static void eh_finished(void *easy, int curl_code, void *arg)
{
    struct eh_req *r = arg;
    struct eh *eh = r->eh;
    long status = 0;
    char detail[400];
    json_t *attrs = NULL;
    struct drumbeat_result res = { .scope = DRUMBEAT_SCOPE_MESSAGE, .detail = detail };

    /* 0 when no status line arrived (refused, timed out before a reply). */
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
    res.code = (int)status;
    if (r->too_big || curl_code == CURLE_FILESIZE_EXCEEDED) {
        res.outcome = DRUMBEAT_FAILED;
        snprintf(detail, sizeof(detail), "the reply is larger than max_response (%zu bytes)",
                 eh->conf.max_response);
    } else if (curl_code != CURLE_OK) {
        /* Refused, unreachable, timed out, TLS: all may clear up. */
        res.outcome = DRUMBEAT_RETRY;
        snprintf(detail, sizeof(detail), "%s", r->errbuf[0] != '\0'
                 ? r->errbuf : curl_easy_strerror((CURLcode)curl_code));
    } else if (status >= 200 && status < 300) {
        res.outcome = ehttp_reply_read(&eh->conf, status, r->data, r->len, &attrs, detail,
                                       sizeof(detail));
    } else if (status == 404) {
        res.outcome = DRUMBEAT_DONE;       /* the API knows nothing about this lead */
        snprintf(detail, sizeof(detail), "HTTP 404: not found");
    } else {
        char reply[EH_REPLY_KEEP + 1];
        snprintf(reply, sizeof(reply), "%s", r->data != NULL ? r->data : "");
        ehttp_clean_text(reply);
        res.outcome = status == 408 || status == 429 || status >= 500 ? DRUMBEAT_RETRY
                                                                     : DRUMBEAT_FAILED;
        snprintf(detail, sizeof(detail), "HTTP %ld%s%s", status, reply[0] != '\0' ? ": " : "",
                 reply);
        if (res.outcome == DRUMBEAT_RETRY && r->retry_after_ms >= 0)
            /* "0" still waits a second: a busy API must not make us spin. */
            res.retry_after_ms = r->retry_after_ms > 0 ? (uint64_t)r->retry_after_ms : 1000;
    }
    /* Servers echo requests back in their errors; a credential must not
     * travel on into a detail or the log. */
    ehttp_conf_scrub(&eh->conf, detail);

    if (res.outcome == DRUMBEAT_DONE && r->ttl_ms >= 0)
        eh->host->enrich_cache_ttl(r->op, (uint64_t)r->ttl_ms);
    /* Neither the URL (it holds the lead's data and may hold a key) nor a
     * header is logged. */
    if (res.outcome == DRUMBEAT_DONE)
        eh->host->log(eh->inst, DRUMBEAT_LOG_DEBUG, "msg=\"enriched\" code=%ld fields=%zu "
                      "cache_ttl_ms=%" PRId64, status, attrs != NULL ? json_object_size(attrs) : 0,
                      r->ttl_ms);
    else
        eh->host->log(eh->inst, DRUMBEAT_LOG_WARN, "msg=\"not enriched\" outcome=%s code=%ld "
                      "retry_after_ms=%" PRIu64 " detail=\"%s\"",
                      res.outcome == DRUMBEAT_RETRY ? "retry" : "failed", status,
                      res.retry_after_ms, detail);

    struct drumbeat_op *op = r->op;
    eh_req_free(r);
    eh->host->enrich_done(op, &res, attrs);
}

/* A lead the template cannot be filled from fails, but never from inside
 * enrich: the completion goes through the host's work queue, whose after
 * runs on the loop thread. */
struct eh_fail {
    struct eh *eh;
    struct drumbeat_op *op;
    char detail[EHTTP_FIELD_MAX + 32];
};

static void fail_work(void *arg)
{
    (void)arg;                          /* nothing to do off the loop */
}

static void fail_after(void *arg, int status)
{
    struct eh_fail *f = arg;
    struct drumbeat_result res = {
        .outcome = DRUMBEAT_FAILED, .scope = DRUMBEAT_SCOPE_MESSAGE, .detail = f->detail,
    };
    (void)status;
    f->eh->host->enrich_done(f->op, &res, NULL);
    free(f);
}

/* The request body for POST: the lead's fields, keys sorted, so that the
 * same lead always hashes to the same cache key. */
static char *post_body(const json_t *lead)
{
    json_t *body = ehttp_lead_body(lead);
    char *text = body != NULL ? json_dumps(body, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(body);
    return text;
}

static int eh_enrich(void *state, const json_t *lead, struct drumbeat_op *op)
{
    struct eh *eh = state;
    char missing[EHTTP_FIELD_MAX + 1] = "";
    int rc;

    struct eh_req *r = calloc(1, sizeof(*r));
    if (r == NULL)
        return -ENOMEM;
    r->eh = eh;
    r->op = op;
    r->retry_after_ms = -1;
    r->ttl_ms = -1;
    rc = ehttp_template_expand(eh->conf.set->url, lead, &r->url, missing);
    if (rc == -ENOENT) {
        eh_req_free(r);
        struct eh_fail *f = calloc(1, sizeof(*f));
        if (f == NULL)
            return -ENOMEM;
        f->eh = eh;
        f->op = op;
        snprintf(f->detail, sizeof(f->detail), "missing field %s", missing);
        rc = eh->host->queue_work(eh->inst, fail_work, fail_after, f);
        if (rc < 0)
            free(f);
        return rc;
    }
    if (rc == 0 && eh->conf.post && (r->body = post_body(lead)) == NULL)
        rc = -ENOMEM;
    if (rc == 0 && (r->easy = curl_easy_init()) == NULL)
        rc = -ENOMEM;
    if (rc < 0) {
        eh_req_free(r);
        return rc;
    }
    CURL *e = r->easy;
    curl_easy_setopt(e, CURLOPT_URL, r->url);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    if (eh->conf.post) {
        curl_easy_setopt(e, CURLOPT_POST, 1L);
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, r->body);
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(r->body));
    }
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, eh->conf.headers);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "drumbeat-enrich_http/1.0");
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)eh->conf.set->timeout_ms);
    /* A Content-Length above the limit is refused before any body arrives;
     * on_data enforces it for chunked replies. */
    curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)eh->conf.max_response);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->errbuf);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, r);
    rc = eh->host->curl_submit(eh->inst, e, eh_finished, r);
    if (rc < 0)
        eh_req_free(r);
    return rc;
}

static const char *const *eh_provides(void *state)
{
    struct eh *eh = state;
    return eh->conf.provides;
}

/* "GET <url>", or "POST <url> sha256:<hex of the body>". */
static int eh_cache_key(void *state, const json_t *lead, char *buf, size_t cap)
{
    struct eh *eh = state;
    char missing[EHTTP_FIELD_MAX + 1];
    char hex[2 * 32 + 1] = "";
    char *url = NULL;
    int rc, n;

    rc = ehttp_template_expand(eh->conf.set->url, lead, &url, missing);
    if (rc < 0)
        return rc == -ENOENT ? -ENOENT : -EAGAIN;
    if (eh->conf.post) {
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int md_len = 0;
        char *body = post_body(lead);
        if (body == NULL ||
            EVP_Digest(body, strlen(body), md, &md_len, EVP_sha256(), NULL) != 1 || md_len != 32) {
            free(body);
            free(url);
            return -EAGAIN;
        }
        free(body);
        for (unsigned int i = 0; i < md_len; i++)
            snprintf(hex + 2 * i, 3, "%02x", md[i]);
        n = snprintf(buf, cap, "POST %s sha256:%s", url, hex);
    } else {
        n = snprintf(buf, cap, "GET %s", url);
    }
    free(url);
    /* A key cut short could name another lead's answer: better no cache. */
    return n < 0 || (size_t)n >= cap ? -EAGAIN : 0;
}

static int eh_init(const struct drumbeat_host *host, struct drumbeat_instance *inst,
                   const void *settings, void **state)
{
    char why[256] = "";
    int rc;

    if (!DRUMBEAT_HOST_HAS(host, curl_submit) || !DRUMBEAT_HOST_HAS(host, enrich_cache_ttl))
        return -ENOTSUP;
    struct eh *eh = calloc(1, sizeof(*eh));
    if (eh == NULL)
        return -ENOMEM;
    eh->host = host;
    eh->inst = inst;
    rc = ehttp_conf_init(&eh->conf, settings, why, sizeof(why));
    if (rc < 0) {
        host->log(inst, DRUMBEAT_LOG_ERROR, "msg=\"bad configuration\" error=\"%s\"",
                  why[0] != '\0' ? why : "out of memory");
        free(eh);
        return rc;
    }
    host->log(inst, DRUMBEAT_LOG_INFO, "msg=\"enriching over HTTP\" method=%s fields=%zu "
              "timeout_ms=%" PRIu64 " max_response=%zu",
              eh->conf.post ? "POST" : "GET", eh->conf.n_map,
              eh->conf.set->timeout_ms, eh->conf.max_response);
    *state = eh;
    return 0;
}

static void eh_fini(void *state)
{
    struct eh *eh = state;

    /* The host calls fini once every accepted op has completed. */
    ehttp_conf_free(&eh->conf);
    free(eh);
}

static const struct drumbeat_enricher_ops eh_ops = {
    .enrich = eh_enrich,
    .provides = eh_provides,
    .cache_key = eh_cache_key,
};

/* The one exported symbol. */
const struct drumbeat_plugin drumbeat_plugin = {
    DRUMBEAT_PLUGIN_HEADER,
    .kind = DRUMBEAT_KIND_ENRICHER,
    .name = "enrich_http",
    .version = "1.0.0",
    .options = ehttp_options,
    .settings_size = sizeof(struct ehttp_settings),
    .init = eh_init,
    .fini = eh_fini,
    .enricher = &eh_ops,
};
