/* SPDX-License-Identifier: MIT */
/* daemon/plugin_instance.h: the loader's private types, shared by
 * plugin_loader.c (finding, opening, lifecycle), plugin_loader_info.c
 * (status, describe), plugin_options.c (option tables), plugin_instance.c
 * (ops, deferral, draining), plugin_lookup.c (instances by name, what they
 * offer) and host_api.c (the host table). Not for other
 * modules: they use plugin_loader.h.
 *
 * Ownership:
 *   struct drumbeat_instance  owned by its struct plugins (on the current or
 *                             the old list); instance_free() releases it.
 *   struct drumbeat_op        owned by the host from send until its
 *                             completion is delivered; op_free() releases it.
 *   struct host_pending       embedded first in each host-service request
 *                             (work, curl, kv, dns); owned by that request.
 * Threads: loop thread, except the fields host->log reads (immutable after
 * load, and the repeat table under log_mu).
 */
#ifndef DRUMBEAT_PLUGIN_INSTANCE_H
#define DRUMBEAT_PLUGIN_INSTANCE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>
#include <uv.h>

#include <drumbeat/plugin.h>

#include "log.h"
#include "plugin_loader.h"

struct config;
struct config_errors;
struct errbuf;

/* The size of struct drumbeat_plugin in ABI 1.0: a descriptor shorter than
 * this is malformed whatever its minor says. */
#define PLUGIN_DESC_SIZE_1_0 \
    (offsetof(struct drumbeat_plugin, enricher) + sizeof(void *))

enum inst_state { INST_FAILED = 0, INST_RUNNING, INST_DRAINING };

enum pending_kind { PENDING_WORK = 1, PENDING_CURL, PENDING_KV, PENDING_DNS };

/* One outstanding host-service request of an instance. inst becomes NULL
 * when the instance is freed first; the completion then only frees it. */
struct host_pending {
    struct host_pending *prev, *next;
    struct drumbeat_instance *inst;
    enum pending_kind kind;
};

/* Rate limit for identical log lines (host->log). */
#define LOG_REPEAT_SLOTS 16
#define LOG_REPEAT_MAX 10                  /* identical lines per window */
#define LOG_REPEAT_WINDOW_NS 60000000000ull /* one minute */
struct log_repeat {
    uint64_t hash;
    uint64_t window_start_ns;
    unsigned count;
    unsigned suppressed;
};

/* Strings the host allocated for a settings block; freed after fini. */
struct option_strings {
    char **items;
    size_t count;
};

struct drumbeat_instance {
    struct drumbeat_instance *next;   /* in owner->current or owner->old */
    struct plugins *owner;
    char *name;                       /* "primary" */
    char *plugin;                     /* as configured: "example_channel" or a path */
    char *file;                       /* resolved .so path, or NULL if not found */
    char prefix[160];                 /* "[example_channel/primary]" */
    enum drumbeat_kind kind;
    enum log_level log_level;
    enum inst_state st;
    char *error;                      /* why it failed, or NULL */

    void *dl;                         /* dlopen handle, or NULL */
    struct drumbeat_plugin desc;      /* the adopted copy, host-sized */
    void *settings;                   /* desc.settings_size bytes, host-owned */
    struct option_strings strings;
    void *state;                      /* the plugin's, from init */
    bool initialised;                 /* init succeeded: fini is owed */

    struct drumbeat_op *ops;          /* in flight */
    size_t in_flight;
    struct host_pending *pending;     /* host services outstanding */
    size_t n_pending;
    uint64_t sent, failed_ops;

    pthread_mutex_t log_mu;
    struct log_repeat repeats[LOG_REPEAT_SLOTS];
};

/* Messages of one send, copied; shared by its ops, freed with the last. */
struct send_batch {
    size_t refs;                      /* ops not yet freed */
    size_t n;
    struct drumbeat_message *msgs;    /* n copies */
    struct drumbeat_op **ops;         /* n; valid until each op's done */
};

struct drumbeat_op {
    struct drumbeat_op *prev, *next;  /* in inst->ops */
    struct drumbeat_instance *inst;
    bool enrich;
    bool completed;                   /* done was called (maybe deferred) */
    plugins_done_cb done_cb;
    plugins_enrich_cb enrich_cb;
    void *arg;
    struct send_batch *batch;         /* sends only */
    int64_t touch_id;
    json_t *lead;                     /* enrich only: a reference */
    /* A completion that arrived inside send, kept for the next iteration. */
    struct drumbeat_op *defer_next;
    struct drumbeat_result res;
    char *enhanced, *detail;
    json_t *attrs;
    int64_t cache_ttl_ms;             /* enrich only: host->enrich_cache_ttl, or -1 */
};

struct plugins {
    uv_loop_t *loop;                  /* borrowed */
    struct store *store;              /* borrowed, may be NULL */
    struct curl_loop *curl;           /* borrowed, may be NULL */
    struct dns *dns;                  /* borrowed, may be NULL (plugins_set_dns) */
    struct drumbeat_instance *current;/* in config order */
    struct drumbeat_instance *old;    /* draining after a reload */
    size_t in_flight;                 /* ops over all instances */
    int in_call;                      /* inside a plugin's send/enrich */

    uv_timer_t defer;                 /* a 0 ms timer: "next loop iteration" */
    struct drumbeat_op *deferred, *deferred_tail;
    bool reap_needed;

    bool draining;                    /* plugins_drain was called */
    bool drain_reported;
    uv_timer_t drain_timer;
    void (*drained)(void *arg);
    void *drained_arg;

    bool freeing;
    int open_handles;
};

/* plugin_loader.c */
const char *plugin_kind_name(enum drumbeat_kind kind);   /* "channel", "enricher" */
/* Checks a descriptor and copies it into a zeroed host-sized out; 0 or a
 * negative errno with err naming path and what is wrong. */
int loader_adopt(const char *path, const struct drumbeat_plugin *in,
                 struct drumbeat_plugin *out, struct errbuf *err);
/* Finds the file for an instance's "plugin" text: 0 with *out malloc'd,
 * -ENOENT with searched listing the files tried, or -ENOMEM. */
int plugin_resolve(const struct config *cfg, const char *plugin, char **out,
                   char *searched, size_t searched_len);

/* plugin_options.c */
/* Validates options (NULL is an empty object) against desc's table; with
 * settings != NULL also writes each value (strings strdup'd into strings).
 * Errors go to errs with file cfg_file and where "path.key". Returns 0,
 * -EINVAL (errors were added) or -ENOMEM. */
int plugin_options_apply(const struct drumbeat_plugin *desc, const char *so_file,
                         const json_t *options, const char *cfg_file, const char *base_dir,
                         const char *path,
                         void *settings, struct option_strings *strings,
                         struct config_errors *errs);
void plugin_options_strings_free(struct option_strings *strings);

/* plugin_instance.c */
void instance_complete(struct drumbeat_op *op, const struct drumbeat_result *res,
                       json_t *attrs);
/* fini (if owed), abandons host services, frees ops, dlclose, free. */
void instance_free(struct drumbeat_instance *inst);
/* Called whenever an instance's in_flight or n_pending drops. */
void instance_maybe_idle(struct drumbeat_instance *inst);
/* Arms the defer timer (idempotent). */
void plugins_defer_arm(struct plugins *p);
void plugins_defer_close(struct plugins *p);
/* Initialises the two timers; p is freed when both have closed. */
int plugins_timers_init(struct plugins *p);

/* plugin_lookup.c */
/* The current instance of that kind and name (running or not), or NULL. */
struct drumbeat_instance *plugins_find(struct plugins *p, const char *name,
                                       enum drumbeat_kind kind);
/* The running instance that may take an op now; NULL with *rc = -ENOENT
 * (none, or not running) or -ESHUTDOWN (the plugins are draining). */
struct drumbeat_instance *plugins_usable(struct plugins *p, const char *name,
                                         enum drumbeat_kind kind, int *rc);

/* host_api.c */
const struct drumbeat_host *host_api_table(void);
void host_pending_add(struct drumbeat_instance *inst, struct host_pending *hp,
                      enum pending_kind kind);
/* Unlinks hp; returns its instance (NULL when orphaned). */
struct drumbeat_instance *host_pending_remove(struct host_pending *hp);
/* Before fini: cancels the instance's curl transfers and queued work (the
 * plugin's callbacks run now, with CURLE_ABORTED_BY_CALLBACK / -ECANCELED),
 * and orphans what cannot be cancelled. Returns how many are left running on
 * the threadpool (the plugin's code must then stay mapped). */
size_t host_api_abandon(struct drumbeat_instance *inst);

/* host_dns.c: host->dns_query on inst->owner->dns. */
int host_dns_query(struct drumbeat_instance *inst, const char *name, int type,
                   void (*answered)(int status, const struct json_t *answers, uint32_t ttl_s,
                                    void *arg),
                   void *arg);
/* For host_api_abandon: tells the plugin now (answered with -ECANCELED)
 * unless it already heard, and then returns true; the answer that comes
 * later only frees hp, once it is orphaned. */
bool host_dns_abandon(struct host_pending *hp);

#endif /* DRUMBEAT_PLUGIN_INSTANCE_H */
