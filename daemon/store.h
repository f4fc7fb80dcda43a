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
#define STORE_SCHEMA_VERSION 2

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
    int64_t commits;             /* group commits (fsyncs) since open */
    int64_t write_queue;         /* transactions waiting for the writer now */
};
int store_status(struct store *st, struct store_status *out);

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
/* Upserts n rows (as store_lead_upsert: email is the key, only empty fields
 * are filled unless rows[i].overwrite) in ONE writer transaction, checking
 * each against the suppression list and for a probable duplicate, with one
 * "lead_created" or "lead_merged" event per lead that changed. A failing
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
 * or of all; a JSON array. */
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
 * ("" when it has none), so that a batch can be claimed for one mailbox. */
int store_touch_next_due_mailbox(struct store *st, const char *channel, int64_t *due_at,
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

/* ---- per plugin instance key/value state ---- */
/* value is copied; NULL value deletes. */
int store_kv_set(struct store *st, const char *instance, const char *key,
                 const char *value, size_t len, store_done_cb cb, void *arg);
/* *value is malloc'd and NUL-terminated (len excludes the NUL); -ENOENT if absent. */
int store_kv_get(struct store *st, const char *instance, const char *key,
                 char **value, size_t *len);

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

#endif /* DRUMBEAT_STORE_H */
