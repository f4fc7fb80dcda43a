/* SPDX-License-Identifier: MIT */
/* daemon/plugin_loader.h: the daemon's plugin instances: finding and
 * dlopen()ing plugins, checking their descriptor against the ABI, validating
 * each instance's options against the plugin's declared table, and routing
 * sends and enrichments to them; reload and shutdown drain in-flight work
 * before fini.
 *
 * Ownership:
 *   struct plugins       owned by the caller of plugins_new(); plugins_free()
 *                        releases it (fini for every instance first). Its uv
 *                        handles close asynchronously: keep running the loop.
 *   loop, store, curl    borrowed; must outlive the struct plugins. store and
 *                        curl may be NULL (kv_* / curl_submit then fail with
 *                        -ENOSYS).
 *   dns                  borrowed (plugins_set_dns); must outlive the struct
 *                        plugins; without it host->dns_query fails -ENOSYS.
 *   struct config        borrowed for the call: everything kept is copied.
 *   messages to send     copied by plugins_send; the caller's array is
 *                        borrowed for the call only.
 *   results in callbacks borrowed for the callback; copy what you keep.
 *   json_t * returned    new references.
 * Threads: loop thread only.
 */
#ifndef DRUMBEAT_PLUGIN_LOADER_H
#define DRUMBEAT_PLUGIN_LOADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <uv.h>

#include <drumbeat/plugin.h>

struct config;
struct errbuf;
struct config_errors;
struct store;
struct curl_loop;
struct dns;
struct plugins;

int plugins_new(uv_loop_t *loop, struct store *store, struct curl_loop *curl,
                struct plugins **out);
/* Calls fini for every instance (ops still in flight are abandoned: their
 * callbacks are never called), dlcloses and frees. p may be NULL. */
void plugins_free(struct plugins *p);

/* The resolver behind host->dns_query (dns.h); NULL removes it. Set it
 * before plugins_load: queries already made keep the resolver they went to. */
void plugins_set_dns(struct plugins *p, struct dns *dns);

/* Loads every channel and enricher instance of cfg. An instance whose plugin
 * is missing or malformed, whose options are invalid or whose init fails is
 * kept in state "failed" with the reason, logged and appended to errs (which
 * may be NULL); loading carries on. Returns 0, or -ENOMEM. */
int plugins_load(struct plugins *p, const struct config *cfg, struct config_errors *errs);

/* Offline check for `drumbeat check-config`: dlopen, ABI check and option
 * validation of every instance (no init). Errors name cfg->path and the JSON
 * path ("channels[1].options.port", "channels[1].plugin"). 0 or -EINVAL. */
int plugins_check_config(const struct config *cfg, struct config_errors *errs);

/* For `drumbeat plugin-help`: finds name like plugins_load (cfg may be NULL),
 * dlopens and checks it (no init) and describes it as {"name","version",
 * "kind","abi","file","options":[{"key","type","default","required",
 * "secret","doc"}]} (a secret's default shows as "***"). Returns 0 with *out
 * a new reference, or a negative errno with err saying why (naming the file). */
int plugins_describe(const struct config *cfg, const char *name, json_t **out,
                     struct errbuf *err);

/* ---- channels ---- */
typedef void (*plugins_done_cb)(void *arg, const struct drumbeat_result *res);

/* Hands msgs[0..n) to channel's send. Returns 0, and then cb(args[i], res)
 * runs exactly once for each i on the loop thread, never from inside this
 * call; or a negative errno and cb is never called: -ENOENT (unknown or
 * failed channel), -ESHUTDOWN (draining), -EINVAL (n is 0 or above
 * max_batch), -ENOMEM, or the plugin's own error. */
int plugins_send(struct plugins *p, const char *channel, const struct drumbeat_message *msgs,
                 size_t n, plugins_done_cb cb, void *const *args);
/* Largest batch the channel takes (>= 1), or 0 for an unknown channel. */
uint32_t plugins_max_batch(struct plugins *p, const char *channel);
/* How many batches the channel sends at once (its ops' concurrency, ABI
 * 1.2; 2 when it does not say), or 0 for an unknown channel. */
uint32_t plugins_channel_concurrency(struct plugins *p, const char *channel);
/* The payload the channel wants for an email touch (its ops' accepts):
 * "message/rfc822" (the default) or "application/json"; NULL for an unknown
 * or failed channel. Borrowed from the plugin: use it before the next reload. */
const char *plugins_channel_accepts(struct plugins *p, const char *channel);
/* True when channel is running and sends are accepted. */
bool plugins_channel_ready(struct plugins *p, const char *channel);

/* ---- enrichers ---- */
/* attrs is a new reference (the callee owns it) or NULL. cache_ttl_ms is
 * what the plugin said with host->enrich_cache_ttl, or -1 when it said
 * nothing (the instance's configured cache_ttl then applies). */
typedef void (*plugins_enrich_cb)(void *arg, const struct drumbeat_result *res, json_t *attrs,
                                  int64_t cache_ttl_ms);
/* Same contract as plugins_send with one op; lead is referenced until done. */
int plugins_enrich(struct plugins *p, const char *enricher, const json_t *lead,
                   plugins_enrich_cb cb, void *arg);
/* The fields a running enricher fills (its ops' provides, ABI 1.1), NULL-
 * terminated and borrowed until the next reload; NULL when the plugin does
 * not say (or is older than 1.1), or the enricher is unknown or failed. */
const char *const *plugins_enricher_provides(struct plugins *p, const char *enricher);
/* The enricher's cache key for lead (its ops' cache_key, ABI 1.1) in buf:
 * 0; -ENOENT (nothing to look up: do not call it for this lead); -EAGAIN
 * (do not cache), also when the plugin has no cache_key; -ENOENT/-ENODEV
 * for an unknown or failed enricher. */
int plugins_enrich_cache_key(struct plugins *p, const char *enricher, const json_t *lead,
                             char *buf, size_t cap);

/* ---- status, reload, shutdown ---- */
/* Array of {"name","plugin","kind","version","file","state","error",
 * "in_flight","sent","failed_ops"}; state is "running", "failed" or
 * "draining"; sent counts DONE outcomes, failed_ops every other outcome. */
json_t *plugins_status_json(struct plugins *p);

/* Loads new_cfg's instances; the current ones start draining: they get no new
 * ops, and each gets fini (and its dlopen reference dropped) once its in-flight
 * ops and host services have completed. Returns 0 or -ENOMEM. */
int plugins_reload(struct plugins *p, const struct config *new_cfg, struct config_errors *errs);

/* Stops accepting sends and enrichments; drained(arg) runs once (never from
 * inside this call) when every in-flight op has completed, or when timeout_ms
 * expires: then each op left is logged as in doubt (the dispatcher marks the
 * touches); timeout_ms 0 waits without a limit. Returns 0, or -EALREADY if
 * a drain was already started. */
int plugins_drain(struct plugins *p, uint64_t timeout_ms, void (*drained)(void *arg), void *arg);

/* Ops accepted and not yet completed, over all instances. */
size_t plugins_in_flight(const struct plugins *p);

#endif /* DRUMBEAT_PLUGIN_LOADER_H */
