/* SPDX-License-Identifier: MIT */
/* plugins/enrich_http/ehttp_text.h: the text work of the HTTP enricher, apart
 * from any I/O: RFC 6570 level-1 URL templates filled from a lead ("{email}",
 * "{attrs.city}", each value percent-encoded except the unreserved
 * characters), the lead's fields as a JSON request body, and RFC 6901 JSON
 * pointers into the reply.
 *
 * Ownership: every pointer passed in is borrowed for the call; strings and
 * JSON returned through out parameters are new (the caller frees them, or
 * json_decref()s them); ehttp_pointer_get returns a borrowed reference into
 * doc.
 * Threads: any (no state).
 */
#ifndef EHTTP_TEXT_H
#define EHTTP_TEXT_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

/* Longest field name a template or a map may use ("attrs." included). */
#define EHTTP_FIELD_MAX 64

/* True for a field a URL template may name: email, domain, first_name,
 * last_name, company, title, phone, country, linkedin, or attrs.X (X made of
 * letters, digits, '_' and '-'). */
bool ehttp_field_known(const char *name, size_t len);

/* Checks a template: balanced braces and known field names. Returns 0, or
 * -EINVAL with why saying where (the template itself is never quoted: it may
 * carry a token). */
int ehttp_template_check(const char *tmpl, char *why, size_t why_len);

/* Expands tmpl with lead's fields into *out (malloc'd). Returns 0; -ENOENT
 * when a field the template uses is missing, null or empty in lead (its name
 * goes into missing, EHTTP_FIELD_MAX + 1 bytes); -ENOMEM. */
int ehttp_template_expand(const char *tmpl, const json_t *lead, char **out, char *missing);

/* The lead's known fields (those ehttp_field_known accepts; "attrs" as an
 * object) as a new object, leaving out missing, null and empty ones. */
json_t *ehttp_lead_body(const json_t *lead);

/* Checks an RFC 6901 pointer: "" or "/"-separated tokens where '~' is only
 * followed by '0' or '1'. Returns 0 or -EINVAL. */
int ehttp_pointer_check(const char *ptr);

/* Resolves ptr in doc: object members by name (~1 is '/', ~0 is '~'), array
 * elements by a decimal index without leading zeros. NULL when any step is
 * missing. */
json_t *ehttp_pointer_get(const json_t *doc, const char *ptr);

#endif /* EHTTP_TEXT_H */
