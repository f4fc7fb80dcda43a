/* SPDX-License-Identifier: MIT */
/* daemon/render_message.c: one touch's data and template to the message as
 * sent. The data is outside input (a DATA.json file, or lead fields from an
 * import), so every field is read with its JSON path for error messages,
 * and everything that reaches a header goes through compose's checks. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "compose.h"
#include "render_message.h"
#include "unsub_token.h"

static const char *str_at(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

/* The lead's display name: "name" if given, else first and last names. */
static char *lead_name(const json_t *lead)
{
    const char *name = str_at(lead, "name");
    const char *first = str_at(lead, "first_name"), *last = str_at(lead, "last_name");
    if (name != NULL && name[0] != '\0')
        return g_strdup(name);
    if (first != NULL && first[0] != '\0' && last != NULL && last[0] != '\0')
        return g_strdup_printf("%s %s", first, last);
    if (first != NULL && first[0] != '\0')
        return g_strdup(first);
    if (last != NULL && last[0] != '\0')
        return g_strdup(last);
    return NULL;
}

static int date_of(const json_t *step, int64_t now_ms, int64_t *out, struct errbuf *err)
{
    const json_t *d = json_object_get(step, "date");
    if (d == NULL || json_is_null(d)) {
        *out = now_ms;
        return 0;
    }
    if (json_is_integer(d)) {
        *out = json_integer_value(d);
        return 0;
    }
    GDateTime *dt = json_is_string(d) ? g_date_time_new_from_iso8601(json_string_value(d), NULL)
                                      : NULL;
    if (dt == NULL)
        return errbuf_at(err, -EINVAL, NULL, "step.date", "expected an ISO 8601 time with a "
                         "zone such as \"2026-01-05T09:00:00Z\", or UTC milliseconds");
    *out = g_date_time_to_unix(dt) * 1000;
    g_date_time_unref(dt);
    return 0;
}

/* step.thread.references as a NULL-terminated array borrowed from the data. */
static int references_of(const json_t *thread, const char ***out, struct errbuf *err)
{
    const json_t *refs = json_object_get(thread, "references");
    *out = NULL;
    if (refs == NULL)
        return 0;
    if (!json_is_array(refs))
        return errbuf_at(err, -EINVAL, NULL, "step.thread.references",
                         "expected an array of message ids");
    const char **v = calloc(json_array_size(refs) + 1, sizeof(*v));
    if (v == NULL)
        return errbuf_set(err, -ENOMEM, "out of memory");
    for (size_t i = 0; i < json_array_size(refs); i++) {
        v[i] = json_string_value(json_array_get(refs, i));
        if (v[i] == NULL) {
            free(v);
            return errbuf_at(err, -EINVAL, NULL, "step.thread.references",
                             "expected an array of message ids");
        }
    }
    *out = v;
    return 0;
}

/* The https link and the mailto subject, as far as the data allows. */
static int unsub_of(const struct render_message_in *in, const json_t *lead, const json_t *mb,
                    const json_t *cfg, char **url, char **mailto_subject, struct errbuf *err)
{
    const json_t *id = json_object_get(lead, "id");
    const char *mailbox = str_at(mb, "name");
    const char *public_url = str_at(cfg, "public_url");
    char *token = NULL;

    *url = NULL;
    *mailto_subject = NULL;
    if (in->unsub_secret != NULL && json_is_integer(id) && mailbox != NULL) {
        int rc = unsub_token_sign(in->unsub_secret, in->unsub_secret_len,
                                  json_integer_value(id), mailbox, &token);
        if (rc < 0)
            return errbuf_at(err, rc, NULL, "mailbox.name", rc == -EINVAL
                             ? "cannot sign an unsubscribe token: expected lead.id > 0, a "
                               "mailbox name of 1..64 bytes and a secret of 16+ bytes"
                             : "cannot sign an unsubscribe token");
    }
    if (token != NULL && public_url != NULL) {
        size_t n = strlen(public_url);
        while (n > 0 && public_url[n - 1] == '/')
            n--;
        *url = g_strdup_printf("%.*s/u/%s", (int)n, public_url, token);
    }
    *mailto_subject = token != NULL ? g_strdup_printf("unsubscribe %s", token)
                                    : g_strdup("unsubscribe");
    free(token);
    return 0;
}

int render_message(const struct render_message_in *in, struct render_result *res,
                   char **out, size_t *len, struct errbuf *err)
{
    const json_t *data = in->data;
    const json_t *lead = json_object_get(data, "lead"), *mb = json_object_get(data, "mailbox");
    const json_t *cfg = json_object_get(data, "config"), *step = json_object_get(data, "step");
    const json_t *thread = json_object_get(step, "thread");
    char *url = NULL, *mailto_subject = NULL, *to_name = NULL, *msgid = NULL, *subject = NULL;
    const char **refs = NULL;
    json_t *ctx = NULL;
    int64_t date_ms = 0;
    int rc;

    memset(res, 0, sizeof(*res));
    if (in->tf->kind != TEMPLATE_KIND_EMAIL)
        return errbuf_at(err, -EINVAL, in->tf->path, NULL, "a call script is not an email; "
                         "expected a template without \"Kind: call\"");
    if (!json_is_object(lead) || str_at(lead, "email") == NULL)
        return errbuf_at(err, -EINVAL, NULL, "lead.email", "expected a lead object with an email");
    if (!json_is_object(mb) || str_at(mb, "address") == NULL)
        return errbuf_at(err, -EINVAL, NULL, "mailbox.address",
                         "expected a mailbox object with an address");
    if ((cfg != NULL && !json_is_object(cfg)) || (step != NULL && !json_is_object(step)) ||
        (thread != NULL && !json_is_object(thread)))
        return errbuf_at(err, -EINVAL, NULL, cfg != NULL && !json_is_object(cfg) ? "config"
                         : step != NULL && !json_is_object(step) ? "step" : "step.thread",
                         "expected an object");
    if ((rc = date_of(step, in->now_ms, &date_ms, err)) < 0 ||
        (rc = references_of(thread, &refs, err)) < 0 ||
        (rc = unsub_of(in, lead, mb, cfg, &url, &mailto_subject, err)) < 0)
        goto out;

    const json_t *owner = json_object_get(data, "owner"), *cadence = json_object_get(data, "cadence");
    struct render_touch t = {
        .lead = lead, .mailbox = mb, .config = cfg, .step = step,
        .owner = json_is_object(owner) ? owner : NULL,
        .cadence = json_is_object(cadence) ? cadence : NULL,
        .unsubscribe_url = url,
    };
    if ((rc = render_context_build(&t, &ctx)) < 0) {
        errbuf_set(err, rc, "cannot build the template context: %s", error_text(rc));
        goto out;
    }
    /* The message's Date and its {{today}} agree: both are step.date when given. */
    if ((rc = render_template_file(in->tf, ctx, date_ms, res, err)) < 0)
        goto out;

    const json_t *num = json_object_get(step, "number");
    const char *domain = compose_domain(str_at(mb, "address"));
    msgid = str_at(step, "message_id") != NULL
        ? g_strdup(str_at(step, "message_id"))
        : g_strdup_printf("preview.%lld.%lld@%s",
                          (long long)json_integer_value(json_object_get(lead, "id")),
                          (long long)json_integer_value(num), domain != NULL ? domain : "localhost");
    const char *orig = str_at(thread, "subject");
    if (json_is_true(json_object_get(step, "reply_subject")) && orig != NULL)
        subject = compose_reply_subject(orig);
    to_name = lead_name(lead);
    const json_t *cfg_mailto = json_object_get(cfg, "list_unsubscribe_mailto");
    struct compose_in ci = {
        .from_name = str_at(mb, "display_name"), .from_addr = str_at(mb, "address"),
        .to_name = to_name, .to_addr = str_at(lead, "email"),
        .subject = subject != NULL ? subject : res->subject,
        .text = res->text, .html = res->html, .preheader = res->preheader,
        .lang = in->tf->lang,
        .message_id = msgid, .date_ms = date_ms,
        .in_reply_to = str_at(thread, "message_id"), .references = refs,
        .unsub_url = url, .unsub_mailto = json_string_value(cfg_mailto),
        .unsub_mailto_subject = mailto_subject,
    };
    rc = compose_message(&ci, out, len, err);
    if (rc < 0 && err != NULL) {
        /* Name the data field behind compose's field. */
        static const char *const map[][2] = {
            { "to", "lead.email" }, { "from", "mailbox.address" },
            { "message_id", "step.message_id" }, { "in_reply_to", "step.thread.message_id" },
            { "references", "step.thread.references" },
            { "unsub_mailto", "config.list_unsubscribe_mailto" },
            { "unsub_url", "config.public_url" },
        };
        for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
            if (strcmp(err->where, map[i][0]) == 0)
                snprintf(err->where, sizeof(err->where), "%s", map[i][1]);
    }

out:
    json_decref(ctx);
    free(refs);
    g_free(url);
    g_free(mailto_subject);
    g_free(to_name);
    g_free(msgid);
    free(subject);
    return rc;
}

json_t *render_data_new(const struct config *cfg, const struct config_mailbox *mb,
                        const json_t *lead, const json_t *cadence, const json_t *step)
{
    json_t *config = render_config_json(cfg);
    if (config != NULL && cfg != NULL && cfg->unsub_mailto != NULL)
        json_object_set_new(config, "list_unsubscribe_mailto", json_string(cfg->unsub_mailto));
    return json_pack("{s:O, s:o?, s:o?, s:o?, s:O?, s:O?}", "lead", lead,
                     "mailbox", render_mailbox_json(mb), "config", config,
                     "owner", render_owner_json(cfg, lead), "cadence", cadence, "step", step);
}
