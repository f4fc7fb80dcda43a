/* SPDX-License-Identifier: MIT */
/* daemon/render_context.h: what a template sees when it renders for one
 * touch, and the render of a template file under its missing-data policy.
 *
 * The context (an object) holds:
 *   every lead field and free attribute at the top level ({{first_name}},
 *     {{industry}}), and again under "lead" ({{lead.first_name}});
 *   "mailbox"  {name, address, display_name, title, signature}; display_name
 *              defaults to name
 *   "owner"    {name, email, role} of the lead's stage owner, when there is one
 *   "config"   {company_name, postal_address, public_url}
 *   "cadence", "step"   as given (step.number, step.name, ...)
 *   "unsubscribe_url"   when known
 * The reserved names above win over a lead attribute of the same name at
 * the top level (the attribute stays reachable as lead.NAME). Core lead
 * fields win over free attributes. Lead data is data: the engine prints it.
 *
 * Ownership: inputs are borrowed; render_context_build() and the *_json()
 * helpers return new references; struct render_result owns its strings
 * (render_result_clear()). Threads: any.
 */
#ifndef DRUMBEAT_RENDER_CONTEXT_H
#define DRUMBEAT_RENDER_CONTEXT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "config.h"
#include "errors.h"
#include "template_file.h"

struct render_touch {
    const json_t *lead;        /* object as store_lead_get() gives it: columns,
                                  "attrs" (free attributes), "owners" */
    const json_t *mailbox;     /* object, or NULL */
    const json_t *owner;       /* object, or NULL when the stage has no owner */
    const json_t *config;      /* object, or NULL */
    const json_t *cadence;     /* object, or NULL */
    const json_t *step;        /* object, or NULL */
    const char *unsubscribe_url;   /* or NULL */
};

/* Builds the context object; returns 0 with *out, -EINVAL when lead is not
 * an object, or -ENOMEM. */
int render_context_build(const struct render_touch *t, json_t **out);

/* The context pieces from the daemon's own structures (new references). */
json_t *render_mailbox_json(const struct config_mailbox *mb);
json_t *render_config_json(const struct config *cfg);
/* The owner of the lead's current stage ({name, email, role}) from the
 * lead's "stage" and "owners" and the config's team, or NULL when none. */
json_t *render_owner_json(const struct config *cfg, const json_t *lead);

struct render_result {
    char *subject;             /* the rendered parts, malloc'd; NULs removed */
    char *preheader;           /* NULL when the template has none */
    char *text;
    char *html;                /* NULL when the template has no HTML part */
    char **missing;            /* every variable with no value and no fallback, */
    size_t n_missing;          /* deduplicated, subject first */
    char *refused;             /* on a refusal: "missing first_name, company" */
};

/* Renders tf against ctx: subject, preheader and text with escaping off, the
 * HTML part with escaping on; spintax is seeded by lead.id and step.number,
 * dates use lead.timezone at now_ms. Applies tf->missing: on a refusal
 * returns -ENODATA with out->refused and err->what = "missing a, b" (the
 * names in the policy's scope); out->missing is filled either way. Other
 * errors: -ENOMEM, or the engine's (err filled). Clear out afterwards. */
int render_template_file(const struct template_file *tf, const json_t *ctx, int64_t now_ms,
                         struct render_result *out, struct errbuf *err);
void render_result_clear(struct render_result *r);

#endif /* DRUMBEAT_RENDER_CONTEXT_H */
