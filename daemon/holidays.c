/* SPDX-License-Identifier: MIT */
/* daemon/holidays.c: the holiday calendar (see holidays.h). Single dates are
 * kept as sorted, unique yyyymmdd integers so holidays_has() is a binary
 * search; yearly rules are few (a country has a dozen) and are scanned. The
 * civil-date arithmetic is Howard Hinnant's days_from_civil, exact over the
 * whole int range we accept (years 1..9999). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "holidays.h"

struct holiday_rule {
    int month;
    int day;        /* 1..31, or 0 for an nth-weekday rule */
    int nth;        /* -5..5 (not 0) for an nth-weekday rule */
    int weekday;    /* 1 = Monday .. 7 = Sunday */
    int first_year; /* 0: since always */
    int last_year;  /* 0: forever */
    int interval;   /* >= 1; counted from first_year when that is set */
};

struct holidays {
    int32_t *dates;            /* yyyymmdd, sorted, unique */
    size_t ndates, dcap;
    struct holiday_rule *rules;
    size_t nrules, rcap;
};

bool holidays_date_valid(int year, int month, int day)
{
    return year >= 1 && year <= 9999 && month >= 1 && month <= 12 && day >= 1 &&
           day <= holidays_days_in_month(year, month);
}

int holidays_days_in_month(int year, int month)
{
    static const int dim[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    if (month < 1 || month > 12)
        return 0;
    if (month == 2 && (year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)))
        return 29;
    return dim[month - 1];
}

long holidays_days_from_civil(int year, int month, int day)
{
    long y = year - (month <= 2);
    long era = (y >= 0 ? y : y - 399) / 400;
    long yoe = y - era * 400;
    long doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
    long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

void holidays_civil_from_days(long z, int *year, int *month, int *day)
{
    z += 719468;
    long era = (z >= 0 ? z : z - 146096) / 146097;
    long doe = z - era * 146097;
    long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    long mp = (5 * doy + 2) / 153;
    int d = (int)(doy - (153 * mp + 2) / 5 + 1);
    int m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *year = (int)(yoe + era * 400 + (m <= 2));
    *month = m;
    *day = d;
}

int holidays_weekday(long days)
{
    /* 1970-01-01 was a Thursday (4). */
    long w = (days + 3) % 7;
    if (w < 0)
        w += 7;
    return (int)w + 1;
}

int holidays_new(struct holidays **out)
{
    *out = calloc(1, sizeof(**out));
    return *out != NULL ? 0 : -ENOMEM;
}

void holidays_free(struct holidays *h)
{
    if (h == NULL)
        return;
    free(h->dates);
    free(h->rules);
    free(h);
}

size_t holidays_count(const struct holidays *h)
{
    return h != NULL ? h->ndates + h->nrules : 0;
}

/* Index of the first date >= key. */
static size_t lower_bound(const struct holidays *h, int32_t key)
{
    size_t lo = 0, hi = h->ndates;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (h->dates[mid] < key)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static int add_key(struct holidays *h, int32_t key)
{
    size_t at = lower_bound(h, key);
    if (at < h->ndates && h->dates[at] == key)
        return 0;
    if (holidays_count(h) >= HOLIDAYS_MAX_ENTRIES)
        return -E2BIG;
    if (h->ndates == h->dcap) {
        size_t cap = h->dcap ? h->dcap * 2 : 32;
        int32_t *v = realloc(h->dates, cap * sizeof(*v));
        if (v == NULL)
            return -ENOMEM;
        h->dates = v;
        h->dcap = cap;
    }
    memmove(h->dates + at + 1, h->dates + at, (h->ndates - at) * sizeof(*h->dates));
    h->dates[at] = key;
    h->ndates++;
    return 0;
}

int holidays_add_ymd(struct holidays *h, int year, int month, int day)
{
    if (!holidays_date_valid(year, month, day))
        return -EINVAL;
    return add_key(h, year * 10000 + month * 100 + day);
}

static int add_rule(struct holidays *h, const struct holiday_rule *r)
{
    for (size_t i = 0; i < h->nrules; i++)
        if (memcmp(&h->rules[i], r, sizeof(*r)) == 0)
            return 0;
    if (holidays_count(h) >= HOLIDAYS_MAX_ENTRIES)
        return -E2BIG;
    if (h->nrules == h->rcap) {
        size_t cap = h->rcap ? h->rcap * 2 : 8;
        struct holiday_rule *v = realloc(h->rules, cap * sizeof(*v));
        if (v == NULL)
            return -ENOMEM;
        h->rules = v;
        h->rcap = cap;
    }
    h->rules[h->nrules++] = *r;
    return 0;
}

static bool bounds_valid(int first_year, int last_year, int interval)
{
    return first_year >= 0 && first_year <= 9999 && last_year >= 0 && last_year <= 9999 &&
           (last_year == 0 || last_year >= first_year) && interval >= 1 && interval <= 9999;
}

int holidays_add_yearly(struct holidays *h, int month, int day, int first_year,
                        int last_year, int interval)
{
    /* 2000 is a leap year, so 29 February passes. */
    if (!holidays_date_valid(2000, month, day) || !bounds_valid(first_year, last_year, interval))
        return -EINVAL;
    struct holiday_rule r = { .month = month, .day = day, .first_year = first_year,
                              .last_year = last_year, .interval = interval };
    return add_rule(h, &r);
}

int holidays_add_nth_weekday(struct holidays *h, int month, int nth, int weekday,
                             int first_year, int last_year, int interval)
{
    if (month < 1 || month > 12 || nth == 0 || nth < -5 || nth > 5 || weekday < 1 ||
        weekday > 7 || !bounds_valid(first_year, last_year, interval))
        return -EINVAL;
    struct holiday_rule r = { .month = month, .nth = nth, .weekday = weekday,
                              .first_year = first_year, .last_year = last_year,
                              .interval = interval };
    return add_rule(h, &r);
}

int holidays_merge(struct holidays *dst, const struct holidays *src)
{
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < src->ndates; i++)
        rc = add_key(dst, src->dates[i]);
    for (size_t i = 0; rc == 0 && i < src->nrules; i++)
        rc = add_rule(dst, &src->rules[i]);
    return rc;
}

static int parse_num(const char *s, int digits)
{
    int v = 0;
    for (int i = 0; i < digits; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

int holidays_add_date(struct holidays *h, const char *text, struct errbuf *err)
{
    size_t n = strlen(text);
    int rc;

    if (n == 7 && text[0] == '-' && text[1] == '-' && text[4] == '-') {
        int m = parse_num(text + 2, 2), d = parse_num(text + 5, 2);
        if (m > 0 && d > 0 && holidays_date_valid(2000, m, d)) {
            rc = holidays_add_yearly(h, m, d, 0, 0, 1);
            return rc == 0 ? 0 : errbuf_set(err, rc, "cannot add holiday \"%s\"", text);
        }
    } else if (n == 10 && text[4] == '-' && text[7] == '-') {
        int y = parse_num(text, 4), m = parse_num(text + 5, 2), d = parse_num(text + 8, 2);
        if (y > 0 && m > 0 && d > 0 && holidays_date_valid(y, m, d)) {
            rc = holidays_add_ymd(h, y, m, d);
            return rc == 0 ? 0 : errbuf_set(err, rc, "cannot add holiday \"%s\"", text);
        }
    }
    return errbuf_set(err, -EINVAL,
                      "expected a date YYYY-MM-DD or a yearly date --MM-DD, got \"%.64s\"", text);
}

static bool rule_year_ok(const struct holiday_rule *r, int year)
{
    if (r->first_year != 0 && year < r->first_year)
        return false;
    if (r->last_year != 0 && year > r->last_year)
        return false;
    return r->interval == 1 || (year - r->first_year) % r->interval == 0;
}

static bool rule_has(const struct holiday_rule *r, int year, int month, int day)
{
    if (r->month != month || !rule_year_ok(r, year))
        return false;
    if (r->day != 0)
        return r->day == day;
    if (holidays_weekday(holidays_days_from_civil(year, month, day)) != r->weekday)
        return false;
    if (r->nth > 0)
        return (day - 1) / 7 + 1 == r->nth;
    return (holidays_days_in_month(year, month) - day) / 7 + 1 == -r->nth;
}

bool holidays_has(const struct holidays *h, int year, int month, int day)
{
    if (h == NULL)
        return false;
    int32_t key = year * 10000 + month * 100 + day;
    size_t at = lower_bound(h, key);
    if (at < h->ndates && h->dates[at] == key)
        return true;
    for (size_t i = 0; i < h->nrules; i++)
        if (rule_has(&h->rules[i], year, month, day))
            return true;
    return false;
}
