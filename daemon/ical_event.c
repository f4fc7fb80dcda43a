/* SPDX-License-Identifier: MIT */
/* daemon/ical_event.c: one finished VEVENT into holidays (see ical.h for
 * what is supported). The event's dates run from DTSTART's date to the end,
 * exclusive: DTEND (or DTSTART + DURATION), where an end at 00:00:00 does not
 * cover its date (RFC 5545: all-day DTEND is the day after). A yearly RRULE
 * turns each date of the span into a yearly rule bounded by DTSTART's year and
 * by COUNT or UNTIL; everything else in an RRULE is refused by name, because
 * a silently half-read rule would send mail on someone's holiday. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ical_int.h"

#define MAX_SPAN_DAYS 366

struct rrule {
    int interval, count;
    bool has_until;
    struct ical_time until;
    int bymonth, bymonthday;   /* 0: absent */
    int nth, weekday;          /* BYDAY: weekday 0 when absent */
};

static int digits(const char *s, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

int ical_parse_time(struct ical_ctx *cx, int line, const char *prop, const char *valtype,
                    const char *value, struct ical_time *out)
{
    size_t n = strlen(value);
    bool want_date = strcasecmp(valtype, "DATE") == 0;
    bool want_dt = strcasecmp(valtype, "DATE-TIME") == 0;

    memset(out, 0, sizeof(*out));
    out->line = line;
    if (valtype[0] != '\0' && !want_date && !want_dt)
        return ical_fail(cx, line, prop, "expected VALUE=DATE or VALUE=DATE-TIME, got VALUE=%s",
                         valtype);
    out->year = digits(value, 4);
    out->month = n >= 8 ? digits(value + 4, 2) : -1;
    out->day = n >= 8 ? digits(value + 6, 2) : -1;
    if (n == 8 && !want_dt) {
        out->has_time = false;
    } else if ((n == 15 || (n == 16 && value[15] == 'Z')) && value[8] == 'T' && !want_date) {
        int hh = digits(value + 9, 2), mm = digits(value + 11, 2), ss = digits(value + 13, 2);
        if (hh < 0 || hh > 23 || mm < 0 || mm > 59 || ss < 0 || ss > 60)
            return ical_fail(cx, line, prop, "expected a time HHMMSS, got \"%.20s\"", value);
        out->has_time = true;
        out->secs = hh * 3600 + mm * 60 + (ss == 60 ? 59 : ss);
    } else {
        return ical_fail(cx, line, prop, "expected %s, got \"%.40s\"",
                         want_date ? "a date YYYYMMDD (VALUE=DATE)"
                         : want_dt ? "a date-time YYYYMMDDTHHMMSS[Z]"
                                   : "YYYYMMDD or YYYYMMDDTHHMMSS[Z]",
                         value);
    }
    if (!holidays_date_valid(out->year, out->month, out->day))
        return ical_fail(cx, line, prop, "no such date: \"%.8s\"", value);
    return 0;
}

/* Reads an unsigned number followed by one of the unit letters. */
static const char *dur_part(const char *s, long *v, char *unit)
{
    long n = 0;
    if (!isdigit((unsigned char)*s))
        return NULL;
    while (isdigit((unsigned char)*s)) {
        n = n * 10 + (*s++ - '0');
        if (n > 100000000L)
            return NULL;
    }
    *v = n;
    *unit = *s;
    return *s != '\0' ? s + 1 : NULL;
}

int ical_parse_duration(struct ical_ctx *cx, int line, const char *value, long *secs)
{
    const char *s = value;
    bool in_time = false, any = false;
    long total = 0;

    if (*s == '+')
        s++;
    if (*s != 'P')
        goto bad;
    s++;
    while (*s != '\0') {
        long v;
        char unit;
        if (*s == 'T' && !in_time) {
            in_time = true;
            s++;
            continue;
        }
        s = dur_part(s, &v, &unit);
        if (s == NULL)
            goto bad;
        if (!in_time && unit == 'W')
            total += v * 7 * 86400;
        else if (!in_time && unit == 'D')
            total += v * 86400;
        else if (in_time && unit == 'H')
            total += v * 3600;
        else if (in_time && unit == 'M')
            total += v * 60;
        else if (in_time && unit == 'S')
            total += v;
        else
            goto bad;
        any = true;
        if (total > (long)MAX_SPAN_DAYS * 86400 * 2)
            return ical_fail(cx, line, "DURATION", "longer than %d days", MAX_SPAN_DAYS);
    }
    if (!any)
        goto bad;
    *secs = total;
    return 0;
bad:
    return ical_fail(cx, line, "DURATION", "expected a duration like P1D, P2W or PT12H, got \"%.40s\"",
                     value);
}

static int weekday_code(const char *s)
{
    static const char *const names[] = { "MO", "TU", "WE", "TH", "FR", "SA", "SU" };
    for (int i = 0; i < 7; i++)
        if (strcasecmp(s, names[i]) == 0)
            return i + 1;
    return 0;
}

/* A whole decimal number in lo..hi (optionally signed); -1 kept for errors. */
static bool int_in(const char *s, int lo, int hi, int *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (*s == '\0' || *end != '\0' || isspace((unsigned char)*s) || v < lo || v > hi)
        return false;
    *out = (int)v;
    return true;
}

static int parse_byday(struct ical_ctx *cx, int line, const char *v, struct rrule *r)
{
    size_t n = strlen(v);
    char num[8];
    if (strchr(v, ',') != NULL)
        return ical_fail(cx, line, "RRULE", "only one BYDAY value is supported, got \"%.40s\"", v);
    if (n < 3 || n - 2 >= sizeof(num) || (r->weekday = weekday_code(v + n - 2)) == 0)
        return ical_fail(cx, line, "RRULE",
                         "expected BYDAY with an ordinal like 4TH or -1MO, got \"%.40s\"", v);
    memcpy(num, v, n - 2);
    num[n - 2] = '\0';
    if (!int_in(num, -5, 5, &r->nth) || r->nth == 0)
        return ical_fail(cx, line, "RRULE",
                         "expected BYDAY with an ordinal like 4TH or -1MO, got \"%.40s\"", v);
    return 0;
}

static int parse_rrule(struct ical_ctx *cx, const struct ical_event *ev, struct rrule *r)
{
    char buf[sizeof(ev->rrule)], *save = NULL;
    int line = ev->rrule_line;
    bool freq = false;

    memset(r, 0, sizeof(*r));
    r->interval = 1;
    snprintf(buf, sizeof(buf), "%s", ev->rrule);
    for (char *part = strtok_r(buf, ";", &save); part != NULL; part = strtok_r(NULL, ";", &save)) {
        char *eq = strchr(part, '=');
        if (eq == NULL)
            return ical_fail(cx, line, "RRULE", "expected KEY=VALUE, got \"%.40s\"", part);
        *eq = '\0';
        const char *k = part, *v = eq + 1;
        if (strcasecmp(k, "FREQ") == 0) {
            if (strcasecmp(v, "YEARLY") != 0)
                return ical_fail(cx, line, "RRULE",
                                 "unsupported FREQ=%.20s: only FREQ=YEARLY repeats are supported",
                                 v);
            freq = true;
        } else if (strcasecmp(k, "INTERVAL") == 0) {
            if (!int_in(v, 1, 1000, &r->interval))
                return ical_fail(cx, line, "RRULE", "expected INTERVAL=1..1000, got \"%.20s\"", v);
        } else if (strcasecmp(k, "COUNT") == 0) {
            if (!int_in(v, 1, 10000, &r->count))
                return ical_fail(cx, line, "RRULE", "expected COUNT=1..10000, got \"%.20s\"", v);
        } else if (strcasecmp(k, "UNTIL") == 0) {
            int rc = ical_parse_time(cx, line, "RRULE", "", v, &r->until);
            if (rc < 0)
                return rc;
            r->has_until = true;
        } else if (strcasecmp(k, "BYMONTH") == 0) {
            if (!int_in(v, 1, 12, &r->bymonth))
                return ical_fail(cx, line, "RRULE",
                                 "expected one BYMONTH=1..12 (lists are not supported), got \"%.20s\"",
                                 v);
        } else if (strcasecmp(k, "BYMONTHDAY") == 0) {
            if (!int_in(v, 1, 31, &r->bymonthday))
                return ical_fail(cx, line, "RRULE",
                                 "expected one BYMONTHDAY=1..31 (lists and negative days are not "
                                 "supported), got \"%.20s\"", v);
        } else if (strcasecmp(k, "BYDAY") == 0) {
            int rc = parse_byday(cx, line, v, r);
            if (rc < 0)
                return rc;
        } else if (strcasecmp(k, "WKST") == 0) {
            /* Only changes weekly rules; nothing to do for yearly ones. */
        } else {
            return ical_fail(cx, line, "RRULE", "unsupported RRULE part %.20s", k);
        }
    }
    if (!freq)
        return ical_fail(cx, line, "RRULE", "expected FREQ=YEARLY");
    if (r->count > 0 && r->has_until)
        return ical_fail(cx, line, "RRULE", "COUNT and UNTIL together (RFC 5545 forbids it)");
    if (r->weekday != 0 && (r->bymonth == 0 || r->bymonthday != 0))
        return ical_fail(cx, line, "RRULE", "BYDAY needs BYMONTH and no BYMONTHDAY");
    return 0;
}

/* The day (of r's month) the rule falls on in year y, or 0 when none. */
static int occurrence(const struct rrule *r, int month, int day, int y)
{
    int dim = holidays_days_in_month(y, month);
    if (r->weekday == 0)
        return day <= dim ? day : 0;
    if (r->nth > 0) {
        int wd1 = holidays_weekday(holidays_days_from_civil(y, month, 1));
        int d = 1 + (r->weekday - wd1 + 7) % 7 + (r->nth - 1) * 7;
        return d <= dim ? d : 0;
    }
    int wdl = holidays_weekday(holidays_days_from_civil(y, month, dim));
    int d = dim - (wdl - r->weekday + 7) % 7 - (-r->nth - 1) * 7;
    return d >= 1 ? d : 0;
}

/* The last year with an occurrence (0: forever), from COUNT or UNTIL. */
static int last_year(struct ical_ctx *cx, const struct ical_event *ev, const struct rrule *r,
                     int month, int day, int *out)
{
    int first = ev->start.year;
    *out = 0;
    if (r->count > 0) {
        int found = 0;
        for (int y = first; y <= 9999; y += r->interval)
            if (occurrence(r, month, day, y) != 0 && ++found == r->count) {
                *out = y;
                break;
            }
    } else if (r->has_until) {
        const struct ical_time *u = &r->until;
        int y = u->year, d = occurrence(r, month, day, y);
        if (d != 0 && (month > u->month || (month == u->month && d > u->day)))
            y--;
        if (y < first)
            return ical_fail(cx, ev->rrule_line, "RRULE", "UNTIL is before DTSTART");
        *out = y;
    }
    return 0;
}

static int add_failed(struct ical_ctx *cx, int rc, int line)
{
    if (rc == -E2BIG)
        errbuf_at(cx->err, rc, cx->name, NULL, "too many holidays (more than %d)",
                  HOLIDAYS_MAX_ENTRIES);
    else if (rc == -EINVAL)
        return ical_fail(cx, line, "VEVENT", "the event gives no valid date");
    if (cx->err != NULL)
        cx->err->line = line;
    return rc;
}

static int add_repeat(struct ical_ctx *cx, const struct ical_event *ev, long s, long e)
{
    struct rrule r;
    int rc = parse_rrule(cx, ev, &r), last;
    int y0 = ev->start.year, m0 = ev->start.month, d0 = ev->start.day;

    if (rc < 0)
        return rc;
    if ((r.bymonth != 0 && r.bymonth != m0) || (r.bymonthday != 0 && r.bymonthday != d0))
        return ical_fail(cx, ev->rrule_line, "RRULE",
                         "BYMONTH/BYMONTHDAY must agree with DTSTART %04d-%02d-%02d", y0, m0, d0);
    if (r.weekday != 0) {
        if (e - s != 1)
            return ical_fail(cx, ev->rrule_line, "RRULE", "a multi-day BYDAY repeat is not supported");
        if (occurrence(&r, m0, d0, y0) != d0)
            return ical_fail(cx, ev->rrule_line, "RRULE",
                             "DTSTART %04d-%02d-%02d is not the day BYDAY names", y0, m0, d0);
    }
    rc = last_year(cx, ev, &r, m0, d0, &last);
    if (rc < 0)
        return rc;
    if (r.weekday != 0) {
        rc = holidays_add_nth_weekday(cx->out, m0, r.nth, r.weekday, y0, last, r.interval);
        return rc < 0 ? add_failed(cx, rc, ev->rrule_line) : 0;
    }
    for (long k = s; k < e; k++) {
        int y, m, d;
        holidays_civil_from_days(k, &y, &m, &d);
        int shift = y - y0, ly = last != 0 ? last + shift : 0;
        rc = holidays_add_yearly(cx->out, m, d, y, ly > 9999 ? 0 : ly, r.interval);
        if (rc < 0)
            return add_failed(cx, rc, ev->rrule_line);
    }
    return 0;
}

int ical_event_finish(struct ical_ctx *cx, const struct ical_event *ev, int end_line)
{
    if (!ev->has_start)
        return ical_fail(cx, end_line, "VEVENT", "the VEVENT from line %d has no DTSTART",
                         ev->begin_line);
    if (ev->has_end && ev->has_dur)
        return ical_fail(cx, ev->dur_line, "DURATION", "DTEND and DURATION together");
    if (ev->cancelled)
        return 0;
    const struct ical_time *st = &ev->start;
    long s = holidays_days_from_civil(st->year, st->month, st->day);
    long e = s + 1;
    if (ev->has_end || ev->has_dur) {
        long end_secs;
        if (ev->has_end)
            end_secs = holidays_days_from_civil(ev->end.year, ev->end.month, ev->end.day) * 86400L +
                       ev->end.secs;
        else
            end_secs = s * 86400L + st->secs + ev->dur_secs;
        if (end_secs < s * 86400L + st->secs)
            return ical_fail(cx, ev->has_end ? ev->end.line : ev->dur_line,
                             ev->has_end ? "DTEND" : "DURATION", "the event ends before DTSTART");
        e = end_secs / 86400 + (end_secs % 86400 != 0);
        if (e <= s)
            e = s + 1;
        if (e - s > MAX_SPAN_DAYS)
            return ical_fail(cx, ev->has_end ? ev->end.line : ev->dur_line,
                             ev->has_end ? "DTEND" : "DURATION",
                             "the event spans more than %d days", MAX_SPAN_DAYS);
    }
    if (ev->has_rrule)
        return add_repeat(cx, ev, s, e);
    for (long k = s; k < e; k++) {
        int y, m, d;
        holidays_civil_from_days(k, &y, &m, &d);
        int rc = holidays_add_ymd(cx->out, y, m, d);
        if (rc < 0)
            return add_failed(cx, rc, ev->begin_line);
    }
    return 0;
}
