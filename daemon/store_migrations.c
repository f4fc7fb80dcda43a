/* SPDX-License-Identifier: MIT */
/* daemon/store_migrations.c: the store's schema, as numbered migrations
 * applied in order when the store opens, in one IMMEDIATE transaction (two
 * processes opening a fresh file cannot both create it). PRAGMA user_version
 * records how far a file has come; a file from a newer drumbeat is refused
 * rather than guessed at. The same transaction creates the store id, the
 * random part of every idempotency key and Message-ID.
 *
 * Migration texts are constant SQL with no outside input, so they run
 * through sqlite3_exec. Personal data lives in leads and lead_texts; events
 * reference a lead and never carry its data (DESIGN.md, "Personal data").
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "store_internal.h"

static const char *const migration_1[] = {
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID",
    "CREATE TABLE leads ("
    " id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE,"
    " first_name TEXT, last_name TEXT, company TEXT, domain TEXT, title TEXT,"
    " phone TEXT, country TEXT, timezone TEXT, linkedin TEXT,"
    " attrs TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(attrs)),"
    " stage TEXT NOT NULL DEFAULT 'intelligence', icp_score REAL,"
    " source TEXT, lawful_basis TEXT,"
    " email_status TEXT NOT NULL DEFAULT 'unknown',"
    " suppressed INTEGER NOT NULL DEFAULT 0, bounced INTEGER NOT NULL DEFAULT 0,"
    " unsubscribed INTEGER NOT NULL DEFAULT 0,"
    " created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL)",
    "CREATE INDEX leads_stage ON leads(stage)",
    "CREATE INDEX leads_domain ON leads(domain)",
    "CREATE TABLE lead_owners ("
    " lead_id INTEGER NOT NULL REFERENCES leads(id) ON DELETE CASCADE,"
    " role TEXT NOT NULL, person TEXT NOT NULL,"
    " PRIMARY KEY (lead_id, role)) WITHOUT ROWID",
    "CREATE INDEX lead_owners_person ON lead_owners(person, role)",
    "CREATE TABLE stage_history ("
    " id INTEGER PRIMARY KEY,"
    " lead_id INTEGER NOT NULL REFERENCES leads(id) ON DELETE CASCADE,"
    " from_stage TEXT, to_stage TEXT NOT NULL, owner TEXT,"
    " actor_kind TEXT NOT NULL, actor TEXT, reason TEXT, at INTEGER NOT NULL)",
    "CREATE INDEX stage_history_lead ON stage_history(lead_id, id)",
    /* No foreign key to leads: the log outlives what it talks about. */
    "CREATE TABLE events ("
    " id INTEGER PRIMARY KEY, at INTEGER NOT NULL, lead_id INTEGER, touch_id INTEGER,"
    " type TEXT NOT NULL, actor_kind TEXT NOT NULL, actor TEXT,"
    " data TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(data)))",
    "CREATE INDEX events_lead ON events(lead_id, id)",
    "CREATE INDEX events_type ON events(type, at)",
    "CREATE TRIGGER events_append_only BEFORE UPDATE ON events"
    " BEGIN SELECT RAISE(ABORT, 'events are append-only'); END",
    "CREATE TABLE role_cursor (role TEXT PRIMARY KEY, next_index INTEGER NOT NULL DEFAULT 0)"
    " WITHOUT ROWID",
    "CREATE TABLE cadences ("
    " id INTEGER PRIMARY KEY, name TEXT NOT NULL, version INTEGER NOT NULL,"
    " definition TEXT NOT NULL CHECK (json_valid(definition)),"
    " created_at INTEGER NOT NULL, UNIQUE (name, version))",
    "CREATE TABLE enrollments ("
    " id INTEGER PRIMARY KEY, lead_id INTEGER NOT NULL REFERENCES leads(id),"
    " cadence_id INTEGER NOT NULL REFERENCES cadences(id),"
    " state TEXT NOT NULL DEFAULT 'active', step INTEGER NOT NULL DEFAULT 0,"
    " mailbox TEXT, started_at INTEGER NOT NULL, ended_at INTEGER, reason TEXT)",
    "CREATE INDEX enrollments_lead ON enrollments(lead_id)",
    "CREATE INDEX enrollments_state ON enrollments(state, cadence_id)",
    "CREATE TABLE touches ("
    " id INTEGER PRIMARY KEY, lead_id INTEGER NOT NULL REFERENCES leads(id),"
    " enrollment_id INTEGER REFERENCES enrollments(id), step INTEGER NOT NULL DEFAULT 0,"
    " kind TEXT NOT NULL, channel TEXT, mailbox TEXT, recipient TEXT,"
    " content_type TEXT, payload BLOB,"
    " state TEXT NOT NULL DEFAULT 'scheduled', reason TEXT,"
    " due_at INTEGER NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,"
    " idempotency_key TEXT UNIQUE, code INTEGER, enhanced TEXT, detail TEXT,"
    " created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, sent_at INTEGER)",
    "CREATE INDEX touches_state_due ON touches(state, due_at)",
    "CREATE INDEX touches_channel_state_due ON touches(channel, state, due_at)",
    "CREATE INDEX touches_lead ON touches(lead_id)",
    /* Touches by state, kept by triggers so that status and /metrics read
     * eight rows instead of scanning every touch ever made. */
    "CREATE TABLE touch_counts (state TEXT PRIMARY KEY, n INTEGER NOT NULL DEFAULT 0)"
    " WITHOUT ROWID",
    "INSERT INTO touch_counts (state) VALUES ('scheduled'), ('deferred'), ('sending'),"
    " ('sent'), ('skipped'), ('failed'), ('in_doubt'), ('cancelled')",
    "CREATE TRIGGER touches_count_insert AFTER INSERT ON touches BEGIN"
    " UPDATE touch_counts SET n = n + 1 WHERE state = NEW.state; END",
    "CREATE TRIGGER touches_count_update AFTER UPDATE OF state ON touches"
    " WHEN OLD.state IS NOT NEW.state BEGIN"
    " UPDATE touch_counts SET n = n - 1 WHERE state = OLD.state;"
    " UPDATE touch_counts SET n = n + 1 WHERE state = NEW.state; END",
    "CREATE TRIGGER touches_count_delete AFTER DELETE ON touches BEGIN"
    " UPDATE touch_counts SET n = n - 1 WHERE state = OLD.state; END",
    "CREATE TABLE tasks ("
    " id INTEGER PRIMARY KEY, lead_id INTEGER REFERENCES leads(id),"
    " touch_id INTEGER REFERENCES touches(id), kind TEXT NOT NULL, owner TEXT,"
    " priority INTEGER NOT NULL DEFAULT 0, due_at INTEGER NOT NULL,"
    " state TEXT NOT NULL DEFAULT 'open', outcome TEXT, script TEXT,"
    " created_at INTEGER NOT NULL, done_at INTEGER)",
    "CREATE INDEX tasks_open ON tasks(state, owner, due_at)",
    "CREATE TABLE lead_texts ("
    " id INTEGER PRIMARY KEY,"
    " lead_id INTEGER NOT NULL REFERENCES leads(id) ON DELETE CASCADE,"
    " kind TEXT NOT NULL, body TEXT NOT NULL, at INTEGER NOT NULL)",
    "CREATE INDEX lead_texts_lead ON lead_texts(lead_id, at)",
    "CREATE TABLE suppression ("
    " id INTEGER PRIMARY KEY, kind TEXT NOT NULL, value TEXT NOT NULL,"
    " reason TEXT, at INTEGER NOT NULL, UNIQUE (kind, value))",
    "CREATE TABLE mailbox_counters ("
    " mailbox TEXT NOT NULL, day INTEGER NOT NULL, count INTEGER NOT NULL DEFAULT 0,"
    " PRIMARY KEY (mailbox, day)) WITHOUT ROWID",
    "CREATE TABLE plugin_kv ("
    " instance TEXT NOT NULL, key TEXT NOT NULL, value BLOB NOT NULL,"
    " PRIMARY KEY (instance, key)) WITHOUT ROWID",
    NULL,
};

/* 2: the ideal customer profile's breakdown per lead (icp.h); the score
 * itself stays in leads.icp_score, where lists sort by it. */
static const char *const migration_2[] = {
    "CREATE TABLE lead_icp ("
    " lead_id INTEGER PRIMARY KEY REFERENCES leads(id) ON DELETE CASCADE,"
    " score REAL NOT NULL, qualified INTEGER NOT NULL,"
    " breakdown TEXT NOT NULL CHECK (json_valid(breakdown)), at INTEGER NOT NULL)",
    NULL,
};

/* 3: enrichment. A lead may have no email yet (a name and a company domain
 * from a list, for enrich_guess to propose addresses): leads.email loses NOT
 * NULL (lead_email_nullable below) and keeps UNIQUE, under which NULLs never
 * collide. enrich_queue holds the leads waiting for the waterfall, durably,
 * so a restart resumes it; enrich_cache keeps each enricher's answers by its
 * cache key until they expire. */
static const char *const migration_3[] = {
    "CREATE TABLE enrich_queue ("
    " lead_id INTEGER PRIMARY KEY REFERENCES leads(id) ON DELETE CASCADE,"
    " queued_at INTEGER NOT NULL, not_before INTEGER NOT NULL,"
    " attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT)",
    "CREATE INDEX enrich_queue_due ON enrich_queue(not_before)",
    "CREATE TABLE enrich_cache ("
    " instance TEXT NOT NULL, key TEXT NOT NULL,"
    " answer TEXT CHECK (answer IS NULL OR json_valid(answer)),"
    " expires_at INTEGER NOT NULL, PRIMARY KEY (instance, key)) WITHOUT ROWID",
    "CREATE INDEX leads_name_domain ON leads(domain, lower(last_name), lower(first_name))"
    " WHERE email IS NULL",
    NULL,
};

/* 4: cadences at run time (sequencer.h). An enrollment is pinned to the
 * cadence version it started on (cadence_id is a version row); due_at is
 * when the sequencer runs its current step (NULL while it waits for a
 * touch's or a task's outcome); step_started_at is when that step began, so
 * waits count from the previous step's real completion; last_outcome feeds
 * branches on call outcomes; last_email_touch threads replies. A touch may
 * not be claimed after not_after (its send window closes then). Tasks (call
 * lists) belong to an enrollment's step. inbound_events makes POST
 * /api/events idempotent by the sender's event id. */
static const char *const migration_4[] = {
    "ALTER TABLE enrollments ADD COLUMN cadence TEXT",
    "ALTER TABLE enrollments ADD COLUMN due_at INTEGER",
    "ALTER TABLE enrollments ADD COLUMN step_started_at INTEGER",
    "ALTER TABLE enrollments ADD COLUMN last_outcome TEXT",
    "ALTER TABLE enrollments ADD COLUMN last_email_touch INTEGER",
    "ALTER TABLE enrollments ADD COLUMN paused_until INTEGER",
    "CREATE INDEX enrollments_due ON enrollments(due_at) WHERE state = 'active'"
    " AND due_at IS NOT NULL",
    "CREATE INDEX enrollments_cadence ON enrollments(cadence, state)",
    "ALTER TABLE touches ADD COLUMN not_after INTEGER",
    "ALTER TABLE tasks ADD COLUMN enrollment_id INTEGER REFERENCES enrollments(id)",
    "ALTER TABLE tasks ADD COLUMN step INTEGER",
    "ALTER TABLE tasks ADD COLUMN title TEXT",
    "CREATE INDEX tasks_enrollment ON tasks(enrollment_id, step)",
    "CREATE TABLE inbound_events ("
    " source_id TEXT PRIMARY KEY, event_id INTEGER, at INTEGER NOT NULL) WITHOUT ROWID",
    NULL,
};

/* Replaces `before` with `after` in the leads table's CREATE text: for
 * removing a constraint, which does not change how rows are stored. SQLite
 * has no ALTER COLUMN, and rebuilding the table would cascade-delete every
 * row that references a lead (foreign keys are on, and cannot be turned off
 * inside the migration's transaction), so SQLite documents editing the
 * schema text for it ("Making Other Kinds Of Table Schema Changes", ALTER
 * TABLE docs): writable_schema, the new text, a schema_version bump, then an
 * integrity check. -EPROTO when the text is not there (the leads table is
 * not the one the migrations made). */
static int leads_schema_edit(struct store_conn *c, const char *before, const char *after)
{
    sqlite3_stmt *s;
    int version = 0, rc, changed = 0;

    if (sqlite3_db_config(c->db, SQLITE_DBCONFIG_DEFENSIVE, 0, NULL) != SQLITE_OK)
        return -EPERM;
    rc = store_stmt(c, "PRAGMA schema_version", &s);
    if (rc < 0)
        return rc;
    if (sqlite3_step(s) == SQLITE_ROW)
        version = sqlite3_column_int(s, 0);
    sqlite3_reset(s);
    if ((rc = store_exec(c, "PRAGMA writable_schema = ON")) < 0)
        return rc;
    rc = store_stmt(c, "UPDATE sqlite_schema SET sql = replace(sql, ?1, ?2)"
                    " WHERE type = 'table' AND name = 'leads' AND instr(sql, ?1) > 0", &s);
    if (rc == 0) {
        sqlite3_bind_text(s, 1, before, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 2, after, -1, SQLITE_STATIC);
        rc = store_stmt_done(c, s);
        changed = sqlite3_changes(c->db);
    }
    if (rc == 0 && changed == 1) {
        char pragma[64];
        snprintf(pragma, sizeof(pragma), "PRAGMA schema_version = %d", version + 1);
        rc = store_exec(c, pragma);
    } else if (rc == 0) {
        rc = -EPROTO;
    }
    int off = store_exec(c, "PRAGMA writable_schema = OFF");
    if (rc == 0)
        rc = off;
    if (rc == 0 && (rc = store_stmt(c, "PRAGMA quick_check", &s)) == 0) {
        if (sqlite3_step(s) != SQLITE_ROW ||
            strcmp((const char *)sqlite3_column_text(s, 0), "ok") != 0)
            rc = -EIO;
        sqlite3_reset(s);
    }
    return rc;
}

/* 3: leads.email loses NOT NULL. */
static int lead_email_nullable(struct store_conn *c)
{
    return leads_schema_edit(c, "email TEXT NOT NULL UNIQUE", "email TEXT UNIQUE");
}

/* 13: leads.attrs loses CHECK (json_valid(attrs)), which parsed every
 * lead's attributes again on each insert and update: a seventh of the
 * writer's instructions in an import (callgrind, 100,000 rows). Every write
 * of attrs is json_dumps() output (store_leads.c, store_lead_batch.c via
 * import_row.c, store_lead_enrich.c) or '{}' (forget), so the check never
 * found anything; readers parse it with jansson. events.data keeps its
 * check: events are few per lead now (migration 13's runs). */
static int lead_attrs_unchecked(struct store_conn *c)
{
    return leads_schema_edit(c, " CHECK (json_valid(attrs))", "");
}

/* migrations[v] brings a store from version v-1 to v; code[v], when set,
 * runs after migrations[v]'s statements, in the same transaction. */
/* 5: mailbox caps count a mailbox's sends in a rolling window
 * (store_mailbox_sends), which this index answers without a scan. */
static const char *const migration_5[] = {
    "CREATE INDEX touches_mailbox_sent ON touches(mailbox, sent_at) WHERE sent_at IS NOT NULL",
    NULL,
};

/* 6: pauses that outlive a restart. A paused mailbox (by a person, or by
 * the dispatcher when its server refused the mailbox itself) keeps its
 * leads and its touches wait as deferred(mailbox_paused) until it resumes
 * (store_mailboxes.c). A paused cadence refuses new enrollments until it
 * resumes (store_pause.c). */
static const char *const migration_6[] = {
    "CREATE TABLE mailbox_pauses ("
    " mailbox TEXT PRIMARY KEY, reason TEXT NOT NULL, detail TEXT,"
    " actor_kind TEXT NOT NULL, actor TEXT, at INTEGER NOT NULL) WITHOUT ROWID",
    "CREATE TABLE cadence_pauses ("
    " cadence TEXT PRIMARY KEY, until INTEGER, at INTEGER NOT NULL) WITHOUT ROWID",
    /* The per-cadence throttle counts first touches sent in a rolling 24
     * hours (store_cadence_starts) without a scan. */
    "CREATE INDEX touches_first_sent ON touches(sent_at) WHERE step = 0 AND sent_at IS NOT NULL",
    /* The sequencer's sweep for scheduled touches whose window closed
     * (store_touches_missed) and the next close (store_next_event_at) read
     * the earliest not_after directly instead of sorting every scheduled
     * touch on each pass. */
    "CREATE INDEX touches_scheduled_not_after ON touches(not_after)"
    " WHERE state = 'scheduled' AND not_after IS NOT NULL",
    /* The claim of one mailbox's batch (store_claim.c), in its order:
     * follow-ups first (step = 0 is false), then oldest due. The index
     * walk stops after LIMIT rows instead of sorting every due touch of
     * the channel. */
    "CREATE INDEX touches_claim ON touches(channel, mailbox, (step = 0), due_at)"
    " WHERE state = 'scheduled'",
    NULL,
};

/* 7: the hot touches table without the message bytes. A touch row is
 * rewritten at every state change (claimed, sent, ...); with the composed
 * message (2-3 kB) inline, each rewrite copied a whole page and the table
 * outgrew any cache. The bytes are written once to touch_payloads and read
 * where they are needed (the claim, review, preview). The claim's "next
 * due" look gets a partial index over scheduled touches only, so a touch
 * leaves it once instead of moving inside (channel, state, due_at) at every
 * state change. */
static const char *const migration_7[] = {
    "CREATE TABLE touch_payloads (touch_id INTEGER PRIMARY KEY, payload BLOB NOT NULL)",
    "INSERT INTO touch_payloads (touch_id, payload)"
    " SELECT id, payload FROM touches WHERE payload IS NOT NULL",
    "ALTER TABLE touches DROP COLUMN payload",
    "CREATE TRIGGER touches_payload_delete AFTER DELETE ON touches BEGIN"
    " DELETE FROM touch_payloads WHERE touch_id = OLD.id; END",
    "DROP INDEX touches_channel_state_due",
    "CREATE INDEX touches_due ON touches(channel, due_at) WHERE state = 'scheduled'",
    /* An import asks, per new lead, whether someone of the same name is at
     * the same domain (a probable duplicate): with the names in the domain
     * index that is one index probe, not a read of every lead row there. */
    "DROP INDEX leads_domain",
    "CREATE INDEX leads_domain ON leads(domain, first_name COLLATE NOCASE,"
    " last_name COLLATE NOCASE)",
    NULL,
};

/* 8: touches_state_due (state, due_at) held every touch ever made, and each
 * state change moved its entry (scheduled -> sending -> sent: two deletes
 * and two inserts in the table's largest index). The states that queries
 * look up by are short-lived or small, so each gets a partial index that a
 * touch enters and leaves once: deferred touches by due time (the releases,
 * the review queue, a paused mailbox's waiting touches) and touches being
 * sent (crash recovery, the throttle's count of first touches in flight).
 * The scheduled ones are already in touches_due and touches_claim. Queries
 * by enrollment (exits, stops, cadence migrations) go through touches_lead,
 * with the enrollment's lead: each read the whole table before. */
static const char *const migration_8[] = {
    "DROP INDEX touches_state_due",
    "CREATE INDEX touches_deferred ON touches(due_at) WHERE state = 'deferred'",
    "CREATE INDEX touches_sending ON touches(step) WHERE state = 'sending'",
    NULL,
};

/* 9: a mailbox's sends per minute. The caps' rolling windows counted
 * every send in them through touches_mailbox_sent at each claim, so a
 * claim cost grew with the volume sent in the last 24 hours (30,000 sends
 * in bench/bench_smtp.sh: 14% of the daemon's CPU, the loop's largest
 * part). store_mailbox_sends now sums at most one row per minute and
 * counts only the window's first, partial minute from touches. sent_at is
 * assigned once, at the outcome "sent" (store_touches.c), and touches are
 * never deleted; the triggers still keep the sums right for any change of
 * sent_at or mailbox. A new minute drops that mailbox's minutes older than
 * 25 hours (mailbox_send_minutes_insert: once a minute, not per send).
 *
 * The counters the triggers keep (touch_counts, recreated here, and
 * mailbox_send_minutes) have no NOT NULL on n: a trigger statement that
 * may abort makes SQLite keep a statement journal (a copy of every page
 * the statement changes) for each write to touches, so it can undo that
 * statement alone. The writes to touches say OR FAIL for the same reason:
 * the writer undoes a failed request whole (its savepoint), so FAIL loses
 * nothing. A sent outcome's UPDATE went from 25 to 11 us (single-row
 * statements in a loop). */
static const char *const migration_9[] = {
    "DROP TRIGGER touches_count_insert",
    "DROP TRIGGER touches_count_update",
    "DROP TRIGGER touches_count_delete",
    "CREATE TABLE touch_counts_9 (state TEXT PRIMARY KEY, n INTEGER DEFAULT 0) WITHOUT ROWID",
    "INSERT INTO touch_counts_9 (state, n) SELECT state, n FROM touch_counts",
    "DROP TABLE touch_counts",
    "ALTER TABLE touch_counts_9 RENAME TO touch_counts",
    "CREATE TRIGGER touches_count_insert AFTER INSERT ON touches BEGIN"
    " UPDATE touch_counts SET n = n + 1 WHERE state = NEW.state; END",
    "CREATE TRIGGER touches_count_update AFTER UPDATE OF state ON touches"
    " WHEN OLD.state IS NOT NEW.state BEGIN"
    " UPDATE touch_counts SET n = n - 1 WHERE state = OLD.state;"
    " UPDATE touch_counts SET n = n + 1 WHERE state = NEW.state; END",
    "CREATE TRIGGER touches_count_delete AFTER DELETE ON touches BEGIN"
    " UPDATE touch_counts SET n = n - 1 WHERE state = OLD.state; END",
    "CREATE TABLE mailbox_send_minutes (mailbox TEXT NOT NULL, minute INTEGER NOT NULL,"
    " n INTEGER, PRIMARY KEY (mailbox, minute)) WITHOUT ROWID",
    "INSERT INTO mailbox_send_minutes (mailbox, minute, n)"
    " SELECT mailbox, sent_at / 60000, count(*) FROM touches"
    " WHERE mailbox IS NOT NULL AND sent_at IS NOT NULL GROUP BY 1, 2",
    "CREATE TRIGGER mailbox_send_minutes_insert AFTER INSERT ON mailbox_send_minutes BEGIN"
    " DELETE FROM mailbox_send_minutes WHERE mailbox = NEW.mailbox"
    " AND minute < NEW.minute - " STORE_SEND_MINUTES_KEPT "; END",
    "CREATE TRIGGER touches_sent_insert AFTER INSERT ON touches"
    " WHEN NEW.sent_at IS NOT NULL AND NEW.mailbox IS NOT NULL BEGIN"
    " INSERT INTO mailbox_send_minutes (mailbox, minute, n)"
    " VALUES (NEW.mailbox, NEW.sent_at / 60000, 1)"
    " ON CONFLICT (mailbox, minute) DO UPDATE SET n = n + 1; END",
    /* A send, the one change on the hot path, has a trigger of its own
     * whose WHEN filters and whose upsert is a plain VALUES (a third of
     * the cost of one trigger for every change). */
    "CREATE TRIGGER touches_sent_first AFTER UPDATE OF sent_at ON touches"
    " WHEN OLD.sent_at IS NULL AND NEW.sent_at IS NOT NULL AND NEW.mailbox IS NOT NULL BEGIN"
    " INSERT INTO mailbox_send_minutes (mailbox, minute, n)"
    " VALUES (NEW.mailbox, NEW.sent_at / 60000, 1)"
    " ON CONFLICT (mailbox, minute) DO UPDATE SET n = n + 1; END",
    /* Every other change of a sent touch (another sent_at, another
     * mailbox, or one given to a touch sent without): one trigger, so the
     * hot UPDATE evaluates one WHEN more, not two. A NULL OLD.mailbox
     * matches no row to take one from. */
    "CREATE TRIGGER touches_sent_changed AFTER UPDATE OF sent_at, mailbox ON touches"
    " WHEN OLD.sent_at IS NOT NULL"
    " AND (NEW.sent_at IS NOT OLD.sent_at OR NEW.mailbox IS NOT OLD.mailbox) BEGIN"
    " UPDATE mailbox_send_minutes SET n = n - 1"
    " WHERE mailbox = OLD.mailbox AND minute = OLD.sent_at / 60000;"
    " INSERT INTO mailbox_send_minutes (mailbox, minute, n)"
    " SELECT NEW.mailbox, NEW.sent_at / 60000, 1"
    " WHERE NEW.sent_at IS NOT NULL AND NEW.mailbox IS NOT NULL"
    " ON CONFLICT (mailbox, minute) DO UPDATE SET n = n + 1; END",
    "CREATE TRIGGER touches_sent_delete AFTER DELETE ON touches"
    " WHEN OLD.sent_at IS NOT NULL AND OLD.mailbox IS NOT NULL BEGIN"
    " UPDATE mailbox_send_minutes SET n = n - 1"
    " WHERE mailbox = OLD.mailbox AND minute = OLD.sent_at / 60000; END",
    NULL,
};

/* 10: touch_counts is kept by the writer connection (store_counts.h), not
 * by triggers: they ran two UPDATEs for every state move of a touch, three
 * moves per touch sent, about a seventh of the writer's CPU per touch at a
 * million enrollments (bench_cadence). The counts themselves carry over. */
static const char *const migration_10[] = {
    "DROP TRIGGER touches_count_insert",
    "DROP TRIGGER touches_count_update",
    "DROP TRIGGER touches_count_delete",
    NULL,
};

/* 11: mailbox_send_minutes is kept by the writer connection too
 * (store_counts.h): each sent touch ran an upsert in a trigger program. */
static const char *const migration_11[] = {
    "DROP TRIGGER touches_sent_insert",
    "DROP TRIGGER touches_sent_first",
    "DROP TRIGGER touches_sent_changed",
    "DROP TRIGGER touches_sent_delete",
    NULL,
};

/* 12: two indexes nothing needed, each entered by every lead an import
 * creates (a tenth of the writer's time each at a million rows):
 * - events_type (type, at): no query reads events by type (a lead's log
 *   goes through events_lead). The reports that will count events by type
 *   and time should index just the types they count, so a million
 *   lead_created events do not pay for it.
 * - leads_stage (stage): a handful of values over every lead. Its one reader
 *   pages through the leads of one stage in id order (store_leads_in_stage,
 *   the ICP pass over "intelligence", where nearly every new lead is); the
 *   table's own id order serves that as well, in one pass. */
static const char *const migration_12[] = {
    "DROP INDEX events_type",
    "DROP INDEX leads_stage",
    NULL,
};

/* 13: one lead_created event for a run of leads an import created, where
 * it wrote one per lead: the same time, actor and data for every lead of
 * the run, which took consecutive ids. The event's lead_id is the run's
 * first lead and lead_last its last (NULL on every other event, which is
 * about lead_id alone). A lead's log (store_events.c, the export) reads
 * its own events through events_lead and the one run that can hold it
 * through events_lead_runs: the last run starting at or before it. Readers
 * that count events (the reports) count a run as lead_last - lead_id + 1
 * creations. Per lead, that was an events row and an events_lead entry: a
 * fifth of SQLite's work in a large import. Notification subscribers still
 * get one event per lead (they are written one by one, store_lead_batch.c).
 * Also, leads.attrs loses its json_valid CHECK (lead_attrs_unchecked). */
static const char *const migration_13[] = {
    "ALTER TABLE events ADD COLUMN lead_last INTEGER",
    "CREATE INDEX events_lead_runs ON events(lead_id) WHERE lead_last IS NOT NULL",
    NULL,
};

static const char *const *const migrations[] = { NULL, migration_1, migration_2, migration_3,
                                                 migration_4, migration_5, migration_6,
                                                 migration_7, migration_8, migration_9,
                                                 migration_10, migration_11, migration_12,
                                                 migration_13 };
static int (*const migration_code[])(struct store_conn *c) = {
    [3] = lead_email_nullable, [13] = lead_attrs_unchecked,
};

_Static_assert(sizeof(migrations) / sizeof(migrations[0]) == STORE_SCHEMA_VERSION + 1,
               "one migration per schema version");

static int read_user_version(struct store_conn *c, int *out)
{
    int64_t v = 0;
    int rc = store_query_int(c, "PRAGMA user_version", &v);
    if (rc == 0)
        *out = (int)v;
    return rc;
}

/* Creates the store id once; later opens keep the first one. */
static int ensure_store_id(struct store_conn *c, char *id, size_t idlen)
{
    unsigned char raw[16];
    char hex[33];
    sqlite3_stmt *s;
    int rc;

    if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
        return -errno;
    for (size_t i = 0; i < sizeof(raw); i++)
        snprintf(hex + 2 * i, 3, "%02x", raw[i]);
    rc = store_stmt(c, "INSERT OR IGNORE INTO meta (key, value) VALUES ('store_id', ?1)", &s);
    if (rc < 0)
        return rc;
    store_bind_text(s, 1, hex);
    rc = store_stmt_done(c, s);
    if (rc < 0)
        return rc;
    rc = store_stmt(c, "SELECT value FROM meta WHERE key = 'store_id'", &s);
    if (rc < 0)
        return rc;
    if (sqlite3_step(s) == SQLITE_ROW)
        snprintf(id, idlen, "%s", (const char *)sqlite3_column_text(s, 0));
    else
        rc = -EIO;
    sqlite3_reset(s);
    return rc;
}

/* Applies pending migrations on c (the write connection, before the writer
 * thread starts). Sets *version and fills store_id. */
static int migrate_to(struct store_conn *c, const char *path, int target, int *version,
                      char *store_id, size_t idlen, struct errbuf *err)
{
    int v = 0;
    int rc = store_exec(c, "BEGIN IMMEDIATE");
    if (rc < 0)
        return errbuf_set(err, rc, "store %s: cannot start the migration: %s", path,
                          sqlite3_errmsg(c->db));
    rc = read_user_version(c, &v);
    if (rc < 0) {
        errbuf_set(err, rc, "store %s: cannot read the schema version: %s", path,
                   sqlite3_errmsg(c->db));
        goto fail;
    }
    if (v > STORE_SCHEMA_VERSION) {
        rc = errbuf_set(err, -ESTALE, "store %s has schema version %d; this drumbeatd "
                        "understands up to %d: upgrade drumbeat", path, v,
                        STORE_SCHEMA_VERSION);
        goto fail;
    }
    for (int m = v + 1; m <= target; m++) {
        for (const char *const *sql = migrations[m]; *sql != NULL; sql++) {
            rc = store_exec(c, *sql);
            if (rc < 0) {
                errbuf_set(err, rc, "store %s: migration %d failed: %s", path, m,
                           sqlite3_errmsg(c->db));
                goto fail;
            }
        }
        if (m < (int)(sizeof(migration_code) / sizeof(migration_code[0])) &&
            migration_code[m] != NULL && (rc = migration_code[m](c)) < 0) {
            errbuf_set(err, rc, "store %s: migration %d failed: %s", path, m,
                       rc == -EPROTO ? "the leads table has an unexpected shape"
                                     : sqlite3_errmsg(c->db));
            goto fail;
        }
    }
    if (v < target) {
        char pragma[64];
        snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %d", target);
        rc = store_exec(c, pragma);
        if (rc < 0) {
            errbuf_set(err, rc, "store %s: cannot record the schema version: %s", path,
                       sqlite3_errmsg(c->db));
            goto fail;
        }
    }
    rc = ensure_store_id(c, store_id, idlen);
    if (rc < 0) {
        errbuf_set(err, rc, "store %s: cannot create the store id: %s", path,
                   error_text(rc));
        goto fail;
    }
    rc = store_exec(c, "COMMIT");
    if (rc < 0) {
        errbuf_set(err, rc, "store %s: cannot commit the migration: %s", path,
                   sqlite3_errmsg(c->db));
        goto fail;
    }
    *version = v > target ? v : target;
    return 0;

fail:
    if (!sqlite3_get_autocommit(c->db))
        store_exec(c, "ROLLBACK");
    return rc;
}

int store_migrate(struct store_conn *c, const char *path, int *version, char *store_id,
                  size_t idlen, struct errbuf *err)
{
    return migrate_to(c, path, STORE_SCHEMA_VERSION, version, store_id, idlen, err);
}

int store_create_at_version(const char *path, int version, struct errbuf *err)
{
    struct store_conn c = { 0 };
    char id[40];
    int got = 0;
    if (version < 1 || version > STORE_SCHEMA_VERSION)
        return errbuf_set(err, -EINVAL, "no schema version %d", version);
    int rc = store_conn_open(&c, path, false, err);
    if (rc == 0)
        rc = migrate_to(&c, path, version, &got, id, sizeof(id), err);
    store_conn_close(&c);
    return rc;
}
