/* SPDX-License-Identifier: MIT */
/* daemon/config_cadences.c: the "cadences" section of the config, which only
 * says where the cadence files live:
 *   "cadences": {"dir": "cadences"}     relative to the config file's folder
 * Without the section, the folder "cadences" beside the config file is used
 * when it exists, so a config without cadences stays valid. The files
 * themselves are loaded and checked by cadence_set_load() (cadence_def.h),
 * against the loaded config and templates. */
#include <stdlib.h>
#include <sys/stat.h>

#include "config.h"
#include "config_internal.h"

void config_load_cadences(struct config_ctx *ctx, const json_t *root, struct config *cfg)
{
    static const char *const keys[] = { "dir", NULL };
    const json_t *obj = config_ctx_object(ctx, root, "", "cadences");
    char *value = NULL;
    struct stat st;

    if (obj == NULL) {
        if (json_object_get(root, "cadences") != NULL)
            return;    /* not an object: recorded */
        char *dflt = config_path_resolve(ctx->base_dir, "cadences");
        if (dflt == NULL)
            ctx->oom = true;
        else if (stat(dflt, &st) == 0 && S_ISDIR(st.st_mode))
            cfg->cadences_dir = dflt;
        else
            free(dflt);
        return;
    }
    config_ctx_keys(ctx, obj, "cadences", keys);
    if (config_ctx_string(ctx, obj, "cadences", "dir", false, &value) && value[0] == '\0')
        config_ctx_error(ctx, "cadences.dir", "expected a folder name, got \"\"");
    cfg->cadences_dir = config_path_resolve(ctx->base_dir,
                                            value != NULL && value[0] != '\0' ? value
                                                                              : "cadences");
    free(value);
    if (cfg->cadences_dir == NULL)
        ctx->oom = true;
}
