/* SPDX-License-Identifier: MIT */
/* daemon/country.c: the country table and its lookups.
 *
 * Source: our own compilation for drumbeat, written by hand from the public
 * ITU-T E.164 list of country calling codes, each country's published
 * national numbering plan (trunk prefix, usual national significant number
 * length) and the IANA tz database's zone.tab for the zone of single-zone
 * countries. Lengths are the usual ranges, slightly generous; a number
 * outside them is kept as given and flagged, never rejected. Countries with
 * several zones have zone NULL: tz_infer.c resolves them by region or area
 * code. No third-party table or code was copied.
 */
#include <ctype.h>
#include <pthread.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "country.h"

static const struct country countries[] = {
    /* North America: the NANP (+1, trunk prefix 1, 10 digits). The US comes
     * first so that +1 alone means the US. */
    { "US", "USA", "United States", "1", "1", 10, 10, NULL },
    { "CA", "CAN", "Canada", "1", "1", 10, 10, NULL },
    { "PR", "PRI", "Puerto Rico", "1", "1", 10, 10, "America/Puerto_Rico" },
    { "DO", "DOM", "Dominican Republic", "1", "1", 10, 10, "America/Santo_Domingo" },
    { "JM", "JAM", "Jamaica", "1", "1", 10, 10, "America/Jamaica" },
    { "MX", "MEX", "Mexico", "52", "", 10, 10, NULL },
    /* Europe */
    { "GB", "GBR", "United Kingdom", "44", "0", 9, 10, "Europe/London" },
    { "IE", "IRL", "Ireland", "353", "0", 7, 9, "Europe/Dublin" },
    { "FR", "FRA", "France", "33", "0", 9, 9, "Europe/Paris" },
    { "DE", "DEU", "Germany", "49", "0", 6, 11, "Europe/Berlin" },
    { "NL", "NLD", "Netherlands", "31", "0", 9, 9, "Europe/Amsterdam" },
    { "BE", "BEL", "Belgium", "32", "0", 8, 9, "Europe/Brussels" },
    { "LU", "LUX", "Luxembourg", "352", "", 4, 11, "Europe/Luxembourg" },
    { "CH", "CHE", "Switzerland", "41", "0", 9, 9, "Europe/Zurich" },
    { "AT", "AUT", "Austria", "43", "0", 4, 13, "Europe/Vienna" },
    { "IT", "ITA", "Italy", "39", "", 6, 11, "Europe/Rome" },
    { "ES", "ESP", "Spain", "34", "", 9, 9, NULL },
    { "PT", "PRT", "Portugal", "351", "", 9, 9, NULL },
    { "DK", "DNK", "Denmark", "45", "", 8, 8, "Europe/Copenhagen" },
    { "SE", "SWE", "Sweden", "46", "0", 7, 9, "Europe/Stockholm" },
    { "NO", "NOR", "Norway", "47", "", 8, 8, "Europe/Oslo" },
    { "FI", "FIN", "Finland", "358", "0", 5, 10, "Europe/Helsinki" },
    { "IS", "ISL", "Iceland", "354", "", 7, 7, "Atlantic/Reykjavik" },
    { "PL", "POL", "Poland", "48", "", 9, 9, "Europe/Warsaw" },
    { "CZ", "CZE", "Czechia", "420", "", 9, 9, "Europe/Prague" },
    { "SK", "SVK", "Slovakia", "421", "0", 9, 9, "Europe/Bratislava" },
    { "HU", "HUN", "Hungary", "36", "06", 8, 9, "Europe/Budapest" },
    { "RO", "ROU", "Romania", "40", "0", 9, 9, "Europe/Bucharest" },
    { "BG", "BGR", "Bulgaria", "359", "0", 8, 9, "Europe/Sofia" },
    { "GR", "GRC", "Greece", "30", "", 10, 10, "Europe/Athens" },
    { "CY", "CYP", "Cyprus", "357", "", 8, 8, "Asia/Nicosia" },
    { "MT", "MLT", "Malta", "356", "", 8, 8, "Europe/Malta" },
    { "SI", "SVN", "Slovenia", "386", "0", 8, 8, "Europe/Ljubljana" },
    { "HR", "HRV", "Croatia", "385", "0", 8, 9, "Europe/Zagreb" },
    { "RS", "SRB", "Serbia", "381", "0", 8, 9, "Europe/Belgrade" },
    { "BA", "BIH", "Bosnia and Herzegovina", "387", "0", 8, 8, "Europe/Sarajevo" },
    { "EE", "EST", "Estonia", "372", "", 7, 8, "Europe/Tallinn" },
    { "LV", "LVA", "Latvia", "371", "", 8, 8, "Europe/Riga" },
    { "LT", "LTU", "Lithuania", "370", "8", 8, 8, "Europe/Vilnius" },
    { "UA", "UKR", "Ukraine", "380", "0", 9, 9, "Europe/Kyiv" },
    { "BY", "BLR", "Belarus", "375", "80", 9, 9, "Europe/Minsk" },
    { "MD", "MDA", "Moldova", "373", "0", 8, 8, "Europe/Chisinau" },
    { "RU", "RUS", "Russia", "7", "8", 10, 10, NULL },
    { "KZ", "KAZ", "Kazakhstan", "7", "8", 10, 10, "Asia/Almaty" },
    { "TR", "TUR", "Turkey", "90", "0", 10, 10, "Europe/Istanbul" },
    /* Middle East and Africa */
    { "IL", "ISR", "Israel", "972", "0", 8, 9, "Asia/Jerusalem" },
    { "AE", "ARE", "United Arab Emirates", "971", "0", 8, 9, "Asia/Dubai" },
    { "SA", "SAU", "Saudi Arabia", "966", "0", 8, 9, "Asia/Riyadh" },
    { "QA", "QAT", "Qatar", "974", "", 8, 8, "Asia/Qatar" },
    { "KW", "KWT", "Kuwait", "965", "", 8, 8, "Asia/Kuwait" },
    { "BH", "BHR", "Bahrain", "973", "", 8, 8, "Asia/Bahrain" },
    { "OM", "OMN", "Oman", "968", "", 8, 8, "Asia/Muscat" },
    { "JO", "JOR", "Jordan", "962", "0", 8, 9, "Asia/Amman" },
    { "LB", "LBN", "Lebanon", "961", "0", 7, 8, "Asia/Beirut" },
    { "EG", "EGY", "Egypt", "20", "0", 8, 10, "Africa/Cairo" },
    { "MA", "MAR", "Morocco", "212", "0", 9, 9, "Africa/Casablanca" },
    { "TN", "TUN", "Tunisia", "216", "", 8, 8, "Africa/Tunis" },
    { "DZ", "DZA", "Algeria", "213", "0", 8, 9, "Africa/Algiers" },
    { "NG", "NGA", "Nigeria", "234", "0", 8, 10, "Africa/Lagos" },
    { "GH", "GHA", "Ghana", "233", "0", 9, 9, "Africa/Accra" },
    { "KE", "KEN", "Kenya", "254", "0", 9, 9, "Africa/Nairobi" },
    { "ZA", "ZAF", "South Africa", "27", "0", 9, 9, "Africa/Johannesburg" },
    { "ET", "ETH", "Ethiopia", "251", "0", 9, 9, "Africa/Addis_Ababa" },
    { "TZ", "TZA", "Tanzania", "255", "0", 9, 9, "Africa/Dar_es_Salaam" },
    { "UG", "UGA", "Uganda", "256", "0", 9, 9, "Africa/Kampala" },
    { "SN", "SEN", "Senegal", "221", "", 9, 9, "Africa/Dakar" },
    { "CI", "CIV", "Cote d'Ivoire", "225", "", 10, 10, "Africa/Abidjan" },
    { "CD", "COD", "DR Congo", "243", "0", 9, 9, NULL },
    /* Asia and Oceania */
    { "IN", "IND", "India", "91", "0", 10, 10, "Asia/Kolkata" },
    { "PK", "PAK", "Pakistan", "92", "0", 9, 10, "Asia/Karachi" },
    { "BD", "BGD", "Bangladesh", "880", "0", 8, 10, "Asia/Dhaka" },
    { "LK", "LKA", "Sri Lanka", "94", "0", 9, 9, "Asia/Colombo" },
    { "NP", "NPL", "Nepal", "977", "0", 8, 10, "Asia/Kathmandu" },
    { "CN", "CHN", "China", "86", "0", 9, 11, "Asia/Shanghai" },
    { "HK", "HKG", "Hong Kong", "852", "", 8, 8, "Asia/Hong_Kong" },
    { "MO", "MAC", "Macao", "853", "", 8, 8, "Asia/Macau" },
    { "TW", "TWN", "Taiwan", "886", "0", 8, 9, "Asia/Taipei" },
    { "JP", "JPN", "Japan", "81", "0", 9, 10, "Asia/Tokyo" },
    { "KR", "KOR", "South Korea", "82", "0", 8, 10, "Asia/Seoul" },
    { "SG", "SGP", "Singapore", "65", "", 8, 8, "Asia/Singapore" },
    { "MY", "MYS", "Malaysia", "60", "0", 8, 10, "Asia/Kuala_Lumpur" },
    { "TH", "THA", "Thailand", "66", "0", 8, 9, "Asia/Bangkok" },
    { "VN", "VNM", "Vietnam", "84", "0", 9, 10, "Asia/Ho_Chi_Minh" },
    { "PH", "PHL", "Philippines", "63", "0", 8, 10, "Asia/Manila" },
    { "ID", "IDN", "Indonesia", "62", "0", 8, 12, NULL },
    { "AU", "AUS", "Australia", "61", "0", 9, 9, NULL },
    { "NZ", "NZL", "New Zealand", "64", "0", 8, 10, "Pacific/Auckland" },
    /* South and Central America */
    { "BR", "BRA", "Brazil", "55", "0", 10, 11, NULL },
    { "AR", "ARG", "Argentina", "54", "0", 10, 11, "America/Argentina/Buenos_Aires" },
    { "CL", "CHL", "Chile", "56", "", 9, 9, "America/Santiago" },
    { "CO", "COL", "Colombia", "57", "", 10, 10, "America/Bogota" },
    { "PE", "PER", "Peru", "51", "0", 8, 9, "America/Lima" },
    { "EC", "ECU", "Ecuador", "593", "0", 8, 9, "America/Guayaquil" },
    { "VE", "VEN", "Venezuela", "58", "0", 10, 10, "America/Caracas" },
    { "UY", "URY", "Uruguay", "598", "0", 8, 8, "America/Montevideo" },
    { "PY", "PRY", "Paraguay", "595", "0", 9, 9, "America/Asuncion" },
    { "BO", "BOL", "Bolivia", "591", "0", 8, 8, "America/La_Paz" },
    { "CR", "CRI", "Costa Rica", "506", "", 8, 8, "America/Costa_Rica" },
    { "PA", "PAN", "Panama", "507", "", 7, 8, "America/Panama" },
    { "GT", "GTM", "Guatemala", "502", "", 8, 8, "America/Guatemala" },
};

/* Other names people write, folded as country_find() folds its input. */
static const struct { const char *alias, *iso2; } aliases[] = {
    { "unitedstatesofamerica", "US" }, { "america", "US" }, { "us", "US" },
    { "uk", "GB" }, { "greatbritain", "GB" }, { "britain", "GB" }, { "england", "GB" },
    { "scotland", "GB" }, { "wales", "GB" }, { "northernireland", "GB" },
    { "deutschland", "DE" }, { "holland", "NL" }, { "thenetherlands", "NL" },
    { "nederland", "NL" }, { "belgique", "BE" }, { "belgie", "BE" },
    { "schweiz", "CH" }, { "suisse", "CH" }, { "svizzera", "CH" },
    { "osterreich", "AT" }, { "italia", "IT" }, { "espana", "ES" }, { "czechrepublic", "CZ" },
    { "russianfederation", "RU" }, { "turkiye", "TR" }, { "uae", "AE" },
    { "korea", "KR" }, { "korearepublicof", "KR" }, { "republicofkorea", "KR" },
    { "vietnam", "VN" }, { "vietnamsocialistrepublic", "VN" }, { "brasil", "BR" },
    { "mexico", "MX" }, { "ivorycoast", "CI" }, { "drc", "CD" },
    { "democraticrepublicofthecongo", "CD" }, { "congokinshasa", "CD" },
    { "hongkongsar", "HK" }, { "macau", "MO" }, { "prc", "CN" }, { "peoplesrepublicofchina", "CN" },
    { "bosnia", "BA" }, { "kyiv", "UA" }, { "ksa", "SA" },
};

/* Lower-case ASCII letters and digits only; UTF-8 letters with common
 * accents lose them (é -> e) so that "España" and "México" match. */
static void fold(const char *in, char *out, size_t cap)
{
    size_t n = 0;
    const unsigned char *p = (const unsigned char *)in;

    while (*p != '\0' && n + 1 < cap) {
        if (isalnum(*p)) {
            out[n++] = (char)tolower(*p);
        } else if (p[0] == 0xc3 && p[1] != '\0') {
            /* Latin-1 supplement letters: map the common accented vowels. */
            static const char map[64] =
                "aaaaaaaceeeeiiiidnooooo/ouuuuyts" "aaaaaaaceeeeiiiidnooooo/ouuuuyty";
            char c = map[(p[1] - 0x80) & 0x3f];
            if (c != '/')
                out[n++] = c;
            p++;
        }
        p++;
    }
    out[n] = '\0';
}

const struct country *country_by_iso2(const char *iso2)
{
    for (size_t i = 0; iso2 != NULL && i < sizeof(countries) / sizeof(countries[0]); i++)
        if (strcmp(countries[i].iso2, iso2) == 0)
            return &countries[i];
    return NULL;
}

#define N_COUNTRIES (sizeof(countries) / sizeof(countries[0]))

/* The names folded once: country_find() runs for every imported row. */
static char folded_names[N_COUNTRIES][48];
static pthread_once_t folded_once = PTHREAD_ONCE_INIT;

static void fold_names(void)
{
    for (size_t i = 0; i < N_COUNTRIES; i++)
        fold(countries[i].name, folded_names[i], sizeof(folded_names[i]));
}

const struct country *country_find(const char *text)
{
    char key[96];

    if (text == NULL)
        return NULL;
    fold(text, key, sizeof(key));
    if (key[0] == '\0')
        return NULL;
    size_t klen = strlen(key);
    pthread_once(&folded_once, fold_names);
    for (size_t i = 0; i < N_COUNTRIES; i++) {
        const struct country *c = &countries[i];
        if ((klen == 2 && strncasecmp(c->iso2, key, 2) == 0) ||
            (klen == 3 && strncasecmp(c->iso3, key, 3) == 0) ||
            strcmp(folded_names[i], key) == 0)
            return c;
    }
    for (size_t i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++)
        if (strcmp(aliases[i].alias, key) == 0)
            return country_by_iso2(aliases[i].iso2);
    return NULL;
}

const struct country *country_by_calling_code(const char *digits, size_t *cc_len)
{
    const struct country *best = NULL;
    size_t best_len = 0;

    for (size_t i = 0; digits != NULL && i < sizeof(countries) / sizeof(countries[0]); i++) {
        size_t n = strlen(countries[i].calling_code);
        if (n > best_len && strncmp(digits, countries[i].calling_code, n) == 0) {
            best = &countries[i];
            best_len = n;
        }
    }
    if (best != NULL && cc_len != NULL)
        *cc_len = best_len;
    return best;
}
