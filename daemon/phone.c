/* SPDX-License-Identifier: MIT */
/* daemon/phone.c: E.164 normalization. The digits are collected (common
 * separators skipped, letters refused except an extension marker), the
 * international forms are recognised by '+', "00" or the NANP's "011",
 * and a national number loses its trunk prefix before the calling code is
 * put in front. Lengths are checked against country.c's usual range for the
 * national significant number; E.164 allows at most 15 digits in all.
 */
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "phone.h"

#define FAIL(text) do { if (why != NULL) *why = (text); return -EINVAL; } while (0)

/* Collects the digits of raw into d; *plus tells whether it began with '+'. */
static int collect(const char *raw, char *d, size_t cap, bool *plus, const char **why)
{
    size_t n = 0;
    const char *p = raw;

    *plus = false;
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p == '+') {
        *plus = true;
        p++;
    }
    for (; *p != '\0'; p++) {
        unsigned char c = (unsigned char)*p;
        if (isdigit(c)) {
            if (n + 1 >= cap)
                FAIL("more digits than any phone number has");
            d[n++] = (char)c;
        } else if (strchr(" .-/()\t", c) != NULL) {
            continue;
        } else if (c == 'x' || c == '#' || c == ',' || c == ';' || strncasecmp(p, "ext", 3) == 0) {
            break;   /* an extension: not part of the E.164 number */
        } else {
            FAIL("a character that is not part of a phone number");
        }
    }
    d[n] = '\0';
    if (n == 0)
        FAIL("no digits");
    return 0;
}

static int finish(const char *cc, const char *nsn, const struct country *c, char *out,
                  size_t outlen, const char **why)
{
    size_t total = strlen(cc) + strlen(nsn);
    if (total > 15)
        FAIL("longer than the 15 digits E.164 allows");
    if (c != NULL && (strlen(nsn) < c->nsn_min || strlen(nsn) > c->nsn_max))
        FAIL("not a usual length for a number of that country");
    if (total < 7)
        FAIL("too short for a phone number");
    if (outlen < total + 2)
        return -ENAMETOOLONG;
    snprintf(out, outlen, "+%s%s", cc, nsn);
    return 0;
}

int phone_normalize(const char *raw, const struct country *country, char *out,
                    size_t outlen, const char **why)
{
    char d[64];
    bool plus;
    int rc = collect(raw != NULL ? raw : "", d, sizeof(d), &plus, why);
    if (rc < 0)
        return rc;

    const char *intl = NULL;
    if (plus)
        intl = d;
    else if (strncmp(d, "00", 2) == 0 && (country == NULL || strcmp(country->calling_code, "1") != 0))
        intl = d + 2;
    else if (strncmp(d, "011", 3) == 0 && country != NULL &&
             strcmp(country->calling_code, "1") == 0)
        intl = d + 3;
    if (intl != NULL) {
        size_t cc_len = 0;
        const struct country *c = country_by_calling_code(intl, &cc_len);
        if (c == NULL)
            FAIL("an unknown country calling code");
        char cc[8];
        snprintf(cc, sizeof(cc), "%.*s", (int)cc_len, intl);
        const char *nsn = intl + cc_len;
        /* A "(0)" written after the code ("+49 (0)30 ...") is the trunk
         * prefix. Where the trunk prefix is 0, no national number starts
         * with 0, so it goes; Italy (no trunk prefix) keeps its 0, and a
         * trunk prefix such as Russia's 8 can begin real numbers. */
        if (strcmp(c->trunk, "0") == 0 && nsn[0] == '0')
            nsn++;
        /* Only check lengths against the lead's own country when the code
         * is that country's: +44 written for a US lead is still +44. */
        const struct country *len_of =
            country != NULL && strcmp(country->calling_code, c->calling_code) == 0 ? country : c;
        return finish(cc, nsn, len_of, out, outlen, why);
    }
    if (country == NULL)
        FAIL("a national number, and no country to read it in");
    const char *nsn = d;
    size_t tlen = strlen(country->trunk);
    if (tlen > 0 && strncmp(nsn, country->trunk, tlen) == 0 &&
        strlen(nsn) - tlen >= country->nsn_min)
        nsn += tlen;
    /* A NANP number written with its country code but no '+': 1 415 ... */
    else if (strlen(nsn) == strlen(country->calling_code) + country->nsn_max &&
             strncmp(nsn, country->calling_code, strlen(country->calling_code)) == 0 &&
             country->nsn_min == country->nsn_max)
        nsn += strlen(country->calling_code);
    return finish(country->calling_code, nsn, country, out, outlen, why);
}

int phone_nanp_area(const char *e164, char *area)
{
    if (e164 == NULL || strncmp(e164, "+1", 2) != 0 || strlen(e164) != 12)
        return -EINVAL;
    memcpy(area, e164 + 2, 3);
    area[3] = '\0';
    return 0;
}
