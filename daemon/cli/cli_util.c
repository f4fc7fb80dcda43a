/* SPDX-License-Identifier: MIT */
/* daemon/cli/cli_util.c: what every API subcommand shares: the common
 * options, finding the daemon (--url, else the config's api.address and
 * api.port, else http://127.0.0.1:7780), the bearer token (--token-file,
 * $DRUMBEAT_TOKEN_FILE, $DRUMBEAT_TOKEN) and one blocking libcurl request
 * whose JSON reply is handed back. The token is never printed.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "build-aux/config.h"
#include "cli.h"

#define CLI_DEFAULT_CONFIG "config/drumbeat.json"
#define CLI_DEFAULT_URL "http://127.0.0.1:7780"
/* Replies are small JSON documents; a bound keeps a wrong --url harmless. */
#define CLI_MAX_REPLY (64u * 1024 * 1024)

static int cli_opt_value(int *i, int argc, char **argv, const char *name, const char **out)
{
    const char *arg = argv[*i];
    size_t n = strlen(name);

    if (strncmp(arg, name, n) == 0 && arg[n] == '=') {
        *out = arg + n + 1;
        return 1;
    }
    if (strcmp(arg, name) != 0)
        return 0;
    if (*i + 1 >= argc) {
        fprintf(stderr, "drumbeat: %s needs a value\n", name);
        return -1;
    }
    *out = argv[++*i];
    return 1;
}

int cli_common_opt(struct cli_common *c, int *i, int argc, char **argv)
{
    const char *arg = argv[*i];
    int r;

    if (strcmp(arg, "--json") == 0) {
        c->json = 1;
        return 1;
    }
    if (strcmp(arg, "-c") == 0)
        return cli_opt_value(i, argc, argv, "-c", &c->config_path);
    if ((r = cli_opt_value(i, argc, argv, "--config", &c->config_path)) != 0)
        return r;
    if ((r = cli_opt_value(i, argc, argv, "--url", &c->url)) != 0)
        return r;
    return cli_opt_value(i, argc, argv, "--token-file", &c->token_file);
}

/* Only api.address and api.port are needed, so the file is read with
 * jansson rather than config_load(): that one validates everything and reads
 * every person's token file, which the user running the CLI may not be
 * allowed to read; finding the daemon must not depend on that. */
static int cli_url_from_config(const char *path, bool explicit, char *url, size_t len)
{
    json_error_t jerr;
    json_t *root, *api;
    const char *addr = "127.0.0.1";
    json_int_t port = 7780;

    if (!explicit && access(path, F_OK) != 0)
        return -ENOENT;
    root = json_load_file(path, 0, &jerr);
    if (root == NULL) {
        if (jerr.line > 0)
            fprintf(stderr, "drumbeat: %s:%d:%d: %s\n", path, jerr.line, jerr.column, jerr.text);
        else
            fprintf(stderr, "drumbeat: cannot read %s: %s\n", path, jerr.text);
        return -EINVAL;
    }
    api = json_object_get(root, "api");
    if (json_is_string(json_object_get(api, "address")))
        addr = json_string_value(json_object_get(api, "address"));
    if (json_is_integer(json_object_get(api, "port")))
        port = json_integer_value(json_object_get(api, "port"));
    /* A wildcard bind is reached on loopback. */
    if (strcmp(addr, "0.0.0.0") == 0)
        addr = "127.0.0.1";
    else if (strcmp(addr, "::") == 0)
        addr = "::1";
    if (strchr(addr, ':') != NULL)
        snprintf(url, len, "http://[%s]:%lld", addr, (long long)port);
    else
        snprintf(url, len, "http://%s:%lld", addr, (long long)port);
    json_decref(root);
    return 0;
}

static int cli_base_url(const struct cli_common *c, char *url, size_t len)
{
    if (c->url != NULL) {
        snprintf(url, len, "%s", c->url);
        size_t n = strlen(url);
        while (n > 0 && url[n - 1] == '/')
            url[--n] = '\0';
        return 0;
    }
    const char *path = c->config_path != NULL ? c->config_path : CLI_DEFAULT_CONFIG;
    int rc = cli_url_from_config(path, c->config_path != NULL, url, len);
    if (rc == -ENOENT) {
        snprintf(url, len, "%s", CLI_DEFAULT_URL);
        return 0;
    }
    return rc;
}

/* Reads the token into buf (trimmed), or leaves it empty when none is set. */
static int cli_token(const struct cli_common *c, char *buf, size_t len)
{
    const char *file = c->token_file != NULL ? c->token_file : getenv("DRUMBEAT_TOKEN_FILE");
    const char *env = getenv("DRUMBEAT_TOKEN");

    buf[0] = '\0';
    if (file != NULL && *file != '\0') {
        FILE *f = fopen(file, "r");
        if (f == NULL) {
            int e = errno;
            fprintf(stderr, "drumbeat: cannot read the token file %s: %s\n", file, strerror(e));
            return -e;
        }
        size_t n = fread(buf, 1, len - 1, f);
        fclose(f);
        buf[n] = '\0';
    } else if (env != NULL) {
        snprintf(buf, len, "%s", env);
    }
    size_t start = strspn(buf, " \t\r\n");
    memmove(buf, buf + start, strlen(buf + start) + 1);
    size_t n = strlen(buf);
    while (n > 0 && strchr(" \t\r\n", buf[n - 1]) != NULL)
        buf[--n] = '\0';
    if (strpbrk(buf, "\r\n") != NULL) {
        fprintf(stderr, "drumbeat: the token spans several lines\n");
        return -EINVAL;
    }
    return 0;
}

struct cli_reply {
    char *data;
    size_t len;
    bool too_big;
};

static size_t on_cli_data(char *p, size_t size, size_t n, void *arg)
{
    struct cli_reply *r = arg;
    size_t len = size * n;
    if (r->len + len > CLI_MAX_REPLY) {
        r->too_big = true;
        return 0;
    }
    char *d = realloc(r->data, r->len + len + 1);
    if (d == NULL)
        return 0;
    memcpy(d + r->len, p, len);
    r->data = d;
    r->len += len;
    r->data[r->len] = '\0';
    return len;
}

static int cli_curl_errno(CURLcode rc)
{
    switch (rc) {
    case CURLE_COULDNT_CONNECT: return -ECONNREFUSED;
    case CURLE_OPERATION_TIMEDOUT: return -ETIMEDOUT;
    case CURLE_COULDNT_RESOLVE_HOST: return -EHOSTUNREACH;
    case CURLE_OUT_OF_MEMORY: return -ENOMEM;
    case CURLE_URL_MALFORMAT: return -EINVAL;
    default: return -EIO;
    }
}

int cli_api_request(const struct cli_common *common, const char *method,
                    const char *path, const json_t *request, json_t **body)
{
    static bool curl_ready;
    char base[512], url[2048], token[1024], auth[1100];
    char errtext[CURL_ERROR_SIZE] = "";
    struct cli_reply reply = { 0 };
    struct curl_slist *headers = NULL;
    char *payload = NULL;
    CURL *c = NULL;
    long status = 0;
    int rc;

    *body = NULL;
    if ((rc = cli_base_url(common, base, sizeof(base))) < 0 ||
        (rc = cli_token(common, token, sizeof(token))) < 0)
        return rc;
    snprintf(url, sizeof(url), "%s%s", base, path);
    if (!curl_ready) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
            fprintf(stderr, "drumbeat: cannot initialise libcurl\n");
            return -ENOMEM;
        }
        curl_ready = true;
    }
    c = curl_easy_init();
    if (c == NULL) {
        rc = -ENOMEM;
        goto fail;
    }
    headers = curl_slist_append(headers, "Accept: application/json");
    if (token[0] != '\0') {
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
        headers = curl_slist_append(headers, auth);
    }
    if (request != NULL) {
        payload = json_dumps(request, JSON_COMPACT);
        if (payload == NULL) {
            rc = -ENOMEM;
            goto fail;
        }
        headers = curl_slist_append(headers, "Content-Type: application/json");
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, payload);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(payload));
    }
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 5L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 120L);
    /* The daemon is normally local: a proxy from the environment is wrong here. */
    curl_easy_setopt(c, CURLOPT_NOPROXY, "127.0.0.1,localhost,::1");
    curl_easy_setopt(c, CURLOPT_USERAGENT, "drumbeat/" PACKAGE_VERSION);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_cli_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &reply);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errtext);
    CURLcode cc = curl_easy_perform(c);
    if (cc != CURLE_OK) {
        if (reply.too_big)
            fprintf(stderr, "drumbeat: the reply from %s is larger than %u bytes\n", url,
                    CLI_MAX_REPLY);
        else
            fprintf(stderr, "drumbeat: cannot reach drumbeatd at %s: %s\n"
                            "  (is it running? set the address with --url or -c FILE)\n",
                    base, errtext[0] != '\0' ? errtext : curl_easy_strerror(cc));
        rc = reply.too_big ? -EMSGSIZE : cli_curl_errno(cc);
        goto fail;
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    if (reply.data != NULL) {
        char *ct = NULL;
        curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct);
        if (ct != NULL && strstr(ct, "json") != NULL)
            *body = json_loadb(reply.data, reply.len, 0, NULL);
    }
    rc = (int)status;

fail:
    free(payload);
    free(reply.data);
    curl_slist_free_all(headers);
    if (c != NULL)
        curl_easy_cleanup(c);
    /* The token is a secret: do not leave it in freed stack memory needlessly. */
    memset(token, 0, sizeof(token));
    memset(auth, 0, sizeof(auth));
    return rc;
}

int cli_api_target(const struct cli_common *common, char *url, size_t url_len, char *token,
                   size_t token_len)
{
    int rc = cli_base_url(common, url, url_len);
    return rc < 0 ? rc : cli_token(common, token, token_len);
}

void cli_print_api_error(int status, const json_t *body)
{
    const char *msg = json_string_value(json_object_get(body, "error"));

    if (msg != NULL)
        fprintf(stderr, "drumbeat: error: %s (HTTP %d)\n", msg, status);
    else
        fprintf(stderr, "drumbeat: error: the daemon answered HTTP %d\n", status);
    if (status == 401)
        fprintf(stderr, "  (give your token with --token-file FILE, $DRUMBEAT_TOKEN_FILE or "
                        "$DRUMBEAT_TOKEN)\n");
}

int cli_api_failed(int status, json_t *reply)
{
    /* A negative status means the daemon was not reached: that is printed already. */
    if (status > 0)
        cli_print_api_error(status, reply);
    json_decref(reply);
    return status >= 400 && status < 500 ? CLI_INVALID : CLI_FAIL;
}

int cli_verb_args(int argc, char **argv, const char *usage, struct cli_common *common,
                  const char **verb, const char **arg)
{
    *verb = *arg = NULL;
    for (int i = 1; i < argc; i++) {
        int used = cli_common_opt(common, &i, argc, argv);
        if (used < 0)
            return CLI_USAGE;
        if (used > 0)
            continue;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(usage, stdout);
            return CLI_OK;
        } else if (*verb == NULL && argv[i][0] != '-') {
            *verb = argv[i];
        } else if (*arg == NULL && argv[i][0] != '-') {
            *arg = argv[i];
        } else {
            fprintf(stderr, "drumbeat: error: unexpected argument %s\n", argv[i]);
            fputs(usage, stderr);
            return CLI_USAGE;
        }
    }
    return -1;
}
