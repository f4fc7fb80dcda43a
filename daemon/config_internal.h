/* SPDX-License-Identifier: MIT */
/* daemon/config_internal.h: what the config loader's files share among
 * themselves and nobody else: the load context that collects errors, JSON path
 * building, value descriptions for messages, and path resolution.
 *
 * Ownership:
 *   struct config_ctx    stack storage of config_load_string(); every pointer
 *                        in it is borrowed for the duration of the load.
 *   config_path_resolve(), config_strv_*()
 *                        return heap memory the caller frees (free(),
 *                        config_strv_free()).
 * Threads: whatever thread runs the load.
 */
#ifndef DRUMBEAT_CONFIG_INTERNAL_H
#define DRUMBEAT_CONFIG_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

/* config_errors_add() keeps at most this many errors; the loader counts the
 * rest and says how many were left out. */
#define CONFIG_ERRORS_STORED_MAX 200

struct config_ctx {
    const char *file;               /* name used in messages */
    const char *base_dir;           /* may be NULL: relative paths stay as they are */
    struct config_errors *errs;     /* where errors go */
    size_t n_errors;                /* errors found, stored or not */
    bool oom;                       /* an allocation failed somewhere */
};

/* Records one semantic error at where (a JSON path). */
void config_ctx_error(struct config_ctx *ctx, const char *where, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Records an error a getter filled in (adds the file name). */
void config_ctx_add(struct config_ctx *ctx, struct errbuf *err);

/* Writes "path.key" (or "key" when path is empty) into buf; characters that
 * could forge a line in a message are replaced. */
void config_path_key(char *buf, size_t len, const char *path, const char *key);
/* Writes "path[index]" into buf. */
void config_path_index(char *buf, size_t len, const char *path, size_t index);
/* Describes a JSON value for "got ..." parts: "forty" quoted, 42, true,
 * null, "an object", "an array"; long strings are cut. */
void config_describe(const json_t *v, char *buf, size_t len);

/* base_dir joined with path unless path is absolute or base_dir is NULL,
 * with "." and ".." folded; NULL when out of memory. */
char *config_path_resolve(const char *base_dir, const char *path);

/* config_check_keys() for obj at path, counted in ctx. */
void config_ctx_keys(struct config_ctx *ctx, const json_t *obj, const char *path,
                     const char *const *allowed);
/* obj[key] as a log level name into *dst; errors recorded. */
void config_ctx_log_level(struct config_ctx *ctx, const json_t *obj, const char *path,
                          const char *key, enum log_level *dst);

/* Typed reads of obj[key] that record their own errors in ctx. They return
 * true when a value was stored in *dst (the old value freed), false when the
 * key is absent or wrong; required keys that are absent are errors. */
bool config_ctx_string(struct config_ctx *ctx, const json_t *obj, const char *path,
                       const char *key, bool required, char **dst);
bool config_ctx_int(struct config_ctx *ctx, const json_t *obj, const char *path,
                    const char *key, int64_t min, int64_t max, int64_t *dst);
bool config_ctx_duration(struct config_ctx *ctx, const json_t *obj, const char *path,
                         const char *key, uint64_t *dst);
/* obj[key] as an object (borrowed), NULL when absent or not an object
 * (the latter is recorded). */
const json_t *config_ctx_object(struct config_ctx *ctx, const json_t *obj,
                                const char *path, const char *key);
/* obj[key] as an array of non-empty strings, NULL-terminated; absent gives
 * an empty array. resolve makes each entry a path against ctx->base_dir. */
char **config_ctx_strv(struct config_ctx *ctx, const json_t *obj, const char *path,
                       const char *key, bool resolve);
void config_strv_free(char **v);

/* The sections, each filling its part of cfg from root. */
void config_load_sections(struct config_ctx *ctx, const json_t *root, struct config *cfg);
void config_load_instances(struct config_ctx *ctx, const json_t *root, struct config *cfg);
/* config_enrichment.c: an enricher instance's concurrency, rate and
 * cache_ttl (defaults set here too), and the "enrichment" section. */
void config_load_enricher_limits(struct config_ctx *ctx, const json_t *obj, const char *path,
                                 struct config_plugin_instance *inst);
void config_load_enrichment(struct config_ctx *ctx, const json_t *root, struct config *cfg);
void config_load_team(struct config_ctx *ctx, const json_t *root, struct config *cfg);
void config_team_free(struct config *cfg);
/* config_import.c: the "import" section, its built-in defaults and release. */
void config_load_import(struct config_ctx *ctx, const json_t *root, struct config *cfg);
int config_import_defaults(struct config *cfg);
void config_import_free(struct config *cfg);
void config_instances_free(struct config *cfg);
/* config_notifications.c: the "notifications" array (after the channels). */
void config_load_notifications(struct config_ctx *ctx, const json_t *root, struct config *cfg);
void config_notifications_free(struct config *cfg);
/* config_icp.c: the "icp" section (the ideal customer profile). */
void config_load_icp(struct config_ctx *ctx, const json_t *root, struct config *cfg);
void config_icp_free(struct config *cfg);
/* config_cadences.c: the "cadences" section (where the cadence files are). */
void config_load_cadences(struct config_ctx *ctx, const json_t *root, struct config *cfg);

/* Records an error for each name that repeats an earlier one. Entry i is
 * names[i] (NULL entries are skipped), found at sections[i][indexes[i]]. */
void config_ctx_unique(struct config_ctx *ctx, const char *const *names,
                       const char *const *sections, const size_t *indexes, size_t n);

/* True for 1..64 characters of [A-Za-z0-9_.-]: names used in log prefixes. */
bool config_is_identifier(const char *s);
/* True for "local@domain" without spaces or control characters. */
bool config_is_email(const char *s);

#endif /* DRUMBEAT_CONFIG_INTERNAL_H */
