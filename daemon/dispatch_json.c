/* SPDX-License-Identifier: MIT */
/* daemon/dispatch_json.c: turns a claimed draft touch into the JSON document
 * of dispatch_json.h for channels that take JSON (webhooks: a CRM, an SMS or
 * LinkedIn tool, a provider's HTTP API). The rendered subject and text come
 * from the stored draft, the lead's contact fields from the store, and the
 * composed message from draft_compose(), so its Message-ID is the one a
 * retry of the same touch would carry. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "config.h"
#include "dispatch_json.h"
#include "draft.h"
#include "store.h"

/* The lead fields a receiver gets: enough to reach the person, nothing of
 * the free attributes or import bookkeeping. */
static const char *const lead_fields[] = {
    "id", "email", "first_name", "last_name", "company", "domain", "title", "phone",
    "country", "timezone", "linkedin", "stage", "owners", NULL,
};

static json_t *lead_core(struct store *st, int64_t lead_id, int *rc)
{
    json_t *full = NULL, *core;

    *rc = store_lead_get(st, lead_id, &full);
    if (*rc < 0)
        return NULL;
    core = json_object();
    for (const char *const *f = lead_fields; core != NULL && *f != NULL; f++) {
        json_t *v = json_object_get(full, *f);
        json_object_set(core, *f, v != NULL ? v : json_null());
    }
    json_decref(full);
    if (core == NULL)
        *rc = -ENOMEM;
    return core;
}

/* The touch's cadence step (0 when it is not part of a cadence). */
static json_int_t touch_step(struct store *st, int64_t touch_id)
{
    json_t *touch = NULL;
    json_int_t step = 0;

    if (store_touch_get(st, touch_id, &touch) == 0)
        step = json_integer_value(json_object_get(touch, "step"));
    json_decref(touch);
    return step;
}

int dispatch_json_build(struct store *st, const struct store_claimed *t,
                        const struct config_mailbox *mb, int64_t now_ms, char **out,
                        size_t *out_len, struct errbuf *err)
{
    json_error_t jerr;
    json_t *draft = NULL, *doc = NULL, *lead = NULL;
    char *message = NULL;
    size_t message_len = 0;
    int rc;

    draft = json_loadb(t->payload, t->payload_len, 0, &jerr);
    if (draft == NULL || !json_is_string(json_object_get(draft, "subject")) ||
        !json_is_string(json_object_get(draft, "text"))) {
        rc = errbuf_at(err, -EINVAL, NULL, "payload", "expected a JSON draft with subject and "
                       "text strings%s%s", draft == NULL ? ": " : "",
                       draft == NULL ? jerr.text : "");
        goto out;
    }
    lead = lead_core(st, t->lead_id, &rc);
    if (lead == NULL) {
        if (rc == -ENOENT)
            errbuf_at(err, rc, NULL, "lead_id", "lead %lld does not exist", (long long)t->lead_id);
        goto out;
    }
    if (mb != NULL) {
        rc = draft_compose(t->payload, t->payload_len, mb, t->recipient, t->idempotency_key,
                           now_ms, &message, &message_len, err);
        if (rc < 0)
            goto out;
    }
    /* Composed mail is 7-bit or UTF-8; anything else cannot be a JSON string. */
    json_t *mj = message != NULL ? json_stringn(message, message_len) : json_null();
    if (mj == NULL) {
        rc = errbuf_at(err, -EINVAL, NULL, "message", "the composed message is not UTF-8");
        goto out;
    }
    doc = json_pack("{s:I, s:s, s:O, s:I, s:s?, s:s?, s:O, s:O, s:o}",
                    "touch_id", (json_int_t)t->touch_id,
                    "idempotency_key", t->idempotency_key,
                    "lead", lead,
                    "step", touch_step(st, t->touch_id),
                    "channel", t->channel,
                    "mailbox", t->mailbox,
                    "subject", json_object_get(draft, "subject"),
                    "text", json_object_get(draft, "text"),
                    "message", mj);
    if (doc == NULL) {
        rc = -ENOMEM;
        goto out;
    }
    *out = json_dumps(doc, JSON_COMPACT);
    rc = *out != NULL ? 0 : -ENOMEM;
    if (rc == 0)
        *out_len = strlen(*out);
out:
    free(message);
    json_decref(doc);
    json_decref(lead);
    json_decref(draft);
    return rc;
}
