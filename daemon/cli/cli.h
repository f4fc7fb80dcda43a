/* SPDX-License-Identifier: MIT */
/* daemon/cli/cli.h: the drumbeat command's subcommands and the API client
 * they share. Offline commands (check-config) read files; the others are
 * HTTP clients of a running drumbeatd's API listener.
 *
 * Ownership: argv is borrowed. cli_api_request() hands the caller a new
 * json_t reference in *body (NULL when the reply was not JSON).
 */
#ifndef DRUMBEAT_CLI_H
#define DRUMBEAT_CLI_H

#include <stdio.h>

#include <stdbool.h>

#include <jansson.h>

/* Exit codes shared by every subcommand. */
enum cli_exit {
    CLI_OK = 0,
    CLI_FAIL = 1,        /* the operation failed (daemon unreachable, 4xx/5xx) */
    CLI_INVALID = 2,     /* invalid input or config (check-config's "not valid") */
    CLI_USAGE = 64,      /* bad command line */
};

/* Common options every API subcommand accepts, parsed by cli_common_opt(). */
struct cli_common {
    const char *config_path;   /* -c FILE: where to find api.address/port */
    const char *url;           /* --url http://127.0.0.1:7780 (overrides config) */
    const char *token_file;    /* --token-file F (else $DRUMBEAT_TOKEN_FILE, $DRUMBEAT_TOKEN) */
    int json;                  /* --json: print the raw JSON reply */
};

/* Parses one common option at argv[*i]: -c/--config FILE, --url URL,
 * --token-file F (each also as --opt=VALUE) and --json. Returns 1 when it
 * was ours (*i then indexes the last argument consumed, so the caller's
 * loop continues with i++), 0 when it is not a common option, -1 when its
 * value is missing (a message has been printed). */
int cli_common_opt(struct cli_common *c, int *i, int argc, char **argv);

/* The command line of a "drumbeat CMD [VERB [ARG]] [common options]"
 * subcommand: common options, -h/--help (usage to stdout), and up to two
 * words, left NULL when absent. Returns -1 to go on, or the exit code to
 * return (CLI_OK after --help, CLI_USAGE with usage on stderr). */
int cli_verb_args(int argc, char **argv, const char *usage, struct cli_common *common,
                  const char **verb, const char **arg);

/* Performs one API request. method "GET"/"POST"..., path "/api/status",
 * request may be NULL. Returns the HTTP status (>= 100), or a negative errno
 * when the daemon could not be reached (a message has been printed). */
int cli_api_request(const struct cli_common *common, const char *method,
                    const char *path, const json_t *request, json_t **body);
/* The daemon's base URL (no trailing '/') and the bearer token (empty when
 * none is set), found as cli_api_request() finds them, for commands that
 * drive libcurl themselves (import streams a file). Returns 0 or a negative
 * errno (a message has been printed). Wipe token after use. */
int cli_api_target(const struct cli_common *common, char *url, size_t url_len, char *token,
                   size_t token_len);
/* Prints {"error": ..., "path": ...} replies as "drumbeat: error: ..." to stderr. */
void cli_print_api_error(int status, const json_t *body);
/* For a request that did not get the status it wanted: prints the error
 * (unless the daemon was not reached), drops reply, and returns the exit
 * code: CLI_INVALID for a 4xx, CLI_FAIL otherwise. */
int cli_api_failed(int status, json_t *reply);

/* Each subcommand: argv[0] is the subcommand's name. Returns an enum cli_exit. */
int cli_check_config(int argc, char **argv);
int cli_status(int argc, char **argv);
int cli_send(int argc, char **argv);
int cli_touch(int argc, char **argv);
int cli_touches(int argc, char **argv);
int cli_lead(int argc, char **argv);
int cli_plugin_help(int argc, char **argv);
int cli_import(int argc, char **argv);
int cli_enrich(int argc, char **argv);
int cli_enroll(int argc, char **argv);
int cli_enrollments(int argc, char **argv);
/* drumbeat render TEMPLATE_FILE DATA.json [--partials DIR] (cli_render.c);
 * the --message form is cli_render_message() (cli_render_message.c). */
int cli_render(int argc, char **argv);
int cli_render_message(int argc, char **argv);
/* drumbeat mailbox check NAME: SPF/DMARC/DKIM preflight over DNS, offline
 * (cli_mailbox.c). */
int cli_mailbox(int argc, char **argv);
/* cli_mailbox_ops.c: `mailbox list` and `mailbox pause|resume NAME`. */
int cli_mailbox_list(const struct cli_common *common);
int cli_mailbox_pause(const struct cli_common *common, const char *name, bool pause,
                      const char *note);
/* Leads (cli_leads.c): drumbeat leads, suppress, unsuppress, forget, export-lead. */
int cli_leads(int argc, char **argv);
int cli_suppress(int argc, char **argv);
int cli_unsuppress(int argc, char **argv);
int cli_forget(int argc, char **argv);
int cli_export_lead(int argc, char **argv);
/* cli_lead_show.c: path = "/api/leads/ID" + suffix, or (suffix "" only)
 * "/api/leads/by-email/EMAIL" percent-encoded; -1 when it is neither. */
int cli_lead_path(const char *id_or_email, const char *suffix, char *path, size_t len);
/* The id of the lead given as an ID or an email, asked of the daemon;
 * returns an enum cli_exit (a message has been printed on failure). */
int cli_lead_resolve(const struct cli_common *common, const char *id_or_email, long long *id);
/* Prints a lead reply (GET /api/leads/:id) for people. */
void cli_lead_print(const json_t *lead, FILE *out);
/* Calls (cli_calls.c): drumbeat calls, log-call. */
int cli_calls(int argc, char **argv);
int cli_log_call(int argc, char **argv);
/* Inbound events (cli_event.c): drumbeat event LEAD TYPE [--data JSON] [--id ID]. */
int cli_event(int argc, char **argv);
/* cli_cadence.c: drumbeat cadence check|pause|resume, drumbeat enrollment
 * pause|resume|stop; cli_print_problems() prints a launch check's problems
 * (an array of {"check", "where", "problem"}), one a line, to stdout. */
int cli_cadence(int argc, char **argv);
int cli_enrollment(int argc, char **argv);
void cli_print_problems(const json_t *problems);

/* Review and preview (cli_review.c, cli_preview.c): drumbeat review
 * [show|approve|reject|edit ID], drumbeat preview --lead X --cadence C [--step N]. */
int cli_review(int argc, char **argv);
int cli_preview(int argc, char **argv);

/* The test clock and shadow runs: drumbeat clock show|set|advance
 * (cli_clock.c), drumbeat simulate (cli_simulate.c), drumbeat outbox
 * (cli_outbox.c); the last two run a private drumbeatd (shadow.h). */
int cli_clock(int argc, char **argv);
int cli_simulate(int argc, char **argv);
int cli_outbox(int argc, char **argv);

#endif /* DRUMBEAT_CLI_H */
