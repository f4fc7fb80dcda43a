/* SPDX-License-Identifier: MIT */
/* daemon/cadence_check.h: the launch check of a cadence (`drumbeat cadence
 * check NAME`, GET /api/cadences/:name/check), which enrolling also runs:
 * a cadence that fails it takes no leads. It lists problems, each an object
 *   {"check": what was checked, "where": a JSON path of the cadence file
 *    ("steps[2].template", "throttle.new_per_day", "mailboxes[0]"), a config
 *    key ("config company.postal_address") or a template name ("intro"),
 *    "problem": a sentence saying what is wrong, with the numbers}
 * The checks ("check" values):
 *   "template"          every email template and A/B variant exists and
 *                       renders for a realistic sample lead (a template
 *                       that refuses the sample's data is a problem)
 *   "unsubscribe_link"  an unsubscribe link can be made (public_url and
 *                       templates.unsubscribe_secret_file) and appears in
 *                       every email's text part
 *   "postal_address"    company.postal_address is set and appears in every
 *                       email's text part
 *   "mailbox"           every mailbox is configured, its channel exists and
 *                       is running (the last only when d->plugins is set)
 *   "caps"              throttle.new_per_day × the email steps fits in the
 *                       sum of the mailboxes' daily caps
 * The per-lead part (a source and a lawful basis) is enforced when
 * enrolling (store_enroll_rules.require_basis). The DNS preflight of the
 * mailboxes' domains ("dns": SPF, DMARC, DKIM as `drumbeat mailbox check`)
 * needs the network, so it is separate: cadence_check_dns().
 *
 * Ownership: d and def are borrowed for the call (cadence_check_dns(): until
 * its callback ran); *problems and the sample lead are new references.
 * Threads: loop thread (it reads d->cfg, d->templates and d->plugins).
 */
#ifndef DRUMBEAT_CADENCE_CHECK_H
#define DRUMBEAT_CADENCE_CHECK_H

#include <jansson.h>

struct daemon;
struct cadence_def;

/* The built-in sample lead: id 1, names, company, domain, title, email,
 * phone, country, the cadence's time zone, source, lawful basis, stage and
 * a few free attributes, as store_lead_get() shapes a lead. */
json_t *cadence_check_sample_lead(const struct cadence_def *def);

/* Runs the checks above; *problems is an array (empty when the cadence
 * passes). Returns 0, or -ENOMEM. d->cfg must be set; d->templates and
 * d->plugins may be NULL (no templates: every email step is a problem; no
 * plugins: channels are not asked whether they run). */
int cadence_check(struct daemon *d, const struct cadence_def *def, json_t **problems);

/* Appends the DNS preflight's failed checks of each of def's configured
 * mailboxes (one lookup round per domain) to problems as {"check": "dns",
 * "where": "mailbox NAME", "problem": "spf: ..."}, with the config's dns
 * servers, then calls done(status, problems, arg) on the loop thread, never
 * from inside this call. problems is borrowed until then. Returns 0, or a
 * negative errno (-EINVAL bad dns.servers, -ENOMEM) and done never runs. */
typedef void (*cadence_check_done)(int status, json_t *problems, void *arg);
int cadence_check_dns(struct daemon *d, const struct cadence_def *def, json_t *problems,
                      cadence_check_done done, void *arg);

#endif /* DRUMBEAT_CADENCE_CHECK_H */
