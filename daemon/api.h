/* SPDX-License-Identifier: MIT */
/* daemon/api.h: the routes of drumbeatd's two listeners. api_register() adds
 * every area's routes to d->api (the API listener) and the public routes to
 * d->pub; each area lives in its own api_<area>.c with one register function,
 * listed in the table in api_status.c.
 *
 * Threads: loop thread, once, after both listeners started.
 * Ownership: d is borrowed and must outlive the listeners (handlers get it as
 * their context).
 */
#ifndef DRUMBEAT_API_H
#define DRUMBEAT_API_H

struct daemon;

/* Registers everything below. Returns 0 or the first negative errno. */
int api_register(struct daemon *d);

/* api_status.c: GET /healthz (public, both listeners), GET /metrics (no token:
 * no personal data), GET /api/status, GET /api/whoami. */
int api_status_register(struct daemon *d);
/* api_touches.c: POST /api/touches, GET /api/touches/:id, GET /api/touches. */
int api_touches_register(struct daemon *d);
/* api_leads.c: GET /api/leads/:id, POST /api/leads/:id/stage. */
int api_leads_register(struct daemon *d);

/* api_imports.c: POST /api/imports (the body is the file, streamed). */
int api_imports_register(struct daemon *d);

/* api_lead_admin.c: GET /api/leads, GET /api/leads/by-email/:email,
 * POST /api/suppressions, POST /api/suppressions/delete,
 * POST /api/leads/:id/forget, GET /api/leads/:id/export. */
int api_lead_admin_register(struct daemon *d);

/* api_enrich.c: POST /api/enrichments, GET /api/enrichments. */
int api_enrich_register(struct daemon *d);

/* api_cadences.c: GET /api/cadences, POST and GET /api/enrollments. */
int api_cadences_register(struct daemon *d);

/* api_calls.c: GET /api/calls, POST /api/leads/:id/log-call. */
int api_calls_register(struct daemon *d);

/* api_events.c: POST /api/events (inbound events: generic, Calendly,
 * Cal.com; idempotent by event id), POST /api/leads/:id/exit. */
int api_events_register(struct daemon *d);

/* api_enrollments.c: GET /api/cadences/:name/check (the launch check),
 * POST /api/cadences/:name/pause|resume, POST /api/enrollments/:id/pause|
 * resume|stop. */
int api_enrollments_register(struct daemon *d);

/* api_review.c: GET /api/preview, GET /api/review, GET and PUT /api/review/:id,
 * POST /api/review/:id/approve, POST /api/review/:id/reject. */
int api_review_register(struct daemon *d);
/* api_preview_send.c: POST /api/preview/send (a test send of a step to a
 * person's own address); api_review_register() calls it. */
int api_preview_send_register(struct daemon *d);

/* api_clock.c: GET /api/clock, POST /api/clock {"set"|"by"} and POST
 * /api/clock/advance (the test clock; forward only, in order). */
int api_clock_register(struct daemon *d);

/* api_mailboxes.c: GET /api/mailboxes, POST /api/mailboxes/:name/pause|resume. */
int api_mailboxes_register(struct daemon *d);

#endif /* DRUMBEAT_API_H */
