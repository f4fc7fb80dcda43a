/* SPDX-License-Identifier: MIT */
/* daemon/cli/cli_plugin_help.c: `drumbeat plugin-help NAME`: loads a plugin's
 * descriptor (offline, without initialising it) and prints its options, from
 * the same declared table the daemon validates configs against. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "config.h"
#include "plugin_loader.h"

static void plugin_help_usage(FILE *out)
{
    fprintf(out,
            "Usage: drumbeat plugin-help NAME|PATH.so [-c FILE]\n\n"
            "Prints a plugin's kind, version and declared options (key, type, default,\n"
            "flags, description). NAME is searched like the daemon does: the config's\n"
            "plugin_path, then $DRUMBEAT_PLUGIN_PATH, then the installed plugin folder.\n");
}

int cli_plugin_help(int argc, char **argv)
{
    const char *name = NULL, *config_path = NULL;
    struct config *cfg = NULL;
    struct config_errors errs = { 0 };
    struct errbuf err = { 0 };
    char buf[1024];
    json_t *desc = NULL;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            plugin_help_usage(stdout);
            return CLI_OK;
        } else if ((strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) && i + 1 < argc) {
            config_path = argv[++i];
        } else if (name == NULL && argv[i][0] != '-') {
            name = argv[i];
        } else {
            plugin_help_usage(stderr);
            return CLI_USAGE;
        }
    }
    if (name == NULL) {
        plugin_help_usage(stderr);
        return CLI_USAGE;
    }
    if (config_path != NULL && config_load(config_path, &cfg, &errs) < 0) {
        config_errors_log(&errs);
        config_errors_free(&errs);
        return CLI_INVALID;
    }
    config_errors_free(&errs);
    int rc = plugins_describe(cfg, name, &desc, &err);
    config_free(cfg);
    if (rc < 0) {
        fprintf(stderr, "drumbeat plugin-help: %s\n", errbuf_format(&err, buf, sizeof(buf)));
        return CLI_INVALID;
    }
    printf("%s %s (%s, ABI %s)\n  file: %s\n",
           json_string_value(json_object_get(desc, "name")),
           json_string_value(json_object_get(desc, "version")),
           json_string_value(json_object_get(desc, "kind")),
           json_string_value(json_object_get(desc, "abi")),
           json_string_value(json_object_get(desc, "file")));
    json_t *opts = json_object_get(desc, "options");
    printf("options:\n");
    size_t i;
    json_t *o;
    json_array_foreach(opts, i, o) {
        const char *def = json_string_value(json_object_get(o, "default"));
        printf("  %-18s %-9s %s%s%s%s\n      %s\n",
               json_string_value(json_object_get(o, "key")),
               json_string_value(json_object_get(o, "type")),
               json_is_true(json_object_get(o, "required")) ? "required " : "",
               json_is_true(json_object_get(o, "secret")) ? "secret " : "",
               def != NULL ? "default=" : "", def != NULL ? def : "",
               json_string_value(json_object_get(o, "doc")) ?: "");
    }
    if (json_array_size(opts) == 0)
        printf("  (none)\n");
    json_decref(desc);
    return CLI_OK;
}
