/* SPDX-License-Identifier: MIT */
/* plugins/enrich_http/ehttp_conf.h: the HTTP enricher's options (the table
 * the host validates) and what init makes of them: the checked URL template,
 * the request headers with their ${ENV:NAME} and ${FILE:path} references
 * read, and the map from lead fields to JSON pointers into the reply.
 *
 * Ownership:
 *   struct ehttp_settings  filled and owned by the host until fini; every
 *                          string in it is the host's.
 *   struct ehttp_conf      owned by the plugin; ehttp_conf_free() wipes the
 *                          header values and frees everything.
 * Threads: loop thread (init).
 */
#ifndef EHTTP_CONF_H
#define EHTTP_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>
#include <drumbeat/plugin.h>

/* Filled by the host from the instance's "options" (see ehttp_options). */
struct ehttp_settings {
    const char *url;               /* template: "https://api.example/v1/{domain}" */
    const char *method;            /* "GET" or "POST" */
    const char *headers;           /* "Name: value\nName2: value2" */
    const char *map;               /* "field=/json/pointer,field2=/other/0" */
    const char *files_dir;         /* where relative ${FILE:...} paths start */
    uint64_t timeout_ms;
    int64_t max_response;          /* bytes */
};

extern const struct drumbeat_option ehttp_options[];

struct ehttp_map_entry {
    char *field;                   /* "industry" */
    char *pointer;                 /* "/company/industry", checked */
};

/* What init derived from the settings. */
struct ehttp_conf {
    const struct ehttp_settings *set;  /* borrowed from the host until fini */
    bool post;
    struct curl_slist *headers;    /* configured headers, then Accept (and
                                      Content-Type for POST) */
    char **secrets;                /* every header value, to scrub from details */
    size_t n_secrets;
    struct ehttp_map_entry *map;
    size_t n_map;
    const char **provides;         /* the map's fields, NULL-terminated */
    size_t max_response;
};

/* Builds conf from set. On failure returns a negative errno and writes a
 * one-line reason into why (never a header value, never the URL). */
int ehttp_conf_init(struct ehttp_conf *conf, const struct ehttp_settings *set, char *why,
                    size_t why_len);
/* Wipes the header values and frees what ehttp_conf_init allocated. */
void ehttp_conf_free(struct ehttp_conf *conf);

/* Replaces every configured header value found in text (NUL-terminated,
 * edited in place) with "***": a server that echoes a credential back must
 * not put it into a touch's detail. */
void ehttp_conf_scrub(const struct ehttp_conf *conf, char *text);

#endif /* EHTTP_CONF_H */
