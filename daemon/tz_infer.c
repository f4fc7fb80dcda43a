/* SPDX-License-Identifier: MIT */
/* daemon/tz_infer.c: time zone inference for leads.
 *
 * Source: our own table, compiled by hand from the IANA tz database's
 * zone.tab/zone1970.tab (which zone covers which region) and the public
 * NANP area code assignments. Rules:
 *   - a single-zone country gives its zone (country.c);
 *   - otherwise a region (state, province, oblast; code or name) that lies
 *     in one zone gives it. A region split by a zone line where many people
 *     live in both parts (Florida, Indiana, Kentucky, Tennessee, Texas,
 *     Nebraska, the Dakotas, Idaho, Nunavut, Chihuahua) gives nothing, and a
 *     region whose second zone holds only a few small counties (Kansas,
 *     Oregon, Michigan, Ontario, Nevada, Alaska) gives its main zone;
 *   - then a NANP area code (US, CA) that lies in one zone, and that is in
 *     the lead's region when one is given (a Texas lead with a New York
 *     mobile is still in Texas), or the fixed-line prefix for AU/ES/PT;
 *   - otherwise "ambiguous(CC)": windows must then be open in every zone
 *     tz_country_zones() lists.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "tz_infer.h"

#define NY "America/New_York"
#define CHI "America/Chicago"
#define DEN "America/Denver"
#define LA "America/Los_Angeles"
#define SPL NULL    /* split: needs more than the region */

struct region { const char *iso2, *keys, *zone; };   /* keys: "tx|texas" */

static const struct region regions[] = {
    /* United States */
    { "US", "ct|connecticut|de|delaware|dc|districtofcolumbia|washingtondc|ga|georgia|"
            "me|maine|md|maryland|ma|massachusetts|nh|newhampshire|nj|newjersey|ny|newyork|"
            "nc|northcarolina|oh|ohio|pa|pennsylvania|ri|rhodeisland|sc|southcarolina|"
            "vt|vermont|va|virginia|wv|westvirginia", NY },
    { "US", "mi|michigan", "America/Detroit" },
    { "US", "al|alabama|ar|arkansas|il|illinois|ia|iowa|la|louisiana|mn|minnesota|"
            "ms|mississippi|mo|missouri|ok|oklahoma|wi|wisconsin|ks|kansas", CHI },
    { "US", "co|colorado|mt|montana|nm|newmexico|ut|utah|wy|wyoming", DEN },
    { "US", "az|arizona", "America/Phoenix" },
    { "US", "ca|california|wa|washington|nv|nevada|or|oregon", LA },
    { "US", "ak|alaska", "America/Anchorage" },
    { "US", "hi|hawaii", "Pacific/Honolulu" },
    /* Split regions: one entry each, code first (matched against areas[]). */
    { "US", "fl|florida", SPL }, { "US", "in|indiana", SPL }, { "US", "ky|kentucky", SPL },
    { "US", "tn|tennessee", SPL }, { "US", "tx|texas", SPL }, { "US", "ne|nebraska", SPL },
    { "US", "nd|northdakota", SPL }, { "US", "sd|southdakota", SPL }, { "US", "id|idaho", SPL },
    /* Canada */
    { "CA", "bc|britishcolumbia", "America/Vancouver" },
    { "CA", "ab|alberta", "America/Edmonton" },
    { "CA", "sk|saskatchewan", "America/Regina" },
    { "CA", "mb|manitoba", "America/Winnipeg" },
    { "CA", "on|ontario|qc|quebec", "America/Toronto" },
    { "CA", "nb|newbrunswick", "America/Moncton" },
    { "CA", "ns|novascotia|pe|pei|princeedwardisland", "America/Halifax" },
    { "CA", "nl|newfoundland|newfoundlandandlabrador", "America/St_Johns" },
    { "CA", "yt|yukon", "America/Whitehorse" },
    { "CA", "nt|northwestterritories", "America/Yellowknife" },
    { "CA", "nu|nunavut", SPL },
    /* Australia */
    { "AU", "nsw|newsouthwales|act|australiancapitalterritory", "Australia/Sydney" },
    { "AU", "vic|victoria", "Australia/Melbourne" },
    { "AU", "qld|queensland", "Australia/Brisbane" },
    { "AU", "sa|southaustralia", "Australia/Adelaide" },
    { "AU", "wa|westernaustralia", "Australia/Perth" },
    { "AU", "tas|tasmania", "Australia/Hobart" },
    { "AU", "nt|northernterritory", "Australia/Darwin" },
    /* Brazil */
    { "BR", "sp|saopaulo|rj|riodejaneiro|mg|minasgerais|es|espiritosanto|pr|parana|"
            "sc|santacatarina|rs|riograndedosul|go|goias|df|distritofederal",
      "America/Sao_Paulo" },
    { "BR", "ba|bahia", "America/Bahia" },
    { "BR", "se|sergipe|al|alagoas", "America/Maceio" },
    { "BR", "pe|pernambuco", "America/Recife" },
    { "BR", "pb|paraiba|rn|riograndedonorte|ce|ceara|pi|piaui|ma|maranhao",
      "America/Fortaleza" },
    { "BR", "pa|para|ap|amapa", "America/Belem" },
    { "BR", "to|tocantins", "America/Araguaina" },
    { "BR", "am|amazonas", "America/Manaus" },
    { "BR", "rr|roraima", "America/Boa_Vista" },
    { "BR", "ro|rondonia", "America/Porto_Velho" },
    { "BR", "mt|matogrosso", "America/Cuiaba" },
    { "BR", "ms|matogrossodosul", "America/Campo_Grande" },
    { "BR", "ac|acre", "America/Rio_Branco" },
    /* Mexico */
    { "MX", "bc|bajacalifornia", "America/Tijuana" },
    { "MX", "bcs|bajacaliforniasur|sin|sinaloa|nay|nayarit", "America/Mazatlan" },
    { "MX", "son|sonora", "America/Hermosillo" },
    { "MX", "roo|qroo|quintanaroo", "America/Cancun" },
    { "MX", "chih|chihuahua", SPL },
    { "MX", "nl|nuevoleon|coah|coahuila|tamps|tamaulipas|dgo|durango", "America/Monterrey" },
    { "MX", "yuc|yucatan|camp|campeche", "America/Merida" },
    { "MX", "ags|aguascalientes|chis|chiapas|col|colima|cdmx|ciudaddemexico|mexicocity|df|"
            "gto|guanajuato|gro|guerrero|hgo|hidalgo|jal|jalisco|mex|mexico|estadodemexico|"
            "mich|michoacan|mor|morelos|oax|oaxaca|pue|puebla|qro|queretaro|slp|"
            "sanluispotosi|tab|tabasco|tlax|tlaxcala|ver|veracruz|zac|zacatecas",
      "America/Mexico_City" },
    /* Russia: the regions most B2B contacts are in. */
    { "RU", "moscow|moskva|mow|moscowoblast|saintpetersburg|stpetersburg|sanktpeterburg|spe|"
            "leningradoblast|tatarstan|kazan|nizhnynovgorod|rostov|krasnodar|voronezh",
      "Europe/Moscow" },
    { "RU", "kaliningrad", "Europe/Kaliningrad" },
    { "RU", "samara|udmurtia", "Europe/Samara" },
    { "RU", "sverdlovsk|yekaterinburg|ekaterinburg|chelyabinsk|perm|bashkortostan|ufa|tyumen",
      "Asia/Yekaterinburg" },
    { "RU", "omsk", "Asia/Omsk" },
    { "RU", "novosibirsk", "Asia/Novosibirsk" },
    { "RU", "krasnoyarsk", "Asia/Krasnoyarsk" },
    { "RU", "irkutsk", "Asia/Irkutsk" },
    { "RU", "primorsky|primorye|vladivostok|khabarovsk", "Asia/Vladivostok" },
    { "RU", "magadan", "Asia/Magadan" },
    { "RU", "kamchatka", "Asia/Kamchatka" },
    /* Spain and Portugal: their islands are an hour behind. */
    { "ES", "canarias|canaryislands|islascanarias|laspalmas|gc|santacruzdetenerife|tf|"
            "tenerife|grancanaria", "Atlantic/Canary" },
    { "PT", "azores|acores|regiaoautonomadosacores", "Atlantic/Azores" },
    /* Indonesia */
    { "ID", "jakarta|dkijakarta|westjava|jawabarat|centraljava|jawatengah|eastjava|jawatimur|"
            "banten|yogyakarta|sumatra|northsumatra|sumaterautara|westsumatra|sumaterabarat|"
            "riau|jambi|lampung|aceh|westkalimantan|kalimantanbarat", "Asia/Jakarta" },
    { "ID", "bali|westnusatenggara|nusatenggarabarat|eastnusatenggara|nusatenggaratimur|"
            "southkalimantan|kalimantanselatan|eastkalimantan|kalimantantimur|sulawesi|"
            "southsulawesi|sulawesiselatan|northsulawesi|sulawesiutara", "Asia/Makassar" },
    { "ID", "papua|westpapua|papuabarat|maluku|northmaluku", "Asia/Jayapura" },
    /* DR Congo */
    { "CD", "kinshasa|kongocentral|equateur", "Africa/Kinshasa" },
    { "CD", "katanga|hautkatanga|lubumbashi|kasai|nordkivu|northkivu|sudkivu|southkivu",
      "Africa/Lubumbashi" },
};

/* NANP area codes that lie in one zone (or SPL), with their state or
 * province: those of the split regions, and the largest metros. */
struct area { const char code[4], st[3]; const char *zone; };

static const struct area areas[] = {
    { "305", "FL", NY }, { "786", "FL", NY }, { "954", "FL", NY }, { "754", "FL", NY },
    { "561", "FL", NY }, { "772", "FL", NY }, { "321", "FL", NY }, { "407", "FL", NY },
    { "689", "FL", NY }, { "352", "FL", NY }, { "386", "FL", NY }, { "904", "FL", NY },
    { "727", "FL", NY }, { "813", "FL", NY }, { "656", "FL", NY }, { "941", "FL", NY },
    { "239", "FL", NY }, { "863", "FL", NY }, { "850", "FL", SPL }, { "448", "FL", SPL },
    { "219", "IN", CHI }, { "812", "IN", SPL }, { "930", "IN", SPL },
    { "260", "IN", "America/Indiana/Indianapolis" }, { "317", "IN", "America/Indiana/Indianapolis" },
    { "463", "IN", "America/Indiana/Indianapolis" }, { "574", "IN", "America/Indiana/Indianapolis" },
    { "765", "IN", "America/Indiana/Indianapolis" },
    { "502", "KY", "America/Kentucky/Louisville" }, { "606", "KY", NY }, { "859", "KY", NY },
    { "270", "KY", CHI }, { "364", "KY", CHI },
    { "423", "TN", NY }, { "865", "TN", NY }, { "615", "TN", CHI }, { "629", "TN", CHI },
    { "731", "TN", CHI }, { "901", "TN", CHI }, { "931", "TN", CHI },
    { "915", "TX", DEN }, { "210", "TX", CHI }, { "214", "TX", CHI }, { "254", "TX", CHI },
    { "281", "TX", CHI }, { "325", "TX", CHI }, { "346", "TX", CHI }, { "361", "TX", CHI },
    { "409", "TX", CHI }, { "430", "TX", CHI }, { "432", "TX", CHI }, { "469", "TX", CHI },
    { "512", "TX", CHI }, { "682", "TX", CHI }, { "713", "TX", CHI }, { "726", "TX", CHI },
    { "737", "TX", CHI }, { "806", "TX", CHI }, { "817", "TX", CHI }, { "830", "TX", CHI },
    { "832", "TX", CHI }, { "903", "TX", CHI }, { "936", "TX", CHI }, { "940", "TX", CHI },
    { "945", "TX", CHI }, { "956", "TX", CHI }, { "972", "TX", CHI }, { "979", "TX", CHI },
    { "402", "NE", CHI }, { "531", "NE", CHI }, { "308", "NE", SPL },
    { "701", "ND", SPL }, { "605", "SD", SPL }, { "208", "ID", SPL }, { "986", "ID", SPL },
    { "212", "NY", NY }, { "646", "NY", NY }, { "917", "NY", NY }, { "718", "NY", NY },
    { "347", "NY", NY }, { "929", "NY", NY }, { "516", "NY", NY }, { "631", "NY", NY },
    { "914", "NY", NY }, { "202", "DC", NY }, { "617", "MA", NY }, { "857", "MA", NY },
    { "215", "PA", NY }, { "267", "PA", NY }, { "412", "PA", NY }, { "404", "GA", NY },
    { "470", "GA", NY }, { "678", "GA", NY }, { "770", "GA", NY }, { "704", "NC", NY },
    { "980", "NC", NY }, { "919", "NC", NY }, { "201", "NJ", NY }, { "973", "NJ", NY },
    { "313", "MI", "America/Detroit" }, { "248", "MI", "America/Detroit" },
    { "312", "IL", CHI }, { "773", "IL", CHI }, { "872", "IL", CHI }, { "847", "IL", CHI },
    { "630", "IL", CHI }, { "314", "MO", CHI }, { "816", "MO", CHI }, { "612", "MN", CHI },
    { "651", "MN", CHI }, { "414", "WI", CHI }, { "504", "LA", CHI }, { "303", "CO", DEN },
    { "720", "CO", DEN }, { "801", "UT", DEN }, { "385", "UT", DEN }, { "505", "NM", DEN },
    { "602", "AZ", "America/Phoenix" }, { "480", "AZ", "America/Phoenix" },
    { "623", "AZ", "America/Phoenix" }, { "520", "AZ", "America/Phoenix" },
    { "213", "CA", LA }, { "310", "CA", LA }, { "323", "CA", LA }, { "424", "CA", LA },
    { "626", "CA", LA }, { "818", "CA", LA }, { "562", "CA", LA }, { "714", "CA", LA },
    { "949", "CA", LA }, { "619", "CA", LA }, { "858", "CA", LA }, { "415", "CA", LA },
    { "628", "CA", LA }, { "510", "CA", LA }, { "408", "CA", LA }, { "669", "CA", LA },
    { "650", "CA", LA }, { "916", "CA", LA }, { "206", "WA", LA }, { "253", "WA", LA },
    { "425", "WA", LA }, { "503", "OR", LA }, { "971", "OR", LA }, { "702", "NV", LA },
    { "907", "AK", "America/Anchorage" }, { "808", "HI", "Pacific/Honolulu" },
    /* Canada */
    { "604", "BC", "America/Vancouver" }, { "778", "BC", "America/Vancouver" },
    { "236", "BC", "America/Vancouver" }, { "250", "BC", "America/Vancouver" },
    { "403", "AB", "America/Edmonton" }, { "587", "AB", "America/Edmonton" },
    { "780", "AB", "America/Edmonton" }, { "825", "AB", "America/Edmonton" },
    { "306", "SK", "America/Regina" }, { "639", "SK", "America/Regina" },
    { "204", "MB", "America/Winnipeg" }, { "431", "MB", "America/Winnipeg" },
    { "416", "ON", "America/Toronto" }, { "647", "ON", "America/Toronto" },
    { "437", "ON", "America/Toronto" }, { "905", "ON", "America/Toronto" },
    { "289", "ON", "America/Toronto" }, { "613", "ON", "America/Toronto" },
    { "519", "ON", "America/Toronto" }, { "226", "ON", "America/Toronto" },
    { "514", "QC", "America/Toronto" }, { "438", "QC", "America/Toronto" },
    { "450", "QC", "America/Toronto" }, { "418", "QC", "America/Toronto" },
    { "819", "QC", "America/Toronto" }, { "506", "NB", "America/Moncton" },
    { "902", "NS", "America/Halifax" }, { "782", "NS", "America/Halifax" },
    { "709", "NL", "America/St_Johns" }, { "867", "NU", SPL },
};

static const char *const zones_us[] = { NY, CHI, DEN, "America/Phoenix", LA,
    "America/Anchorage", "Pacific/Honolulu", NULL };
static const char *const zones_ca[] = { "America/St_Johns", "America/Halifax",
    "America/Toronto", "America/Winnipeg", "America/Regina", "America/Edmonton",
    "America/Vancouver", "America/Whitehorse", NULL };
static const char *const zones_au[] = { "Australia/Sydney", "Australia/Melbourne",
    "Australia/Brisbane", "Australia/Adelaide", "Australia/Darwin", "Australia/Perth",
    "Australia/Hobart", NULL };
static const char *const zones_br[] = { "America/Sao_Paulo", "America/Bahia",
    "America/Fortaleza", "America/Recife", "America/Maceio", "America/Belem",
    "America/Araguaina", "America/Manaus", "America/Boa_Vista", "America/Porto_Velho",
    "America/Cuiaba", "America/Campo_Grande", "America/Rio_Branco", "America/Noronha", NULL };
static const char *const zones_mx[] = { "America/Mexico_City", "America/Monterrey",
    "America/Merida", "America/Cancun", "America/Chihuahua", "America/Ciudad_Juarez",
    "America/Mazatlan", "America/Hermosillo", "America/Tijuana", NULL };
static const char *const zones_ru[] = { "Europe/Kaliningrad", "Europe/Moscow",
    "Europe/Samara", "Asia/Yekaterinburg", "Asia/Omsk", "Asia/Novosibirsk",
    "Asia/Krasnoyarsk", "Asia/Irkutsk", "Asia/Yakutsk", "Asia/Vladivostok", "Asia/Magadan",
    "Asia/Kamchatka", NULL };
static const char *const zones_es[] = { "Europe/Madrid", "Atlantic/Canary", NULL };
static const char *const zones_pt[] = { "Europe/Lisbon", "Atlantic/Azores", NULL };
static const char *const zones_id[] = { "Asia/Jakarta", "Asia/Makassar", "Asia/Jayapura", NULL };
static const char *const zones_cd[] = { "Africa/Kinshasa", "Africa/Lubumbashi", NULL };

static const struct { const char *iso2; const char *const *zones; } multi[] = {
    { "US", zones_us }, { "CA", zones_ca }, { "AU", zones_au }, { "BR", zones_br },
    { "MX", zones_mx }, { "RU", zones_ru }, { "ES", zones_es }, { "PT", zones_pt },
    { "ID", zones_id }, { "CD", zones_cd },
};

const char *const *tz_country_zones(const char *iso2)
{
    for (size_t i = 0; iso2 != NULL && i < sizeof(multi) / sizeof(multi[0]); i++)
        if (strcmp(multi[i].iso2, iso2) == 0)
            return multi[i].zones;
    const struct country *c = country_by_iso2(iso2);
    if (c == NULL || c->zone == NULL)
        return NULL;
    /* Built per call into a per-thread array, so callers on any thread get
     * a stable answer until their next call. */
    static __thread const char *one[2];
    one[0] = c->zone;
    one[1] = NULL;
    return one;
}

static void fold(const char *in, char *out, size_t cap)
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)in; *p != '\0' && n + 1 < cap; p++) {
        if (isalnum(*p))
            out[n++] = (char)tolower(*p);
        else if (p[0] == 0xc3 && p[1] != '\0') {
            static const char map[64] =
                "aaaaaaaceeeeiiiidnooooo/ouuuuyts" "aaaaaaaceeeeiiiidnooooo/ouuuuyty";
            char c = map[(p[1] - 0x80) & 0x3f];
            if (c != '/')
                out[n++] = c;
            p++;
        }
    }
    out[n] = '\0';
}

static bool keys_have(const char *keys, const char *key)
{
    size_t n = strlen(key);
    for (const char *p = keys; *p != '\0';) {
        const char *bar = strchr(p, '|');
        size_t len = bar != NULL ? (size_t)(bar - p) : strlen(p);
        if (len == n && strncmp(p, key, n) == 0)
            return true;
        p += len + (bar != NULL);
    }
    return false;
}

/* 1: found (zone set; NULL when split), 0: unknown region. *code (4 bytes)
 * gets the entry's first key upper-cased: a split region's own code. */
static int region_zone(const char *iso2, const char *region, const char **zone, char *code)
{
    char key[96];
    fold(region, key, sizeof(key));
    if (key[0] == '\0')
        return 0;
    for (size_t i = 0; i < sizeof(regions) / sizeof(regions[0]); i++) {
        if (strcmp(regions[i].iso2, iso2) != 0 || !keys_have(regions[i].keys, key))
            continue;
        *zone = regions[i].zone;
        /* A split region's entry holds just that region, code first. */
        size_t k = 0;
        while (regions[i].keys[k] != '|' && regions[i].keys[k] != '\0' && k < 3) {
            code[k] = (char)toupper((unsigned char)regions[i].keys[k]);
            k++;
        }
        code[k] = '\0';
        return 1;
    }
    return 0;
}

static const char *phone_zone(const char *iso2, const char *e164, const char *state)
{
    if (e164 == NULL)
        return NULL;
    if ((strcmp(iso2, "US") == 0 || strcmp(iso2, "CA") == 0) && strncmp(e164, "+1", 2) == 0 &&
        strlen(e164) == 12) {
        for (size_t i = 0; i < sizeof(areas) / sizeof(areas[0]); i++)
            if (strncmp(e164 + 2, areas[i].code, 3) == 0)
                return state[0] == '\0' || strcmp(state, areas[i].st) == 0 ? areas[i].zone
                                                                           : NULL;
        return NULL;
    }
    /* Fixed-line prefixes that name one zone; mobiles say nothing. */
    if (strcmp(iso2, "AU") == 0 && strncmp(e164, "+61", 3) == 0)
        return e164[3] == '2' ? "Australia/Sydney" : e164[3] == '3' ? "Australia/Melbourne"
             : e164[3] == '7' ? "Australia/Brisbane" : NULL;
    if (strcmp(iso2, "ES") == 0 && strncmp(e164, "+34", 3) == 0) {
        if (strncmp(e164 + 3, "822", 3) == 0 || strncmp(e164 + 3, "828", 3) == 0 ||
            strncmp(e164 + 3, "922", 3) == 0 || strncmp(e164 + 3, "928", 3) == 0)
            return "Atlantic/Canary";
        return e164[3] == '8' || e164[3] == '9' ? "Europe/Madrid" : NULL;
    }
    if (strcmp(iso2, "PT") == 0 && strncmp(e164, "+351", 4) == 0) {
        if (strncmp(e164 + 4, "292", 3) == 0 || strncmp(e164 + 4, "295", 3) == 0 ||
            strncmp(e164 + 4, "296", 3) == 0)
            return "Atlantic/Azores";
        return e164[4] == '2' ? "Europe/Lisbon" : NULL;
    }
    return NULL;
}

int tz_infer(const struct country *country, const char *region, const char *e164,
             char *out, size_t outlen)
{
    const char *zone = NULL;
    char state[4] = "";

    if (outlen < 1)
        return -ENAMETOOLONG;
    out[0] = '\0';
    if (country == NULL)
        return 0;
    if (country->zone != NULL) {
        zone = country->zone;
    } else {
        int found = region != NULL ? region_zone(country->iso2, region, &zone, state) : 0;
        /* Spain and Portugal: any known region off the islands is the
         * mainland's zone. */
        if (!found && region != NULL && region[0] != '\0' &&
            (strcmp(country->iso2, "ES") == 0 || strcmp(country->iso2, "PT") == 0))
            zone = country->iso2[0] == 'E' ? "Europe/Madrid" : "Europe/Lisbon";
        if (zone == NULL)
            zone = phone_zone(country->iso2, e164, state);
    }
    int n = zone != NULL ? snprintf(out, outlen, "%s", zone)
                         : snprintf(out, outlen, "ambiguous(%s)", country->iso2);
    return n < 0 || (size_t)n >= outlen ? -ENAMETOOLONG : 0;
}

bool tz_is_ambiguous(const char *tz, char *iso2)
{
    if (tz == NULL || strncmp(tz, "ambiguous(", 10) != 0 || strlen(tz) != 13 || tz[12] != ')')
        return false;
    if (iso2 != NULL) {
        iso2[0] = tz[10];
        iso2[1] = tz[11];
        iso2[2] = '\0';
    }
    return true;
}
