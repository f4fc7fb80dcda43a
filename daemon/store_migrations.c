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

/* migrations[v] brings a store from version v-1 to v. */
static const char *const *const migrations[] = { NULL, migration_1, migration_2 };

_Static_assert(sizeof(migrations) / sizeof(migrations[0]) == STORE_SCHEMA_VERSION + 1,
               "one migration per schema version");

static int read_user_version(struct store_conn *c, int *out)
{
    sqlite3_stmt *s;
    int rc = store_stmt(c, "PRAGMA user_version", &s);
    if (rc < 0)
        return rc;
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        *out = sqlite3_column_int(s, 0);
    rc = rc == SQLITE_ROW ? 0 : store_sqlite_errno(sqlite3_extended_errcode(c->db));
    sqlite3_reset(s);
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
int store_migrate(struct store_conn *c, const char *path, int *version, char *store_id,
                  size_t idlen, struct errbuf *err)
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
    for (int m = v + 1; m <= STORE_SCHEMA_VERSION; m++) {
        for (const char *const *sql = migrations[m]; *sql != NULL; sql++) {
            rc = store_exec(c, *sql);
            if (rc < 0) {
                errbuf_set(err, rc, "store %s: migration %d failed: %s", path, m,
                           sqlite3_errmsg(c->db));
                goto fail;
            }
        }
    }
    if (v < STORE_SCHEMA_VERSION) {
        char pragma[64];
        snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %d", STORE_SCHEMA_VERSION);
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
    *version = STORE_SCHEMA_VERSION;
    return 0;

fail:
    if (!sqlite3_get_autocommit(c->db))
        store_exec(c, "ROLLBACK");
    return rc;
}
