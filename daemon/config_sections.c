/* SPDX-License-Identifier: MIT */
/* daemon/config_sections.c: the scalar sections of the config: "daemon",
 * "store", the "api" and "public" listeners, "public_url", "plugin_path",
 * "company", "templates" and "dns". Each reads into struct config over the defaults already there
 * and records every problem it finds in the load context. */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "config_internal.h"
#include "unsub_token.h"

void config_ctx_log_level(struct config_ctx *ctx, const json_t *obj, const char *path,
                          const char *key, enum log_level *dst)
{
    struct errbuf err = { 0 };
    const char *s;
    int rc = config_get_string(obj, path, key, &s, &err);

    if (rc == -ENOENT)
        return;
    if (rc != 0) {
        config_ctx_add(ctx, &err);
        return;
    }
    if (log_level_parse(s, dst) != 0) {
        char where[256], got[128];
        config_path_key(where, sizeof(where), path, key);
        config_describe(json_object_get(obj, key), got, sizeof(got));
        config_ctx_error(ctx, where,
                         "expected one of \"error\", \"warn\", \"info\", \"debug\", got %s", got);
    }
}

static void load_daemon(struct config_ctx *ctx, const json_t *root, struct config *cfg)
{
    static const char *const keys[] = {
        "log_level", "pidfile", "shutdown_timeout", "threadpool_size", NULL,
    };
    const json_t *obj = config_ctx_object(ctx, root, "", "daemon");
    int64_t n;

    if (obj == NULL)
        return;
    config_ctx_keys(ctx, obj, "daemon", keys);
    config_ctx_log_level(ctx, obj, "daemon", "log_level", &cfg->log_level);
    char *pidfile = NULL;
    if (config_ctx_string(ctx, obj, "daemon", "pidfile", false, &pidfile)) {
        if (pidfile[0] == '\0') {
            config_ctx_error(ctx, "daemon.pidfile", "expected a file name, got \"\"");
        } else {
            cfg->pidfile = config_path_resolve(ctx->base_dir, pidfile);
            if (cfg->pidfile == NULL)
                ctx->oom = true;
        }
    }
    free(pidfile);
    config_ctx_duration(ctx, obj, "daemon", "shutdown_timeout", &cfg->shutdown_timeout_ms);
    /* libuv caps its threadpool at 1024 threads. */
    if (config_ctx_int(ctx, obj, "daemon", "threadpool_size", 1, 1024, &n))
        cfg->threadpool_size = (int)n;
}

static void load_store(struct config_ctx *ctx, const json_t *root, struct config *cfg)
{
    static const char *const keys[] = { "path", NULL };
    const json_t *obj = config_ctx_object(ctx, root, "", "store");
    char *path = NULL;

    if (obj != NULL) {
        config_ctx_keys(ctx, obj, "store", keys);
        if (config_ctx_string(ctx, obj, "store", "path", false, &path) && path[0] == '\0')
            config_ctx_error(ctx, "store.path", "expected a file name, got \"\"");
    }
    char *resolved = config_path_resolve(ctx->base_dir,
                                         path != NULL && path[0] != '\0' ? path : "var/drumbeat.db");
    free(path);
    if (resolved == NULL) {
        ctx->oom = true;
        return;
    }
    free(cfg->store_path);
    cfg->store_path = resolved;
}

static bool is_ip_literal(const char *s)
{
    unsigned char buf[sizeof(struct in6_addr)];
    return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

static void load_listener(struct config_ctx *ctx, const json_t *root, const char *key,
                          struct config_listener *l)
{
    static const char *const keys[] = {
        "address", "port", "max_connections", "timeout", "max_body", NULL,
    };
    const json_t *obj = config_ctx_object(ctx, root, "", key);
    char where[256];
    int64_t n;

    if (obj == NULL)
        return;
    config_ctx_keys(ctx, obj, key, keys);
    if (config_ctx_string(ctx, obj, key, "address", false, &l->address) &&
        !is_ip_literal(l->address)) {
        char got[128];
        config_path_key(where, sizeof(where), key, "address");
        config_describe(json_object_get(obj, "address"), got, sizeof(got));
        config_ctx_error(ctx, where, "expected an IPv4 or IPv6 address such as \"127.0.0.1\" "
                         "or \"::1\", got %s", got);
    }
    if (config_ctx_int(ctx, obj, key, "port", 0, 65535, &n))
        l->port = (int)n;
    if (config_ctx_int(ctx, obj, key, "max_connections", 1, INT_MAX, &n))
        l->max_connections = (int)n;
    config_ctx_duration(ctx, obj, key, "timeout", &l->timeout_ms);
    if (config_ctx_int(ctx, obj, key, "max_body", 1, INT64_MAX, &n))
        l->max_body = (size_t)n;
}

static void load_public_url(struct config_ctx *ctx, const json_t *root, struct config *cfg)
{
    if (!config_ctx_string(ctx, root, "", "public_url", false, &cfg->public_url))
        return;
    const char *u = cfg->public_url;
    const char *host = strncmp(u, "https://", 8) == 0 ? u + 8
                       : strncmp(u, "http://", 7) == 0 ? u + 7 : NULL;
    bool clean = true;
    for (const unsigned char *p = (const unsigned char *)u; *p != '\0'; p++)
        clean = clean && *p > 0x20 && *p != 0x7f;
    if (host == NULL || *host == '\0' || *host == '/' || !clean) {
        char got[128];
        config_describe(json_object_get(root, "public_url"), got, sizeof(got));
        config_ctx_error(ctx, "public_url",
                         "expected an http:// or https:// URL such as \"https://example.com\", "
                         "got %s", got);
        return;
    }
    /* Links are built as public_url + "/u/TOKEN": drop trailing slashes once here. */
    size_t len = strlen(cfg->public_url);
    while (len > (size_t)(host - u) + 1 && cfg->public_url[len - 1] == '/')
        cfg->public_url[--len] = '\0';
}

static void load_company(struct config_ctx *ctx, const json_t *root, struct config *cfg)
{
    static const char *const keys[] = { "name", "postal_address", NULL };
    const json_t *obj = config_ctx_object(ctx, root, "", "company");

    if (obj == NULL)
        return;
    config_ctx_keys(ctx, obj, "company", keys);
    config_ctx_string(ctx, obj, "company", "name", false, &cfg->company_name);
    config_ctx_string(ctx, obj, "company", "postal_address", false, &cfg->postal_address);
}

/* "templates": where the template files live (loaded and checked by
 * template_set_load, not here) and what List-Unsubscribe needs: the HMAC
 * secret for the link's token and the mailto: address. */
static void load_templates(struct config_ctx *ctx, const json_t *root, struct config *cfg)
{
    static const char *const keys[] = {
        "dir", "unsubscribe_secret_file", "list_unsubscribe_mailto", NULL,
    };
    const json_t *obj = config_ctx_object(ctx, root, "", "templates");
    char *value = NULL;

    if (obj == NULL)
        return;
    config_ctx_keys(ctx, obj, "templates", keys);
    if (config_ctx_string(ctx, obj, "templates", "dir", false, &value) && value[0] == '\0')
        config_ctx_error(ctx, "templates.dir", "expected a folder name, got \"\"");
    cfg->templates_dir = config_path_resolve(ctx->base_dir,
                                             value != NULL && value[0] != '\0' ? value
                                                                               : "templates");
    free(value);
    value = NULL;
    if (cfg->templates_dir == NULL)
        ctx->oom = true;

    if (config_ctx_string(ctx, obj, "templates", "unsubscribe_secret_file", false, &value)) {
        cfg->unsub_secret_file = config_path_resolve(ctx->base_dir, value);
        struct errbuf err = { 0 };
        if (cfg->unsub_secret_file == NULL)
            ctx->oom = true;
        else if (unsub_secret_load(cfg->unsub_secret_file, &cfg->unsub_secret,
                                   &cfg->unsub_secret_len, &err) < 0)
            config_ctx_error(ctx, "templates.unsubscribe_secret_file", "%s: %s",
                             cfg->unsub_secret_file, err.what);
    }
    free(value);
    if (config_ctx_string(ctx, obj, "templates", "list_unsubscribe_mailto", false,
                          &cfg->unsub_mailto) && !config_is_email(cfg->unsub_mailto)) {
        char got[128];
        config_describe(json_object_get(obj, "list_unsubscribe_mailto"), got, sizeof(got));
        config_ctx_error(ctx, "templates.list_unsubscribe_mailto", "expected an email address "
                         "such as \"unsubscribe@example.com\", got %s", got);
    }
}

/* One "servers" entry: "IPv4[:port]", "IPv6" or "[IPv6][:port]". */
static bool is_dns_server(const char *s, size_t len)
{
    char host[64];
    const char *port = NULL;
    unsigned char buf[sizeof(struct in6_addr)];
    size_t hlen;

    if (len == 0 || len >= sizeof(host))
        return false;
    if (s[0] == '[') {
        const char *close = memchr(s, ']', len);
        if (close == NULL)
            return false;
        hlen = (size_t)(close - s - 1);
        memcpy(host, s + 1, hlen);
        host[hlen] = '\0';
        if (inet_pton(AF_INET6, host, buf) != 1)
            return false;
        if ((size_t)(close - s) + 1 < len) {
            if (close[1] != ':')
                return false;
            port = close + 2;
        }
    } else {
        const char *colon = memchr(s, ':', len);
        bool v6 = colon != NULL && memchr(colon + 1, ':', len - (size_t)(colon - s) - 1) != NULL;
        hlen = v6 || colon == NULL ? len : (size_t)(colon - s);
        memcpy(host, s, hlen);
        host[hlen] = '\0';
        if (inet_pton(v6 ? AF_INET6 : AF_INET, host, buf) != 1)
            return false;
        if (!v6 && colon != NULL)
            port = colon + 1;
    }
    if (port != NULL) {
        long v = 0;
        const char *end = s + len;
        if (port >= end)
            return false;
        for (const char *p = port; p < end; p++) {
            if (*p < '0' || *p > '9' || (v = v * 10 + (*p - '0')) > 65535)
                return false;
        }
        if (v == 0)
            return false;
    }
    return true;
}

/* "dns": {"servers": "127.0.0.1:5353", "timeout": "3s", "tries": 2}, the
 * resolver of the mailbox preflight. Tests point it at their dnsmasq. */
static void load_dns(struct config_ctx *ctx, const json_t *root, struct config *cfg)
{
    static const char *const keys[] = { "servers", "timeout", "tries", NULL };
    const json_t *obj = config_ctx_object(ctx, root, "", "dns");
    int64_t n;

    if (obj == NULL)
        return;
    config_ctx_keys(ctx, obj, "dns", keys);
    if (config_ctx_string(ctx, obj, "dns", "servers", false, &cfg->dns.servers)) {
        const char *s = cfg->dns.servers;
        bool ok = s[0] != '\0';
        while (ok && *s != '\0') {
            size_t len = strcspn(s, ",");
            ok = is_dns_server(s, len);
            s += len + (s[len] == ',');
        }
        if (!ok) {
            char got[128];
            config_describe(json_object_get(obj, "servers"), got, sizeof(got));
            config_ctx_error(ctx, "dns.servers", "expected comma-separated IP addresses with "
                             "optional ports, such as \"127.0.0.1:5353,[::1]:53\", got %s", got);
        }
    }
    if (config_ctx_duration(ctx, obj, "dns", "timeout", &cfg->dns.timeout_ms) &&
        (cfg->dns.timeout_ms == 0 || cfg->dns.timeout_ms > 60000))
        config_ctx_error(ctx, "dns.timeout", "expected a duration from 1ms to 60s, got %llums",
                         (unsigned long long)cfg->dns.timeout_ms);
    if (config_ctx_int(ctx, obj, "dns", "tries", 1, 10, &n))
        cfg->dns.tries = (int)n;
}

void config_load_sections(struct config_ctx *ctx, const json_t *root, struct config *cfg)
{
    load_daemon(ctx, root, cfg);
    load_store(ctx, root, cfg);
    load_listener(ctx, root, "api", &cfg->api);
    load_listener(ctx, root, "public", &cfg->public_);
    if (cfg->api.port != 0 && cfg->api.port == cfg->public_.port &&
        strcmp(cfg->api.address, cfg->public_.address) == 0)
        config_ctx_error(ctx, "public.port", "the public listener cannot share %s port %d "
                         "with the api listener", cfg->api.address, cfg->api.port);
    load_public_url(ctx, root, cfg);

    char **dirs = config_ctx_strv(ctx, root, "", "plugin_path", true);
    if (dirs != NULL) {
        config_strv_free(cfg->plugin_path);
        cfg->plugin_path = dirs;
    }
    load_company(ctx, root, cfg);
    load_templates(ctx, root, cfg);
    load_dns(ctx, root, cfg);
}
