/* SPDX-License-Identifier: MIT */
/* daemon/plugin_options.c: checks one instance's "options" object against the
 * option table its plugin declares (Fluent Bit's config map idea): unknown
 * keys are errors with a "did you mean" hint, values are type-checked with
 * config.h's path-aware getters, required options must be present, defaults
 * come from the table's text, and each value is written into the host-owned
 * settings block at its declared offset. A value of an option flagged
 * DRUMBEAT_OPT_SECRET never appears in an error: it is shown as "***". */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "config_internal.h"
#include "plugin_instance.h"

static const char *type_text(enum drumbeat_opt_type type)
{
    switch (type) {
    case DRUMBEAT_OPT_STRING: return "a string";
    case DRUMBEAT_OPT_PATH: return "a path (relative to the config file's folder)";
    case DRUMBEAT_OPT_INT: return "an integer";
    case DRUMBEAT_OPT_BOOL: return "true or false";
    case DRUMBEAT_OPT_DURATION_MS: return "a duration (1500, \"250ms\", \"30s\", \"5m\", \"2h\")";
    }
    return "a known option type";
}

static size_t type_size(enum drumbeat_opt_type type)
{
    switch (type) {
    case DRUMBEAT_OPT_STRING:
    case DRUMBEAT_OPT_PATH: return sizeof(const char *);
    case DRUMBEAT_OPT_INT: return sizeof(int64_t);
    case DRUMBEAT_OPT_BOOL: return sizeof(bool);
    case DRUMBEAT_OPT_DURATION_MS: return sizeof(uint64_t);
    }
    return 0;
}

static void add_error(struct config_errors *errs, const char *file, const char *where,
                      const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void add_error(struct config_errors *errs, const char *file, const char *where,
                      const char *fmt, ...)
{
    struct errbuf err = { 0 };
    va_list ap;

    if (errs == NULL)
        return;
    err.code = -EINVAL;
    snprintf(err.file, sizeof(err.file), "%s", file ? file : "");
    snprintf(err.where, sizeof(err.where), "%s", where ? where : "");
    va_start(ap, fmt);
    vsnprintf(err.what, sizeof(err.what), fmt, ap);
    va_end(ap);
    config_errors_add(errs, &err);
}

/* Holds one parsed value of any option type. */
union opt_value {
    const char *s;
    int64_t i;
    bool b;
    uint64_t ms;
};

static int parse_default(const struct drumbeat_option *o, union opt_value *v)
{
    char *end;

    switch (o->type) {
    case DRUMBEAT_OPT_STRING:
    case DRUMBEAT_OPT_PATH:
        v->s = o->def;
        return 0;
    case DRUMBEAT_OPT_INT:
        errno = 0;
        v->i = strtoll(o->def, &end, 10);
        return errno == 0 && end != o->def && *end == '\0' ? 0 : -EINVAL;
    case DRUMBEAT_OPT_BOOL:
        if (strcmp(o->def, "true") == 0 || strcmp(o->def, "false") == 0) {
            v->b = o->def[0] == 't';
            return 0;
        }
        return -EINVAL;
    case DRUMBEAT_OPT_DURATION_MS:
        return duration_parse(o->def, &v->ms);
    }
    return -EINVAL;
}

static int read_value(const struct drumbeat_option *o, const json_t *obj, const char *path,
                      union opt_value *v, struct errbuf *err)
{
    switch (o->type) {
    case DRUMBEAT_OPT_STRING:
    case DRUMBEAT_OPT_PATH:
        return config_get_string(obj, path, o->key, &v->s, err);
    case DRUMBEAT_OPT_INT:
        return config_get_int(obj, path, o->key, INT64_MIN, INT64_MAX, &v->i, err);
    case DRUMBEAT_OPT_BOOL:
        return config_get_bool(obj, path, o->key, &v->b, err);
    case DRUMBEAT_OPT_DURATION_MS:
        return config_get_duration(obj, path, o->key, &v->ms, err);
    }
    return -EINVAL;
}

static int strings_push(struct option_strings *strings, const char *s, char **out)
{
    char **items = realloc(strings->items, (strings->count + 1) * sizeof(*items));
    if (items == NULL)
        return -ENOMEM;
    strings->items = items;
    items[strings->count] = strdup(s);
    if (items[strings->count] == NULL)
        return -ENOMEM;
    *out = items[strings->count++];
    return 0;
}

static int store_value(const struct drumbeat_option *o, const union opt_value *v,
                       const char *base_dir, void *settings, struct option_strings *strings)
{
    char *at = (char *)settings + o->offset;
    char *copy = NULL;

    switch (o->type) {
    case DRUMBEAT_OPT_STRING:
        if (v->s != NULL && strings_push(strings, v->s, &copy) < 0)
            return -ENOMEM;
        memcpy(at, &copy, sizeof(copy));
        break;
    case DRUMBEAT_OPT_PATH:
        if (v->s != NULL) {
            /* Relative to the config file, like every other path in it, so
             * the daemon's working folder never changes what a plugin opens. */
            char *resolved = config_path_resolve(base_dir, v->s);
            int rc = resolved != NULL ? strings_push(strings, resolved, &copy) : -ENOMEM;
            free(resolved);
            if (rc < 0)
                return rc;
        }
        memcpy(at, &copy, sizeof(copy));
        break;
    case DRUMBEAT_OPT_INT:
        memcpy(at, &v->i, sizeof(v->i));
        break;
    case DRUMBEAT_OPT_BOOL:
        memcpy(at, &v->b, sizeof(v->b));
        break;
    case DRUMBEAT_OPT_DURATION_MS:
        memcpy(at, &v->ms, sizeof(v->ms));
        break;
    }
    return 0;
}

/* Checks the table itself: a plugin bug must be reported against its file,
 * not crash the host by writing outside settings. */
static int check_table(const struct drumbeat_plugin *desc, const char *so_file,
                       const char *cfg_file, const char *path, struct config_errors *errs)
{
    int bad = 0;

    for (const struct drumbeat_option *o = desc->options; o && o->key; o++) {
        size_t sz = type_size(o->type);
        if (sz == 0 || o->offset > desc->settings_size || desc->settings_size - o->offset < sz) {
            add_error(errs, cfg_file, path, "%s: malformed plugin: option \"%s\" has %s",
                      so_file, o->key, sz == 0 ? "an unknown type" : "an offset outside settings");
            bad++;
        }
    }
    return bad;
}

int plugin_options_apply(const struct drumbeat_plugin *desc, const char *so_file,
                         const json_t *options, const char *cfg_file, const char *base_dir,
                         const char *path, void *settings, struct option_strings *strings,
                         struct config_errors *errs)
{
    const json_t *obj = options;
    json_t *empty = NULL;
    const char **allowed = NULL;
    size_t n = 0;
    int bad = 0, rc = 0;

    if (obj == NULL || json_is_null(obj))
        obj = empty = json_object();
    if (obj == NULL)
        return -ENOMEM;
    if (!json_is_object(obj)) {
        add_error(errs, cfg_file, path, "expected an object of options");
        rc = -EINVAL;
        goto out;
    }
    bad += check_table(desc, so_file, cfg_file, path, errs);
    if (bad > 0) {
        rc = -EINVAL;
        goto out;
    }
    for (const struct drumbeat_option *o = desc->options; o && o->key; o++)
        n++;
    allowed = calloc(n + 1, sizeof(*allowed));
    if (allowed == NULL) {
        rc = -ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        allowed[i] = desc->options[i].key;
    bad += config_check_keys(obj, cfg_file, path, allowed, errs);

    for (const struct drumbeat_option *o = desc->options; o && o->key; o++) {
        struct errbuf err = { 0 };
        union opt_value v = { 0 };
        bool secret = (o->flags & DRUMBEAT_OPT_SECRET) != 0;
        char where[256];
        int r = read_value(o, obj, path, &v, &err);

        snprintf(where, sizeof(where), "%s.%s", path, o->key);
        if (r == -EINVAL) {
            if (secret)
                /* The getter's text quotes the value; a secret's must not show. */
                add_error(errs, cfg_file, where, "expected %s, got ***", type_text(o->type));
            else
                add_error(errs, cfg_file, where[0] ? where : err.where, "%s", err.what);
            bad++;
            continue;
        }
        if (r == -ENOENT) {
            if (o->def == NULL) {
                if (o->flags & DRUMBEAT_OPT_REQUIRED) {
                    add_error(errs, cfg_file, where, "required option missing: expected %s",
                              type_text(o->type));
                    bad++;
                }
                continue;
            }
            if (parse_default(o, &v) < 0) {
                add_error(errs, cfg_file, where,
                          "%s: malformed plugin: default %s%s%s is not %s", so_file,
                          secret ? "" : "\"", secret ? "***" : o->def, secret ? "" : "\"",
                          type_text(o->type));
                bad++;
                continue;
            }
        } else if (r < 0) {
            rc = r;
            goto out;
        }
        if (settings != NULL && store_value(o, &v, base_dir, settings, strings) < 0) {
            rc = -ENOMEM;
            goto out;
        }
    }
    rc = bad > 0 ? -EINVAL : 0;
out:
    free(allowed);
    json_decref(empty);
    return rc;
}

void plugin_options_strings_free(struct option_strings *strings)
{
    for (size_t i = 0; i < strings->count; i++)
        free(strings->items[i]);
    free(strings->items);
    strings->items = NULL;
    strings->count = 0;
}
