/* SPDX-License-Identifier: MIT */
/* daemon/plugin_loader.c: turns the configured channel and enricher
 * instances into running plugin instances: finds each plugin's .so (a path,
 * or <name>.so along plugin_path, $DRUMBEAT_PLUGIN_PATH and PKGLIBDIR),
 * dlopen()s it, adopts its descriptor after checking magic, ABI version, size
 * and ops, validates the instance's options and calls init. A bad instance is
 * kept as "failed" with its reason and the others carry on, so one broken
 * plugin never takes the daemon down. Also the offline check behind
 * `drumbeat check-config`, reload and freeing (status and describe are in
 * plugin_loader_info.c). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <dlfcn.h>

#include "config.h"
#include "errors.h"
#include "plugin_instance.h"

#ifndef PKGLIBDIR
#define PKGLIBDIR "/usr/local/lib/drumbeat"
#endif

const char *plugin_kind_name(enum drumbeat_kind kind)
{
    return kind == DRUMBEAT_KIND_ENRICHER ? "enricher" : "channel";
}

/* Checks the plugin's descriptor and copies it into a zeroed host-sized
 * struct, so that members the plugin predates read as zero. Each refusal
 * names the file and says what to do. */
int loader_adopt(const char *path, const struct drumbeat_plugin *in,
                        struct drumbeat_plugin *out, struct errbuf *err)
{
    if (in->magic != DRUMBEAT_PLUGIN_MAGIC)
        return errbuf_set(err, -ENOEXEC, "%s: not a drumbeat plugin (bad magic)", path);
    if (in->abi_major != DRUMBEAT_ABI_MAJOR)
        return errbuf_set(err, -EPROTO, "%s: built for plugin ABI %u.x; "
                          "this drumbeatd speaks %u.x", path,
                          (unsigned)in->abi_major, (unsigned)DRUMBEAT_ABI_MAJOR);
    if (in->abi_minor > DRUMBEAT_ABI_MINOR)
        return errbuf_set(err, -EPROTO, "%s: needs ABI %u.%u; this drumbeatd has "
                          "%u.%u, upgrade drumbeatd", path, (unsigned)in->abi_major,
                          (unsigned)in->abi_minor, (unsigned)DRUMBEAT_ABI_MAJOR,
                          (unsigned)DRUMBEAT_ABI_MINOR);
    if (in->size < PLUGIN_DESC_SIZE_1_0)
        return errbuf_set(err, -ENOEXEC, "%s: malformed plugin: descriptor is %u bytes, "
                          "ABI 1.0 needs at least %zu", path, (unsigned)in->size,
                          PLUGIN_DESC_SIZE_1_0);

    memset(out, 0, sizeof(*out));
    memcpy(out, in, in->size < sizeof(*out) ? in->size : sizeof(*out));

    if (out->name == NULL || out->name[0] == '\0')
        return errbuf_set(err, -ENOEXEC, "%s: malformed plugin: no name", path);
    if (out->kind == DRUMBEAT_KIND_CHANNEL) {
        if (out->channel == NULL || out->channel->send == NULL)
            return errbuf_set(err, -ENOEXEC, "%s: malformed plugin: a channel without "
                              "channel ops (send)", path);
    } else if (out->kind == DRUMBEAT_KIND_ENRICHER) {
        if (out->enricher == NULL || out->enricher->enrich == NULL)
            return errbuf_set(err, -ENOEXEC, "%s: malformed plugin: an enricher without "
                              "enricher ops (enrich)", path);
    } else {
        return errbuf_set(err, -ENOEXEC, "%s: malformed plugin: unknown kind %u", path,
                          (unsigned)out->kind);
    }
    return 0;
}

static char *join(const char *dir, const char *name, const char *ext)
{
    char *s = NULL;
    if (asprintf(&s, "%s/%s%s", dir, name, ext) < 0)
        return NULL;
    return s;
}

/* Resolves cfg's plugin text to a file. Returns 0 with *out malloc'd,
 * -ENOENT with searched filled (the folders tried), or -ENOMEM. */
int plugin_resolve(const struct config *cfg, const char *plugin, char **out,
                   char *searched, size_t searched_len)
{
    size_t at = 0;

    searched[0] = '\0';
    if (strchr(plugin, '/') != NULL) {
        /* A path: relative ones are relative to the config file's folder. */
        if (plugin[0] != '/' && cfg->base_dir != NULL && cfg->base_dir[0] != '\0')
            *out = join(cfg->base_dir, plugin, "");
        else
            *out = strdup(plugin);
        if (*out == NULL)
            return -ENOMEM;
        if (access(*out, F_OK) == 0)
            return 0;
        snprintf(searched, searched_len, "%s", *out);
        free(*out);
        *out = NULL;
        return -ENOENT;
    }

    const char *env = getenv("DRUMBEAT_PLUGIN_PATH");
    char *envcopy = env != NULL ? strdup(env) : NULL;
    char *save = NULL;
    int rc = -ENOENT;
    /* The three sources in order: config, environment, the install folder. */
    for (int pass = 0; pass < 3 && rc == -ENOENT; pass++) {
        const char *dirs[64];
        size_t nd = 0;
        if (pass == 0) {
            for (char **d = cfg->plugin_path; d != NULL && *d != NULL && nd < 64; d++)
                dirs[nd++] = *d;
        } else if (pass == 1) {
            for (char *d = envcopy ? strtok_r(envcopy, ":", &save) : NULL; d != NULL && nd < 64;
                 d = strtok_r(NULL, ":", &save))
                dirs[nd++] = d;
        } else {
            dirs[nd++] = PKGLIBDIR;
        }
        for (size_t i = 0; i < nd && rc == -ENOENT; i++) {
            const char *d = dirs[i];
            char *dir = NULL, *cand;
            if (pass == 0 && d[0] != '/' && cfg->base_dir != NULL) {
                /* Relative plugin_path folders are relative to the config file. */
                dir = join(cfg->base_dir, d, "");
                if (dir == NULL) {
                    rc = -ENOMEM;
                    break;
                }
                d = dir;
            }
            cand = join(d, plugin, ".so");
            free(dir);
            if (cand == NULL) {
                rc = -ENOMEM;
                break;
            }
            if (access(cand, F_OK) == 0) {
                *out = cand;
                rc = 0;
            } else {
                if (at < searched_len)
                    at += (size_t)snprintf(searched + at, searched_len - at, "%s%s",
                                           at > 0 ? ", " : "", cand);
                free(cand);
            }
        }
    }
    free(envcopy);
    return rc;
}

/* Records why an instance failed: in errs (with the config file and JSON
 * path), in the instance for status, and in the log. */
static void instance_fail(struct drumbeat_instance *inst, const struct config *cfg,
                          const char *where, struct config_errors *errs, const struct errbuf *e)
{
    struct errbuf err = *e;
    char line[1024];

    snprintf(err.file, sizeof(err.file), "%s", cfg->path ? cfg->path : "");
    if (where != NULL)
        snprintf(err.where, sizeof(err.where), "%s", where);
    if (errs != NULL)
        config_errors_add(errs, &err);
    if (inst == NULL)
        return;
    inst->st = INST_FAILED;
    free(inst->error);
    inst->error = strdup(err.what);
    log_error("src=%s msg=\"instance failed\" error=\"%s\"", inst->prefix,
              errbuf_format(&err, line, sizeof(line)));
}

/* Opens, adopts and validates one configured instance, and (when p is not
 * NULL) inits it. Returns 0 with *out set (possibly a failed instance), -EINVAL
 * when checking only and it is invalid, or -ENOMEM. */
static int instance_open(struct plugins *p, const struct config *cfg,
                         const struct config_plugin_instance *ci, enum drumbeat_kind want,
                         size_t idx, struct config_errors *errs, struct drumbeat_instance **out)
{
    const char *section = want == DRUMBEAT_KIND_CHANNEL ? "channels" : "enrichers";
    struct drumbeat_instance *inst;
    struct config_errors opt_errs = { 0 };
    struct errbuf err = { 0 };
    char where[256], searched[1536];
    const struct drumbeat_plugin *sym;
    int rc;

    inst = calloc(1, sizeof(*inst));
    if (inst == NULL)
        return -ENOMEM;
    pthread_mutex_init(&inst->log_mu, NULL);
    inst->owner = p;
    inst->kind = want;
    inst->log_level = ci->log_level;
    inst->name = strdup(ci->name ? ci->name : "");
    inst->plugin = strdup(ci->plugin ? ci->plugin : "");
    if (inst->name == NULL || inst->plugin == NULL)
        goto nomem;
    snprintf(inst->prefix, sizeof(inst->prefix), "[%s/%s]", inst->plugin, inst->name);
    *out = inst;

    snprintf(where, sizeof(where), "%s[%zu].plugin", section, idx);
    rc = plugin_resolve(cfg, inst->plugin, &inst->file, searched, sizeof(searched));
    if (rc == -ENOMEM)
        goto nomem;
    if (rc < 0) {
        errbuf_set(&err, -ENOENT, "plugin \"%s\" not found (looked for %s)", inst->plugin,
                   searched);
        goto failed;
    }
    dlerror();
    inst->dl = dlopen(inst->file, RTLD_NOW | RTLD_LOCAL);
    if (inst->dl == NULL) {
        const char *why = dlerror();
        errbuf_set(&err, -ENOEXEC, "%s: cannot load: %s", inst->file, why ? why : "unknown");
        goto failed;
    }
    sym = dlsym(inst->dl, DRUMBEAT_PLUGIN_SYMBOL);
    if (sym == NULL) {
        errbuf_set(&err, -ENOEXEC, "%s: no \"%s\" symbol: not a drumbeat plugin", inst->file,
                   DRUMBEAT_PLUGIN_SYMBOL);
        goto failed;
    }
    if (loader_adopt(inst->file, sym, &inst->desc, &err) < 0)
        goto failed;
    snprintf(inst->prefix, sizeof(inst->prefix), "[%s/%s]", inst->desc.name, inst->name);
    if (inst->desc.kind != want) {
        errbuf_set(&err, -EINVAL, "%s: is a %s plugin, configured as a %s", inst->file,
                   plugin_kind_name(inst->desc.kind), plugin_kind_name(want));
        goto failed;
    }

    inst->settings = calloc(1, inst->desc.settings_size > 0 ? inst->desc.settings_size : 1);
    if (inst->settings == NULL)
        goto nomem;
    snprintf(where, sizeof(where), "%s[%zu].options", section, idx);
    rc = plugin_options_apply(&inst->desc, inst->file, ci->options, cfg->path, cfg->base_dir, where,
                              p != NULL ? inst->settings : NULL, &inst->strings, &opt_errs);
    if (rc == -ENOMEM)
        goto nomem;
    if (rc < 0) {
        char line[1024];
        for (size_t i = 0; i < opt_errs.count; i++) {
            if (errs != NULL)
                config_errors_add(errs, &opt_errs.items[i]);
            log_error("src=%s msg=\"invalid option\" error=\"%s\"", inst->prefix,
                      errbuf_format(&opt_errs.items[i], line, sizeof(line)));
        }
        inst->st = INST_FAILED;
        if (asprintf(&inst->error, "invalid options: %s: %s%s", opt_errs.items[0].where,
                     opt_errs.items[0].what, opt_errs.count > 1 ? " (and more)" : "") < 0)
            inst->error = NULL;
        config_errors_free(&opt_errs);
        return p != NULL ? 0 : -EINVAL;
    }
    config_errors_free(&opt_errs);
    if (p == NULL)
        return 0;

    if (inst->desc.init != NULL) {
        void *state = NULL;
        rc = inst->desc.init(host_api_table(), inst, inst->settings, &state);
        if (rc < 0) {
            snprintf(where, sizeof(where), "%s[%zu]", section, idx);
            errbuf_set(&err, rc, "%s: init failed: %s", inst->file, error_text(rc));
            goto failed;
        }
        inst->state = state;
    }
    inst->initialised = true;
    inst->st = INST_RUNNING;
    log_info("src=%s msg=\"instance running\" file=\"%s\" version=\"%s\"", inst->prefix,
             inst->file, inst->desc.version ? inst->desc.version : "");
    return 0;

failed:
    instance_fail(inst, cfg, where, errs, &err);
    return p != NULL ? 0 : -EINVAL;
nomem:
    config_errors_free(&opt_errs);
    *out = NULL;
    instance_free(inst);
    return -ENOMEM;
}

int plugins_new(uv_loop_t *loop, struct store *store, struct curl_loop *curl,
                struct plugins **out)
{
    struct plugins *p = calloc(1, sizeof(*p));

    if (p == NULL)
        return -ENOMEM;
    p->loop = loop;
    p->store = store;
    p->curl = curl;
    plugins_timers_init(p);
    *out = p;
    return 0;
}

static int load_list(struct plugins *p, const struct config *cfg,
                     const struct config_plugin_instance *list, size_t n,
                     enum drumbeat_kind kind, struct drumbeat_instance ***tail,
                     struct config_errors *errs)
{
    for (size_t i = 0; i < n; i++) {
        struct drumbeat_instance *inst = NULL;
        int rc = instance_open(p, cfg, &list[i], kind, i, errs, &inst);
        if (rc == -ENOMEM)
            return rc;
        **tail = inst;
        *tail = &inst->next;
    }
    return 0;
}

int plugins_load(struct plugins *p, const struct config *cfg, struct config_errors *errs)
{
    struct drumbeat_instance **tail = &p->current;
    int rc;

    while (*tail != NULL)
        tail = &(*tail)->next;
    rc = load_list(p, cfg, cfg->channels, cfg->n_channels, DRUMBEAT_KIND_CHANNEL, &tail, errs);
    if (rc == 0)
        rc = load_list(p, cfg, cfg->enrichers, cfg->n_enrichers, DRUMBEAT_KIND_ENRICHER,
                       &tail, errs);
    return rc;
}

int plugins_check_config(const struct config *cfg, struct config_errors *errs)
{
    int bad = 0;
    const struct { const struct config_plugin_instance *list; size_t n; enum drumbeat_kind kind; }
        sets[2] = { { cfg->channels, cfg->n_channels, DRUMBEAT_KIND_CHANNEL },
                    { cfg->enrichers, cfg->n_enrichers, DRUMBEAT_KIND_ENRICHER } };

    for (int s = 0; s < 2; s++) {
        for (size_t i = 0; i < sets[s].n; i++) {
            struct drumbeat_instance *inst = NULL;
            int rc = instance_open(NULL, cfg, &sets[s].list[i], sets[s].kind, i, errs, &inst);
            if (rc == -ENOMEM)
                return rc;
            if (rc < 0)
                bad++;
            if (inst != NULL)
                instance_free(inst);
        }
    }
    return bad > 0 ? -EINVAL : 0;
}

static void free_list(struct drumbeat_instance *list)
{
    while (list != NULL) {
        struct drumbeat_instance *next = list->next;
        instance_free(list);
        list = next;
    }
}

int plugins_reload(struct plugins *p, const struct config *new_cfg, struct config_errors *errs)
{
    struct drumbeat_instance *old = p->current;
    int rc;

    p->current = NULL;
    rc = plugins_load(p, new_cfg, errs);
    if (rc < 0) {
        /* Out of memory: keep running what we had. */
        free_list(p->current);
        p->current = old;
        return rc;
    }
    while (old != NULL) {
        struct drumbeat_instance *inst = old;
        old = inst->next;
        inst->next = NULL;
        if (inst->st == INST_RUNNING && (inst->in_flight > 0 || inst->n_pending > 0)) {
            inst->st = INST_DRAINING;
            inst->next = p->old;
            p->old = inst;
            log_info("src=%s msg=\"draining after reload\" in_flight=%zu", inst->prefix,
                     inst->in_flight);
        } else {
            instance_free(inst);
        }
    }
    return 0;
}

void plugins_free(struct plugins *p)
{
    if (p == NULL)
        return;
    p->freeing = true;
    free_list(p->current);
    free_list(p->old);
    p->current = p->old = NULL;
    p->deferred = p->deferred_tail = NULL;
    plugins_defer_close(p);
}
