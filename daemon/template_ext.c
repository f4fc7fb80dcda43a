/* SPDX-License-Identifier: MIT */
/* daemon/template_ext.c: what drumbeat adds to Mustache for cold email:
 * the lead-local {{today}} / {{weekday}} (GLib knows the IANA zones), the
 * spintax pick, the spintax seed of a touch, and the accessors of the
 * missing-variable list. The fallback ({{x|y}}) needs no code here: the
 * parser stores it and the renderer prints it.
 */
#include <glib.h>
#include <stdio.h>
#include <string.h>

#include "template_int.h"
#include "window.h"

enum tbuiltin template_builtin(const char *name, size_t len)
{
    if (len == 5 && memcmp(name, "today", 5) == 0)
        return TB_TODAY;
    if (len == 7 && memcmp(name, "weekday", 7) == 0)
        return TB_WEEKDAY;
    return TB_NONE;
}

/* Proleptic Gregorian date of a day count since 1970-01-01 (H. Hinnant's
 * civil_from_days), so no struct tm and no process-wide TZ are involved. */
static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

bool template_dates(const char *tzname, int64_t now_ms, char today[32], char weekday[16])
{
    static const char *const days[] = { "Sunday", "Monday", "Tuesday", "Wednesday",
                                        "Thursday", "Friday", "Saturday" };
    bool known = true;
    int64_t secs = now_ms >= 0 ? now_ms / 1000 : -((-now_ms + 999) / 1000);
    int32_t offset = 0;
    if (tzname != NULL && tzname[0] != '\0') {
        GTimeZone *tz = window_zone_ref(tzname);
        if (tz != NULL) {
            gint interval = g_time_zone_find_interval(tz, G_TIME_TYPE_UNIVERSAL, secs);
            offset = interval >= 0 ? g_time_zone_get_offset(tz, interval) : 0;
            g_time_zone_unref(tz);
        } else {
            known = false;  /* unknown zone: UTC, and the caller is told */
        }
    }
    int64_t local = secs + offset;
    int64_t day = local >= 0 ? local / 86400 : -((-local + 86399) / 86400);
    int64_t y;
    unsigned m, d;
    civil_from_days(day, &y, &m, &d);
    snprintf(today, 32, "%04lld-%02u-%02u", (long long)y, m, d);
    int64_t wd = (day + 4) % 7;     /* 1970-01-01 was a Thursday */
    snprintf(weekday, 16, "%s", days[wd < 0 ? wd + 7 : wd]);
    return known;
}

static uint64_t mix64(uint64_t x)
{
    x += 0x9E3779B97F4A7C15ull;     /* splitmix64's finaliser */
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

uint32_t template_spin_pick(uint64_t seed, uint32_t ordinal, uint32_t n)
{
    if (n <= 1)
        return 0;
    /* Each spin of a template draws independently from the same seed. */
    return (uint32_t)(mix64(seed ^ mix64(ordinal)) % n);
}

uint64_t template_spin_seed(const char *lead_id, int step)
{
    uint64_t h = 0xcbf29ce484222325ull;     /* FNV-1a over the id, then the step */
    for (const unsigned char *s = (const unsigned char *)lead_id; s != NULL && *s; s++)
        h = (h ^ *s) * 0x100000001b3ull;
    h = (h ^ 0xff) * 0x100000001b3ull;      /* separator: "ab"+1 differs from "a"+"b1" */
    for (int i = 0; i < 4; i++)
        h = (h ^ (((unsigned)step >> (8 * i)) & 0xff)) * 0x100000001b3ull;
    return mix64(h);
}

size_t template_missing_count(const struct template_output *out)
{
    return out->n_missing;
}

const char *template_missing_name(const struct template_output *out, size_t i)
{
    return i < out->n_missing ? out->missing[i] : NULL;
}

const char *template_missing_join(const struct template_output *out, char *buf, size_t len)
{
    size_t used = 0;
    if (len == 0)
        return buf;
    buf[0] = '\0';
    for (size_t i = 0; i < out->n_missing && used < len; i++) {
        int n = snprintf(buf + used, len - used, "%s%s", i > 0 ? ", " : "", out->missing[i]);
        if (n < 0)
            break;
        used += (size_t)n;
    }
    return buf;
}
