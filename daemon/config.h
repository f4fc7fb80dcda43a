/* SPDX-License-Identifier: MIT */
/* daemon/config.h: the daemon's JSON configuration, loaded with jansson and
 * validated as a whole: every error is collected (not just the first), each
 * naming the file and the JSON path and saying what was expected; unknown keys
 * are errors with a "did you mean" hint.
 *
 * Ownership:
 *   struct config        owned by whoever config_load() handed it to;
 *                        config_free() releases it and everything below it.
 *   every char * and array inside struct config
 *                        owned by the config; borrowed by everyone else for
 *                        as long as that config is the one in force.
 *   struct config_channel.options
 *                        a json_t reference owned by the config (the plugin
 *                        loader validates it against the plugin's options).
 *   struct config_errors owned by the caller; config_errors_free() releases it.
 * Threads: load on any thread; a loaded config is read-only, so any thread may
 * read it.
 */
#ifndef DRUMBEAT_CONFIG_H
#define DRUMBEAT_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "errors.h"
#include "log.h"

/* The roles a team member can hold; one per sales stage owner. */
enum config_role {
    CONFIG_ROLE_PROSPECTOR = 1u << 0,
    CONFIG_ROLE_SDR = 1u << 1,
    CONFIG_ROLE_CLOSER = 1u << 2,
    CONFIG_ROLE_CS = 1u << 3,
    CONFIG_ROLE_ADMIN = 1u << 4,   /* may change configuration through the API */
};

struct config_person {
    char *name;            /* unique; the actor recorded for their API changes */
    char *email;
    char *token_file;      /* path, resolved against the config file's folder */
    char *token;           /* the file's contents, trimmed; a secret: never logged */
    unsigned roles;        /* enum config_role bits */
    char **territories;    /* NULL-terminated; may be empty */
};

struct config_listener {
    char *address;         /* "127.0.0.1" by default: loopback unless told otherwise */
    int port;              /* 7780 for the API, 7781 public; 0 picks a free port */
    int max_connections;   /* default 256 */
    uint64_t timeout_ms;   /* idle connection timeout, default 30s */
    size_t max_body;       /* largest request body accepted, default 1 MiB */
};

struct config_mailbox {
    char *name;            /* unique */
    char *address;         /* "ada@example.com" */
    char *display_name;    /* may be NULL */
    char *channel;         /* name of a channel instance */
    int64_t daily_cap;     /* > 0, default 200; on a rolling 24 hours */
    int64_t hourly_cap;    /* on a rolling hour; 0 = none (default) */
    uint64_t min_spacing_ms;   /* least time between two sends; 0 = none */
    uint64_t jitter_ms;    /* a random extra 0..jitter on top of min_spacing */
    int64_t warmup_start;  /* warm-up cap on its first day; 0 = no warm-up */
    int64_t warmup_per_day;    /* added to the warm-up cap per day since warmup_since_ms */
    int64_t warmup_since_ms;   /* UTC midnight of "warmup.since" */
    char *title;           /* the sender's job title, for templates; may be NULL */
    char *signature;       /* the sender's signature text, for templates; may be NULL */
    char *dkim_selector;   /* DKIM selector of the address's domain, for the preflight
                              (`drumbeat mailbox check`); may be NULL */
};

/* "dns": the resolver used by the mailbox preflight (dns.c). */
struct config_dns {
    char *servers;         /* "127.0.0.1:5353,[::1]:53"; NULL = /etc/resolv.conf */
    uint64_t timeout_ms;   /* per try, default 3s */
    int tries;             /* default 2 */
};

/* "import": how lead lists are imported (config_import.c). */
struct config_import {
    char **free_mail_domains;  /* NULL-terminated; replaces the built-in list when set */
    char **role_locals;        /* NULL-terminated: "info", "sales", ... */
    char *lawful_basis;        /* GDPR art. 6 basis recorded per lead, default
                                  "legitimate_interest" */
    int batch_rows;            /* rows per store transaction, default 2000 */
};

/* "notifications": one subscriber of lead events (config_notifications.c).
 * Each matching event becomes a touch of kind "notification" on channel. */
struct config_notification {
    char **events;         /* NULL-terminated: event types, "*" or "prefix_*" */
    char *channel;         /* the channel instance that carries them */
    char **lead_fields;    /* NULL-terminated lead fields shared; empty by default */
};

/* One configured plugin instance (a channel or an enricher). */
struct config_plugin_instance {
    char *name;            /* unique among instances, "primary" */
    char *plugin;          /* "example_channel", or a path to a .so */
    json_t *options;       /* object; validated by the plugin loader */
    enum log_level log_level;
    /* Enrichers only (config_enrichment.c): */
    int64_t concurrency;   /* ops in flight at once, default 4 */
    int64_t rate_count;    /* at most rate_count ops per rate_window_ms; 0 = no limit */
    uint64_t rate_window_ms;
    uint64_t cache_ttl_ms; /* how long answers are kept when the plugin does not say;
                              default 7 days; 0 = never cached */
};

/* "enrichment": how the enrichment waterfall runs (enrich.c). */
struct config_enrichment {
    bool after_import;     /* queue every lead an import created or changed */
    int64_t concurrency;   /* leads in the waterfall at once, default 8 */
    uint64_t backoff_ms;   /* first retry delay, doubled per attempt; default 30s */
    uint64_t max_backoff_ms;  /* default 1h */
    int64_t max_attempts;  /* RETRY answers before a lead is given up; default 5 */
};

struct icp_rules;

struct config {
    char *path;            /* the file it was loaded from */
    char *base_dir;        /* that file's folder, for resolving relative paths */

    enum log_level log_level;     /* daemon.log_level, default info */
    char *pidfile;                /* daemon.pidfile, or NULL */
    uint64_t shutdown_timeout_ms; /* daemon.shutdown_timeout, default 10s */
    int threadpool_size;          /* daemon.threadpool_size, default 16 */

    char *store_path;      /* store.path, resolved; default "var/drumbeat.db" */

    struct config_listener api;      /* api.{address,port,...} */
    struct config_listener public_;  /* public.{address,port,...} */
    char *public_url;                /* base for links in emails */

    char **plugin_path;    /* plugin_path: folders searched before
                              $DRUMBEAT_PLUGIN_PATH and PKGLIBDIR; NULL-terminated */

    char *company_name;    /* company.name, for templates */
    char *postal_address;  /* company.postal_address */

    /* "templates": {"dir", "unsubscribe_secret_file", "list_unsubscribe_mailto"} */
    char *templates_dir;   /* templates.dir, resolved; NULL when there is no "templates" */
    char *unsub_secret_file;   /* templates.unsubscribe_secret_file, resolved, or NULL */
    char *unsub_secret;    /* its contents, trimmed; a secret: never logged */
    size_t unsub_secret_len;
    char *unsub_mailto;    /* templates.list_unsubscribe_mailto ("unsubscribe@example.com") or NULL */

    struct config_import import;     /* "import" section */

    struct config_person *team; size_t n_team;
    struct config_mailbox *mailboxes; size_t n_mailboxes;
    struct config_plugin_instance *channels; size_t n_channels;
    struct config_plugin_instance *enrichers; size_t n_enrichers;
    struct config_enrichment enrichment;  /* "enrichment" section */
    struct config_notification *notifications; size_t n_notifications;

    struct config_dns dns;           /* "dns" section */

    struct icp_rules *icp;           /* "icp" section (icp.h), or NULL when absent:
                                        then nothing is scored */

    char *cadences_dir;    /* cadences.dir, resolved; without "cadences", the folder
                              "cadences" beside the config file when it exists, else
                              NULL (no cadences). Loaded by cadence_set_load(). */
};

/* The collected errors of one load. */
struct config_errors {
    struct errbuf *items;
    size_t count;
    size_t cap;
};

/* Loads and validates path (NULL means "config/drumbeat.json"). On success
 * returns 0 and sets *out; otherwise returns a negative errno, leaves *out
 * untouched and fills errs with every problem found (syntax errors carry the
 * line and column; semantic ones the JSON path). Reads token files. */
int config_load(const char *path, struct config **out, struct config_errors *errs);
/* The same from a string in memory; name is used in messages and base_dir is
 * the folder relative paths are resolved against. */
int config_load_string(const char *text, size_t len, const char *name,
                       const char *base_dir, struct config **out,
                       struct config_errors *errs);
void config_free(struct config *cfg);

/* Appends one error (used by the loader and by the plugin option validator). */
void config_errors_add(struct config_errors *errs, const struct errbuf *err);
/* Writes each error as one "file: path: what" line to fp-like sink; returns count. */
size_t config_errors_log(const struct config_errors *errs);
void config_errors_free(struct config_errors *errs);

/* The person whose token this is, or NULL. Constant-time per comparison. */
const struct config_person *config_person_by_token(const struct config *cfg,
                                                   const char *token);
/* Finds a channel instance or mailbox by name, or NULL. */
const struct config_plugin_instance *config_channel_get(const struct config *cfg,
                                                         const char *name);
const struct config_mailbox *config_mailbox_get(const struct config *cfg, const char *name);

/* True for a GDPR article 6 basis name: "consent", "contract",
 * "legal_obligation", "vital_interests", "public_task", "legitimate_interest". */
bool config_lawful_basis_valid(const char *basis);

/* Role names: "prospector", "sdr", "closer", "cs", "admin". */
const char *config_role_format(enum config_role role);
int config_role_parse(const char *text, enum config_role *out);

/* Path-aware typed getters, shared with the plugin option validator. Each
 * reads obj[key], with path naming obj for messages ("channels[0].options").
 * They return 0, -ENOENT when the key is absent (and *out is untouched), or
 * -EINVAL with err filled: where = "path.key", what = "expected ..., got ...". */
int config_get_int(const json_t *obj, const char *path, const char *key,
                   int64_t min, int64_t max, int64_t *out, struct errbuf *err);
int config_get_bool(const json_t *obj, const char *path, const char *key,
                    bool *out, struct errbuf *err);
/* *out is borrowed from obj. */
int config_get_string(const json_t *obj, const char *path, const char *key,
                      const char **out, struct errbuf *err);
/* Accepts a non-negative integer (milliseconds) or "250ms", "30s", "5m", "2h", "1d". */
int config_get_duration(const json_t *obj, const char *path, const char *key,
                        uint64_t *out, struct errbuf *err);
/* Parses a duration text as above; returns 0 or -EINVAL. */
int duration_parse(const char *text, uint64_t *out_ms);

/* Rejects keys of obj not in allowed (NULL-terminated), one error each, with
 * the closest allowed key as a "did you mean" hint. Returns how many. */
int config_check_keys(const json_t *obj, const char *file, const char *path,
                      const char *const *allowed, struct config_errors *errs);
/* The allowed key closest to key by edit distance, or NULL if none is close. */
const char *config_suggest(const char *key, const char *const *allowed);

#endif /* DRUMBEAT_CONFIG_H */
