/* SPDX-License-Identifier: MIT */
/* daemon/render_message.h: from a template file and a touch's data to the
 * exact bytes that are sent: render (render_context.h), then compose
 * (compose.h) with threading and List-Unsubscribe. `drumbeat render
 * --message` and the scheduler's preview and sends share this one path.
 *
 * The data object (what DATA.json holds for the CLI):
 *   "lead"     {id, email, first_name, last_name, timezone, ..., attrs: {...}}
 *              (email required; id, a positive integer, for the unsubscribe token)
 *   "mailbox"  {name, address, display_name, title, signature} (address required)
 *   "config"   {company_name, postal_address, public_url, list_unsubscribe_mailto}
 *   "step"     {number, name, message_id, date, reply_subject,
 *               thread: {message_id, references: [...], subject}}
 *              message_id defaults to "preview.LEAD.STEP@MAILBOX-DOMAIN"; date is
 *              an ISO 8601 string or UTC milliseconds (default: now), and
 *              also the "now" of {{today}} and {{weekday}};
 *              thread makes In-Reply-To/References; reply_subject: true makes
 *              the subject "Re: " + thread.subject.
 *   "cadence", "owner"   optional objects passed to the template as they are.
 * List-Unsubscribe carries the link public_url + "/u/" + TOKEN when a secret, public_url,
 * lead.id and mailbox.name are all known, and mailto:list_unsubscribe_mailto
 * (subject "unsubscribe TOKEN", or "unsubscribe") when that is set.
 *
 * Ownership: everything in struct render_message_in is borrowed; *out is
 * malloc'd for the caller; res is filled and cleared by the caller
 * (render_result_clear). Threads: any, after compose_init().
 */
#ifndef DRUMBEAT_RENDER_MESSAGE_H
#define DRUMBEAT_RENDER_MESSAGE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "config.h"
#include "errors.h"
#include "render_context.h"
#include "template_file.h"

struct render_message_in {
    const struct template_file *tf;    /* an email template (not a call script) */
    const json_t *data;                /* the object described above */
    const char *unsub_secret;          /* HMAC secret, or NULL: no https link */
    size_t unsub_secret_len;
    int64_t now_ms;                    /* "now" for dates and a missing step.date */
};

/* Renders and composes. Returns 0 with *out and *len (CRLF message bytes) and
 * res filled; -ENODATA when the missing policy refused (err->what "missing
 * first_name"; res->missing filled); -EINVAL for bad data (err->where names
 * the field: "lead.email", "step.thread.references"); -ENOMEM. */
int render_message(const struct render_message_in *in, struct render_result *res,
                   char **out, size_t *len, struct errbuf *err);

/* The data object for a lead (as store_lead_get gives it) sent from mailbox
 * mb under cfg: config and mailbox filled from the config, owner from the
 * lead's stage; cadence and step may be NULL. A new reference, or NULL. */
json_t *render_data_new(const struct config *cfg, const struct config_mailbox *mb,
                        const json_t *lead, const json_t *cadence, const json_t *step);

#endif /* DRUMBEAT_RENDER_MESSAGE_H */
