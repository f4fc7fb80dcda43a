/* SPDX-License-Identifier: MIT */
/* daemon/window.c: send windows, holidays and calling hours in the lead's
 * zone(s), and the waits between steps (see window.h).
 *
 * How the next open instant is found: for each zone, the next open span of
 * local (day, range) turned into UTC [a, b); the candidate is the latest
 * start; if it lies inside every zone's span it is the answer, otherwise the
 * search moves to it and asks again. Each round moves forward past at least
 * one span, so the search ends, and it stops at WINDOW_SEARCH_DAYS.
 * Offsets come from g_time_zone_find_interval() on UTC seconds, which never
 * fails (it scans the zone's transitions linearly, hence the care taken to
 * ask it few times), and local-to-UTC is resolved here (not by g_time_zone_adjust_time)
 * so that gaps and folds follow the rule in window.h in every zone, including
 * those whose DST is not an hour (Australia/Lord_Howe). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "tz_infer.h"
#include "window.h"

#define DAY_MS 86400000LL

struct eff {                  /* the hours that apply to one kind of step */
    unsigned days;
    int n;
    struct window_range r[2 * WINDOW_MAX_RANGES];
};

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

static int32_t offset_at(GTimeZone *tz, int64_t utc_s)
{
    return g_time_zone_get_offset(tz, g_time_zone_find_interval(tz, G_TIME_TYPE_UNIVERSAL, utc_s));
}

/* UTC seconds of local seconds L. Offsets a day either side bracket any
 * transition near L (|offset| < 1 day). */
static int64_t local_to_utc_s(GTimeZone *tz, int64_t L)
{
    int32_t oa = offset_at(tz, L - 86400), ob = offset_at(tz, L + 86400);
    int64_t ua = L - oa, ub = L - ob;
    if (oa == ob)
        return ua;   /* no transition near: the common case, two lookups */
    bool va = offset_at(tz, ua) == oa, vb = offset_at(tz, ub) == ob;

    if (va && vb)
        return ua < ub ? ua : ub;   /* a fold: the first */
    if (va)
        return ua;
    if (vb)
        return ub;
    /* A gap: the first instant whose local time is >= L, i.e. the
     * transition. u + offset(u) < L below it and >= L from it on. */
    int64_t lo = L - 86400, hi = L + 86400;
    while (hi - lo > 1) {
        int64_t mid = lo + (hi - lo) / 2;
        if (mid + offset_at(tz, mid) >= L)
            hi = mid;
        else
            lo = mid;
    }
    return hi;
}

int64_t window_local_to_utc(GTimeZone *tz, int year, int month, int day, int sec_of_day)
{
    int64_t L = (int64_t)holidays_days_from_civil(year, month, day) * 86400 + sec_of_day;
    return local_to_utc_s(tz, L) * 1000;
}

void window_utc_to_local(GTimeZone *tz, int64_t t_ms, long *days, int *weekday,
                         int64_t *ms_of_day)
{
    int64_t local = t_ms + (int64_t)offset_at(tz, floor_div(t_ms, 1000)) * 1000;
    int64_t d = floor_div(local, DAY_MS);
    *days = (long)d;
    if (weekday != NULL)
        *weekday = holidays_weekday((long)d);
    if (ms_of_day != NULL)
        *ms_of_day = local - d * DAY_MS;
}

static int64_t day_min_to_utc_ms(GTimeZone *tz, long day, int minute)
{
    return local_to_utc_s(tz, (int64_t)day * 86400 + (int64_t)minute * 60) * 1000;
}

static bool is_holiday(const struct holidays *h, long day)
{
    int y, m, d;
    if (h == NULL)
        return false;
    holidays_civil_from_days(day, &y, &m, &d);
    return holidays_has(h, y, m, d);
}

static void effective(const struct window_rules *r, bool call, struct eff *e)
{
    const struct window_hours *s = &r->send, *c = &r->calling;
    e->n = 0;
    if (!call) {
        e->days = s->days;
        e->n = s->nranges;
        memcpy(e->r, s->ranges, (size_t)s->nranges * sizeof(s->ranges[0]));
        return;
    }
    e->days = s->days & c->days;
    for (int i = 0; i < s->nranges; i++)
        for (int j = 0; j < c->nranges; j++) {
            int a = MAX(s->ranges[i].start, c->ranges[j].start);
            int b = MIN(s->ranges[i].end, c->ranges[j].end);
            if (a < b)
                e->r[e->n++] = (struct window_range){ a, b };
        }
}

/* The first open span [a, b) of zone tz with b > t. */
static int zone_next(const struct window_rules *r, const struct eff *e, GTimeZone *tz, int64_t t,
                     int64_t *a, int64_t *b)
{
    long d0;
    if (e->days == 0 || e->n == 0)
        return -ERANGE;
    window_utc_to_local(tz, t, &d0, NULL, NULL);
    for (long d = d0 - 1; d <= d0 + WINDOW_SEARCH_DAYS + 1; d++) {
        if (!(e->days & WINDOW_DAY(holidays_weekday(d))) || is_holiday(r->holidays, d))
            continue;
        for (int i = 0; i < e->n; i++) {
            int64_t sb = day_min_to_utc_ms(tz, d, e->r[i].end);
            if (sb <= t)
                continue;
            int64_t sa = day_min_to_utc_ms(tz, d, e->r[i].start);
            if (sb > sa) {
                *a = sa;
                *b = sb;
                return 0;
            }
        }
    }
    return -ERANGE;
}

/* Where the span holding t really ends: spans that touch (24:00 then 00:00,
 * or ranges of adjacent days) are one stretch. Stops at horizon. */
static int64_t zone_close(const struct window_rules *r, const struct eff *e, GTimeZone *tz,
                          int64_t t, int64_t horizon)
{
    int64_t a, b, end;
    if (zone_next(r, e, tz, t, &a, &end) < 0)
        return t;
    while (end < horizon && zone_next(r, e, tz, end, &a, &b) == 0 && a <= end)
        end = b;
    return end < horizon ? end : horizon;
}

static bool in_ranges(const struct window_hours *h, int minute)
{
    for (int i = 0; i < h->nranges; i++)
        if (minute >= h->ranges[i].start && minute < h->ranges[i].end)
            return true;
    return false;
}

/* Why one zone is closed at t (WINDOW_OK when it is open by the clock). */
static enum window_reason classify(const struct window_rules *r, bool call, GTimeZone *tz,
                                   int64_t t)
{
    long d;
    int wd;
    int64_t ms;
    window_utc_to_local(tz, t, &d, &wd, &ms);
    int minute = (int)(ms / 60000);
    if (!(r->send.days & WINDOW_DAY(wd)))
        return WINDOW_CLOSED;
    if (is_holiday(r->holidays, d))
        return WINDOW_HOLIDAY;
    if (!in_ranges(&r->send, minute))
        return WINDOW_CLOSED;
    if (call && (!(r->calling.days & WINDOW_DAY(wd)) || !in_ranges(&r->calling, minute)))
        return WINDOW_CALLING_HOURS;
    return WINDOW_OK;
}

int window_next_open(const struct window_rules *r, bool call, int64_t from_ms,
                     int64_t *open_ms, int64_t *close_ms, enum window_reason *why)
{
    struct eff e;
    int64_t horizon = from_ms + WINDOW_SEARCH_DAYS * DAY_MS, t = from_ms;

    if (r->nzones < 1)
        return -EINVAL;
    effective(r, call, &e);
    for (;;) {
        int64_t a[WINDOW_MAX_ZONES], b[WINDOW_MAX_ZONES], s = t;
        bool all = true;
        if (t > horizon)
            return -ERANGE;
        for (int i = 0; i < r->nzones; i++) {
            if (zone_next(r, &e, r->zones[i], t, &a[i], &b[i]) < 0)
                return -ERANGE;
            s = MAX(s, a[i]);
        }
        if (s > horizon)
            return -ERANGE;
        for (int i = 0; i < r->nzones; i++)
            all = all && b[i] > s;
        if (!all) {
            t = s;
            continue;
        }
        int64_t close = horizon;
        for (int i = 0; i < r->nzones; i++)
            close = MIN(close, zone_close(r, &e, r->zones[i], s, horizon));
        *open_ms = s;
        if (close_ms != NULL)
            *close_ms = close;
        break;
    }
    if (why != NULL) {
        enum window_reason worst = WINDOW_OK;
        static const int rank[] = { [WINDOW_OK] = 0, [WINDOW_CALLING_HOURS] = 1,
                                    [WINDOW_CLOSED] = 2, [WINDOW_HOLIDAY] = 3 };
        for (int i = 0; *open_ms > from_ms && i < r->nzones; i++) {
            enum window_reason w = classify(r, call, r->zones[i], from_ms);
            if (rank[w] > rank[worst])
                worst = w;
        }
        /* A repeated (fall-back) hour opens only the first time round. */
        if (*open_ms > from_ms && worst == WINDOW_OK)
            worst = WINDOW_CLOSED;
        *why = worst;
    }
    return 0;
}

const char *window_reason_name(enum window_reason why)
{
    switch (why) {
    case WINDOW_OK: return "ok";
    case WINDOW_CLOSED: return "window_closed";
    case WINDOW_HOLIDAY: return "holiday";
    case WINDOW_CALLING_HOURS: return "calling_hours";
    }
    return "unknown";
}

void window_rules_set_calling(struct window_rules *r, const struct window_hours *calling)
{
    if (calling != NULL) {
        r->calling = *calling;
        return;
    }
    r->calling = (struct window_hours){ .days = WINDOW_ALL_DAYS, .nranges = 1,
                                        .ranges = { { 8 * 60, 21 * 60 } } };
}

/* ---- zones: name -> GTimeZone, kept for the life of the process ---- */

static GMutex zone_lock;
static GHashTable *zone_cache;    /* name (owned) -> GTimeZone (one reference) */

GTimeZone *window_zone_ref(const char *name)
{
    if (name == NULL)
        return NULL;
    g_mutex_lock(&zone_lock);
    GTimeZone *tz = zone_cache != NULL ? g_hash_table_lookup(zone_cache, name) : NULL;
    if (tz != NULL) {
        tz = g_time_zone_ref(tz);
        g_mutex_unlock(&zone_lock);
        return tz;
    }
    /* Read under the lock: a few zone files once each, rather than two
     * threads reading the same file. Unknown names are not cached (they
     * come from outside and are unbounded). */
    tz = g_time_zone_new_identifier(name);
    if (tz != NULL) {
        if (zone_cache == NULL)
            zone_cache = g_hash_table_new(g_str_hash, g_str_equal);
        if (g_hash_table_size(zone_cache) < WINDOW_ZONE_CACHE)
            g_hash_table_insert(zone_cache, g_strdup(name), g_time_zone_ref(tz));
    }
    g_mutex_unlock(&zone_lock);
    return tz;
}

void window_rules_clear(struct window_rules *r)
{
    for (int i = 0; i < r->nzones; i++)
        g_time_zone_unref(r->zones[i]);
    r->nzones = 0;
}

int window_rules_init_zones(struct window_rules *r, const char *const *zones,
                            const struct window_hours *send, const struct holidays *holidays,
                            struct errbuf *err)
{
    memset(r, 0, sizeof(*r));
    if (send->nranges < 0 || send->nranges > WINDOW_MAX_RANGES)
        return errbuf_set(err, -EINVAL, "a window has 0..%d ranges", WINDOW_MAX_RANGES);
    for (int i = 0; i < send->nranges; i++)
        if (send->ranges[i].start < 0 || send->ranges[i].end > 1440 ||
            send->ranges[i].start >= send->ranges[i].end)
            return errbuf_set(err, -EINVAL, "window range %d is not within 00:00-24:00", i);
    for (int i = 0; zones != NULL && zones[i] != NULL; i++) {
        if (i == WINDOW_MAX_ZONES) {
            window_rules_clear(r);
            return errbuf_set(err, -EINVAL, "more than %d zones", WINDOW_MAX_ZONES);
        }
        r->zones[i] = window_zone_ref(zones[i]);
        if (r->zones[i] == NULL) {
            window_rules_clear(r);
            return errbuf_set(err, -EINVAL, "unknown time zone \"%.64s\"", zones[i]);
        }
        snprintf(r->zone_names[i], sizeof(r->zone_names[i]), "%s", zones[i]);
        r->nzones = i + 1;
    }
    if (r->nzones == 0)
        return errbuf_set(err, -EINVAL, "no time zone");
    r->send = *send;
    r->holidays = holidays;
    window_rules_set_calling(r, NULL);
    return 0;
}

int window_rules_init(struct window_rules *r, const char *lead_tz, const char *fallback_tz,
                      const struct window_hours *send, const struct holidays *holidays,
                      struct errbuf *err)
{
    const char *one[2] = { lead_tz, NULL };
    const char *const *zones = one;
    char cc[3];

    memset(r, 0, sizeof(*r));
    if (lead_tz == NULL || lead_tz[0] == '\0') {
        if (fallback_tz == NULL || fallback_tz[0] == '\0')
            return errbuf_set(err, -EINVAL, "the lead has no time zone and there is no fallback");
        one[0] = fallback_tz;
    } else if (tz_is_ambiguous(lead_tz, cc)) {
        zones = tz_country_zones(cc);
        if (zones == NULL)
            return errbuf_set(err, -EINVAL, "no zones known for country %s (\"%.64s\")", cc,
                              lead_tz);
    }
    return window_rules_init_zones(r, zones, send, holidays, err);
}

/* ---- waits ---- */

static int check_n(int64_t n)
{
    if (n < 0)
        return -EINVAL;
    return n > 100000 ? -ERANGE : 0;
}

static int64_t at_day(GTimeZone *tz, long day, int64_t ms_of_day)
{
    return local_to_utc_s(tz, (int64_t)day * 86400 + ms_of_day / 1000) * 1000 + ms_of_day % 1000;
}

int window_add_business_days(const struct window_rules *r, int64_t from_ms, int n,
                             int64_t *out_ms)
{
    long d, last;
    int64_t ms;
    int rc = check_n(n), count = 0;

    if (rc < 0 || r->nzones < 1)
        return rc < 0 ? rc : -EINVAL;
    window_utc_to_local(r->zones[0], from_ms, &d, NULL, &ms);
    last = d;
    while (count < n) {
        d++;
        if ((r->send.days & WINDOW_DAY(holidays_weekday(d))) && !is_holiday(r->holidays, d)) {
            count++;
            last = d;
        } else if (d - last > WINDOW_SEARCH_DAYS) {
            return -ERANGE;   /* no business day at all */
        }
    }
    *out_ms = at_day(r->zones[0], d, ms);
    return 0;
}

int window_add_calendar_days(const struct window_rules *r, int64_t from_ms, int n,
                             int64_t *out_ms)
{
    long d;
    int64_t ms;
    int rc = check_n(n);

    if (rc < 0 || r->nzones < 1)
        return rc < 0 ? rc : -EINVAL;
    window_utc_to_local(r->zones[0], from_ms, &d, NULL, &ms);
    *out_ms = at_day(r->zones[0], d + n, ms);
    return 0;
}

int window_add_hours(int64_t from_ms, int64_t n, int64_t *out_ms)
{
    int rc = check_n(n);
    if (rc < 0)
        return rc;
    if (from_ms > INT64_MAX - n * 3600000LL)
        return -ERANGE;
    *out_ms = from_ms + n * 3600000LL;
    return 0;
}

int window_until_weekday(const struct window_rules *r, int64_t from_ms, int weekday, int hh,
                         int mm, int64_t *out_ms)
{
    long d;
    if (weekday < 1 || weekday > 7 || hh < 0 || hh > 23 || mm < 0 || mm > 59 || r->nzones < 1)
        return -EINVAL;
    window_utc_to_local(r->zones[0], from_ms, &d, NULL, NULL);
    for (long k = d - 1; k <= d + 8; k++) {
        if (holidays_weekday(k) != weekday)
            continue;
        int64_t u = day_min_to_utc_ms(r->zones[0], k, hh * 60 + mm);
        if (u > from_ms) {
            *out_ms = u;
            return 0;
        }
    }
    return -ERANGE;   /* not reached: one of two candidate weeks is after from */
}
