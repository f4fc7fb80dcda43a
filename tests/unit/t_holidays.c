/* SPDX-License-Identifier: MIT */
/* tests/unit/t_holidays.c: the holiday calendar and its iCalendar reader, on
 * the files in tests/fixtures/holidays/ (all-day with CRLF, multi-day DTEND
 * and DURATION, yearly RRULEs with COUNT/UNTIL/BYDAY and folded lines, a bad
 * RRULE) and on small in-memory calendars for each error. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "holidays.h"
#include "ical.h"
#include "tap.h"

static struct holidays *load(const char *fixture, int *rc, struct errbuf *err)
{
    struct holidays *h;
    char rel[256];
    holidays_new(&h);
    snprintf(rel, sizeof(rel), "tests/fixtures/holidays/%s", fixture);
    memset(err, 0, sizeof(*err));
    *rc = holidays_load_ics(h, tap_srcpath(rel), err);
    return h;
}

/* Parses an in-memory calendar; returns the formatted error ("" if none). */
static const char *mem_error(const char *ics)
{
    static char buf[1024];
    struct holidays *h;
    struct errbuf err = { 0 };
    holidays_new(&h);
    buf[0] = '\0';
    if (holidays_parse_ics_mem(h, ics, strlen(ics), "mem.ics", &err) != 0)
        errbuf_format(&err, buf, sizeof(buf));
    holidays_free(h);
    return buf;
}

#define CAL(body) "BEGIN:VCALENDAR\nVERSION:2.0\n" body "END:VCALENDAR\n"
#define EV(body) "BEGIN:VEVENT\n" body "END:VEVENT\n"

static void test_dates(void)
{
    struct holidays *h;
    struct errbuf err = { 0 };

    holidays_new(&h);
    tap_ok(holidays_add_date(h, "2026-12-25", &err) == 0 && holidays_has(h, 2026, 12, 25) &&
           !holidays_has(h, 2027, 12, 25), "a single date is that date only");
    tap_ok(holidays_add_date(h, "--07-14", &err) == 0 && holidays_has(h, 2026, 7, 14) &&
           holidays_has(h, 2031, 7, 14) && !holidays_has(h, 2031, 7, 15), "--MM-DD is every year");
    tap_ok(holidays_add_date(h, "2026-02-30", &err) == -EINVAL &&
           strstr(err.what, "expected a date YYYY-MM-DD or a yearly date --MM-DD") != NULL,
           "a date that does not exist is refused with what was expected");
    tap_ok(holidays_add_date(h, "25/12/2026", &err) == -EINVAL, "another date format is refused");
    holidays_add_date(h, "--02-29", &err);
    tap_ok(holidays_has(h, 2028, 2, 29) && !holidays_has(h, 2027, 3, 1),
           "a yearly 29 February is only in leap years");
    holidays_add_nth_weekday(h, 9, 1, 1, 0, 0, 1);     /* Labor Day: first Monday of September */
    tap_ok(holidays_has(h, 2026, 9, 7) && !holidays_has(h, 2026, 9, 14) &&
           holidays_has(h, 2027, 9, 6), "the first Monday of September");
    tap_is_int((int64_t)holidays_count(h), 4, "four entries");
    holidays_free(h);
}

static void test_fixtures(void)
{
    struct errbuf err;
    char buf[1024];
    int rc;
    struct holidays *h = load("all_day_crlf.ics", &rc, &err);

    tap_is_int(rc, 0, "all_day_crlf.ics loads (CRLF)");
    tap_ok(holidays_has(h, 2026, 12, 25) && !holidays_has(h, 2026, 12, 26) &&
           !holidays_has(h, 2026, 12, 24), "an all-day event is its day only (DTEND exclusive)");
    tap_ok(holidays_has(h, 2026, 7, 14), "a timed event counts its date");
    tap_ok(!holidays_has(h, 2026, 8, 15), "a cancelled event is left out");
    holidays_free(h);

    h = load("multi_day.ics", &rc, &err);
    tap_is_int(rc, 0, "multi_day.ics loads");
    tap_ok(holidays_has(h, 2026, 12, 24) && holidays_has(h, 2026, 12, 25) &&
           holidays_has(h, 2026, 12, 26) && !holidays_has(h, 2026, 12, 27),
           "DTEND three days later covers three dates");
    tap_ok(holidays_has(h, 2026, 4, 6) && holidays_has(h, 2026, 4, 7) && !holidays_has(h, 2026, 4, 8),
           "DURATION:P2D covers two dates");
    tap_ok(holidays_has(h, 2026, 5, 1) && holidays_has(h, 2026, 5, 2) && !holidays_has(h, 2026, 5, 3),
           "a timed event past midnight covers both dates");
    holidays_free(h);

    h = load("yearly_folded.ics", &rc, &err);
    tap_is_int(rc, 0, "yearly_folded.ics loads (folded RRULE, VTIMEZONE and VALARM skipped)");
    if (rc != 0)
        tap_diag("%s", errbuf_format(&err, buf, sizeof(buf)));
    tap_ok(holidays_has(h, 2020, 7, 14) && holidays_has(h, 2035, 7, 14) && !holidays_has(h, 2019, 7, 14),
           "a folded yearly RRULE repeats from DTSTART's year on");
    tap_ok(holidays_has(h, 2025, 6, 21) && holidays_has(h, 2027, 6, 21) && !holidays_has(h, 2028, 6, 21) &&
           !holidays_has(h, 2024, 6, 21), "COUNT=3 is three years");
    tap_ok(holidays_has(h, 2025, 5, 1) && !holidays_has(h, 2026, 5, 1),
           "UNTIL before this year's date ends the repeat");
    tap_ok(holidays_has(h, 2026, 11, 26) && !holidays_has(h, 2026, 11, 19) &&
           holidays_has(h, 2027, 11, 25), "BYDAY=4TH is the fourth Thursday of November");
    tap_ok(holidays_has(h, 2026, 5, 25) && !holidays_has(h, 2026, 5, 18), "BYDAY=-1MO is the last Monday");
    tap_ok(holidays_has(h, 2026, 12, 31) && holidays_has(h, 2027, 1, 1) && !holidays_has(h, 2025, 1, 1) &&
           !holidays_has(h, 2027, 1, 2), "a yearly span over New Year repeats both dates");
    holidays_free(h);

    h = load("bad_rrule.ics", &rc, &err);
    tap_is_int(rc, -EINVAL, "bad_rrule.ics is refused");
    tap_contains(errbuf_format(&err, buf, sizeof(buf)),
                 "bad_rrule.ics:11:1: RRULE: unsupported FREQ=WEEKLY: only FREQ=YEARLY",
                 "the error names file:line and what is supported");
    tap_is_int((int64_t)holidays_count(h), 0, "and nothing of the file was added");
    holidays_free(h);

    h = load("missing.ics", &rc, &err);
    tap_ok(rc == -ENOENT && strstr(err.file, "missing.ics") != NULL, "a missing file is -ENOENT");
    holidays_free(h);
}

static void test_errors(void)
{
    tap_contains(mem_error(CAL(EV("DTSTART;VALUE=DATE:20260101\nRRULE:FREQ=YEARLY;BYMONTH=2\n"))),
                 "mem.ics:5:1: RRULE: BYMONTH/BYMONTHDAY must agree with DTSTART 2026-01-01",
                 "BYMONTH must agree with DTSTART");
    tap_contains(mem_error(CAL(EV("DTSTART;VALUE=DATE:20260101\nRRULE:FREQ=YEARLY;BYSETPOS=1\n"))),
                 "unsupported RRULE part BYSETPOS", "an unknown RRULE part is named");
    tap_contains(mem_error(CAL(EV("DTSTART;VALUE=DATE:20260101\nEXDATE;VALUE=DATE:20270101\n"))),
                 "mem.ics:5:1: EXDATE: EXDATE is not supported", "EXDATE is refused, not ignored");
    tap_contains(mem_error(CAL(EV("SUMMARY:no date\n"))), "mem.ics:5:1: VEVENT: the VEVENT from line 3 has no DTSTART",
                 "an event without DTSTART");
    tap_contains(mem_error(CAL(EV("DTSTART;VALUE=DATE:2026-01-01\n"))),
                 "mem.ics:4:1: DTSTART: expected a date YYYYMMDD (VALUE=DATE), got \"2026-01-01\"",
                 "a bad date says what was expected");
    tap_contains(mem_error(CAL(EV("DTSTART;VALUE=DATE:20261120\nRRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=4TH\n"))),
                 "is not the day BYDAY names", "DTSTART must be the BYDAY it names");
    tap_contains(mem_error("BEGIN:VEVENT\nEND:VEVENT\n"), "mem.ics:1:1: expected BEGIN:VCALENDAR",
                 "a file must start with a VCALENDAR");
    tap_contains(mem_error("BEGIN:VCALENDAR\n" EV("DTSTART;VALUE=DATE:20260101\n")),
                 "expected END:VCALENDAR before the end of the file", "an unterminated calendar");
    tap_contains(mem_error(CAL("BEGIN:VEVENT\nEND:VTODO\n")), "mem.ics:4:1: expected END:VEVENT, got END:VTODO",
                 "mismatched END");
    tap_contains(mem_error(""), "expected BEGIN:VCALENDAR, found no calendar", "an empty file");
    tap_contains(mem_error(CAL(EV("DTSTART;VALUE=DATE:20260101\nRRULE:FREQ=YEARLY;COUNT=2;UNTIL=20300101\n"))),
                 "COUNT and UNTIL together", "COUNT with UNTIL");
    tap_contains(mem_error(CAL(EV("DTSTART;VALUE=DATE:20260101\nDTEND;VALUE=DATE:20280101\n"))),
                 "spans more than 366 days", "a span is bounded");
    tap_is_str(mem_error("\xEF\xBB\xBF" CAL(EV("dtstart;value=date:20260101\n"))), "",
               "a BOM and lower-case names are accepted");
}

int main(void)
{
    tap_plan(39);
    test_dates();
    test_fixtures();
    test_errors();
    return tap_done();
}
