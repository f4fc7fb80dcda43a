/* SPDX-License-Identifier: MIT */
/* daemon/cli/drumbeat.c: the drumbeat command: dispatches to a subcommand. */
#include <stdio.h>
#include <string.h>

#include "build-aux/config.h"
#include "cli.h"

struct cli_command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
};

static const struct cli_command cli_commands[] = {
    { "status", cli_status, "show the running daemon: store, listeners, plugins" },
    { "check-config", cli_check_config, "validate the config and what it references (offline)" },
    { "send", cli_send, "queue one touch through a channel and wait for its outcome" },
    { "touch", cli_touch, "show a touch, or list touches by state" },
    { "touches", cli_touches, "list touches: --deferred (with reasons), --in-doubt, --state S" },
    { "lead", cli_lead, "show a lead (ID or email): fields, provenance, history, events" },
    { "leads", cli_leads, "list leads by stage, owner or source" },
    { "suppress", cli_suppress, "never contact EMAIL or @DOMAIN" },
    { "unsuppress", cli_unsuppress, "lift a suppression (needs --force)" },
    { "forget", cli_forget, "GDPR: erase a lead's personal data, keep a hashed suppression" },
    { "export-lead", cli_export_lead, "GDPR: everything held about a lead, as JSON" },
    { "calls", cli_calls, "a prospector's call list for the day, in calling order" },
    { "log-call", cli_log_call, "log a call's outcome for a lead (closes its call task)" },
    { "plugin-help", cli_plugin_help, "list a plugin's options (offline)" },
    { "import", cli_import, "import leads from a CSV or JSON-lines file (streamed)" },
    { "enroll", cli_enroll, "start leads on a cadence (--cadence NAME --lead X | --stage S)" },
    { "enrollments", cli_enrollments, "list enrollments: cadence, version, state, step" },
    { "enrollment", cli_enrollment, "pause, resume or stop one enrollment (--until DATE)" },
    { "cadence", cli_cadence, "cadence check NAME (launch check), pause|resume NAME" },
    { "enrich", cli_enrich, "queue leads for the enrichers (waterfall); --wait for the result" },
    { "render", cli_render, "render a template file with a JSON context (offline)" },
    { "mailbox", cli_mailbox, "mailbox check NAME (SPF, DMARC, DKIM) | list | pause | resume NAME" },
    { "event", cli_event, "record a reply, bounce, booking... for a lead (exit rules act)" },
    { "preview", cli_preview, "the exact message a cadence's email step would send a lead" },
    { "review", cli_review, "emails waiting for a person: list, show, approve, edit, reject" },
    { "clock", cli_clock, "the daemon's clock: show; set TIME or advance DURATION (test clock)" },
    { "simulate", cli_simulate, "when each step would fire for a CSV of leads (sends nothing)" },
    { "outbox", cli_outbox, "forecast: touches per day per mailbox under the caps, last finish" },
    { NULL, NULL, NULL },
};

static void cli_usage(FILE *out)
{
    fprintf(out, "Usage: drumbeat COMMAND [OPTIONS]\n\n"
                 "Talks to a running drumbeatd over its API (or works offline where noted).\n\n"
                 "Commands:\n");
    for (const struct cli_command *c = cli_commands; c->name != NULL; c++)
        fprintf(out, "  %-14s %s\n", c->name, c->summary);
    fprintf(out, "\nRun 'drumbeat COMMAND --help' for a command's options.\n"
                 "Options for commands that reach the daemon:\n"
                 "  -c, --config FILE     read api.address and api.port from FILE\n"
                 "                        (default config/drumbeat.json)\n"
                 "      --url URL         the API base URL (default http://127.0.0.1:7780)\n"
                 "      --token-file F    bearer token file (else $DRUMBEAT_TOKEN_FILE or\n"
                 "                        $DRUMBEAT_TOKEN)\n"
                 "      --json            print the raw JSON reply\n"
                 "Exit status: 0 ok, 1 failed, 2 invalid input, 64 usage.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        cli_usage(stderr);
        return 64;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        cli_usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("drumbeat %s\n", PACKAGE_VERSION);
        return 0;
    }
    for (const struct cli_command *c = cli_commands; c->name != NULL; c++)
        if (strcmp(argv[1], c->name) == 0)
            return c->run(argc - 1, argv + 1);
    fprintf(stderr, "drumbeat: unknown command '%s'\n", argv[1]);
    cli_usage(stderr);
    return 64;
}
