/* SPDX-License-Identifier: MIT */
/* daemon/cli/shadow.h: shadow runs for the CLI. A shadow run is a private
 * drumbeatd on a test clock in a temporary folder: the user's config
 * (cadences, mailboxes, caps, windows, holidays, templates) with every
 * channel instance replaced by channel_maildir writing into that folder (so
 * nothing is ever sent), no enrichers and no notifications, its API on
 * loopback on a free port, and a fresh store or a copy of the live one.
 * `drumbeat simulate` and `drumbeat outbox` drive it through its API and read
 * its store; at the end the folder is deleted.
 *
 * Ownership: struct shadow is the caller's from shadow_start() until
 * shadow_free(), which stops the daemon (if still running) and deletes the
 * folder. Strings returned by the accessors live as long as the shadow.
 * Threads: the CLI is single-threaded; not thread-safe.
 */
#ifndef DRUMBEAT_CLI_SHADOW_H
#define DRUMBEAT_CLI_SHADOW_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>
#include <sqlite3.h>

#include "cli.h"

struct config;
struct shadow;

struct shadow_options {
    const char *config_path;   /* the user's config; NULL = config/drumbeat.json */
    bool copy_store;           /* start from a copy of the live store (else empty) */
    int64_t start_ms;          /* where the shadow's test clock starts (UTC ms) */
};

/* Loads and validates the user's config, writes the shadow config, copies
 * the store when asked (VACUUM INTO: a consistent snapshot, safe while the
 * live daemon runs), starts drumbeatd and waits until its API answers.
 * Returns 0, or a negative errno after printing what went wrong. */
int shadow_start(const struct shadow_options *opts, struct shadow **out);
/* Stops the daemon (SIGTERM, then SIGKILL after 15 s), deletes the folder
 * unless $DRUMBEAT_SHADOW_KEEP is set (then its path is printed), frees. */
void shadow_free(struct shadow *s);

/* How to reach the shadow's API with cli_api_request(). */
const struct cli_common *shadow_api(const struct shadow *s);
/* The user's config, loaded and validated (for mailboxes and their caps). */
const struct config *shadow_user_config(const struct shadow *s);
/* Opens the shadow's store read-only (WAL: fine while the daemon writes). */
int shadow_store_open(const struct shadow *s, sqlite3 **db);

/* Moves the shadow's clock forward by a duration ("1d", "250"), in order
 * (POST /api/clock). Returns 0, or a negative errno after printing why. */
int shadow_advance(struct shadow *s, const char *by);
/* Runs a CLI subcommand in a child process against the shadow, with --url,
 * --token-file and --json appended, and hands back the JSON it printed
 * (NULL when none). Returns the subcommand's exit status (enum cli_exit). */
int shadow_run_cli(struct shadow *s, int (*cmd)(int argc, char **argv), int argc,
                   char **argv, json_t **out);

/* shadow_config.c: the shadow config for user config cfg, whose raw JSON is
 * root, into dir (tokens, maildir, store path); *token_file is set to the
 * shadow admin's token file (malloc'd). Returns 0 or a negative errno. */
int shadow_config_write(const struct config *cfg, const json_t *root, const char *dir,
                        char **token_file);

#endif /* DRUMBEAT_CLI_SHADOW_H */
