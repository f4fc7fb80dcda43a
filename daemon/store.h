/* SPDX-License-Identifier: MIT */
/* daemon/store.h: the durable store, behind a backend-neutral interface.
 *
 * The SQLite backend (store_sqlite.c) is the only one today; a PostgreSQL
 * backend can implement this same header later without touching callers, so
 * nothing here exposes SQL, sqlite3 types or process-local counters.
 *
 * Threads: store_open() and store_close() run on the loop thread. Writes are
 * asynchronous: each write call queues a transaction for the single writer
 * thread, which owns the write connection and group-commits whatever is queued
 * (synchronous=FULL); its completion callback then runs on the loop thread.
 * A write call returns 0 (and then its callback runs exactly once, never from
 * inside the call) or a negative errno (and then never calls it). Reads
 * (store_*_get, store_status, ...) are synchronous, short and indexed, on the
 * loop thread's own read connection; they never wait on the writer.
 *
 * Ownership:
 *   struct store          owned by the caller of store_open(); store_close()
 *                         releases it.
 *   request structs       borrowed for the call; the store copies what it keeps.
 *   results passed to callbacks (struct store_claimed, json_t *)
 *                         borrowed for the duration of the callback; copy or
 *                         incref to keep.
 *   results of reads      owned by the caller: json_t * are new references,
 *                         char * are malloc'd.
 */
#ifndef DRUMBEAT_STORE_H
#define DRUMBEAT_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <uv.h>

#include "errors.h"
#include "touch_state.h"

struct store;

/* The schema version this build writes. A store whose version is higher is
 * refused with -ESTALE ("store is from a newer drumbeat"). */
#define STORE_SCHEMA_VERSION 13

/* For tests of upgrades: creates the store file at path as an older
 * drumbeat left it, at schema version (1 .. STORE_SCHEMA_VERSION), without
 * opening it for use. 0 or a negative errno with err filled. */
int store_create_at_version(const char *path, int version, struct errbuf *err);

/* Who made a change, recorded with every event. */
enum store_actor_kind { STORE_ACTOR_SYSTEM = 0, STORE_ACTOR_PERSON, STORE_ACTOR_RULE };
struct store_actor {
    enum store_actor_kind kind;
    const char *name;      /* person name or rule id; NULL for the system */
};

/* Completion of a write: status is 0 or a negative errno; id is the row the
 * write created or changed (lead id, touch id, event id), or 0. */
typedef void (*store_done_cb)(int status, int64_t id, void *arg);

/* Opens (creating if needed) the store at path, applies pending migrations,
 * sets WAL and synchronous=FULL on every connection, starts the writer thread
 * and turns every touch still 'sending' into 'in_doubt' (reason
 * "interrupted"), as one committed transaction, before returning. A path
 * whose folder is missing is created; an unwritable path fails with the path
 * and the reason in err. Completions are delivered on loop. */
int store_open(uv_loop_t *loop, const char *path, struct store **out, struct errbuf *err);

/* Finishes every queued write, delivers their completions on this thread,
 * checkpoints, stops the writer thread and closes every connection. The
 * store's uv handles close asynchronously: keep running the loop until it has
 * no more handles. st may be NULL. */
void store_close(struct store *st);

/* Runs the callback once every write queued so far has committed and its
 * completion has run (used by shutdown and reload). */
int store_flush(struct store *st, store_done_cb cb, void *arg);

/* ---- figures for status and /metrics (read connection) ---- */
struct store_status {
    char backend[16];            /* "sqlite" */
    char path[512];
    char store_id[40];           /* random id created with the store */
    int schema_version;
    int64_t leads;
    int64_t events;
    int64_t touches[TOUCH_STATE_COUNT];   /* by state */
    int64_t tasks_open;
    int64_t suppressed;
    int64_t file_bytes;          /* main file plus WAL */
    int64_t writes_committed;    /* transactions committed since open */
    int64_t commits;             /* group commits since open */
    int64_t lazy_commits;        /* of them, without an fsync of their own
                                    (store_writer_sync.c) */
    int64_t lazy_syncs;          /* fsyncs of the WAL that made lazy commits durable
                                    (the writer going idle, an event notification) */
    int64_t write_queue;         /* transactions waiting for the writer now */
};
int store_status(struct store *st, struct store_status *out);
/* Writes submitted whose completion has not run yet (loop thread): 0 means
 * every write made so far is committed and its callback has run. */
int64_t store_writes_outstanding(struct store *st);

/* ---- leads ---- */
struct store_lead_in {
    const char *email;           /* required; the dedupe key */
    const char *first_name, *last_name, *company, *domain, *title, *phone;
    const char *country, *timezone, *linkedin, *source, *lawful_basis;
    const json_t *attrs;         /* object of free attributes, or NULL */
    /* Read by store_lead_upsert_batch() only: */
    const char *attrs_json;      /* the attributes as compact JSON object text
                                    (instead of attrs), or NULL */
    const char *email_status;    /* "syntax_ok", ...: replaces only "unknown" */
    bool overwrite;              /* replace set fields with the non-empty new
                                    values (import --overwrite) */
};
/* Creates the lead, or fills the empty fields of the lead with that email
 * (never overwriting one already set); records an event. id = the lead's id. */
int store_lead_upsert(struct store *st, const struct store_lead_in *in,
                      const struct store_actor *actor, store_done_cb cb, void *arg);
/* The lead as a JSON object (all columns, attrs, owners per role), or -ENOENT. */
int store_lead_get(struct store *st, int64_t lead_id, json_t **out);
/* Loop thread: only what a lead's time rules read ({id, timezone,
 * country}; a wait step needs no more), as a new object in *out. 0, -ENOENT,
 * or a negative errno. */
int store_lead_zone(struct store *st, int64_t lead_id, json_t **out);

/* ---- many leads in one transaction (imports) ---- */
enum store_lead_result {
    STORE_LEAD_CREATED = 1,
    STORE_LEAD_UPDATED,          /* the lead existed; a field was filled or replaced */
    STORE_LEAD_UNCHANGED,        /* the lead existed; nothing new */
};
struct store_lead_outcome {
    int64_t lead_id;
    enum store_lead_result result;
    bool suppressed;             /* its email or domain is on the suppression list:
                                    the lead is stored with suppressed = 1 */
    const char *suppressed_reason;   /* the list's reason, or NULL */
    int64_t probable_dup_of;     /* another lead with the same first and last
                                    name at the same domain, or 0 */
};
/* outcomes[i] is rows[i]'s; all borrowed for the callback. */
typedef void (*store_lead_batch_cb)(int status, const struct store_lead_outcome *outcomes,
                                    size_t n, void *arg);
/* Nothing is kept: the rows run inside the transaction and are rolled back,
 * so the outcomes say what an import would do. */
#define STORE_BATCH_DRY_RUN 0x1u
#define STORE_BATCH_ENRICH 0x2u   /* queue created/changed leads for enrichment */
#define STORE_BATCH_MORE 0x4u     /* more batches of the same import follow soon */
/* Upserts n rows (as store_lead_upsert: email is the key, only empty fields
 * are filled unless rows[i].overwrite) in ONE writer transaction, checking
 * each against the suppression list and for a probable duplicate, with a
 * "lead_created" or "lead_merged" event for each lead that changed (one
 * lead_created event for a run of new leads with consecutive ids; see
 * store_events_list). A failing
 * row fails the batch (status < 0, nothing kept). -EINVAL when a row has no
 * usable email (checked before queueing). */
int store_lead_upsert_batch(struct store *st, const struct store_lead_in *rows, size_t n,
                            unsigned flags, const struct store_actor *actor,
                            store_lead_batch_cb cb, void *arg);
int store_lead_find_by_email(struct store *st, const char *email, int64_t *lead_id);

/* ---- stages ---- */
/* The one stage transition: moves the lead to stage, assigns that stage's
 * owner round-robin from candidates (the team members holding the stage's
 * role, in config order; n may be 0 for no owner), and writes the stage
 * history and a "stage_changed" event with the actor, in one transaction.
 * The round-robin cursor is kept in the store, so it survives restarts and
 * would be shared by several daemons. */
int store_stage_move(struct store *st, int64_t lead_id, const char *stage,
                     const char *role, const char *const *candidates, size_t n,
                     const struct store_actor *actor, const char *reason,
                     store_done_cb cb, void *arg);
/* The lead's stage history, oldest first, as a JSON array of objects. */
int store_stage_history(struct store *st, int64_t lead_id, json_t **out);

/* ---- ideal customer profile scores (store_icp.c) ---- */
/* Records the lead's ICP score (leads.icp_score) and its breakdown (an
 * object, icp.h; copied), replacing any earlier one. No event: scores change
 * with every rescoring; the stage move they cause is the event. -ENOENT via
 * the completion for an unknown lead. */
int store_icp_save(struct store *st, int64_t lead_id, double score, bool qualified,
                   const json_t *breakdown, store_done_cb cb, void *arg);
/* The last breakdown, with "scored_at" (UTC ms), or -ENOENT when never scored. */
int store_icp_get(struct store *st, int64_t lead_id, json_t **out);
/* Up to cap ids of leads in stage with id > after_id, ascending (a pass
 * pages through them). *n is how many. */
int store_leads_in_stage(struct store *st, const char *stage, int64_t after_id,
                         int64_t *ids, size_t cap, size_t *n);

/* ---- the append-only event log ---- */
/* type: "import", "enriched", "touch_sent", "reply", "stage_changed"...
 * data must hold no personal data (DESIGN.md, "Personal data"). */
int store_event_append(struct store *st, int64_t lead_id, int64_t touch_id,
                       const char *type, const struct store_actor *actor,
                       const json_t *data, store_done_cb cb, void *arg);
/* The newest events (at most limit), newest first, of one lead (lead_id > 0)
 * or of all; a JSON array. A lead's events include the lead_created event
 * of the import run that created it, shown with the lead's own id; the list
 * of all shows that event once, with lead_id and lead_last the run's first
 * and last lead. */
int store_events_list(struct store *st, int64_t lead_id, int limit, json_t **out);

/* ---- event notifications (store_notify.c) ---- */
/* One subscriber: events of a lead whose type matches one of events ("*",
 * an exact type, or "prefix_*") become touches on channel. */
struct store_notify_rule {
    const char *channel;
    const char *const *events;       /* NULL-terminated */
    const char *const *lead_fields;  /* NULL-terminated lead columns to include, or NULL */
};
/* Replaces the rules (copied) for every write queued after this call. From
 * then on, each event of a lead that a rule matches gets, in the same
 * transaction as the event (so the notification exists exactly when the
 * event does), one scheduled touch per channel: kind "notification",
 * content_type "application/json", due now, with the payload
 *   {"event", "event_id", "at" (UTC ms), "time" (ISO 8601), "lead_id",
 *    "touch_id" (or null), "actor": {"kind", "name"}, "data", "lead"
 *    (only the rule's lead_fields; absent when none)}
 * Events about notification touches themselves never notify, and events
 * without a lead are not notified. n may be 0 (no rules). Returns 0,
 * -ENOMEM or -ESHUTDOWN. */
int store_notify_configure(struct store *st, const struct store_notify_rule *rules, size_t n);
/* created(arg) runs on the loop thread after a commit that created
 * notification touches (so a dispatcher can claim them). NULL clears it. */
void store_notify_set_hook(struct store *st, void (*created)(void *arg), void *arg);

/* ---- touches ---- */
struct store_touch_in {
    int64_t lead_id;
    int64_t enrollment_id;       /* 0 when not part of a cadence */
    int step;                    /* cadence step, 0 when none */
    const char *kind;            /* "email", "call", "task", "webhook" */
    const char *channel;         /* channel instance name */
    const char *mailbox;         /* mailbox name, or NULL */
    const char *recipient;
    const char *content_type;
    const char *payload; size_t payload_len;
    int64_t due_at;              /* UTC ms */
};
/* Creates a touch in 'scheduled' with a unique idempotency key derived from
 * the store id and the touch id (also the basis of the Message-ID). */
int store_touch_create(struct store *st, const struct store_touch_in *in,
                       const struct store_actor *actor, store_done_cb cb, void *arg);

/* One claimed touch, as handed to the channel. Borrowed during the callback. */
struct store_claimed {
    int64_t touch_id, lead_id;
    const char *channel, *mailbox, *recipient, *content_type;
    const char *payload; size_t payload_len;
    const char *idempotency_key;
    int attempts;                /* including this one */
    const char *kind;            /* "email", "notification", ... (store_touch_in.kind) */
};
typedef void (*store_claim_cb)(int status, const struct store_claimed *touches,
                               size_t n, void *arg);
/* Durably moves up to limit due touches (due_at <= now) of one channel (and
 * mailbox, when not NULL) from 'scheduled' to 'sending', oldest due first,
 * and commits that before calling cb with them. */
int store_touch_claim(struct store *st, const char *channel, const char *mailbox,
                      int limit, int64_t now, store_claim_cb cb, void *arg);
/* The same, under per-cadence throttles: throttle is a JSON object text
 * {"cadence": n} (copied; NULL = none), and at most n first touches (step
 * 0) of each such cadence's enrollments are claimed. */
int store_touch_claim_throttled(struct store *st, const char *channel, const char *mailbox,
                                const char *throttle, int limit, int64_t now, store_claim_cb cb,
                                void *arg);

/* Records how a sending touch ended. state is SENT, SCHEDULED (a retry, with
 * due_at = retry_at), FAILED, IN_DOUBT, SKIPPED, DEFERRED or CANCELLED; reason
 * is a reason code ("recipient_rejected", "mailbox_paused"...) or NULL; code,
 * enhanced and detail come from the channel. Writes a touch event. Refuses
 * (-EINVAL) a transition the state diagram does not allow. */
struct store_touch_outcome {
    enum touch_state state;
    const char *reason;
    int code;
    const char *enhanced;
    const char *detail;
    int64_t retry_at;
    /* A channel's verdict on a touch it was handed ('sending'): losing it in
     * a power cut leaves the touch 'sending', in_doubt at the next start, so
     * it may commit without an fsync of its own (store_writer_sync.c). A
     * person's decision is never lazy: they were told it is done. */
    bool lazy_sync;
};
int store_touch_finish(struct store *st, int64_t touch_id,
                       const struct store_touch_outcome *outcome,
                       const struct store_actor *actor, store_done_cb cb, void *arg);
/* True when store_touch_finish() (or, for SENDING, a claim) may move a touch
 * from one state to the other: the arrows of touch_state.h's diagram. */
bool store_touch_can_move(enum touch_state from, enum touch_state to);
/* The touch as a JSON object (without its payload), or -ENOENT. */
int store_touch_get(struct store *st, int64_t touch_id, json_t **out);
/* Touches in one state (or all when state < 0), newest first, at most limit. */
int store_touches_list(struct store *st, int state, int limit, json_t **out);
/* The earliest due_at of a scheduled touch of channel, or -ENOENT. */
int store_touch_next_due(struct store *st, const char *channel, int64_t *due_at);
/* The same, with the mailbox of that earliest touch copied into mailbox
 * ("" when it has none), so that a batch can be claimed for one mailbox;
 * as the claim, it skips touches whose window closed by now (the
 * sequencer's sweep moves those to their next window). */
int store_touch_next_due_mailbox(struct store *st, const char *channel, int64_t now, int64_t *due_at,
                                 char *mailbox, size_t cap);

/* ---- tasks (the call list) ---- */
struct store_task_in {
    int64_t lead_id, touch_id;
    const char *kind;            /* "call", "task" */
    const char *owner;           /* person name, or NULL */
    int priority;
    int64_t due_at;
    const char *script;          /* rendered call script, or NULL */
};
int store_task_create(struct store *st, const struct store_task_in *in,
                      const struct store_actor *actor, store_done_cb cb, void *arg);

/* ---- tasks (store_tasks.c) ---- */
/* The open call tasks of owner (NULL: everyone's) due before until_ms, by
 * priority (1 first; none last), then due_at: a JSON array of objects with
 * id, lead_id, owner, priority, due_at, title, script, enrollment_id, step,
 * the lead's first_name, last_name, company, lead_title, phone, timezone,
 * country, email, "last_emails" (the last 3 sent: id, sent_at, subject
 * decoded) and "notes" (the last 3 of kind note/call_note: id, kind, body,
 * at), newest first. Needs compose_init() (GMime decodes the subjects). */
int store_calls_list(struct store *st, const char *owner, int64_t until_ms, json_t **out);
/* Closes an open task in one transaction: state 'done', outcome, done_at;
 * notes (may be NULL) into lead_texts as a 'call_note'; a "call_logged"
 * event {"task_id", "outcome"} on the lead; and, for a task of an
 * enrollment, store_wr_enrollment_step_done() with the outcome. The
 * completion's id is task_id; -ENOENT when the task is not open. */
int store_task_close(struct store *st, int64_t task_id, const char *outcome, const char *notes,
                     const struct store_actor *actor, store_done_cb cb, void *arg);
/* The lead's oldest open call task (by due_at, then id), or -ENOENT. */
int store_task_open_for_lead(struct store *st, int64_t lead_id, int64_t *task_id);

/* Loop thread: a run of reads (one per claimed touch, say) in one read
 * transaction, one snapshot and one lock instead of one per query. Returns
 * 0, -EALREADY (one is open: the reads join it), or an error. End it with
 * store_read_end, which is a no-op when none is open. */
int store_read_begin(struct store *st);
void store_read_end(struct store *st);

/* ---- suppression ---- */
/* value is an email or a domain; kind "email" or "domain". */
int store_suppress(struct store *st, const char *kind, const char *value,
                   const char *reason, const struct store_actor *actor,
                   store_done_cb cb, void *arg);
/* Sets *out to true when the email or its domain is suppressed. */
int store_is_suppressed(struct store *st, const char *email, bool *out);

/* ---- mailbox send counters (per UTC day) ---- */
/* day is the caller's day number (e.g. UTC ms / 86400000). The completion's
 * id is the day's new count. */
int store_mailbox_count_add(struct store *st, const char *mailbox, int64_t day,
                            int64_t n, store_done_cb cb, void *arg);
int store_mailbox_count_get(struct store *st, const char *mailbox, int64_t day,
                            int64_t *out);

/* ---- mailbox caps (rolling windows over touches.sent_at) ---- */
/* What a mailbox sent: *in_window counts touches with sent_at > since plus
 * those 'sending' now; *oldest is the earliest sent_at > since (0 if none);
 * *last the latest sent_at ever (0 if none); *sending the 'sending' rows. */
struct store_mailbox_sends {
    int64_t in_window, oldest, last, sending;
};
int store_mailbox_sends(struct store *st, const char *mailbox, int64_t since,
                        struct store_mailbox_sends *out);
/* Up to cap 'scheduled' touches of channel and mailbox due at now that a cap
 * holds back: their ids and not_after (0 = none), in claim order. */
int store_mailbox_held(struct store *st, const char *channel, const char *mailbox,
                       int64_t now, int64_t *ids, int64_t *not_after, size_t cap, size_t *n);

/* ---- a reloaded cadence and its running enrollments (store_cadence_sync.c) ---- */
enum store_migrate {
    STORE_MIGRATE_NONE = 0,     /* enrollments keep their version */
    STORE_MIGRATE_SAME_STEP,    /* "continue-at-same-step" */
    STORE_MIGRATE_RESTART,      /* "restart" */
};
/* In one transaction, for the cadence whose current version row is
 * version_id: migrates the enrollments (active or paused) on its older
 * versions as migrate says ("enrollment_migrated" events, or
 * "enrollment_not_migrated" when a step has no counterpart), then moves the
 * enrollments on each mailbox of retired (NULL-terminated; may be empty) to
 * the least loaded of mailboxes (NULL-terminated, not empty) with their
 * unsent touches ("mailbox_retired" events). id = enrollments changed. */
int store_cadence_reconcile(struct store *st, const char *cadence, int64_t version_id,
                            enum store_migrate migrate, const char *const *retired,
                            const char *const *mailboxes, store_done_cb cb, void *arg);

/* ---- paused mailboxes (store_mailboxes.c) ---- */
/* Pauses mailbox (reason: "manual", "mailbox_rejected"...; detail: the
 * server's text or a person's note, may be NULL) and defers its 'scheduled'
 * touches as deferred(mailbox_paused), with a "touch_deferred" event each
 * and one "mailbox_paused" event; id = the touches deferred. -EALREADY when
 * it was paused already (the first reason stays). Survives restarts. */
int store_mailbox_pause(struct store *st, const char *mailbox, const char *reason,
                        const char *detail, const struct store_actor *actor, store_done_cb cb,
                        void *arg);
/* Defers the touches of a paused mailbox made since it was paused (the
 * dispatcher calls it when it finds them due); nothing if not paused. */
int store_mailbox_hold_paused(struct store *st, const char *mailbox, store_done_cb cb, void *arg);
/* Resumes it: its deferred(mailbox_paused) touches are 'scheduled' again
 * (id = how many), with a "mailbox_resumed" event. -ENOENT if not paused. */
int store_mailbox_resume(struct store *st, const char *mailbox, const struct store_actor *actor,
                         store_done_cb cb, void *arg);
/* Loop thread reads: whether mailbox is paused; every pause as a JSON array
 * of {mailbox, reason, detail, actor_kind, actor, at, touches_waiting}
 * (a new reference in *out). */
int store_mailbox_paused(struct store *st, const char *mailbox, bool *paused);
int store_mailbox_pauses(struct store *st, json_t **out);

/* First touches (step 0) of each cadence's enrollments sent after since or
 * sending now, as a JSON object {"cadence": {"n": count, "oldest": the
 * earliest sent_at, or now for one still sending}} (new reference). */
int store_cadence_starts(struct store *st, int64_t since, int64_t now, json_t **out);
/* Up to cap 'scheduled' first touches of channel and mailbox due at now
 * whose cadence is a key of the JSON object text cadences: ids, not_after
 * (0 = none) and their cadence names (truncated to 127 bytes). */
int store_cadence_held(struct store *st, const char *channel, const char *mailbox, int64_t now,
                       const char *cadences, int64_t *ids, int64_t *not_after, char (*names)[128],
                       size_t cap, size_t *n);

/* ---- per plugin instance key/value state ---- */
/* value is copied; NULL value deletes. */
int store_kv_set(struct store *st, const char *instance, const char *key,
                 const char *value, size_t len, store_done_cb cb, void *arg);
/* *value is malloc'd and NUL-terminated (len excludes the NUL); -ENOENT if absent. */
int store_kv_get(struct store *st, const char *instance, const char *key,
                 char **value, size_t *len);

/* ---- cadences at run time (store_cadences.c, store_sequencer.c) ---- */
/* Records canonical (a cadence file's canonical text) as the newest version
 * of cadence name unless it already is; the completion's id is that
 * version's row (enrollments.cadence_id). A new version writes a
 * "cadence_version" event. */
int store_cadence_version(struct store *st, const char *name, const char *canonical,
                          store_done_cb cb, void *arg);
/* A stored version: its cadence name (malloc'd), version number and the
 * definition object (a new reference). -ENOENT for an unknown id. */
int store_cadence_version_get(struct store *st, int64_t id, char **name, int64_t *version,
                              json_t **definition);
/* What refuses or delays an enrollment (cadence_def.h's throttles and
 * company rules); zero fields do not apply. */
struct store_enroll_rules {
    int64_t max_active, new_per_day, max_active_per_domain, cooldown_ms;
    bool skip_customer_domains;
    bool require_basis;          /* refuse a lead without a source ("no_source")
                                    or a lawful basis ("no_lawful_basis") */
};
/* results: [{"lead_id", "enrollment_id", "mailbox"} | {"lead_id", "refused":
 * reason}] (borrowed for the call); NULL when status < 0. */
typedef void (*store_enroll_cb)(int status, const json_t *results, void *arg);
/* Enrolls n leads into version cadence_id of cadence, each refused with a
 * reason ("suppressed", "unsubscribed", "bounced", "no_lawful_basis",
 * "no_source" (with require_basis), "already_enrolled", "cooldown",
 * "company_cap", "customer_domain", "cadence_max_active", "no_such_lead")
 * or started at step 0, due now (or later under the
 * new_per_day throttle), from the least loaded of mailboxes. One
 * "enrolled" event per enrollment. */
int store_enroll(struct store *st, int64_t cadence_id, const char *cadence,
                 const int64_t *leads, size_t n, const char *const *mailboxes,
                 const struct store_enroll_rules *rules, const struct store_actor *actor,
                 store_enroll_cb cb, void *arg);
/* Up to cap active enrollments due at now, oldest first; *next_at is the
 * next due_at after them (0: none). */
int store_enrollments_due(struct store *st, int64_t now, int64_t *ids, size_t cap, size_t *n,
                          int64_t *next_at);
/* One enrollment: id, lead_id, cadence_id, cadence, version, state, step,
 * mailbox, started_at, due_at, step_started_at, last_outcome,
 * last_email_touch, reason, open_task (the open task of its step, or null). */
int store_enrollment_get(struct store *st, int64_t id, json_t **out);
/* Enrollments of a cadence (NULL: all) and/or a lead (0: all), by id. */
int store_enrollments_list(struct store *st, const char *cadence, int64_t lead_id, json_t **out);
/* What the sequencer decided for one enrollment at step at_step, written in
 * one transaction, only if the enrollment is still active at that step
 * with a due_at (else -ESTALE and nothing is written). */
struct store_step_write {
    int64_t enrollment_id, lead_id;
    int at_step;
    int next_step;               /* where it goes (== at_step: it waits there) */
    int64_t next_due;            /* due_at; 0 = NULL (waits for a touch or task) */
    int64_t next_started;        /* step_started_at to set; 0 = keep */
    bool finish;                 /* the cadence is done: state 'completed' */
    bool close_open_task;        /* the step's open task is skipped (call_overdue) */
    /* a touch to create (NULL: none), in touch_state ("scheduled" or
     * "skipped") with touch_reason; not_after: its window closes then */
    const struct store_touch_in *touch;
    const char *touch_state, *touch_reason;
    int64_t not_after;
    /* a task to create (task_kind NULL: none) */
    const char *task_kind, *task_owner, *task_title, *task_script;
    int task_priority;
    int64_t task_due;
    /* an event on the lead (NULL: none), data as compact JSON */
    const char *event, *event_data;
};
/* Deferred touches whose time has come go back to 'scheduled', earliest
 * first, at most STORE_RELEASE_CHUNK per call (id = how many): a million
 * touches deferred to Monday morning are released in steps that claims can
 * run between, each a small transaction, not one that holds the writer for
 * seconds and keeps the old image of every page it changed in memory. */
#define STORE_RELEASE_CHUNK 2000
int store_touches_release_deferred(struct store *st, store_done_cb cb, void *arg);
/* The earliest due_at of a deferred touch, 0 when none. */
int store_touch_next_deferred(struct store *st, int64_t *at);
/* Scheduled touches whose window closed unsent (not_after <= now); and the
 * next not_after after them (0: none). */
int store_touches_missed(struct store *st, int64_t now, int64_t *ids, size_t cap, size_t *n,
                         int64_t *next_close);
/* A scheduled touch waits for its next window: 'deferred' with reason,
 * until due, closing at not_after; a "touch_deferred" event. */
int store_touch_defer(struct store *st, int64_t touch_id, int64_t due, int64_t not_after,
                      const char *reason, store_done_cb cb, void *arg);
/* The earliest instant after `after` at which the sequencer or the
 * dispatcher has something to do (an enrollment due, a touch due, a window
 * closing); 0 when nothing is planned. For the test clock's stepping. */
int store_next_event_at(struct store *st, int64_t after, int64_t *at);
/* A touch's stored payload (malloc'd, NUL-terminated) and cadence step. */
int store_touch_payload(struct store *st, int64_t touch_id, char **payload, int *step);
/* The completion's id is the touch created, or 0. */
int store_step_write(struct store *st, const struct store_step_write *w, store_done_cb cb,
                     void *arg);

/* ---- enrichment (store_enrich.c, store_lead_enrich.c) ---- */
/* Which leads store_enrich_queue() queues: the ids given; else those in
 * stage (NULL: any) whose field `missing` (a lead column or a free
 * attribute; NULL: any lead) is empty, never suppressed ones, at most limit
 * (<= 0: all), by id. */
struct store_enrich_select {
    const int64_t *ids;
    size_t n_ids;
    const char *stage;
    const char *missing;
    int64_t limit;
};
/* Queues leads for the waterfall (a lead already queued stays queued once);
 * the completion's id is how many were added. */
int store_enrich_queue(struct store *st, const struct store_enrich_select *sel,
                       const struct store_actor *actor, store_done_cb cb, void *arg);
/* Up to cap queued lead ids due at now (not_before <= now), oldest first;
 * *next_at is the earliest not_before of the rest, 0 when none. */
int store_enrich_due(struct store *st, int64_t now, int64_t *ids, size_t cap, size_t *n,
                     int64_t *next_at);
/* How many leads are queued (due or waiting for a retry). */
int store_enrich_queued(struct store *st, int64_t *n);
/* A queued lead's failed attempts so far; -ENOENT when it is not queued. */
int store_enrich_attempts(struct store *st, int64_t lead_id, int *attempts);
/* Ends a lead's turn: retry_at 0 removes it from the queue; otherwise it
 * waits until retry_at, one attempt more, with error kept. */
int store_enrich_finish(struct store *st, int64_t lead_id, int64_t retry_at, const char *error,
                        store_done_cb cb, void *arg);
/* True for the fields that are lead columns (email, names, company, ...,
 * email_status); the rest are free attributes. */
bool store_enrich_field_is_column(const char *field);
/* The cached answer of instance for key, if it has not expired at now: 0
 * with *answer a new reference (NULL when the answer was "nothing found"),
 * -ENOENT on a miss. */
int store_enrich_cache_get(struct store *st, const char *instance, const char *key,
                           int64_t now, json_t **answer);
/* Keeps an answer (NULL: "nothing found") until expires_at; also drops a
 * few expired ones. */
int store_enrich_cache_put(struct store *st, const char *instance, const char *key,
                           const json_t *answer, int64_t expires_at, store_done_cb cb,
                           void *arg);
/* Applies an enricher's answer (a flat object of fields) to a lead: fills
 * empty columns and free attributes, the email only when the lead has none
 * (and no other lead has it, and it is not suppressed), email_status only
 * over "unknown"/"syntax_ok" (or with the email it came with); records
 * attrs._provenance {by, plugin, instance, source, at} per field and one
 * "enriched" event (actor: the rule named instance). Keys starting with "_"
 * are ignored. The completion's id is how many fields were set; -ENOENT
 * for an unknown lead. */
int store_lead_enrich(struct store *st, int64_t lead_id, const char *instance,
                      const char *plugin, const char *source, const json_t *found,
                      store_done_cb cb, void *arg);

/* ---- managing leads (store_admin.c) ---- */
/* Lifts a suppression entry (kind "email" or "domain"; value is lower-cased)
 * and the flag of the leads it alone covered, with an "unsuppressed" event.
 * The completion gets -ENOENT when no such entry exists. */
int store_unsuppress(struct store *st, const char *kind, const char *value,
                     const struct store_actor *actor, store_done_cb cb, void *arg);
/* out = lower-case hex SHA-256 of the lower-cased email: the value of the
 * "email_hash" suppression entries that forgotten leads leave behind. */
int store_email_hash(const char *email, char out[65]);
/* GDPR erasure, one transaction: the lead's personal fields (email replaced by
 * a placeholder, names, company, domain, phone, attrs...), its lead_texts,
 * its score breakdown, its touches' recipient/payload/detail and its tasks'
 * scripts are erased;
 * unsent touches are cancelled; a clear-text email suppression is replaced by
 * an "email_hash" entry so the address stays suppressed; a "forgotten" event
 * (no data) is written. -ENOENT via the completion for an unknown lead. */
int store_lead_forget(struct store *st, int64_t lead_id, const struct store_actor *actor,
                      store_done_cb cb, void *arg);
/* Filters of store_leads_list(); NULL fields do not filter; limit <= 0 is 100. */
struct store_leads_filter {
    const char *stage, *owner, *source;
    int limit;
};
/* Leads in id order: id, email, names, company, stage, icp_score, source,
 * suppressed, owners (comma-separated persons); a JSON array. */
int store_leads_list(struct store *st, const struct store_leads_filter *f, json_t **out);
/* Everything held about a lead as one object: lead (store_lead_get),
 * stage_history, events (oldest first), touches (payload_bytes instead of the
 * payload), tasks, texts, icp (score breakdown), enrollments. -ENOENT for an
 * unknown lead. */
int store_lead_export(struct store *st, int64_t lead_id, json_t **out);

/* ---- exits (store_exits.c) ---- */
#define STORE_EXIT_BOUNCED 0x1u        /* leads.bounced = 1 */
#define STORE_EXIT_UNSUBSCRIBED 0x2u   /* leads.unsubscribed = 1 */
#define STORE_EXIT_SUPPRESS 0x4u       /* an "email" suppression entry, reason why */
/* One transaction: every active or paused enrollment of the lead in
 * cadences (a NULL-terminated list of names; NULL = every cadence) becomes
 * 'exited' with reason why ("reply", "bounce", ...), ended_at now and no
 * due_at; its scheduled and deferred touches become 'cancelled' with reason
 * "exit:<why>"; its open tasks 'cancelled'; one "cadence_exited" event
 * {"enrollment_id", "cadence", "reason", "touches_cancelled",
 * "tasks_cancelled"} per enrollment. Then flags: bounced / unsubscribed,
 * and the lead's address suppressed as store_suppress() does (a
 * "suppressed" event only when the entry is new). The completion's id is
 * how many enrollments ended (0 when none: a repeated exit changes
 * nothing); -ENOENT for an unknown lead. */
int store_lead_exit(struct store *st, int64_t lead_id, const char *why,
                    const char *const *cadences, unsigned flags,
                    const struct store_actor *actor, store_done_cb cb, void *arg);
/* A stage transition to run with an exit: stage (required), role (NULL:
 * the stage's name), the owner picked round-robin from candidates (n == 0
 * keeps the owner), reason for the history. All copied. */
struct store_stage_target {
    const char *stage, *role, *reason;
    const char *const *candidates;
    size_t n;
};
/* store_lead_exit() and, in the same transaction and only when an
 * enrollment ended, the move (NULL: none), as store_stage_move() does it. */
int store_lead_exit_move(struct store *st, int64_t lead_id, const char *why,
                         const char *const *cadences, unsigned flags,
                         const struct store_stage_target *move,
                         const struct store_actor *actor, store_done_cb cb, void *arg);
/* The names of the cadences the lead has an active (or paused: it exits
 * too) enrollment in, oldest enrollment first, as a JSON array of strings
 * (possibly empty). */
int store_lead_active_cadences(struct store *st, int64_t lead_id, json_t **out);

/* ---- inbound events (store_inbound.c) ---- */
/* event_id is the recorded event (or, when duplicate, the one the first
 * delivery of that source id recorded). */
typedef void (*store_inbound_cb)(int status, int64_t event_id, bool duplicate, void *arg);
/* Records event type for the lead with data (an object without personal
 * data, or NULL) and, when source_id is not NULL, maps source_id (the
 * sender's event id) to it in inbound_events, in one transaction. A
 * source_id seen before writes nothing and completes with duplicate true. */
int store_inbound_record(struct store *st, const char *source_id, int64_t lead_id,
                         const char *type, const json_t *data, const struct store_actor *actor,
                         store_inbound_cb cb, void *arg);
/* The event recorded for source_id: 0 with *event_id, or -ENOENT. */
int store_inbound_find(struct store *st, const char *source_id, int64_t *event_id);

/* ---- pause, resume, stop (store_pause.c) ---- */
enum store_pause_op { STORE_PAUSE, STORE_RESUME, STORE_STOP };
/* One enrollment, in one transaction with one event on its lead:
 *   STORE_PAUSE   'active' (or 'paused') -> 'paused', reason "manual",
 *                 paused_until = until (0: none); it keeps its step, due_at
 *                 and touches, which are not claimed while it is paused;
 *                 "enrollment_paused" {enrollment_id, cadence, until}
 *   STORE_RESUME  'paused' -> 'active' (what is due runs at once);
 *                 "enrollment_resumed" {enrollment_id, cadence}
 *   STORE_STOP    'active'/'paused' -> 'stopped', reason "manual", ended_at
 *                 now; its scheduled and deferred touches 'cancelled'
 *                 (reason "stopped"), its open tasks 'cancelled';
 *                 "enrollment_stopped" {enrollment_id, cadence, reason,
 *                 touches_cancelled, tasks_cancelled}
 * The completion's id is the enrollment; its status -ENOENT (no such
 * enrollment), -EINVAL (it has ended), -EALREADY (resume: not paused). */
int store_enrollment_pause(struct store *st, int64_t enrollment_id, enum store_pause_op op,
                           int64_t until, const struct store_actor *actor, store_done_cb cb,
                           void *arg);
/* A whole cadence, in one transaction: pause moves every 'active'
 * enrollment of cadence to 'paused' (reason "cadence_paused", paused_until
 * = until or NULL); resume moves those paused that way back to 'active'
 * (enrollments paused one by one stay paused). One "cadence_paused" /
 * "cadence_resumed" event {cadence, enrollments, until} without a lead.
 * The completion's id is how many enrollments changed. */
int store_cadence_pause(struct store *st, const char *cadence, bool pause, int64_t until,
                        const struct store_actor *actor, store_done_cb cb, void *arg);
/* Paused enrollments whose paused_until <= now become 'active' (up to 64
 * per call; one "enrollment_resumed" {enrollment_id, cadence, until_passed}
 * event each, actor system). The completion's id is how many. */
int store_enrollments_resume_due(struct store *st, int64_t now, store_done_cb cb, void *arg);
/* The earliest paused_until of a paused enrollment; 0 when none. */
int store_enrollment_next_resume(struct store *st, int64_t *at);

/* ---- review (store_review.c) ---- */
/* Email touches waiting for a person: state 'deferred', reason
 * "awaiting_review" (the deferred sweep never releases them). */
/* The queue, oldest first, at most limit (<= 0: 100): id, lead_id,
 * enrollment_id, cadence, step (0-based), mailbox, recipient, due_at,
 * created_at and subject (decoded from the stored message; null when it has
 * none). A JSON array. */
int store_review_list(struct store *st, int limit, json_t **out);
/* One touch, whatever its state, with its message: *touch {id, lead_id,
 * enrollment_id, cadence, step, kind, mailbox, recipient, state, reason,
 * due_at, not_after, created_at, subject}; *payload malloc'd and
 * NUL-terminated, *len its size. -ENOENT for an unknown touch. */
int store_review_get(struct store *st, int64_t touch_id, json_t **touch, char **payload,
                     size_t *len);
/* Approves a touch awaiting review: 'scheduled', due at due, closing at
 * not_after (0: no close), its message replaced by payload (len bytes,
 * copied) unless payload is NULL (a new Date for a later send), with a
 * "review_approved" event {due_at} by actor, in one transaction. The completion gets -ENOENT when the touch is not (or
 * no longer) awaiting review. Rejecting is store_touch_finish() with
 * SKIPPED and reason "rejected_in_review". */
int store_review_approve(struct store *st, int64_t touch_id, int64_t due, int64_t not_after,
                         const char *payload, size_t len, const struct store_actor *actor,
                         store_done_cb cb, void *arg);
/* Replaces the message (len bytes, copied) of a touch awaiting review, with a
 * "review_edited" event {bytes}; it still awaits review. -ENOENT as above. */
int store_review_edit(struct store *st, int64_t touch_id, const char *payload, size_t len,
                      const struct store_actor *actor, store_done_cb cb, void *arg);

#endif /* DRUMBEAT_STORE_H */
