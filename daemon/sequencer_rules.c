/* SPDX-License-Identifier: MIT */
/* daemon/sequencer_rules.c: per lead, the time rules a cadence version
 * applies (window.h): the lead's zone or zones, the send window, the
 * holidays of the lead's country (or the cadence's "*" list) and the
 * calling hours for its country. Holiday calendars are built once per
 * (version, country) and kept with the version's definition.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "holidays.h"
#include "ical.h"
#include "sequencer_int.h"

static const struct cadence_holidays *holidays_for(const struct cadence_def *d,
                                                   const char *country)
{
    const struct cadence_holidays *any = NULL;
    for (size_t i = 0; i < d->n_holidays; i++) {
        if (country != NULL && strcasecmp(d->holidays[i].country, country) == 0)
            return &d->holidays[i];
        if (strcmp(d->holidays[i].country, "*") == 0)
            any = &d->holidays[i];
    }
    return any;
}

static const struct window_hours *calling_for(const struct cadence_def *d, const char *country)
{
    const struct window_hours *any = NULL;
    for (size_t i = 0; i < d->n_calling_hours; i++) {
        if (country != NULL && strcasecmp(d->calling_hours[i].country, country) == 0)
            return &d->calling_hours[i].hours;
        if (strcmp(d->calling_hours[i].country, "*") == 0)
            any = &d->calling_hours[i].hours;
    }
    return any;
}

/* The calendar of one country of a version, built on first use. */
static const struct holidays *calendar(struct seq_version *v, const char *country)
{
    const struct cadence_holidays *h = holidays_for(v->def, country);
    struct errbuf err = { 0 };
    if (h == NULL)
        return NULL;
    for (size_t i = 0; i < v->n_cals; i++)
        if (v->cals[i].src == h)
            return v->cals[i].h;
    struct seq_calendar *n = realloc(v->cals, (v->n_cals + 1) * sizeof(*n));
    if (n == NULL)
        return NULL;
    v->cals = n;
    struct holidays *cal = NULL;
    if (holidays_new(&cal) < 0)
        return NULL;
    if (h->ics_path != NULL && holidays_load_ics(cal, h->ics_path, &err) < 0)
        log_warn("msg=\"cannot read a holiday calendar; no holidays for these leads\" "
                 "cadence=%s file=%s error=\"%s\"", v->def->name, h->ics_path, err.what);
    for (size_t i = 0; i < h->n_dates; i++) {
        const struct cadence_date *dt = &h->dates[i];
        if (dt->year == 0)
            holidays_add_yearly(cal, dt->month, dt->day, 0, 0, 1);
        else
            holidays_add_ymd(cal, dt->year, dt->month, dt->day);
    }
    v->cals[v->n_cals].src = h;
    v->cals[v->n_cals].h = cal;
    v->n_cals++;
    return cal;
}

int seq_rules_for_lead(struct seq_version *v, const json_t *lead, struct window_rules *r,
                       struct errbuf *err)
{
    const char *tz = json_string_value(json_object_get(lead, "timezone"));
    const char *country = json_string_value(json_object_get(lead, "country"));
    int rc = window_rules_init(r, tz, v->def->timezone, &v->def->window, calendar(v, country),
                               err);
    if (rc < 0 && tz != NULL) {
        /* A zone we cannot use (a typo kept from an import): the cadence's. */
        rc = window_rules_init(r, NULL, v->def->timezone, &v->def->window,
                               calendar(v, country), err);
    }
    if (rc == 0)
        window_rules_set_calling(r, calling_for(v->def, country));
    return rc;
}

void seq_version_free(struct seq_version *v)
{
    for (size_t i = 0; i < v->n_cals; i++)
        holidays_free(v->cals[i].h);
    free(v->cals);
    if (v->owned)
        cadence_def_free(v->def);
    v->cals = NULL;
    v->n_cals = 0;
    v->def = NULL;
}
