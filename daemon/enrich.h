/* SPDX-License-Identifier: MIT */
/* daemon/enrich.h: the enrichment waterfall on the loop.
 *
 * Leads wait in the store's enrich_queue (queued by `drumbeat enrich`,
 * POST /api/enrichments, or after an import when enrichment.after_import).
 * Up to enrichment.concurrency leads at a time run the waterfall: the
 * configured enrichers in config order, each called only while one of the
 * fields it provides is still missing on the lead (a later enricher sees
 * what the earlier ones filled). Per enricher instance: at most its
 * "concurrency" ops in flight, at most "rate" ops per window (a token
 * bucket), and its answers cached in the store by the plugin's cache key for
 * the plugin's TTL or the instance's cache_ttl. An answer is applied with
 * store_lead_enrich (fills only empty fields, records provenance). A RETRY
 * answer ends the lead's turn and requeues it after backoff * 2^attempts
 * (or the plugin's retry_after), up to max_attempts; FAILED skips to the
 * next enricher. A lead that changed is rescored (icp_rescore_lead).
 *
 * Nothing is lost: a lead leaves the queue only when its waterfall has run
 * to the end (or was given up, with an "enrich_failed" event), so a crash
 * or a stop resumes it at the next start; answers already applied are not
 * asked again (the fields are no longer missing).
 *
 * Ownership: struct enrich is owned by the daemon (enrich_new/enrich_free);
 * it borrows d (store, plugins, cfg: always read through d, so a reload
 * applies at the next step). Its timer closes asynchronously: keep running
 * the loop after enrich_free until it has no handles.
 * Threads: loop thread only.
 */
#ifndef DRUMBEAT_ENRICH_H
#define DRUMBEAT_ENRICH_H

#include <jansson.h>

struct daemon;
struct enrich;

int enrich_new(struct daemon *d, struct enrich **out);
/* Looks at the queue now (after leads were queued). */
void enrich_kick(struct enrich *e);
/* Starts no more ops; waterfalls in flight end at their next step and
 * leave their leads queued. */
void enrich_stop(struct enrich *e);
void enrich_free(struct enrich *e);

/* {"queued", "running", "enrichers": [{"name", "in_flight", "calls",
 * "cache_hits", "found", "retries", "failures", "rate_waits"}]} */
json_t *enrich_status_json(struct enrich *e);

#endif /* DRUMBEAT_ENRICH_H */
