/* SPDX-License-Identifier: MIT */
/* include/drumbeat/plugin.h: the drumbeat plugin ABI.
 *
 * A plugin is a shared object that exports exactly one data symbol,
 * `drumbeat_plugin`, a const struct drumbeat_plugin. The host dlopen()s it,
 * checks the header (magic, ABI major/minor, size), validates the instance
 * options against the plugin's declared option table, and calls init() once
 * per configured instance.
 *
 * Compatibility: a plugin runs on a host with the same DRUMBEAT_ABI_MAJOR and
 * a minor >= the plugin's. Minor releases only append members to the structs
 * below; nothing is reordered or removed until the next major. A plugin checks
 * a host member newer than 1.0 with DRUMBEAT_HOST_HAS() before using it.
 *
 * Threads: every callback into the plugin, and every host function except
 * where its comment says otherwise, runs on the daemon's loop thread. Work
 * passed to host->queue_work runs on the threadpool and must not call the
 * host, except host->log, which is thread-safe.
 *
 * Ownership: every pointer the host passes in is borrowed and valid only for
 * the call, unless its comment says "until fini" or "until done". The plugin
 * frees what it allocates; the host frees what it allocates.
 */
#ifndef DRUMBEAT_PLUGIN_H
#define DRUMBEAT_PLUGIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <drumbeat/version.h>

#ifdef __cplusplus
extern "C" {
#endif

#define DRUMBEAT_PLUGIN_MAGIC 0x4452554du /* "DRUM" */
#define DRUMBEAT_PLUGIN_SYMBOL "drumbeat_plugin"

struct json_t;                /* jansson; its ABI has been stable since 2.0 */
struct drumbeat_instance;     /* opaque: one configured copy of a plugin */
struct drumbeat_op;           /* opaque: one in-flight send or enrich */

enum drumbeat_kind {
    DRUMBEAT_KIND_CHANNEL = 1,
    DRUMBEAT_KIND_ENRICHER = 2,
};

/* How an operation ended. Never zero-means-failure. */
enum drumbeat_outcome {
    DRUMBEAT_DONE = 1,     /* delivered, or enriched */
    DRUMBEAT_RETRY = 2,    /* transient: the host reschedules with backoff */
    DRUMBEAT_FAILED = 3,   /* permanent: the touch ends failed */
    DRUMBEAT_IN_DOUBT = 4, /* cannot know whether it went out: never resent automatically */
};

/* Who an outcome is about (DESIGN.md, "SMTP reply codes from a relay"). */
enum drumbeat_scope {
    DRUMBEAT_SCOPE_MESSAGE = 1,   /* this touch */
    DRUMBEAT_SCOPE_RECIPIENT = 2, /* this address is bad: suppress the lead */
    DRUMBEAT_SCOPE_MAILBOX = 3,   /* stop sending from this mailbox until a person looks */
};

/* The result of one operation. All strings are borrowed: the host copies them
 * before done() returns. */
struct drumbeat_result {
    enum drumbeat_outcome outcome;
    enum drumbeat_scope scope;     /* 0 is read as DRUMBEAT_SCOPE_MESSAGE */
    int code;                      /* protocol code: SMTP 250/451/550, HTTP 200/503; 0 if none */
    const char *enhanced;          /* enhanced status "5.1.1", or NULL */
    const char *detail;            /* the server's text or our explanation, or NULL */
    uint64_t retry_after_ms;       /* RETRY only; 0 means the host's backoff */
};

enum drumbeat_log_level {
    DRUMBEAT_LOG_ERROR = 0,
    DRUMBEAT_LOG_WARN = 1,
    DRUMBEAT_LOG_INFO = 2,
    DRUMBEAT_LOG_DEBUG = 3,
};

enum drumbeat_opt_type {
    DRUMBEAT_OPT_STRING = 1,      /* const char *, owned by the host until fini */
    DRUMBEAT_OPT_INT = 2,         /* int64_t */
    DRUMBEAT_OPT_BOOL = 3,        /* bool */
    DRUMBEAT_OPT_DURATION_MS = 4, /* uint64_t; accepts 1500, "30s", "5m", "250ms", "2h" */
    DRUMBEAT_OPT_PATH = 5,        /* const char *, like STRING, but a relative path is
                                     resolved against the config file's folder */
};

#define DRUMBEAT_OPT_REQUIRED 0x1u
#define DRUMBEAT_OPT_SECRET 0x2u  /* never logged; shown as "***" in dumps and errors */

/* One declared option. The host rejects keys not in the table (with a
 * "did you mean" hint), checks types, applies defaults and writes the value at
 * settings + offset. The table ends with an all-zero entry. */
struct drumbeat_option {
    const char *key;
    enum drumbeat_opt_type type;
    const char *def;               /* default as text; NULL means none */
    uint32_t flags;                /* DRUMBEAT_OPT_* */
    size_t offset;                 /* offsetof() into the plugin's settings struct */
    const char *doc;               /* one line, printed by `drumbeat plugin-help` */
};

/* One message handed to a channel. Borrowed by the plugin until done() for
 * its op has been called. */
struct drumbeat_message {
    int64_t touch_id;              /* the store's touch id */
    const char *sender;            /* envelope sender / mailbox address, or NULL */
    const char *recipient;         /* address or URL, already validated */
    const char *content_type;      /* "message/rfc822", "application/json", "text/plain" */
    const char *payload;           /* rendered MIME message or JSON body */
    size_t payload_len;
    const char *idempotency_key;   /* the same across retries of one touch */
};

/* What the host offers a plugin. Only ever appended to. */
struct drumbeat_host {
    uint32_t size;                 /* sizeof(struct drumbeat_host) in the host */
    uint16_t abi_major;
    uint16_t abi_minor;

    /* Logs one line prefixed "[plugin/instance]". Thread-safe. Never pass a
     * secret: options marked DRUMBEAT_OPT_SECRET must not reach fmt's args. */
    void (*log)(struct drumbeat_instance *inst, int level, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

    /* Completes a channel op. Call exactly once per accepted op, on the loop
     * thread, never from inside send(). The op is invalid afterwards. */
    void (*done)(struct drumbeat_op *op, const struct drumbeat_result *res);

    /* Runs work(arg) on the threadpool, then after(arg, status) on the loop
     * thread; status is 0 or a negative errno (-ECANCELED on shutdown, when
     * work did not run). Returns 0, or a negative errno and then calls
     * neither function. */
    int (*queue_work)(struct drumbeat_instance *inst, void (*work)(void *arg),
                      void (*after)(void *arg, int status), void *arg);

    /* Adds a configured CURL easy handle (passed as void *) to the host's
     * shared multi handle on the loop; finished(easy, curl_code, arg) runs on
     * the loop thread after the host has removed easy from the multi handle.
     * The host owns CURLOPT_PRIVATE; do not set it. The plugin keeps
     * ownership of easy and cleans it up in finished. Returns as queue_work. */
    int (*curl_submit)(struct drumbeat_instance *inst, void *easy,
                       void (*finished)(void *easy, int curl_code, void *arg),
                       void *arg);

    /* Completes an enrich op like done(), handing over the attributes found:
     * the host steals the reference to attrs (jansson's _new convention);
     * attrs may be NULL. */
    void (*enrich_done)(struct drumbeat_op *op, const struct drumbeat_result *res,
                        struct json_t *attrs);

    /* Small durable key/value state per instance (a last UID, a cache).
     * kv_get copies the stored value into a malloc'd, NUL-terminated buffer
     * the caller frees: returns 0, -ENOENT or another negative errno.
     * kv_set queues a durable write (value NULL deletes the key); saved(status,
     * arg), when not NULL, runs on the loop thread once it is committed.
     * Returns 0 or a negative errno, and then saved is never called. */
    int (*kv_get)(struct drumbeat_instance *inst, const char *key,
                  char **value, size_t *len);
    int (*kv_set)(struct drumbeat_instance *inst, const char *key,
                  const char *value, size_t len,
                  void (*saved)(int status, void *arg), void *arg);

    /* The daemon's clock in UTC milliseconds: the test clock when drumbeatd
     * runs with --test-clock, else the real time. */
    int64_t (*now_ms)(struct drumbeat_instance *inst);

    /* The instance's configured name ("primary"); borrowed until fini. */
    const char *(*instance_name)(struct drumbeat_instance *inst);

    /* ---- ABI 1.1 ---- */

    /* Says how long the answer of an enrich op may be cached (the host keeps
     * answers per instance under the op's cache key, see
     * drumbeat_enricher_ops.cache_key). Call before enrich_done; without it
     * the instance's configured cache_ttl applies; 0 means "do not cache". */
    void (*enrich_cache_ttl)(struct drumbeat_op *op, uint64_t ttl_ms);

    /* Looks name up in DNS with the daemon's resolver (c-ares on the loop,
     * the config's "dns" servers). type is DRUMBEAT_DNS_MX, _A (A and AAAA)
     * or _TXT. answered(status, answers, ttl_s, arg) runs exactly once on the
     * loop thread, never from inside this call:
     *   status 0        answers found; answers is a JSON array: MX
     *                   [{"host": "mx1.example.com", "preference": 10}, ...]
     *                   sorted by preference; A ["192.0.2.1", "2001:db8::1"];
     *                   TXT ["v=spf1 ...", ...]
     *   -ENOENT         the name does not exist (NXDOMAIN)
     *   -ENODATA        the name exists but has no such records
     *   other negative  the lookup failed (-ETIMEDOUT, -ECONNREFUSED, -EIO...):
     *                   the answer is unknown, not negative
     * answers is borrowed for the call (NULL unless status is 0). ttl_s is the
     * smallest TTL of the answer's records, or for -ENOENT/-ENODATA the
     * negative-caching TTL from the zone's SOA (RFC 2308), 0 when unknown.
     * Returns 0, or a negative errno and then never calls answered. */
    int (*dns_query)(struct drumbeat_instance *inst, const char *name, int type,
                     void (*answered)(int status, const struct json_t *answers,
                                      uint32_t ttl_s, void *arg),
                     void *arg);
};

enum drumbeat_dns_type {
    DRUMBEAT_DNS_A = 1,
    DRUMBEAT_DNS_MX = 15,
    DRUMBEAT_DNS_TXT = 16,
};

#define DRUMBEAT_HOST_HAS(host, member)                                     \
    (offsetof(struct drumbeat_host, member) + sizeof((host)->member) <=     \
     (host)->size && (host)->member != NULL)

struct drumbeat_channel_ops {
    /* Sends n messages (1 <= n <= max(max_batch, 1)), all from one mailbox.
     * Returns 0 and later calls host->done(ops[i], ...) exactly once for each
     * i, never from inside send itself; or returns a negative errno and then
     * never calls done for any of them. msgs and ops stay valid until each
     * op's done. */
    int (*send)(void *state, const struct drumbeat_message *msgs,
                struct drumbeat_op *const *ops, size_t n);
    /* How many messages of one mailbox send() accepts at once; 0 means 1. */
    uint32_t max_batch;
    /* The payload this channel wants for an email touch: NULL or
     * "message/rfc822" for the composed RFC 5322 message (mail channels);
     * "application/json" for a JSON document describing the touch (the
     * lead, the step, the rendered subject and text, and the composed
     * message), as an HTTP channel posts it. docs/plugin-guide.md shows the
     * document. Other payloads (notifications, raw bodies) reach every
     * channel as they were stored, with their own content_type. */
    const char *accepts;

    /* ---- ABI 1.2: the host reads these only from plugins whose abi_minor
     * is at least 2. ---- */

    /* How many send() calls this instance works on at once (its sessions or
     * connections; for channel_smtp, max_connections capped by
     * server_connections). The dispatcher keeps that many batches claimed,
     * plus one composed ahead, so a larger limit is used and no more is
     * claimed than can be in flight. NULL, or 0: 2. */
    uint32_t (*concurrency)(void *state);
};

struct drumbeat_enricher_ops {
    /* Same contract as send with n == 1, but completes with
     * host->enrich_done. lead is borrowed until enrich_done. It is the
     * lead as `drumbeat lead --json` shows it: "email" (absent when not
     * known), "first_name", "last_name", "company", "domain", "title",
     * "phone", "country", "timezone", "linkedin", "email_status", "attrs"
     * (an object of free attributes). enrich_done's attrs is a flat object
     * of lead fields to fill ("company", "email_status", "industry"...):
     * the host fills only fields that are still empty, and a value a person
     * set is never overwritten. DRUMBEAT_DONE with NULL or {} attrs means
     * "found nothing"; DRUMBEAT_RETRY asks the host to try again later. */
    int (*enrich)(void *state, const struct json_t *lead, struct drumbeat_op *op);

    /* ---- ABI 1.1: the host reads these only from plugins whose abi_minor
     * is at least 1. ---- */

    /* The lead fields this instance can fill, NULL-terminated, valid until
     * fini (for enrich_csv, the columns its mapping names). The waterfall
     * calls the instance for a lead only while one of them is still
     * missing. NULL means "unknown": always called. */
    const char *const *(*provides)(void *state);
    /* Writes the key this lead's answer is cached under into buf (cap
     * bytes, NUL-terminated), e.g. "mx:example.com", and returns 0; returns
     * -ENOENT when the lead has nothing to look up (the op is not made) and
     * -EAGAIN when the answer must not be cached. NULL: no caching. */
    int (*cache_key)(void *state, const struct json_t *lead, char *buf, size_t cap);
};

struct drumbeat_plugin {
    uint32_t magic;            /* DRUMBEAT_PLUGIN_MAGIC */
    uint16_t abi_major;        /* DRUMBEAT_ABI_MAJOR at build time */
    uint16_t abi_minor;        /* DRUMBEAT_ABI_MINOR at build time */
    uint32_t size;             /* sizeof(struct drumbeat_plugin) at build time */
    uint32_t kind;             /* enum drumbeat_kind */
    const char *name;          /* "channel_webhook" */
    const char *version;       /* the plugin's own version, for logs */
    const struct drumbeat_option *options; /* ends with an all-zero entry; may be NULL */
    size_t settings_size;      /* the host allocates and fills this much */

    /* One call per configured instance. settings is filled from options and
     * stays valid until fini. On success returns 0 and *state is the
     * plugin's; on failure returns a negative errno, and fini is not called. */
    int (*init)(const struct drumbeat_host *host, struct drumbeat_instance *inst,
                const void *settings, void **state);
    /* Called once, after every accepted op has completed. */
    void (*fini)(void *state);

    const struct drumbeat_channel_ops *channel;   /* when kind is CHANNEL */
    const struct drumbeat_enricher_ops *enricher; /* when kind is ENRICHER */
};

#define DRUMBEAT_PLUGIN_HEADER                                              \
    .magic = DRUMBEAT_PLUGIN_MAGIC, .abi_major = DRUMBEAT_ABI_MAJOR,        \
    .abi_minor = DRUMBEAT_ABI_MINOR, .size = sizeof(struct drumbeat_plugin)

#ifdef __cplusplus
}
#endif

#endif /* DRUMBEAT_PLUGIN_H */
