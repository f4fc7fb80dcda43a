/* SPDX-License-Identifier: MIT */
/* daemon/phone.h: phone numbers to E.164 ("+14155550123") using the calling
 * codes and trunk prefixes of country.c. A number written internationally
 * (+..., 00..., 011...) is normalized whatever the lead's country; a
 * national number needs the country. Anything else is kept as written and
 * reported as not normalized (the import flags it), never dropped.
 *
 * Threads: pure functions; any thread.
 * Ownership: out is the caller's; *why is a static string.
 */
#ifndef DRUMBEAT_PHONE_H
#define DRUMBEAT_PHONE_H

#include <stddef.h>

#include "country.h"

/* Longest E.164 number: '+', 15 digits, NUL. */
#define PHONE_E164_MAX 17

/* Normalizes raw (punctuation, spaces and an "ext"/"x" extension allowed;
 * the extension is dropped) for a lead in country (may be NULL). Returns 0
 * with out = "+CCNSN", or -EINVAL with *why set ("no country to read a
 * national number", "too short for FR", ...). outlen >= PHONE_E164_MAX. */
int phone_normalize(const char *raw, const struct country *country, char *out,
                    size_t outlen, const char **why);

/* The NANP area code (3 digits) of an E.164 "+1..." number into area (4
 * bytes), or -EINVAL. */
int phone_nanp_area(const char *e164, char *area);

#endif /* DRUMBEAT_PHONE_H */
