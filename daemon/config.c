/* SPDX-License-Identifier: MIT */
/* daemon/config.c: loads the daemon's JSON config: reads the file, parses it
 * with jansson (syntax errors carry line and column), fills struct config
 * over its defaults section by section while collecting every semantic error,
 * and hands the config over only when there were none. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "config_internal.h"

#define CONFIG_DEFAULT_PATH "config/drumbeat.json"
/* Far above any real config; a bound so a wrong path cannot make us read a disk image. */
#define CONFIG_FILE_MAX (16u << 20)

static const char *const top_keys[] = {
    "daemon", "store", "api", "public", "public_url", "plugin_path", "company",
    "team", "mailboxes", "channels", "enrichers", "templates", "import",
    "notifications", "dns", "icp", "cadences", "enrichment", NULL,
};

static int listener_defaults(struct config_listener *l, int port)
{
    l->address = strdup("127.0.0.1");
    l->port = port;
    l->max_connections = 256;
    l->timeout_ms = 30000;
    l->max_body = 1u << 20;
    return l->address != NULL ? 0 : -ENOMEM;
}

static int config_defaults(struct config *cfg, const char *name, const char *base_dir)
{
    cfg->path = strdup(name);
    cfg->base_dir = strdup(base_dir);
    cfg->log_level = LOG_LEVEL_INFO;
    cfg->shutdown_timeout_ms = 10000;
    cfg->threadpool_size = 16;
    cfg->dns.timeout_ms = 3000;
    cfg->dns.tries = 2;
    cfg->public_url = strdup("http://127.0.0.1:7781");
    cfg->plugin_path = calloc(1, sizeof(*cfg->plugin_path));
    if (listener_defaults(&cfg->api, 7780) != 0 || listener_defaults(&cfg->public_, 7781) != 0 ||
        cfg->path == NULL || cfg->base_dir == NULL || cfg->public_url == NULL ||
        cfg->plugin_path == NULL || config_import_defaults(cfg) != 0)
        return -ENOMEM;
    return 0;
}

void config_free(struct config *cfg)
{
    if (cfg == NULL)
        return;
    free(cfg->path);
    free(cfg->base_dir);
    free(cfg->pidfile);
    free(cfg->store_path);
    free(cfg->api.address);
    free(cfg->public_.address);
    free(cfg->public_url);
    config_strv_free(cfg->plugin_path);
    free(cfg->company_name);
    free(cfg->postal_address);
    free(cfg->templates_dir);
    free(cfg->unsub_secret_file);
    if (cfg->unsub_secret != NULL)
        explicit_bzero(cfg->unsub_secret, cfg->unsub_secret_len);
    free(cfg->unsub_secret);
    free(cfg->unsub_mailto);
    free(cfg->dns.servers);
    config_team_free(cfg);
    config_instances_free(cfg);
    config_import_free(cfg);
    config_notifications_free(cfg);
    config_icp_free(cfg);
    free(cfg->cadences_dir);
    free(cfg);
}

static void add_syntax_error(struct config_errors *errs, const char *name,
                             const json_error_t *jerr)
{
    struct errbuf err = { .code = -EINVAL };

    snprintf(err.file, sizeof(err.file), "%s", name);
    err.line = jerr->line > 0 ? jerr->line : 0;
    err.column = jerr->line > 0 && jerr->column > 0 ? jerr->column : 0;
    snprintf(err.what, sizeof(err.what), "%s", jerr->text);
    config_errors_add(errs, &err);
}

/* Replaces the last stored error with a count of those that did not fit. */
static void note_dropped(struct config_ctx *ctx, size_t stored_before)
{
    size_t stored = ctx->errs->count - stored_before;

    if (ctx->n_errors <= stored || stored == 0)
        return;
    struct errbuf *last = &ctx->errs->items[ctx->errs->count - 1];
    size_t hidden = ctx->n_errors - stored + 1;
    last->where[0] = '\0';
    snprintf(last->what, sizeof(last->what), "%zu more errors not shown", hidden);
}

int config_load_string(const char *text, size_t len, const char *name,
                       const char *base_dir, struct config **out,
                       struct config_errors *errs)
{
    struct config_errors local = { 0 };
    struct config *cfg = NULL;
    json_error_t jerr;
    int rc;

    if (errs == NULL)
        errs = &local;
    if (name == NULL)
        name = "<config>";
    if (base_dir == NULL)
        base_dir = ".";
    size_t stored_before = errs->count;
    struct config_ctx ctx = { .file = name, .base_dir = base_dir, .errs = errs };

    /* Duplicate keys are rejected: with them, which value wins is a guess. */
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL) {
        add_syntax_error(errs, name, &jerr);
        rc = -EINVAL;
        goto done;
    }
    if (!json_is_object(root)) {
        char got[128];
        config_describe(root, got, sizeof(got));
        config_ctx_error(&ctx, "", "expected an object at the top level, got %s", got);
        rc = -EINVAL;
        goto done;
    }
    cfg = calloc(1, sizeof(*cfg));
    if (cfg == NULL || config_defaults(cfg, name, base_dir) != 0) {
        ctx.oom = true;
        goto check;
    }
    config_ctx_keys(&ctx, root, "", top_keys);
    config_load_sections(&ctx, root, cfg);
    config_load_instances(&ctx, root, cfg);
    config_load_team(&ctx, root, cfg);
    config_load_import(&ctx, root, cfg);
    config_load_enrichment(&ctx, root, cfg);
    config_load_notifications(&ctx, root, cfg);
    config_load_icp(&ctx, root, cfg);
    config_load_cadences(&ctx, root, cfg);
check:
    if (ctx.oom) {
        struct errbuf err = { 0 };
        errbuf_at(&err, -ENOMEM, name, NULL, "out of memory while loading the config");
        config_errors_add(errs, &err);
        rc = -ENOMEM;
    } else if (ctx.n_errors > 0) {
        note_dropped(&ctx, stored_before);
        rc = -EINVAL;
    } else {
        *out = cfg;
        cfg = NULL;
        rc = 0;
    }
done:
    config_free(cfg);
    json_decref(root);
    config_errors_free(&local);
    return rc;
}

/* Reads the whole file; returns 0 or a negative errno (-EFBIG when too large). */
static int read_file(const char *path, char **text, size_t *len)
{
    struct stat st;
    int rc = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

    if (fd < 0)
        return -errno;
    if (fstat(fd, &st) != 0) {
        rc = -errno;
        goto out;
    }
    if (S_ISDIR(st.st_mode)) {
        rc = -EISDIR;
        goto out;
    }
    if (st.st_size > (off_t)CONFIG_FILE_MAX) {
        rc = -EFBIG;
        goto out;
    }
    size_t cap = (size_t)st.st_size + 1, n = 0;
    char *buf = malloc(cap);
    if (buf == NULL) {
        rc = -ENOMEM;
        goto out;
    }
    for (;;) {
        if (n == cap - 1) {
            /* The file grew since fstat (or is not a regular file). */
            char *bigger = cap - 1 < CONFIG_FILE_MAX ? realloc(buf, cap * 2) : NULL;
            if (bigger == NULL) {
                free(buf);
                rc = cap - 1 < CONFIG_FILE_MAX ? -ENOMEM : -EFBIG;
                goto out;
            }
            buf = bigger;
            cap *= 2;
        }
        ssize_t r = read(fd, buf + n, cap - 1 - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            rc = -errno;
            free(buf);
            goto out;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    buf[n] = '\0';
    *text = buf;
    *len = n;
out:
    close(fd);
    return rc;
}

int config_load(const char *path, struct config **out, struct config_errors *errs)
{
    char *text = NULL, *dir = NULL;
    char real[PATH_MAX];
    size_t len = 0;
    int rc;

    if (path == NULL)
        path = CONFIG_DEFAULT_PATH;
    rc = read_file(path, &text, &len);
    if (rc != 0) {
        struct errbuf err = { 0 };
        if (rc == -EFBIG)
            errbuf_at(&err, rc, path, NULL, "the config file is larger than %u MiB",
                      CONFIG_FILE_MAX >> 20);
        else
            errbuf_at(&err, rc, path, NULL, "cannot read the config file: %s", strerror(-rc));
        config_errors_add(errs, &err);
        return rc;
    }
    /* Relative paths inside resolve against the file's folder, made absolute
     * so that they keep meaning the same thing whatever the working folder. */
    dir = strdup(path);
    if (dir == NULL) {
        free(text);
        return -ENOMEM;
    }
    const char *base = dirname(dir);
    if (realpath(base, real) != NULL)
        base = real;
    rc = config_load_string(text, len, path, base, out, errs);
    free(dir);
    free(text);
    return rc;
}
