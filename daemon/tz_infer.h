/* SPDX-License-Identifier: MIT */
/* daemon/tz_infer.h: a lead's IANA time zone from what an import knows:
 * the country, then for a country with several zones the region (state,
 * province) and, for the NANP, the phone's area code.
 *
 * What is stored (leads.timezone), decided here once:
 *   "Europe/Paris"     the zone is known (given, or inferred);
 *   "ambiguous(US)"    the country has several zones and nothing picked one.
 *                      Calling hours are a legal limit, so the scheduler must
 *                      then open only the hours open in ALL of that country's
 *                      zones: tz_country_zones() lists them;
 *   "" (NULL)          no country: the cadence's zone applies later.
 * tz_is_ambiguous() recognises the second form and gives back the country.
 *
 * Threads: pure functions over static tables; any thread.
 * Ownership: every returned string or array is static.
 */
#ifndef DRUMBEAT_TZ_INFER_H
#define DRUMBEAT_TZ_INFER_H

#include <stdbool.h>
#include <stddef.h>

#include "country.h"

/* Largest text tz_infer() writes. */
#define TZ_INFER_MAX 64

/* Writes the zone (or "ambiguous(CC)", or "" without a country) into out.
 * region and e164 may be NULL. Returns 0, or -ENAMETOOLONG. */
int tz_infer(const struct country *country, const char *region, const char *e164,
             char *out, size_t outlen);

/* Every zone of the country (ISO alpha-2), a NULL-terminated static array;
 * a single-zone country gives its one zone; NULL for an unknown country. */
const char *const *tz_country_zones(const char *iso2);

/* True for "ambiguous(CC)"; then iso2 (3 bytes) receives CC. */
bool tz_is_ambiguous(const char *tz, char *iso2);

#endif /* DRUMBEAT_TZ_INFER_H */
