/* SPDX-License-Identifier: MIT */
/* daemon/render_context.c: builds the JSON context of a touch (see
 * render_context.h for its shape) and renders a template file against it,
 * part by part with the escaping each part needs, then applies the file's
 * missing-data policy so the scheduler can skip a touch with a reason such
 * as "missing first_name" instead of sending "Hi ,". */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "render_context.h"
#include "stages.h"

static const char *const reserved[] = {
    "lead", "mailbox", "owner", "config", "cadence", "step", "unsubscribe_url", NULL,
};

static bool is_reserved(const char *key)
{
    for (const char *const *r = reserved; *r != NULL; r++)
        if (strcmp(*r, key) == 0)
            return true;
    return false;
}

/* The lead flattened: free attributes first, core columns over them. */
static json_t *lead_flat(const json_t *lead)
{
    json_t *flat = json_object();
    const json_t *attrs = json_object_get(lead, "attrs");
    const char *key;
    json_t *v;

    if (flat == NULL)
        return NULL;
    if (json_is_object(attrs))
        json_object_foreach((json_t *)attrs, key, v)
            json_object_set(flat, key, v);
    json_object_foreach((json_t *)lead, key, v)
        if (strcmp(key, "attrs") != 0)
            json_object_set(flat, key, v);
    return flat;
}

static int set_opt(json_t *ctx, const char *key, const json_t *v)
{
    if (v == NULL)
        return 0;
    return json_object_set(ctx, key, (json_t *)v) == 0 ? 0 : -ENOMEM;
}

int render_context_build(const struct render_touch *t, json_t **out)
{
    if (!json_is_object(t->lead))
        return -EINVAL;
    json_t *lead = lead_flat(t->lead);
    json_t *ctx = json_object();
    const char *key;
    json_t *v;
    int rc = -ENOMEM;

    if (lead == NULL || ctx == NULL)
        goto fail;
    json_object_foreach(lead, key, v)
        if (!is_reserved(key) && json_object_set(ctx, key, v) != 0)
            goto fail;
    if (json_object_set(ctx, "lead", lead) != 0)
        goto fail;
    if (json_is_object(t->mailbox)) {
        /* Templates write {{mailbox.display_name}}; a mailbox without one
         * signs with its name rather than with nothing. */
        json_t *mb = json_copy((json_t *)t->mailbox);
        const json_t *dn = json_object_get(mb, "display_name");
        if (mb == NULL)
            goto fail;
        if ((!json_is_string(dn) || json_string_length(dn) == 0) &&
            json_is_string(json_object_get(mb, "name")))
            json_object_set(mb, "display_name", json_object_get(mb, "name"));
        if (json_object_set_new(ctx, "mailbox", mb) != 0)
            goto fail;
    }
    if ((rc = set_opt(ctx, "owner", t->owner)) < 0 ||
        (rc = set_opt(ctx, "config", t->config)) < 0 ||
        (rc = set_opt(ctx, "cadence", t->cadence)) < 0 ||
        (rc = set_opt(ctx, "step", t->step)) < 0)
        goto fail;
    if (t->unsubscribe_url != NULL &&
        json_object_set_new(ctx, "unsubscribe_url", json_string(t->unsubscribe_url)) != 0) {
        rc = -ENOMEM;
        goto fail;
    }
    json_decref(lead);
    *out = ctx;
    return 0;

fail:
    json_decref(lead);
    json_decref(ctx);
    return rc;
}

json_t *render_mailbox_json(const struct config_mailbox *mb)
{
    if (mb == NULL)
        return NULL;
    return json_pack("{s:s?, s:s?, s:s?, s:s?, s:s?}", "name", mb->name, "address", mb->address,
                     "display_name", mb->display_name, "title", mb->title,
                     "signature", mb->signature);
}

json_t *render_config_json(const struct config *cfg)
{
    if (cfg == NULL)
        return NULL;
    return json_pack("{s:s?, s:s?, s:s?}", "company_name", cfg->company_name,
                     "postal_address", cfg->postal_address, "public_url", cfg->public_url);
}

json_t *render_owner_json(const struct config *cfg, const json_t *lead)
{
    const char *stage = json_string_value(json_object_get(lead, "stage"));
    const char *role = stage != NULL ? stage_role(stage) : NULL;
    const char *name = role != NULL
        ? json_string_value(json_object_get(json_object_get(lead, "owners"), role)) : NULL;

    if (name == NULL || cfg == NULL)
        return NULL;
    for (size_t i = 0; i < cfg->n_team; i++)
        if (cfg->team[i].name != NULL && strcmp(cfg->team[i].name, name) == 0)
            return json_pack("{s:s, s:s?, s:s}", "name", name, "email", cfg->team[i].email,
                             "role", role);
    /* An owner no longer in the team keeps their name. */
    return json_pack("{s:s, s:s}", "name", name, "role", role);
}

/* The rendered text as a C string: a NUL from lead data would cut it short
 * further down, so NULs go (nothing meaningful is ever written with one). */
static char *take_text(struct template_output *o)
{
    size_t w = 0;
    for (size_t r = 0; r < o->len; r++)
        if (o->text[r] != '\0')
            o->text[w++] = o->text[r];
    o->text[w] = '\0';
    char *s = o->text;
    o->text = NULL;
    o->len = 0;
    return s;
}

static int add_missing(struct render_result *r, const struct template_output *o)
{
    for (size_t i = 0; i < template_missing_count(o); i++) {
        const char *name = template_missing_name(o, i);
        bool seen = false;
        for (size_t j = 0; j < r->n_missing && !seen; j++)
            seen = strcmp(r->missing[j], name) == 0;
        if (seen)
            continue;
        char **grown = realloc(r->missing, (r->n_missing + 1) * sizeof(*grown));
        if (grown == NULL)
            return -ENOMEM;
        r->missing = grown;
        if ((r->missing[r->n_missing] = strdup(name)) == NULL)
            return -ENOMEM;
        r->n_missing++;
    }
    return 0;
}

/* The names a policy refuses on: pointers into render_result.missing. */
struct refusal {
    const char **names;
    size_t n;
};

static int add_refused(struct refusal *ref, const struct render_result *r,
                       const struct template_output *o)
{
    for (size_t i = 0; i < template_missing_count(o); i++) {
        const char *name = template_missing_name(o, i);
        const char *owned = NULL;
        for (size_t j = 0; j < r->n_missing && owned == NULL; j++)
            if (strcmp(r->missing[j], name) == 0)
                owned = r->missing[j];
        bool seen = false;
        for (size_t j = 0; j < ref->n && !seen; j++)
            seen = ref->names[j] == owned;
        if (seen || owned == NULL)
            continue;
        const char **grown = realloc(ref->names, (ref->n + 1) * sizeof(*grown));
        if (grown == NULL)
            return -ENOMEM;
        ref->names = grown;
        ref->names[ref->n++] = owned;
    }
    return 0;
}

static int render_part(const struct template *t, const json_t *ctx,
                       const struct template_render_opts *opts, bool refusing,
                       struct render_result *out, char **dst, struct refusal *ref,
                       struct errbuf *err)
{
    struct template_output o = { 0 };
    int rc = template_render(t, ctx, opts, &o, err);
    if (rc == 0)
        rc = add_missing(out, &o);
    if (rc == 0 && refusing)
        rc = add_refused(ref, out, &o);
    if (rc == 0 && dst != NULL)
        *dst = take_text(&o);
    template_output_free(&o);
    return rc;
}

int render_template_file(const struct template_file *tf, const json_t *ctx, int64_t now_ms,
                         struct render_result *out, struct errbuf *err)
{
    const json_t *lead = json_object_get(ctx, "lead");
    const json_t *id = json_object_get(lead, "id");
    const json_t *num = json_object_get(json_object_get(ctx, "step"), "number");
    char idbuf[64];
    struct refusal ref = { 0 };
    int rc;

    memset(out, 0, sizeof(*out));
    if (json_is_integer(id))
        snprintf(idbuf, sizeof(idbuf), "%lld", (long long)json_integer_value(id));
    else
        snprintf(idbuf, sizeof(idbuf), "%s", json_is_string(id) ? json_string_value(id) : "");
    struct template_render_opts opts = {
        .escape_html = false,
        .partials = tf->partials,
        .spin_seed = template_spin_seed(idbuf, json_is_integer(num)
                                                   ? (int)json_integer_value(num) : 0),
        .timezone = json_string_value(json_object_get(lead, "timezone")),
        .now_ms = now_ms,
    };
    bool all = tf->missing == TEMPLATE_MISSING_REFUSE;
    bool head = tf->missing != TEMPLATE_MISSING_EMPTY;

    if ((rc = render_part(tf->subject, ctx, &opts, head, out, &out->subject, &ref, err)) < 0)
        goto fail;
    if (tf->preheader != NULL &&
        (rc = render_part(tf->preheader, ctx, &opts, head, out, &out->preheader, &ref, err)) < 0)
        goto fail;
    if (tf->first_line != NULL && head && !all &&
        (rc = render_part(tf->first_line, ctx, &opts, true, out, NULL, &ref, err)) < 0)
        goto fail;
    if ((rc = render_part(tf->text, ctx, &opts, all || (head && tf->first_line == NULL), out,
                          &out->text, &ref, err)) < 0)
        goto fail;
    if (tf->html != NULL) {
        opts.escape_html = true;
        if ((rc = render_part(tf->html, ctx, &opts, all, out, &out->html, &ref, err)) < 0)
            goto fail;
    }
    if (out->subject == NULL || out->text == NULL ||
        (tf->preheader != NULL && out->preheader == NULL) ||
        (tf->html != NULL && out->html == NULL)) {
        rc = errbuf_set(err, -ENOMEM, "out of memory rendering %s", tf->name);
        goto fail;
    }
    if (ref.n > 0) {
        GString *msg = g_string_new("missing ");
        for (size_t i = 0; i < ref.n; i++)
            g_string_append_printf(msg, "%s%s", i > 0 ? ", " : "", ref.names[i]);
        out->refused = g_string_free(msg, FALSE);
        errbuf_at(err, -ENODATA, tf->path, NULL, "%s", out->refused);
        free(ref.names);
        return -ENODATA;
    }
    return 0;

fail:
    free(ref.names);
    if (rc == -ENOMEM && err != NULL && err->code == 0)
        errbuf_set(err, -ENOMEM, "out of memory rendering %s", tf->name);
    return rc;
}

void render_result_clear(struct render_result *r)
{
    free(r->subject);
    free(r->preheader);
    free(r->text);
    free(r->html);
    for (size_t i = 0; i < r->n_missing; i++)
        free(r->missing[i]);
    free(r->missing);
    g_free(r->refused);
    memset(r, 0, sizeof(*r));
}
