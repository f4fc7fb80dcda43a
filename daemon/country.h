/* SPDX-License-Identifier: MIT */
/* daemon/country.h: the country table the import needs: ISO 3166-1 codes,
 * the names people write in a "Country" column, the ITU-T E.164 calling
 * code, the national trunk prefix, the usual national number length and,
 * for a country with a single time zone, its IANA zone. The table is our own
 * compilation (country.c says how); it covers the countries B2B lists
 * usually hold, not every territory.
 *
 * Threads: read-only data; any thread.
 * Ownership: every returned pointer is static; never free it.
 */
#ifndef DRUMBEAT_COUNTRY_H
#define DRUMBEAT_COUNTRY_H

#include <stddef.h>

struct country {
    const char *iso2;          /* "US" */
    const char *iso3;          /* "USA" */
    const char *name;          /* "United States" */
    const char *calling_code;  /* "1" (digits, no '+') */
    const char *trunk;         /* national trunk prefix dialled before the
                                  number at home ("0"; "" when none) */
    unsigned char nsn_min, nsn_max;   /* national significant number length */
    const char *zone;          /* the IANA zone, or NULL when the country
                                  has several (see tz_infer.c) */
};

/* The country for an ISO 3166-1 alpha-2 or alpha-3 code or a common name
 * ("us", "USA", "United States", "Deutschland", "UK"), case-, space- and
 * punctuation-blind; NULL when unknown. */
const struct country *country_find(const char *text);
/* By exact alpha-2 code (upper case), or NULL. */
const struct country *country_by_iso2(const char *iso2);
/* The main country of the longest calling code that prefixes digits (E.164
 * digits without '+'; "1" gives the US, "7" Russia); *cc_len is the code's
 * length. NULL when no code matches. */
const struct country *country_by_calling_code(const char *digits, size_t *cc_len);

#endif /* DRUMBEAT_COUNTRY_H */
