/* SPDX-License-Identifier: MIT */
/* plugins/channel_webhook/webhook_conf.h: the webhook channel's options (the
 * table the host validates) and what init makes of them: the shared secret
 * read from a file or an environment variable, and the extra headers parsed
 * into a curl list.
 *
 * Ownership:
 *   struct wh_settings   filled and owned by the host until fini; every
 *                        string in it is the host's.
 *   struct wh_conf       owned by the plugin; wh_conf_free() wipes the secret
 *                        and frees everything.
 * Threads: loop thread (init).
 */
#ifndef WEBHOOK_CONF_H
#define WEBHOOK_CONF_H

#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>
#include <drumbeat/plugin.h>

/* Filled by the host from the instance's "options" (see wh_options). */
struct wh_settings {
    const char *url;
    const char *secret_file;       /* path; the file holds the shared secret */
    const char *secret_env;        /* name of an environment variable holding it */
    const char *headers;           /* "Name: value; Name2: value2" */
    uint64_t timeout_ms;
    int64_t max_in_flight;
};

extern const struct drumbeat_option wh_options[];

/* What init derived from the settings. */
struct wh_conf {
    const struct wh_settings *set; /* borrowed from the host until fini */
    char *secret;                  /* NULL: requests go unsigned */
    size_t secret_len;
    struct curl_slist *headers;    /* the configured extra headers, or NULL */
    size_t max_in_flight;          /* >= 1 */
};

/* Builds conf from set. On failure returns a negative errno and writes a
 * one-line reason (never the secret) into why. */
int wh_conf_init(struct wh_conf *conf, const struct wh_settings *set, char *why,
                 size_t why_len);
/* Wipes the secret and frees what wh_conf_init allocated. */
void wh_conf_free(struct wh_conf *conf);

/* Parses "Name: value; Name2: value2" into a curl list appended to *list.
 * A name is an HTTP token; a value may not hold CR, LF or ';'. Headers the
 * channel sets itself (Content-Type, Content-Length, Idempotency-Key,
 * X-Drumbeat-Signature, Host) are refused. Returns 0 or -EINVAL with why
 * naming the entry by position (never its value). */
int wh_headers_parse(const char *text, struct curl_slist **list, char *why, size_t why_len);

#endif /* WEBHOOK_CONF_H */
