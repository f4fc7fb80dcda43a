/* SPDX-License-Identifier: MIT */
/* daemon/plugin_loader_info.c: what the loader tells the outside: the status
 * of every instance (for /api/status and /metrics) and the description of a
 * plugin file with its option table (for `drumbeat plugin-help`), built from
 * the same declared table the daemon validates configs against. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include <dlfcn.h>

#include "config.h"
#include "errors.h"
#include "plugin_instance.h"

static const char *opt_type_name(enum drumbeat_opt_type type)
{
    switch (type) {
    case DRUMBEAT_OPT_STRING: return "string";
    case DRUMBEAT_OPT_PATH: return "path";
    case DRUMBEAT_OPT_INT: return "int";
    case DRUMBEAT_OPT_BOOL: return "bool";
    case DRUMBEAT_OPT_DURATION_MS: return "duration";
    }
    return "unknown";
}

static json_t *describe_json(const char *file, const struct drumbeat_plugin *d)
{
    char abi[32];
    json_t *opts = json_array(), *out;

    snprintf(abi, sizeof(abi), "%u.%u", (unsigned)d->abi_major, (unsigned)d->abi_minor);
    for (const struct drumbeat_option *o = d->options; opts != NULL && o && o->key; o++) {
        bool secret = (o->flags & DRUMBEAT_OPT_SECRET) != 0;
        json_array_append_new(opts, json_pack(
            "{s:s, s:s, s:s?, s:b, s:b, s:s?}", "key", o->key, "type", opt_type_name(o->type),
            "default", o->def != NULL && secret ? "***" : o->def,
            "required", (o->flags & DRUMBEAT_OPT_REQUIRED) != 0, "secret", secret,
            "doc", o->doc));
    }
    out = json_pack("{s:s, s:s?, s:s, s:s, s:s, s:o}", "name", d->name, "version", d->version,
                    "kind", plugin_kind_name(d->kind), "abi", abi, "file", file, "options", opts);
    return out;
}

int plugins_describe(const struct config *cfg, const char *name, json_t **out, struct errbuf *err)
{
    static const struct config no_config;
    struct drumbeat_plugin desc;
    char searched[1536], *file = NULL;
    void *dl;
    int rc;

    if (cfg == NULL)
        cfg = &no_config;
    rc = plugin_resolve(cfg, name, &file, searched, sizeof(searched));
    if (rc == -ENOMEM)
        return errbuf_set(err, rc, "out of memory");
    if (rc < 0)
        return errbuf_set(err, rc, "plugin \"%s\" not found (looked for %s)", name, searched);
    dlerror();
    dl = dlopen(file, RTLD_NOW | RTLD_LOCAL);
    if (dl == NULL) {
        const char *why = dlerror();
        rc = errbuf_set(err, -ENOEXEC, "%s: cannot load: %s", file, why ? why : "unknown");
        goto out;
    }
    const struct drumbeat_plugin *sym = dlsym(dl, DRUMBEAT_PLUGIN_SYMBOL);
    if (sym == NULL)
        rc = errbuf_set(err, -ENOEXEC, "%s: no \"%s\" symbol: not a drumbeat plugin", file,
                        DRUMBEAT_PLUGIN_SYMBOL);
    else
        rc = loader_adopt(file, sym, &desc, err);
    if (rc == 0) {
        /* Built before dlclose: every string in desc lives in the plugin. */
        *out = describe_json(file, &desc);
        if (*out == NULL)
            rc = errbuf_set(err, -ENOMEM, "out of memory");
    }
    dlclose(dl);
out:
    free(file);
    return rc;
}

static json_t *instance_json(const struct plugins *p, const struct drumbeat_instance *i)
{
    const char *state = i->st == INST_FAILED ? "failed"
                        : (i->st == INST_DRAINING || p->draining) ? "draining" : "running";

    return json_pack("{s:s, s:s, s:s, s:s?, s:s?, s:s, s:s?, s:I, s:I, s:I}",
                     "name", i->name, "plugin", i->plugin, "kind", plugin_kind_name(i->kind),
                     "version", i->desc.version, "file", i->file, "state", state,
                     "error", i->error, "in_flight", (json_int_t)i->in_flight,
                     "sent", (json_int_t)i->sent, "failed_ops", (json_int_t)i->failed_ops);
}

json_t *plugins_status_json(struct plugins *p)
{
    json_t *arr = json_array();
    const struct drumbeat_instance *lists[2] = { p->current, p->old };

    if (arr == NULL)
        return NULL;
    for (int l = 0; l < 2; l++) {
        for (const struct drumbeat_instance *i = lists[l]; i != NULL; i = i->next) {
            if (json_array_append_new(arr, instance_json(p, i)) < 0) {
                json_decref(arr);
                return NULL;
            }
        }
    }
    return arr;
}

