/* SPDX-License-Identifier: MIT */
/* daemon/holidays.h: a holiday calendar, the set of local dates on which a
 * cadence sends nothing. It holds three kinds of entry:
 *   - single dates ("2026-12-25"), kept sorted for a binary search;
 *   - yearly dates ("--12-25", or an iCalendar RRULE:FREQ=YEARLY), optionally
 *     bounded by a first and last year and repeating every `interval` years;
 *     a yearly 29 February matches only leap years (RFC 5545 skips invalid
 *     dates the same way);
 *   - yearly "nth weekday of a month" (RRULE BYMONTH=11;BYDAY=4TH, -1MO).
 * Dates are calendar dates without a zone: the caller asks about the local
 * date in the lead's zone (daemon/window.h). The calendar is chosen by the
 * caller (by the lead's country); iCalendar files are read by daemon/ical.h.
 *
 * Threads: building (holidays_add_*) needs one writer; once built, any number
 * of threads may call holidays_has() at the same time.
 * Ownership: struct holidays is opaque, made by holidays_new() and freed by
 * holidays_free(); texts passed in are borrowed for the call.
 */
#ifndef DRUMBEAT_HOLIDAYS_H
#define DRUMBEAT_HOLIDAYS_H

#include <stdbool.h>
#include <stddef.h>

#include "errors.h"

struct holidays;

/* Upper bound on entries, so a hostile calendar cannot eat the memory. */
#define HOLIDAYS_MAX_ENTRIES 100000

int holidays_new(struct holidays **out);
void holidays_free(struct holidays *h);

/* One entry from text: "YYYY-MM-DD" (that date) or "--MM-DD" (every year).
 * Returns 0, -EINVAL (err says what was expected), -ENOMEM or -E2BIG. */
int holidays_add_date(struct holidays *h, const char *text, struct errbuf *err);
/* The same from numbers; the date must exist. 0, -EINVAL, -ENOMEM, -E2BIG. */
int holidays_add_ymd(struct holidays *h, int year, int month, int day);
/* Every `interval` years (>= 1) from first_year to last_year (0: no bounds /
 * no end) on month-day. 0, -EINVAL, -ENOMEM, -E2BIG. */
int holidays_add_yearly(struct holidays *h, int month, int day, int first_year,
                        int last_year, int interval);
/* The nth (1..5, or -1..-5 from the month's end) weekday (1 = Monday ..
 * 7 = Sunday) of month, with the same year bounds as holidays_add_yearly. */
int holidays_add_nth_weekday(struct holidays *h, int month, int nth, int weekday,
                             int first_year, int last_year, int interval);
/* Adds every entry of src to dst (src unchanged). 0, -ENOMEM or -E2BIG. */
int holidays_merge(struct holidays *dst, const struct holidays *src);

/* True when year-month-day is a holiday. h may be NULL (no holidays). */
bool holidays_has(const struct holidays *h, int year, int month, int day);
/* Number of entries (single dates plus yearly rules). */
size_t holidays_count(const struct holidays *h);

/* Calendar helpers shared with window.c and ical.c (proleptic Gregorian). */
bool holidays_date_valid(int year, int month, int day);
int holidays_days_in_month(int year, int month);
/* Days since 1970-01-01 and back; weekday of a day number, 1 = Monday. */
long holidays_days_from_civil(int year, int month, int day);
void holidays_civil_from_days(long days, int *year, int *month, int *day);
int holidays_weekday(long days);

#endif /* DRUMBEAT_HOLIDAYS_H */
