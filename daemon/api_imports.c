/* SPDX-License-Identifier: MIT */
/* daemon/api_imports.c: POST /api/imports: the request body is the file
 * (CSV or JSON lines), streamed into an import as it arrives, never held
 * whole; the reply, once every row is committed, is the import's summary.
 * Parameters come from the query string, or as a JSON object in the
 * X-Import-Params header (the body being the file itself):
 *   format=csv|jsonl  map=csvcol=field,...  source=NAME  basis=B
 *   dry_run=1  overwrite=1  delimiter=,|;|tab
 * Answers 200 {summary}, 400 {"error", "where"} for bad parameters, a bad
 * --map or a file that cannot be read at all, 503 while stopping.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "api.h"
#include "config.h"
#include "daemon.h"
#include "enrich.h"
#include "http.h"
#include "icp.h"
#include "import.h"
#include "store.h"

struct api_import {
    struct http_request *req;      /* NULL once the client went away */
    struct import *imp;            /* NULL once done */
    struct daemon *d;
};

static void reply_error(struct http_request *req, unsigned status, const struct errbuf *err)
{
    json_t *body = json_pack("{s:s, s:s, s:s}", "error",
                             err->what[0] != '\0' ? err->what : error_text(err->code),
                             "where", err->where, "path", http_request_path(req));
    http_reply_json(req, status, body);
}

static void on_done(int status, const json_t *summary, const struct errbuf *err, void *arg)
{
    struct api_import *ai = arg;

    ai->imp = NULL;
    /* Score what the import brought (a failed import may have committed
     * some batches); a dry run kept nothing. */
    if (!json_is_true(json_object_get(summary, "dry_run"))) {
        icp_rescore_all(ai->d);
        enrich_kick(ai->d->enrich);     /* leads the import queued, if any */
    }
    if (ai->req != NULL) {
        http_request_on_cancel(ai->req, NULL, NULL);
        if (status == 0)
            http_reply_json(ai->req, 200, json_incref((json_t *)summary));
        else
            reply_error(ai->req, status == -EINVAL ? 400 : 500, err);
    }
    free(ai);
}

static void on_cancel(void *arg)
{
    struct api_import *ai = arg;
    ai->req = NULL;
    if (ai->imp != NULL)
        import_abort(ai->imp);
    free(ai);
}

static void on_resume(void *arg)
{
    struct api_import *ai = arg;
    if (ai->req != NULL)
        http_request_resume(ai->req);
}

static long on_body(struct http_request *req, const char *data, size_t len, void *arg)
{
    struct api_import *ai = arg;

    if (ai->imp == NULL)
        return -ECANCELED;
    if (data == NULL) {
        import_finish(ai->imp);
        return 0;
    }
    return import_feed(ai->imp, data, len);
}

static bool truthy(const char *v)
{
    return v != NULL && (strcmp(v, "1") == 0 || strcmp(v, "true") == 0 ||
                         strcmp(v, "yes") == 0);
}

/* A parameter from the X-Import-Params object (as text), else the query. */
static const char *param(struct http_request *req, const json_t *hdr, const char *key,
                         char *buf, size_t len)
{
    const json_t *v = json_object_get(hdr, key);
    if (json_is_string(v))
        return json_string_value(v);
    if (json_is_boolean(v))
        return json_is_true(v) ? "1" : "0";
    if (v != NULL) {
        snprintf(buf, len, "?");   /* a wrong type: refused by the caller */
        return buf;
    }
    return http_request_query(req, key);
}

static void on_post_import(struct http_request *req, void *ctx)
{
    struct daemon *d = ctx;
    struct errbuf err = { 0 };
    json_t *hdr = NULL;
    char b1[4], b2[4], b3[4], b4[4], b5[4], b6[4], b7[4], b8[4];

    if (d->stopping || d->store == NULL) {
        http_reply_error(req, 503, "the daemon is stopping");
        return;
    }
    const char *h = http_request_header(req, "X-Import-Params");
    if (h != NULL) {
        json_error_t jerr;
        hdr = json_loads(h, 0, &jerr);
        if (!json_is_object(hdr)) {
            json_decref(hdr);
            http_reply_error(req, 400, "X-Import-Params: expected a JSON object");
            return;
        }
    }
    const char *delim = param(req, hdr, "delimiter", b1, sizeof(b1));
    struct import_opts opts = {
        .format = param(req, hdr, "format", b2, sizeof(b2)),
        .map = param(req, hdr, "map", b3, sizeof(b3)),
        .source = param(req, hdr, "source", b4, sizeof(b4)),
        .basis = param(req, hdr, "basis", b5, sizeof(b5)),
        .dry_run = truthy(param(req, hdr, "dry_run", b6, sizeof(b6))),
        .overwrite = truthy(param(req, hdr, "overwrite", b7, sizeof(b7))),
        .enrich = d->cfg->enrichment.after_import && d->cfg->n_enrichers > 0,
    };
    /* "enrich": "1"/"0" overrides enrichment.after_import for this import. */
    const char *enrich = param(req, hdr, "enrich", b8, sizeof(b8));
    if (enrich != NULL)
        opts.enrich = truthy(enrich);
    if (delim != NULL && delim[0] != '\0') {
        if (strcmp(delim, ",") == 0 || strcmp(delim, ";") == 0)
            opts.delimiter = delim[0];
        else if (strcmp(delim, "tab") == 0 || strcmp(delim, "\t") == 0)
            opts.delimiter = '\t';
        else {
            json_decref(hdr);
            http_reply_error(req, 400, "delimiter: expected \",\", \";\" or \"tab\"");
            return;
        }
    }
    const struct config_person *who = http_request_actor(req);
    struct store_actor actor = { STORE_ACTOR_PERSON, who != NULL ? who->name : NULL };
    struct api_import *ai = calloc(1, sizeof(*ai));
    if (ai == NULL) {
        json_decref(hdr);
        http_reply_error(req, 500, "out of memory");
        return;
    }
    ai->req = req;
    ai->d = d;
    int rc = import_new(d->loop, d->store, d->cfg, &opts, &actor, on_resume, on_done, ai,
                        &ai->imp, &err);
    json_decref(hdr);   /* opts' strings were copied by import_new */
    if (rc < 0) {
        free(ai);
        if (rc == -EINVAL)
            reply_error(req, 400, &err);
        else
            http_reply_error(req, 500, "cannot start the import: %s", error_text(rc));
        return;
    }
    http_request_on_cancel(req, on_cancel, ai);
    http_request_stream(req, on_body, ai);
}

int api_imports_register(struct daemon *d)
{
    if (d->api == NULL)
        return 0;
    return http_route(d->api, "POST", "/api/imports", HTTP_ROUTE_STREAM, on_post_import, d);
}
