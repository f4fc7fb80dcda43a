/* SPDX-License-Identifier: MIT */
/* daemon/window.h: "when may this touch go?" for one lead. Pure functions
 * over UTC instants (int64 milliseconds): the cadence's send window (days of
 * the week and hours), holidays and, for call steps, calling hours, all in
 * the lead's local time through GLib's GTimeZone (never TZ).
 *
 * A lead has one zone, or for "ambiguous(CC)" every zone of country CC
 * (tz_country_zones): calling hours are a legal limit, so the window is open
 * only when it is open in ALL of them, and a date is a holiday when it is one
 * on the local date of any of them.
 *
 * Local times that do not exist (a DST gap) move forward to the first valid
 * instant, the end of the gap; local times that happen twice (fall back) take
 * the first. Windows are in whole minutes of the local day, [start, end).
 *
 * Threads: every function is thread-safe; a built struct window_rules may be
 * read by any number of threads at once.
 * Ownership: struct window_hours is plain data. struct window_rules is filled
 * by window_rules_init*() (it holds references to GTimeZones) and emptied by
 * window_rules_clear(); its holidays are borrowed and must outlive it. Texts
 * passed in are borrowed for the call.
 */
#ifndef DRUMBEAT_WINDOW_H
#define DRUMBEAT_WINDOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <glib.h>
#include <jansson.h>

#include "errors.h"
#include "holidays.h"

#define WINDOW_MAX_RANGES 4
#define WINDOW_MAX_ZONES 16
/* How far window_next_open() looks before it answers -ERANGE. */
#define WINDOW_SEARCH_DAYS 400

/* Bits of window_hours.days: bit 0 = Monday .. bit 6 = Sunday. */
#define WINDOW_DAY(weekday) (1u << ((weekday) - 1))   /* weekday 1 = Monday */
#define WINDOW_WEEKDAYS 0x1fu
#define WINDOW_ALL_DAYS 0x7fu

struct window_range {
    int start, end;            /* minutes of the local day, 0 <= start < end <= 1440 */
};

struct window_hours {
    unsigned days;             /* WINDOW_DAY() bits */
    int nranges;               /* 1..WINDOW_MAX_RANGES, sorted, not touching */
    struct window_range ranges[WINDOW_MAX_RANGES];
};

enum window_reason {
    WINDOW_OK = 0,             /* open at the asked instant */
    WINDOW_CLOSED,             /* outside the window's days or hours */
    WINDOW_HOLIDAY,            /* a holiday in (one of) the lead's zone(s) */
    WINDOW_CALLING_HOURS,      /* in the window but outside calling hours */
};

struct window_rules {
    int nzones;
    GTimeZone *zones[WINDOW_MAX_ZONES];
    char zone_names[WINDOW_MAX_ZONES][64];
    struct window_hours send;
    struct window_hours calling;   /* 08:00-21:00 every day unless set */
    const struct holidays *holidays; /* borrowed; NULL: none */
};

/* "mon-fri", "mon,wed,fri", "sat-sun", "fri-mon" (wraps), "mon-fri,sun",
 * "weekdays", "all"/"daily"; case-insensitive, full names allowed.
 * 0 or -EINVAL (err: what was expected). */
int window_parse_days(const char *text, unsigned *days, struct errbuf *err);
/* A JSON array of such texts (["mon", "wed-fri"]) or one such string. */
int window_parse_days_json(const json_t *json, unsigned *days, struct errbuf *err);
/* "09:00-12:00,13:30-17:00" (24:00 allowed as an end) into out->ranges;
 * out->days is left as it was. Ranges crossing midnight, empty or overlapping
 * ones are refused. 0 or -EINVAL. */
int window_parse_hours(const char *text, struct window_hours *out, struct errbuf *err);
/* Formats "mon,tue 09:00-12:00,13:30-17:00" into buf; returns buf. */
const char *window_hours_format(const struct window_hours *h, char *buf, size_t len);

/* The zones from a lead's stored zone: an IANA name, "ambiguous(CC)" (every
 * zone of CC), or NULL/"" (then fallback_tz, the cadence's zone). send is
 * copied; holidays may be NULL. 0, or -EINVAL (an unknown zone or country,
 * err says which), -ENOMEM. On error r needs no clear. */
int window_rules_init(struct window_rules *r, const char *lead_tz, const char *fallback_tz,
                      const struct window_hours *send, const struct holidays *holidays,
                      struct errbuf *err);
/* The same from an explicit NULL-terminated list of 1..WINDOW_MAX_ZONES zones. */
int window_rules_init_zones(struct window_rules *r, const char *const *zones,
                            const struct window_hours *send, const struct holidays *holidays,
                            struct errbuf *err);
/* Calling hours for call steps (a per-country override); NULL restores the
 * default 08:00-21:00 every day. */
void window_rules_set_calling(struct window_rules *r, const struct window_hours *calling);
void window_rules_clear(struct window_rules *r);

/* The earliest instant >= from_ms at which the window (intersected with the
 * calling hours when call is true) is open in every zone, and when that open
 * stretch closes (capped at the search horizon). why (may be NULL) says what
 * holds the touch at from_ms: WINDOW_OK when *open_ms == from_ms, otherwise
 * the first of holiday, window_closed, calling_hours that applies there.
 * 0, or -ERANGE when not open within WINDOW_SEARCH_DAYS. */
int window_next_open(const struct window_rules *r, bool call, int64_t from_ms,
                     int64_t *open_ms, int64_t *close_ms, enum window_reason *why);
/* "ok", "window_closed", "holiday", "calling_hours" (the deferral codes). */
const char *window_reason_name(enum window_reason why);

/* Waits, in the lead's first zone. n >= 0; 0, -EINVAL or -ERANGE.
 * Business days: n later days that are window days and not holidays, at the
 * same local wall-clock time (a Friday + 1 = the Monday). */
int window_add_business_days(const struct window_rules *r, int64_t from_ms, int n,
                             int64_t *out_ms);
/* n calendar days at the same local wall-clock time (a DST day is 23h/25h). */
int window_add_calendar_days(const struct window_rules *r, int64_t from_ms, int n,
                             int64_t *out_ms);
/* n hours of real time. */
int window_add_hours(int64_t from_ms, int64_t n, int64_t *out_ms);
/* The next local weekday (1 = Monday .. 7 = Sunday) at hh:mm strictly after
 * from_ms. */
int window_until_weekday(const struct window_rules *r, int64_t from_ms, int weekday, int hh,
                         int mm, int64_t *out_ms);

/* A new reference to the zone named name (an IANA name or what
 * g_time_zone_new_identifier() takes), or NULL when GLib does not know it.
 * Zones are cached for the life of the process (at most WINDOW_ZONE_CACHE
 * names; the cache is never freed): GLib drops its own cache with the last
 * reference, so building rules per lead would re-read the zone file each
 * time. Thread-safe. Release with g_time_zone_unref(). */
#define WINDOW_ZONE_CACHE 1024
GTimeZone *window_zone_ref(const char *name);

/* Local time helpers (exposed for the scheduler and the tests). */
/* The UTC instant of a local date and second-of-day in tz (gap: forward to
 * its end; fold: the first). */
int64_t window_local_to_utc(GTimeZone *tz, int year, int month, int day, int sec_of_day);
/* The local date, weekday (1 = Monday) and millisecond of the day of t. */
void window_utc_to_local(GTimeZone *tz, int64_t t_ms, long *days, int *weekday,
                         int64_t *ms_of_day);

#endif /* DRUMBEAT_WINDOW_H */
