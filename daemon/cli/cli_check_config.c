/* SPDX-License-Identifier: MIT */
/* daemon/cli/cli_check_config.c: `drumbeat check-config [-c FILE] [--quiet]`:
 * validates a config offline, the way `nginx -t` does: the file itself, then
 * every plugin it references (found, loadable, ABI-compatible, options valid),
 * then the templates folder (every template compiled, as the daemon would at
 * start: syntax errors as file:line:column), then the cadences folder (every
 * cadence file against the config and the templates: file and JSON path).
 * Every error is printed, one per line; exit 0 when all is valid, 2 if not. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "config.h"
#include "../cadence_def.h"
#include "../plugin_loader.h"
#include "../template_file.h"

static void check_config_usage(FILE *out)
{
    fprintf(out,
            "Usage: drumbeat check-config [-c FILE] [--quiet]\n\n"
            "Checks the config file and every plugin it names, without starting the\n"
            "daemon: JSON syntax, types, unknown keys, names, token files, then each\n"
            "channel's and enricher's options against its plugin, then every template\n"
            "in templates.dir (header lines and Mustache syntax, as file:line:column),\n"
            "then every cadence in cadences.dir (steps, names, windows; file and JSON path).\n\n"
            "  -c, --config FILE   the config to check (default config/drumbeat.json)\n"
            "  -q, --quiet         print nothing when the config is valid\n"
            "  -h, --help          show this help\n\n"
            "Exit status: 0 valid, 2 not valid (every error is printed), 64 usage.\n");
}

static void print_errors(const struct config_errors *errs)
{
    char line[1200];

    for (size_t i = 0; i < errs->count; i++)
        fprintf(stderr, "drumbeat: %s\n", errbuf_format(&errs->items[i], line, sizeof(line)));
}

int cli_check_config(int argc, char **argv)
{
    const char *path = NULL;
    bool quiet = false;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            check_config_usage(stdout);
            return CLI_OK;
        } else if ((strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) &&
                   i + 1 < argc) {
            path = argv[++i];
        } else if (strncmp(argv[i], "--config=", 9) == 0) {
            path = argv[i] + 9;
        } else if (strcmp(argv[i], "--quiet") == 0 || strcmp(argv[i], "-q") == 0) {
            quiet = true;
        } else {
            fprintf(stderr, "drumbeat: check-config: unexpected argument '%s'\n", argv[i]);
            check_config_usage(stderr);
            return CLI_USAGE;
        }
    }

    struct config_errors errs = { 0 };
    struct config *cfg = NULL;
    /* Every problem is collected in errs and printed once below; the plugin
     * loader would also log each one, so mute the log for the check. */
    log_set_level((enum log_level)(LOG_LEVEL_ERROR - 1));
    int rc = config_load(path, &cfg, &errs);
    /* Plugins are checked only against a config that loaded: their options
     * live in it. The config's own errors are reported in full either way. */
    int prc = rc == 0 ? plugins_check_config(cfg, &errs) : 0;
    if (prc != 0 && errs.count == 0)
        fprintf(stderr, "drumbeat: %s: the plugin check failed: %s\n", cfg->path,
                error_text(prc));
    /* Templates are compiled exactly as drumbeatd compiles them at start. */
    struct template_set *templates = NULL;
    int trc = rc == 0 && cfg->templates_dir != NULL
        ? template_set_load(cfg->templates_dir, &templates, &errs) : 0;
    /* Cadences are checked against the config and, when they compiled, the
     * templates (a broken template set would make every name look unknown). */
    struct cadence_set *cadences = NULL;
    struct cadence_env env = { .cfg = cfg, .templates = templates };
    if (trc != 0)
        env.templates = NULL;
    int crc = rc == 0 && cfg->cadences_dir != NULL
        ? cadence_set_load(cfg->cadences_dir, &env, &cadences, &errs) : 0;
    cadence_set_free(cadences);
    template_set_free(templates);
    bool ok = rc == 0 && prc == 0 && trc == 0 && crc == 0 && errs.count == 0;
    print_errors(&errs);
    if (ok && !quiet)
        printf("%s: ok\n", cfg->path);
    config_free(cfg);
    config_errors_free(&errs);
    return ok ? CLI_OK : CLI_INVALID;
}
