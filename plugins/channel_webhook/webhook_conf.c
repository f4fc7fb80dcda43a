/* SPDX-License-Identifier: MIT */
/* plugins/channel_webhook/webhook_conf.c: the option table and turning the
 * settings into what the sender needs: the shared secret (from a file or an
 * environment variable, never from the config itself, so the config can be
 * shown and committed) and the configured extra headers. Nothing here ever
 * puts a secret or a header value into a message. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "webhook_conf.h"

/* Far above any real key; a bound so a wrong path cannot make us read a disk. */
#define WH_SECRET_MAX 4096

const struct drumbeat_option wh_options[] = {
    { "url", DRUMBEAT_OPT_STRING, NULL, DRUMBEAT_OPT_REQUIRED,
      offsetof(struct wh_settings, url), "http(s) URL that receives each touch as a JSON POST" },
    { "secret_file", DRUMBEAT_OPT_PATH, NULL, DRUMBEAT_OPT_SECRET,
      offsetof(struct wh_settings, secret_file),
      "File holding the shared secret that signs each request (X-Drumbeat-Signature)" },
    { "secret_env", DRUMBEAT_OPT_STRING, NULL, 0,
      offsetof(struct wh_settings, secret_env),
      "Environment variable holding the shared secret (instead of secret_file)" },
    { "headers", DRUMBEAT_OPT_STRING, NULL, DRUMBEAT_OPT_SECRET,
      offsetof(struct wh_settings, headers),
      "Extra request headers, \"Name: value; Name2: value2\" (may carry credentials)" },
    { "timeout", DRUMBEAT_OPT_DURATION_MS, "10s", 0,
      offsetof(struct wh_settings, timeout_ms), "Give up on one request after this long" },
    { "max_in_flight", DRUMBEAT_OPT_INT, "16", 0,
      offsetof(struct wh_settings, max_in_flight), "Requests open at once (1..1024)" },
    { 0 },
};

static int read_secret_file(const char *path, char **out, size_t *len, char *why, size_t why_len)
{
    char *buf = malloc(WH_SECRET_MAX + 1);
    size_t n = 0;
    int rc = 0, fd;

    if (buf == NULL)
        return -ENOMEM;
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        rc = -errno;
        snprintf(why, why_len, "cannot open secret_file: %s", strerror(-rc));
        free(buf);
        return rc;
    }
    for (;;) {
        ssize_t r = read(fd, buf + n, WH_SECRET_MAX + 1 - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            rc = -errno;
            snprintf(why, why_len, "cannot read secret_file: %s", strerror(-rc));
            break;
        }
        if (r == 0)
            break;
        n += (size_t)r;
        if (n > WH_SECRET_MAX) {
            rc = -EFBIG;
            snprintf(why, why_len, "secret_file is larger than %d bytes", WH_SECRET_MAX);
            break;
        }
    }
    close(fd);
    if (rc < 0) {
        explicit_bzero(buf, WH_SECRET_MAX + 1);
        free(buf);
        return rc;
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return 0;
}

/* Editors add a final newline; a secret never ends in white space. */
static void trim_secret(char *s, size_t *len)
{
    while (*len > 0 && isspace((unsigned char)s[*len - 1]))
        s[--*len] = '\0';
}

static int load_secret(struct wh_conf *conf, const struct wh_settings *set, char *why,
                       size_t why_len)
{
    int rc;

    if (set->secret_file != NULL && set->secret_env != NULL) {
        snprintf(why, why_len, "set secret_file or secret_env, not both");
        return -EINVAL;
    }
    if (set->secret_file != NULL) {
        rc = read_secret_file(set->secret_file, &conf->secret, &conf->secret_len, why, why_len);
        if (rc < 0)
            return rc;
    } else if (set->secret_env != NULL) {
        const char *v = getenv(set->secret_env);
        if (v == NULL) {
            snprintf(why, why_len, "secret_env: the environment variable %.64s is not set",
                     set->secret_env);
            return -ENOENT;
        }
        conf->secret = strdup(v);
        if (conf->secret == NULL)
            return -ENOMEM;
        conf->secret_len = strlen(v);
    } else {
        return 0;
    }
    trim_secret(conf->secret, &conf->secret_len);
    if (conf->secret_len == 0) {
        snprintf(why, why_len, "the shared secret is empty");
        return -EINVAL;
    }
    return 0;
}

static bool is_token_char(int c)
{
    return isalnum(c) || (c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static const char *const reserved_headers[] = {
    "Content-Type", "Content-Length", "Idempotency-Key", "X-Drumbeat-Signature", "Host",
    "Transfer-Encoding", NULL,
};

int wh_headers_parse(const char *text, struct curl_slist **list, char *why, size_t why_len)
{
    int index = 0;

    for (const char *p = text; p != NULL && *p != '\0';) {
        const char *end = strchr(p, ';');
        size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
        const char *next = end != NULL ? end + 1 : NULL;

        while (len > 0 && isspace((unsigned char)*p))
            p++, len--;
        while (len > 0 && isspace((unsigned char)p[len - 1]))
            len--;
        if (len == 0) {
            p = next;
            continue;
        }
        index++;
        size_t name_len = 0;
        while (name_len < len && is_token_char((unsigned char)p[name_len]))
            name_len++;
        if (name_len == 0 || name_len == len || p[name_len] != ':') {
            snprintf(why, why_len, "headers: entry %d: expected \"Name: value\"", index);
            return -EINVAL;
        }
        for (size_t i = name_len + 1; i < len; i++)
            if (p[i] == '\r' || p[i] == '\n' || p[i] == '\0') {
                snprintf(why, why_len, "headers: entry %d: a value may not hold CR or LF", index);
                return -EINVAL;
            }
        for (const char *const *r = reserved_headers; *r != NULL; r++)
            if (strlen(*r) == name_len && strncasecmp(*r, p, name_len) == 0) {
                snprintf(why, why_len, "headers: entry %d: %s is set by the channel itself",
                         index, *r);
                return -EINVAL;
            }
        char *line = strndup(p, len);
        if (line == NULL)
            return -ENOMEM;
        struct curl_slist *grown = curl_slist_append(*list, line);
        explicit_bzero(line, len);
        free(line);
        if (grown == NULL)
            return -ENOMEM;
        *list = grown;
        p = next;
    }
    return 0;
}

int wh_conf_init(struct wh_conf *conf, const struct wh_settings *set, char *why, size_t why_len)
{
    int rc;

    memset(conf, 0, sizeof(*conf));
    conf->set = set;
    if (strncasecmp(set->url, "http://", 7) != 0 && strncasecmp(set->url, "https://", 8) != 0) {
        snprintf(why, why_len, "url: expected an http:// or https:// URL");
        return -EINVAL;
    }
    if (set->max_in_flight < 1 || set->max_in_flight > 1024) {
        snprintf(why, why_len, "max_in_flight: expected 1..1024, got %lld",
                 (long long)set->max_in_flight);
        return -EINVAL;
    }
    if (set->timeout_ms == 0) {
        snprintf(why, why_len, "timeout: expected a positive duration");
        return -EINVAL;
    }
    conf->max_in_flight = (size_t)set->max_in_flight;
    rc = load_secret(conf, set, why, why_len);
    if (rc == 0)
        rc = wh_headers_parse(set->headers, &conf->headers, why, why_len);
    if (rc < 0)
        wh_conf_free(conf);
    return rc;
}

void wh_conf_free(struct wh_conf *conf)
{
    if (conf->secret != NULL) {
        explicit_bzero(conf->secret, conf->secret_len);
        free(conf->secret);
    }
    conf->secret = NULL;
    conf->secret_len = 0;
    /* curl_slist_free_all cannot wipe; the header values may carry tokens. */
    for (struct curl_slist *h = conf->headers; h != NULL; h = h->next)
        explicit_bzero(h->data, strlen(h->data));
    curl_slist_free_all(conf->headers);
    conf->headers = NULL;
}
