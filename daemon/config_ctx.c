/* SPDX-License-Identifier: MIT */
/* daemon/config_ctx.c: the error list of a load and the helpers every section
 * of the loader uses to read values into the struct while collecting every
 * error (not just the first), plus path resolution against the config's
 * folder and small syntax checks for names and addresses. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "config_internal.h"

void config_errors_add(struct config_errors *errs, const struct errbuf *err)
{
    /* A bound on what is kept, so that a huge broken file (or a fuzzer)
     * cannot make one load eat memory; the loader still counts the rest. */
    if (errs == NULL || err == NULL || errs->count >= CONFIG_ERRORS_STORED_MAX)
        return;
    if (errs->count == errs->cap) {
        size_t cap = errs->cap != 0 ? errs->cap * 2 : 8;
        struct errbuf *items = realloc(errs->items, cap * sizeof(*items));
        if (items == NULL)
            return;    /* the loader counts errors itself, so a dropped one still fails the load */
        errs->items = items;
        errs->cap = cap;
    }
    errs->items[errs->count++] = *err;
}

size_t config_errors_log(const struct config_errors *errs)
{
    char line[1200];

    if (errs == NULL)
        return 0;
    for (size_t i = 0; i < errs->count; i++)
        log_error("%s", errbuf_format(&errs->items[i], line, sizeof(line)));
    return errs->count;
}

void config_errors_free(struct config_errors *errs)
{
    if (errs == NULL)
        return;
    free(errs->items);
    errs->items = NULL;
    errs->count = 0;
    errs->cap = 0;
}

void config_ctx_add(struct config_ctx *ctx, struct errbuf *err)
{
    ctx->n_errors++;
    snprintf(err->file, sizeof(err->file), "%s", ctx->file);
    config_errors_add(ctx->errs, err);
}

void config_ctx_error(struct config_ctx *ctx, const char *where, const char *fmt, ...)
{
    struct errbuf err = { .code = -EINVAL };
    va_list ap;

    snprintf(err.where, sizeof(err.where), "%s", where != NULL ? where : "");
    va_start(ap, fmt);
    vsnprintf(err.what, sizeof(err.what), fmt, ap);
    va_end(ap);
    config_ctx_add(ctx, &err);
}

void config_ctx_keys(struct config_ctx *ctx, const json_t *obj, const char *path,
                     const char *const *allowed)
{
    int n = config_check_keys(obj, ctx->file, path, allowed, ctx->errs);
    ctx->n_errors += (size_t)n;
}

bool config_ctx_string(struct config_ctx *ctx, const json_t *obj, const char *path,
                       const char *key, bool required, char **dst)
{
    struct errbuf err = { 0 };
    const char *s;
    int rc = config_get_string(obj, path, key, &s, &err);

    if (rc == -ENOENT) {
        if (required)
            config_ctx_error(ctx, path, "missing required key \"%s\"", key);
        return false;
    }
    if (rc != 0) {
        config_ctx_add(ctx, &err);
        return false;
    }
    char *copy = strdup(s);
    if (copy == NULL) {
        ctx->oom = true;
        return false;
    }
    free(*dst);
    *dst = copy;
    return true;
}

bool config_ctx_int(struct config_ctx *ctx, const json_t *obj, const char *path,
                    const char *key, int64_t min, int64_t max, int64_t *dst)
{
    struct errbuf err = { 0 };
    int rc = config_get_int(obj, path, key, min, max, dst, &err);

    if (rc == -EINVAL)
        config_ctx_add(ctx, &err);
    return rc == 0;
}

bool config_ctx_duration(struct config_ctx *ctx, const json_t *obj, const char *path,
                         const char *key, uint64_t *dst)
{
    struct errbuf err = { 0 };
    int rc = config_get_duration(obj, path, key, dst, &err);

    if (rc == -EINVAL)
        config_ctx_add(ctx, &err);
    return rc == 0;
}

const json_t *config_ctx_object(struct config_ctx *ctx, const json_t *obj,
                                const char *path, const char *key)
{
    const json_t *v = json_object_get(obj, key);
    char where[256], got[128];

    if (v == NULL || json_is_object(v))
        return v;
    config_path_key(where, sizeof(where), path, key);
    config_describe(v, got, sizeof(got));
    config_ctx_error(ctx, where, "expected an object, got %s", got);
    return NULL;
}

void config_ctx_unique(struct config_ctx *ctx, const char *const *names,
                       const char *const *sections, const size_t *indexes, size_t n)
{
    char where[256], first[256];

    for (size_t i = 0; i < n; i++) {
        if (names[i] == NULL)
            continue;
        for (size_t j = 0; j < i; j++) {
            if (names[j] == NULL || strcmp(names[i], names[j]) != 0)
                continue;
            config_path_index(where, sizeof(where), sections[i], indexes[i]);
            config_path_index(first, sizeof(first), sections[j], indexes[j]);
            json_t *js = json_string(names[i]);
            char quoted[128] = "";
            if (js != NULL)
                config_describe(js, quoted, sizeof(quoted));
            json_decref(js);
            snprintf(where + strlen(where), sizeof(where) - strlen(where), ".name");
            config_ctx_error(ctx, where, "duplicate name %s, already used by %s; names "
                             "must be unique", quoted, first);
            break;
        }
    }
}

void config_strv_free(char **v)
{
    if (v == NULL)
        return;
    for (char **p = v; *p != NULL; p++)
        free(*p);
    free(v);
}

char **config_ctx_strv(struct config_ctx *ctx, const json_t *obj, const char *path,
                       const char *key, bool resolve)
{
    const json_t *arr = json_object_get(obj, key);
    char where[256], got[128];
    size_t n = 0;

    if (arr != NULL && !json_is_array(arr)) {
        config_path_key(where, sizeof(where), path, key);
        config_describe(arr, got, sizeof(got));
        config_ctx_error(ctx, where, "expected an array of strings, got %s", got);
        arr = NULL;
    }
    char **v = calloc((arr != NULL ? json_array_size(arr) : 0) + 1, sizeof(*v));
    if (v == NULL) {
        ctx->oom = true;
        return NULL;
    }
    for (size_t i = 0; arr != NULL && i < json_array_size(arr); i++) {
        const json_t *item = json_array_get(arr, i);
        if (!json_is_string(item) || json_string_length(item) == 0) {
            char at[256];
            config_path_key(at, sizeof(at), path, key);
            config_path_index(where, sizeof(where), at, i);
            config_describe(item, got, sizeof(got));
            config_ctx_error(ctx, where, "expected a non-empty string, got %s", got);
            continue;
        }
        const char *s = json_string_value(item);
        v[n] = resolve ? config_path_resolve(ctx->base_dir, s) : strdup(s);
        if (v[n] == NULL) {
            ctx->oom = true;
            break;
        }
        n++;
    }
    return v;
}

/* Folds "." and ".." lexically (like Go's filepath.Clean), so that
 * "/srv/drumbeat/config/../var/drumbeat.db" reads as "/srv/drumbeat/var/drumbeat.db"
 * in messages and logs. */
static char *path_clean(char *path)
{
    size_t len = strlen(path);
    bool absolute = path[0] == '/';
    char *out = malloc(len + 2);
    size_t *starts = malloc((len / 2 + 2) * sizeof(*starts));
    size_t depth = 0, n = 0;

    if (out == NULL || starts == NULL) {
        free(out);
        free(starts);
        free(path);
        return NULL;
    }
    if (absolute)
        out[n++] = '/';
    for (char *p = path; *p != '\0';) {
        while (*p == '/')
            p++;
        if (*p == '\0')
            break;
        size_t clen = strcspn(p, "/");
        if (clen == 1 && p[0] == '.') {
            /* nothing: "." adds nothing */
        } else if (clen == 2 && p[0] == '.' && p[1] == '.') {
            bool last_is_up = depth > 0 && n - starts[depth - 1] == 2 &&
                              out[starts[depth - 1]] == '.' && out[starts[depth - 1] + 1] == '.';
            if (depth > 0 && !last_is_up) {
                n = starts[--depth];
                if (n > (absolute ? 1u : 0u))
                    n--;    /* the slash before the removed component */
            } else if (!absolute) {
                if (n > 0 && out[n - 1] != '/')
                    out[n++] = '/';
                starts[depth++] = n;
                out[n++] = '.';
                out[n++] = '.';
            }
        } else {
            if (n > 0 && out[n - 1] != '/')
                out[n++] = '/';
            starts[depth++] = n;
            memcpy(out + n, p, clen);
            n += clen;
        }
        p += clen;
    }
    if (n == 0)
        out[n++] = '.';
    out[n] = '\0';
    free(starts);
    free(path);
    return out;
}

char *config_path_resolve(const char *base_dir, const char *path)
{
    char *joined;

    if (path[0] == '/' || base_dir == NULL || base_dir[0] == '\0') {
        joined = strdup(path);
    } else {
        size_t len = strlen(base_dir) + 1 + strlen(path) + 1;
        joined = malloc(len);
        if (joined != NULL)
            snprintf(joined, len, "%s/%s", base_dir, path);
    }
    return joined != NULL ? path_clean(joined) : NULL;
}

bool config_is_identifier(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > 64)
        return false;
    return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == n;
}

bool config_is_email(const char *s)
{
    const char *at = strrchr(s, '@');

    if (at == NULL || at == s || at[1] == '\0' || strlen(s) > 254)
        return false;
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++)
        if (*p <= 0x20 || *p == 0x7f || *p == '<' || *p == '>' || *p == ',')
            return false;
    return true;
}
