/* SPDX-License-Identifier: MIT */
/* daemon/cadence_def.c: loads cadence definitions: one NAME.json file (read
 * with jansson, duplicate keys rejected, syntax errors with line and column),
 * a stored version rebuilt from its JSON, or every file of the cadences
 * folder. Each load checks the top-level keys and the name, hands the rest to
 * cadence_rules.c and cadence_steps.c, and gives a definition only when no
 * error was found. Also the canonical text the store versions by. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cadence_int.h"

/* Far above any real cadence; a bound so a wrong file cannot make us read a disk image. */
#define CADENCE_FILE_MAX (1u << 20)

static const char *const top_keys[] = {
    "name", "description", "timezone", "window", "holidays", "calling_hours", "mailboxes",
    "retired_mailboxes", "allowed_email_status", "call_overdue_days", "throttle", "company",
    "exit_on", "migrate", "steps", NULL,
};

void cadence_def_free(struct cadence_def *d)
{
    if (d == NULL)
        return;
    free(d->name);
    free(d->file);
    cadence_rules_free(d);
    cadence_steps_free(d);
    json_decref(d->json);
    free(d);
}

static void add_error(struct config_errors *errs, int code, const char *file, const char *what)
{
    struct errbuf err = { 0 };
    errbuf_at(&err, code, file, NULL, "%s", what);
    config_errors_add(errs, &err);
}

/* The checks and the sections over root, which the definition keeps (one
 * reference is taken). file is the name used in messages; dir the folder of
 * relative paths (may be NULL). */
static int parse(json_t *root, const char *name, const char *file, const char *dir,
                 const struct cadence_env *env, struct cadence_def **out,
                 struct config_errors *errs)
{
    struct cadence_def *d = calloc(1, sizeof(*d));
    struct cadence_ctx cx = {
        .c = { .file = file, .base_dir = dir, .errs = errs },
        .env = env,
        .def = d,
    };
    char got[128];
    int rc;

    if (d == NULL) {
        add_error(errs, -ENOMEM, file, "out of memory while loading the cadence");
        return -ENOMEM;
    }
    d->json = json_incref(root);
    d->name = strdup(name);
    d->file = strdup(file);
    if (d->name == NULL || d->file == NULL) {
        cx.c.oom = true;
        goto check;
    }
    if (!json_is_object(root)) {
        config_describe(root, got, sizeof(got));
        config_ctx_error(&cx.c, "", "expected an object at the top level, got %s", got);
        goto check;
    }
    if (!config_is_identifier(name))
        config_ctx_error(&cx.c, "", "expected a file name of 1 to 64 characters "
                         "[A-Za-z0-9_.-] before \".json\", got \"%s\"", name);
    config_ctx_keys(&cx.c, root, "", top_keys);
    const json_t *jn = json_object_get(root, "name");
    if (jn != NULL && (!json_is_string(jn) || strcmp(json_string_value(jn), name) != 0)) {
        config_describe(jn, got, sizeof(got));
        config_ctx_error(&cx.c, "name", "expected \"%s\" (the file's base name), got %s",
                         name, got);
    }
    cadence_load_rules(&cx, root);
    cadence_load_steps(&cx, root);
check:
    if (cx.c.oom) {
        add_error(errs, -ENOMEM, file, "out of memory while loading the cadence");
        rc = -ENOMEM;
    } else if (cx.c.n_errors > 0) {
        rc = -EINVAL;
    } else {
        *out = d;
        return 0;
    }
    cadence_def_free(d);
    return rc;
}

/* The base name of path without ".json", into buf; the folder into dir. */
static void split_path(const char *path, char *name, size_t nlen, char *dir, size_t dlen)
{
    const char *slash = strrchr(path, '/');
    const char *base = slash != NULL ? slash + 1 : path;
    size_t len = strlen(base);

    if (len > 5 && strcmp(base + len - 5, ".json") == 0)
        len -= 5;
    snprintf(name, nlen, "%.*s", (int)len, base);
    if (slash == NULL)
        snprintf(dir, dlen, ".");
    else if (slash == path)
        snprintf(dir, dlen, "/");
    else
        snprintf(dir, dlen, "%.*s", (int)(slash - path), path);
}

static void add_syntax_error(struct config_errors *errs, const char *file,
                             const json_error_t *jerr)
{
    struct errbuf err = { .code = -EINVAL };

    snprintf(err.file, sizeof(err.file), "%s", file);
    err.line = jerr->line > 0 ? jerr->line : 0;
    err.column = jerr->line > 0 && jerr->column > 0 ? jerr->column : 0;
    snprintf(err.what, sizeof(err.what), "%s", jerr->text);
    config_errors_add(errs, &err);
}

int cadence_def_load_string(const char *text, size_t len, const char *file,
                            const struct cadence_env *env, struct cadence_def **out,
                            struct config_errors *errs)
{
    char name[256], dir[4096];
    json_error_t jerr;

    split_path(file, name, sizeof(name), dir, sizeof(dir));
    /* Duplicate keys are rejected: with them, which value wins is a guess. */
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL) {
        add_syntax_error(errs, file, &jerr);
        return -EINVAL;
    }
    int rc = parse(root, name, file, dir, env, out, errs);
    json_decref(root);
    return rc;
}

int cadence_def_load(const char *path, const struct cadence_env *env,
                     struct cadence_def **out, struct config_errors *errs)
{
    char name[256], dir[4096], what[600];
    json_error_t jerr;
    struct stat st;

    int rc = stat(path, &st) != 0 ? -errno : !S_ISREG(st.st_mode) ? -EINVAL
             : st.st_size > (off_t)CADENCE_FILE_MAX ? -EFBIG : 0;
    if (rc != 0) {
        if (rc == -EFBIG)
            snprintf(what, sizeof(what), "the cadence file is larger than 1 MiB");
        else if (rc == -EINVAL)
            snprintf(what, sizeof(what), "expected a regular file");
        else
            snprintf(what, sizeof(what), "cannot read the cadence file: %s", strerror(-rc));
        add_error(errs, rc, path, what);
        return rc;
    }
    split_path(path, name, sizeof(name), dir, sizeof(dir));
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL) {
        add_syntax_error(errs, path, &jerr);
        return -EINVAL;
    }
    rc = parse(root, name, path, dir, env, out, errs);
    json_decref(root);
    return rc;
}

int cadence_def_from_json(const json_t *root, const char *name, const char *dir,
                          const struct cadence_env *env, struct cadence_def **out,
                          struct config_errors *errs)
{
    char file[4096 + 300];

    if (dir != NULL)
        snprintf(file, sizeof(file), "%s/%s.json", dir, name);
    else
        snprintf(file, sizeof(file), "%s.json", name);
    /* A copy: the caller's object may change after this returns. */
    json_t *copy = json_deep_copy(root);
    if (copy == NULL) {
        add_error(errs, -ENOMEM, file, "out of memory while loading the cadence");
        return -ENOMEM;
    }
    int rc = parse(copy, name, file, dir, env, out, errs);
    json_decref(copy);
    return rc;
}

int cadence_def_canonical(const struct cadence_def *d, char **json)
{
    *json = json_dumps(d->json, JSON_SORT_KEYS | JSON_COMPACT | JSON_ENCODE_ANY);
    return *json != NULL ? 0 : -ENOMEM;
}

static int str_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int def_cmp(const void *a, const void *b)
{
    return strcmp((*(struct cadence_def *const *)a)->name, (*(struct cadence_def *const *)b)->name);
}

/* The NAME.json regular files of dir, sorted. */
static int list_files(const char *dir, char ***out, size_t *n)
{
    DIR *dp = opendir(dir);
    struct dirent *de;
    char **v = NULL;
    size_t cap = 0;
    int rc = 0;

    *n = 0;
    if (dp == NULL)
        return -errno;
    while ((de = readdir(dp)) != NULL) {
        size_t len = strlen(de->d_name);
        char path[4096 + 256];
        struct stat st;
        if (de->d_name[0] == '.' || len <= 5 || strcmp(de->d_name + len - 5, ".json") != 0)
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        if (stat(path, &st) != 0 || S_ISDIR(st.st_mode))
            continue;
        if (*n == cap) {
            char **bigger = realloc(v, (cap = cap != 0 ? cap * 2 : 8) * sizeof(*v));
            if (bigger == NULL) {
                rc = -ENOMEM;
                break;
            }
            v = bigger;
        }
        if ((v[*n] = strdup(path)) == NULL) {
            rc = -ENOMEM;
            break;
        }
        (*n)++;
    }
    closedir(dp);
    if (v != NULL)
        qsort(v, *n, sizeof(*v), str_cmp);
    *out = v;
    return rc;
}

void cadence_set_free(struct cadence_set *set)
{
    if (set == NULL)
        return;
    for (size_t i = 0; i < set->n; i++)
        cadence_def_free(set->items[i]);
    free(set->items);
    free(set->dir);
    free(set);
}

int cadence_set_load(const char *dir, const struct cadence_env *env,
                     struct cadence_set **out, struct config_errors *errs)
{
    struct cadence_set *set = calloc(1, sizeof(*set));
    char **files = NULL, what[600];
    size_t n = 0;
    int rc;

    if (set == NULL || (set->dir = strdup(dir)) == NULL) {
        rc = -ENOMEM;
        goto fail;
    }
    if ((rc = list_files(dir, &files, &n)) != 0)
        goto fail;
    set->items = calloc(n + 1, sizeof(*set->items));
    if (set->items == NULL) {
        rc = -ENOMEM;
        goto fail;
    }
    for (size_t i = 0; i < n; i++) {
        struct cadence_def *d = NULL;
        int lrc = cadence_def_load(files[i], env, &d, errs);
        if (lrc == 0)
            set->items[set->n++] = d;
        else if (rc == 0 || lrc == -ENOMEM)
            rc = lrc;
    }
    if (rc != 0)
        goto out;
    qsort(set->items, set->n, sizeof(*set->items), def_cmp);
    *out = set;
    set = NULL;
    goto out;
fail:
    if (rc == -ENOMEM)
        snprintf(what, sizeof(what), "out of memory while loading the cadences");
    else
        snprintf(what, sizeof(what), "cannot read the cadences folder: %s", strerror(-rc));
    add_error(errs, rc, dir, what);
out:
    for (size_t i = 0; i < n; i++)
        free(files[i]);
    free(files);
    cadence_set_free(set);
    return rc;
}

const struct cadence_def *cadence_set_get(const struct cadence_set *set, const char *name)
{
    for (size_t i = 0; set != NULL && i < set->n; i++)
        if (strcmp(set->items[i]->name, name) == 0)
            return set->items[i];
    return NULL;
}
