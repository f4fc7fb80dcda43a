/* SPDX-License-Identifier: MIT */
/* daemon/cadence_calendar.c: the calendar parts of a cadence file, keyed by
 * the lead's country ("FR", or "*" for every lead):
 *   "holidays":      {"FR": "holidays/fr.ics", "US": ["2026-07-04", "--12-25"]}
 *                    an iCalendar file (relative to the cadence file; only
 *                    checked to be readable here, daemon/ical.h reads it) or
 *                    a list of dates, "--MM-DD" meaning every year;
 *   "calling_hours": {"*": "08:00-21:00", "FR": "09:00-20:00"}
 *                    "*" is 08:00-21:00 unless the file sets it. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cadence_int.h"
#include "country.h"

/* "YYYY-MM-DD" or "--MM-DD" into *d; false when it is not a real date. */
static bool parse_date(const char *s, struct cadence_date *d)
{
    int y = 0, m, day, n = 0;
    static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

    if (strncmp(s, "--", 2) == 0) {
        if (sscanf(s, "--%2d-%2d%n", &m, &day, &n) != 2 || n != 7 || s[n] != '\0')
            return false;
    } else if (sscanf(s, "%4d-%2d-%2d%n", &y, &m, &day, &n) != 3 || n != 10 ||
               s[n] != '\0' || y < 1970 || y > 9999) {
        return false;
    }
    for (int i = 0; i < n; i++)
        if (s[i] != '-' && (s[i] < '0' || s[i] > '9'))
            return false;
    if (m < 1 || m > 12 || day < 1 || day > mdays[m - 1])
        return false;
    bool leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
    if (y != 0 && m == 2 && day == 29 && !leap)
        return false;
    d->year = y;
    d->month = m;
    d->day = day;
    return true;
}

/* A key of "holidays" or "calling_hours": "*" or an ISO 3166 alpha-2 code. */
static bool country_key_ok(struct cadence_ctx *cx, const char *path, const char *key)
{
    char where[256];
    json_t *js;
    char got[128] = "";

    if (strcmp(key, "*") == 0 || country_by_iso2(key) != NULL)
        return true;
    config_path_key(where, sizeof(where), path, key);
    if ((js = json_string(key)) != NULL)
        config_describe(js, got, sizeof(got));
    json_decref(js);
    /* "fr" for "FR" is the likely slip: say so. */
    char upper[3] = { 0 };
    if (strlen(key) == 2) {
        upper[0] = (char)toupper((unsigned char)key[0]);
        upper[1] = (char)toupper((unsigned char)key[1]);
        if (country_by_iso2(upper) == NULL)
            upper[0] = '\0';
    }
    config_ctx_error(&cx->c, where, "expected \"*\" or a two-letter country code in capitals "
                     "such as \"FR\", got the key %s%s%s%s", got, upper[0] != 0 ? "; did you "
                     "mean \"" : "", upper, upper[0] != 0 ? "\"?" : "");
    return false;
}

static void load_holiday(struct cadence_ctx *cx, const char *where, const json_t *v,
                         struct cadence_holidays *h)
{
    char at[300], got[128];
    const json_t *item;
    size_t i;

    config_describe(v, got, sizeof(got));
    if (json_is_string(v)) {
        const char *p = json_string_value(v);
        size_t len = strlen(p);
        if (len < 5 || strcmp(p + len - 4, ".ics") != 0) {
            config_ctx_error(&cx->c, where, "expected an iCalendar file name ending in "
                             "\".ics\" or an array of dates, got %s", got);
            return;
        }
        h->ics_path = config_path_resolve(cx->c.base_dir, p);
        if (h->ics_path == NULL)
            cx->c.oom = true;
        else if (cx->c.base_dir != NULL && access(h->ics_path, R_OK) != 0)
            config_ctx_error(&cx->c, where, "expected a readable iCalendar file, got %s "
                             "(%s: %s)", got, h->ics_path, strerror(errno));
        return;
    }
    if (!json_is_array(v)) {
        config_ctx_error(&cx->c, where, "expected an iCalendar file name or an array of "
                         "dates (\"2026-07-04\", or \"--12-25\" for every year), got %s", got);
        return;
    }
    h->dates = calloc(json_array_size(v) + 1, sizeof(*h->dates));
    if (h->dates == NULL) {
        cx->c.oom = true;
        return;
    }
    json_array_foreach(v, i, item) {
        if (json_is_string(item) && parse_date(json_string_value(item), &h->dates[h->n_dates])) {
            h->n_dates++;
            continue;
        }
        config_path_index(at, sizeof(at), where, i);
        config_describe(item, got, sizeof(got));
        config_ctx_error(&cx->c, at, "expected a date \"YYYY-MM-DD\" or \"--MM-DD\" (every "
                         "year), got %s", got);
    }
}

static void load_holidays(struct cadence_ctx *cx, const json_t *root)
{
    const json_t *obj = config_ctx_object(&cx->c, root, "", "holidays"), *v;
    struct cadence_def *d = cx->def;
    char where[256];
    const char *key;

    if (obj == NULL)
        return;
    d->holidays = calloc(json_object_size(obj) + 1, sizeof(*d->holidays));
    if (d->holidays == NULL) {
        cx->c.oom = true;
        return;
    }
    json_object_foreach((json_t *)obj, key, v) {
        if (!country_key_ok(cx, "holidays", key))
            continue;
        struct cadence_holidays *h = &d->holidays[d->n_holidays++];
        if ((h->country = strdup(key)) == NULL)
            cx->c.oom = true;
        config_path_key(where, sizeof(where), "holidays", key);
        load_holiday(cx, where, v, h);
    }
}

static void load_calling_hours(struct cadence_ctx *cx, const json_t *root)
{
    const json_t *obj = config_ctx_object(&cx->c, root, "", "calling_hours"), *v;
    struct cadence_def *d = cx->def;
    const char *key;
    char why[64];

    d->calling_hours = calloc(json_object_size(obj) + 1, sizeof(*d->calling_hours));
    if (d->calling_hours == NULL) {
        cx->c.oom = true;
        return;
    }
    if (obj == NULL || json_object_get(obj, "*") == NULL) {
        /* The default for every country, as the issue sets it. */
        struct cadence_calling_hours *c = &d->calling_hours[d->n_calling_hours++];
        c->country = strdup("*");
        c->hours.days = WINDOW_ALL_DAYS;
        if (c->country == NULL || cadence_hours_parse("08:00-21:00", &c->hours, why,
                                                      sizeof(why)) != 0)
            cx->c.oom = true;
    }
    if (obj == NULL)
        return;
    json_object_foreach((json_t *)obj, key, v) {
        if (!country_key_ok(cx, "calling_hours", key))
            continue;
        struct cadence_calling_hours *c = &d->calling_hours[d->n_calling_hours++];
        if ((c->country = strdup(key)) == NULL)
            cx->c.oom = true;
        c->hours.days = WINDOW_ALL_DAYS;
        cadence_load_hours(cx, obj, "calling_hours", key, &c->hours);
    }
}

void cadence_load_calendar(struct cadence_ctx *cx, const json_t *root)
{
    load_holidays(cx, root);
    load_calling_hours(cx, root);
}

void cadence_calendar_free(struct cadence_def *d)
{
    for (size_t i = 0; i < d->n_holidays; i++) {
        free(d->holidays[i].country);
        free(d->holidays[i].ics_path);
        free(d->holidays[i].dates);
    }
    free(d->holidays);
    for (size_t i = 0; i < d->n_calling_hours; i++)
        free(d->calling_hours[i].country);
    free(d->calling_hours);
}
