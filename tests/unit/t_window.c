/* SPDX-License-Identifier: MIT */
/* tests/unit/t_window.c: send windows in real IANA zones (system tzdata via
 * GLib): Paris, New York, Kolkata (+05:30) and Lord Howe (30-minute DST),
 * across the 2026 DST changes; DST gaps and folds; business and calendar day
 * waits; ambiguous(US), where only the hours open in every US zone count;
 * calling hours; holidays in any of several zones; reason codes; -ERANGE. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "holidays.h"
#include "tap.h"
#include "window.h"

static int64_t T(const char *iso)
{
    int64_t ms;
    if (clock_parse_iso(iso, &ms) != 0) {
        tap_diag("bad test time %s", iso);
        abort();
    }
    return ms;
}

static const char *S(int64_t ms)
{
    static char buf[4][40];
    static int i;
    i = (i + 1) % 4;
    return clock_format_iso(ms, buf[i], sizeof(buf[i]));
}

static struct window_hours hours(const char *days, const char *ranges)
{
    struct window_hours h = { 0 };
    struct errbuf err = { 0 };
    if (window_parse_days(days, &h.days, &err) != 0 || window_parse_hours(ranges, &h, &err) != 0) {
        tap_diag("bad test window %s %s: %s", days, ranges, err.what);
        abort();
    }
    return h;
}

static void rules(struct window_rules *r, const char *tz, const struct window_hours *h,
                  const struct holidays *hol)
{
    struct errbuf err = { 0 };
    if (window_rules_init(r, tz, NULL, h, hol, &err) != 0) {
        tap_diag("rules for %s: %s", tz, err.what);
        abort();
    }
}

/* next_open from `from`; checks open, close (when want_close is not NULL) and reason. */
static void expect_open(const struct window_rules *r, bool call, const char *from,
                        const char *want_open, const char *want_close, enum window_reason want_why,
                        const char *name)
{
    int64_t open = 0, close = 0;
    enum window_reason why = WINDOW_OK;
    int rc = window_next_open(r, call, T(from), &open, &close, &why);
    bool ok = rc == 0 && open == T(want_open) && (want_close == NULL || close == T(want_close)) &&
              why == want_why;
    tap_ok(ok, "%s", name);
    if (!ok)
        tap_diag("rc %d open %s close %s why %s", rc, S(open), S(close), window_reason_name(why));
}

/* got is read after rc was computed (argument order is unspecified). */
static void expect_time(int rc, const int64_t *got, const char *want, const char *name)
{
    tap_ok(rc == 0 && *got == T(want), "%s", name);
    if (rc != 0 || *got != T(want))
        tap_diag("rc %d got %s want %s", rc, S(*got), want);
}

static void expect_local(GTimeZone *tz, int y, int mo, int d, int sec, const char *want,
                         const char *name)
{
    int64_t got = window_local_to_utc(tz, y, mo, d, sec);
    expect_time(0, &got, want, name);
}

static void test_parsing(void)
{
    struct window_hours h = { 0 };
    struct errbuf err = { 0 };
    char buf[128];

    tap_ok(window_parse_hours("09:00-12:00, 13:30-17:00", &h, &err) == 0 && h.nranges == 2 &&
           h.ranges[0].start == 540 && h.ranges[0].end == 720 && h.ranges[1].start == 810 &&
           h.ranges[1].end == 1020, "two ranges parse into minutes");
    tap_ok(window_parse_hours("22:00-02:00", &h, &err) == -EINVAL, "a range across midnight is refused");
    tap_contains(err.what, "\"22:00-02:00\" crosses midnight", "and the message says so");
    tap_ok(window_parse_hours("9-17", &h, &err) == -EINVAL, "9-17 is refused");
    tap_is_str(err.what, "expected HH:MM-HH:MM, got \"9-17\"", "with what was expected");
    tap_ok(window_parse_hours("09:00-12:00,11:00-13:00", &h, &err) == -EINVAL &&
           strstr(err.what, "overlap") != NULL, "overlapping ranges are refused");
    tap_ok(window_parse_hours("12:00-13:00,09:00-12:00,18:00-24:00", &h, &err) == 0 &&
           h.nranges == 2 && h.ranges[0].start == 540 && h.ranges[0].end == 780 &&
           h.ranges[1].end == 1440, "touching ranges merge, sorted, 24:00 ends the day");
    tap_ok(window_parse_hours("1:00-2:00,3:00-4:00,5:00-6:00,7:00-8:00,9:00-10:00", &h, &err) ==
           -EINVAL, "at most four ranges");
    tap_ok(window_parse_hours("09:00-09:00", &h, &err) == -EINVAL, "an empty range is refused");

    tap_ok(window_parse_days("mon-fri", &h.days, &err) == 0 && h.days == WINDOW_WEEKDAYS, "mon-fri");
    tap_ok(window_parse_days("Fri-Mon", &h.days, &err) == 0 &&
           h.days == (WINDOW_DAY(5) | WINDOW_DAY(6) | WINDOW_DAY(7) | WINDOW_DAY(1)),
           "fri-mon wraps over the weekend");
    tap_ok(window_parse_days("monday, wed ,sun", &h.days, &err) == 0 &&
           h.days == (WINDOW_DAY(1) | WINDOW_DAY(3) | WINDOW_DAY(7)), "a list with full names");
    tap_ok(window_parse_days("funday", &h.days, &err) == -EINVAL &&
           strstr(err.what, "expected days like") != NULL, "an unknown day is refused");
    json_t *j = json_pack("[s, s]", "mon", "wed-fri");
    tap_ok(window_parse_days_json(j, &h.days, &err) == 0 &&
           h.days == (WINDOW_DAY(1) | WINDOW_DAY(3) | WINDOW_DAY(4) | WINDOW_DAY(5)),
           "a JSON array of days");
    json_decref(j);
    j = json_pack("[s, i]", "mon", 3);
    tap_ok(window_parse_days_json(j, &h.days, &err) == -EINVAL && strncmp(err.what, "[1]: ", 5) == 0,
           "a bad JSON element is named by index");
    json_decref(j);
    h = hours("mon-fri", "09:00-12:00,13:30-17:00");
    tap_is_str(window_hours_format(&h, buf, sizeof(buf)), "mon,tue,wed,thu,fri 09:00-12:00,13:30-17:00",
               "a window formats back");
}

static void test_dst_windows(void)
{
    struct window_rules r;
    struct window_hours all = hours("all", "09:00-17:00");

    rules(&r, "Europe/Paris", &all, NULL);
    expect_open(&r, false, "2026-03-28T00:00:00Z", "2026-03-28T08:00:00Z", "2026-03-28T16:00:00Z",
                WINDOW_CLOSED, "Paris 09:00 the day before spring forward is 08:00Z");
    expect_open(&r, false, "2026-03-29T00:00:00Z", "2026-03-29T07:00:00Z", "2026-03-29T15:00:00Z",
                WINDOW_CLOSED, "Paris 09:00 on 29 March is 07:00Z");
    expect_open(&r, false, "2026-10-24T00:00:00Z", "2026-10-24T07:00:00Z", NULL, WINDOW_CLOSED,
                "Paris 09:00 the day before fall back is 07:00Z");
    expect_open(&r, false, "2026-10-25T00:00:00Z", "2026-10-25T08:00:00Z", NULL, WINDOW_CLOSED,
                "Paris 09:00 on 25 October is 08:00Z");
    expect_open(&r, false, "2026-10-25T12:34:56Z", "2026-10-25T12:34:56Z", "2026-10-25T16:00:00Z",
                WINDOW_OK, "inside the window: open now, closes at 17:00 local");
    expect_local(r.zones[0], 2026, 3, 29, 2 * 3600 + 1800,
                "2026-03-29T01:00:00Z", "Paris 02:30 on 29 March (a gap) moves to 03:00 CEST");
    expect_local(r.zones[0], 2026, 10, 25, 2 * 3600 + 1800,
                "2026-10-25T00:30:00Z", "Paris 02:30 on 25 October (twice) takes the first");
    window_rules_clear(&r);

    rules(&r, "America/New_York", &all, NULL);
    expect_open(&r, false, "2026-03-07T05:00:00Z", "2026-03-07T14:00:00Z", "2026-03-07T22:00:00Z",
                WINDOW_CLOSED, "New York 09:00 the day before 8 March is 14:00Z");
    expect_open(&r, false, "2026-03-08T05:00:00Z", "2026-03-08T13:00:00Z", "2026-03-08T21:00:00Z",
                WINDOW_CLOSED, "New York 09:00 on 8 March is 13:00Z");
    expect_open(&r, false, "2026-10-31T05:00:00Z", "2026-10-31T13:00:00Z", NULL, WINDOW_CLOSED,
                "New York 09:00 on 31 October is 13:00Z");
    expect_open(&r, false, "2026-11-01T05:00:00Z", "2026-11-01T14:00:00Z", NULL, WINDOW_CLOSED,
                "New York 09:00 on 1 November is 14:00Z");
    window_rules_clear(&r);

    struct window_hours wk = hours("mon-fri", "09:00-17:00");
    rules(&r, "Asia/Kolkata", &wk, NULL);
    expect_open(&r, false, "2026-01-03T00:00:00Z", "2026-01-05T03:30:00Z", "2026-01-05T11:30:00Z",
                WINDOW_CLOSED, "Kolkata: Saturday waits for Monday 09:00 IST = 03:30Z");
    window_rules_clear(&r);

    rules(&r, "Australia/Lord_Howe", &all, NULL);
    expect_open(&r, false, "2026-04-03T12:00:00Z", "2026-04-03T22:00:00Z", NULL, WINDOW_CLOSED,
                "Lord Howe 09:00 (+11) before DST ends is 22:00Z");
    expect_open(&r, false, "2026-04-04T12:00:00Z", "2026-04-04T22:30:00Z", NULL, WINDOW_CLOSED,
                "Lord Howe 09:00 (+10:30) after DST ends is 22:30Z");
    expect_open(&r, false, "2026-10-02T12:00:00Z", "2026-10-02T22:30:00Z", NULL, WINDOW_CLOSED,
                "Lord Howe 09:00 before DST starts is 22:30Z");
    expect_open(&r, false, "2026-10-03T12:00:00Z", "2026-10-03T22:00:00Z", NULL, WINDOW_CLOSED,
                "Lord Howe 09:00 after DST starts is 22:00Z");
    expect_local(r.zones[0], 2026, 10, 4, 2 * 3600 + 900,
                "2026-10-03T15:30:00Z", "Lord Howe 02:15 in the 30-minute gap moves to 02:30");
    expect_local(r.zones[0], 2026, 4, 5, 3600 + 45 * 60,
                "2026-04-04T14:45:00Z", "Lord Howe 01:45 (twice) takes the first");
    window_rules_clear(&r);

    struct window_hours night = hours("all", "02:00-03:00");
    rules(&r, "Australia/Lord_Howe", &night, NULL);
    expect_open(&r, false, "2026-10-03T12:00:00Z", "2026-10-03T15:30:00Z", "2026-10-03T16:00:00Z",
                WINDOW_CLOSED, "a 02:00-03:00 window on the gap day opens at the gap's end");
    window_rules_clear(&r);
}

static void test_waits(void)
{
    struct window_rules r;
    struct window_hours wk = hours("mon-fri", "09:00-17:00");
    struct holidays *hol;
    struct errbuf err = { 0 };
    int64_t out = 0;

    holidays_new(&hol);
    holidays_add_date(hol, "2026-04-06", &err);   /* Easter Monday */
    rules(&r, "Europe/Paris", &wk, hol);
    expect_time(window_add_business_days(&r, T("2026-03-27T09:00:00Z"), 1, &out), &out,
                "2026-03-30T08:00:00Z", "Friday 10:00 + 1 business day = Monday 10:00 (after DST)");
    expect_time(window_add_business_days(&r, T("2026-04-03T08:00:00Z"), 1, &out), &out,
                "2026-04-07T08:00:00Z", "Friday + 1 business day with a holiday Monday = Tuesday");
    expect_time(window_add_business_days(&r, T("2026-03-23T09:00:00Z"), 5, &out), &out,
                "2026-03-30T08:00:00Z", "Monday + 5 business days = next Monday");
    expect_time(window_add_business_days(&r, T("2026-03-28T11:00:00Z"), 0, &out), &out,
                "2026-03-28T11:00:00Z", "0 business days is now");
    tap_is_int(window_add_business_days(&r, 0, -1, &out), -EINVAL, "negative waits are refused");
    expect_open(&r, false, "2026-04-06T08:00:00Z", "2026-04-07T07:00:00Z", "2026-04-07T15:00:00Z",
                WINDOW_HOLIDAY, "a holiday Monday defers to Tuesday with reason holiday");
    expect_open(&r, false, "2026-04-04T08:00:00Z", "2026-04-07T07:00:00Z", NULL, WINDOW_CLOSED,
                "a Saturday before it says window_closed");
    expect_time(window_add_calendar_days(&r, T("2026-03-28T08:00:00Z"), 1, &out), &out,
                "2026-03-29T07:00:00Z", "Paris + 1 calendar day keeps 09:00 across DST (23 h)");
    window_rules_clear(&r);

    rules(&r, "America/New_York", &wk, NULL);
    expect_time(window_add_calendar_days(&r, T("2026-03-07T14:00:00Z"), 1, &out), &out,
                "2026-03-08T13:00:00Z", "New York + 1 calendar day keeps 09:00 (spring)");
    expect_time(window_add_calendar_days(&r, T("2026-10-31T13:00:00Z"), 1, &out), &out,
                "2026-11-01T14:00:00Z", "New York + 1 calendar day keeps 09:00 (fall, 25 h)");
    expect_time(window_add_calendar_days(&r, T("2026-03-07T07:30:00Z"), 1, &out), &out,
                "2026-03-08T07:00:00Z", "02:30 + 1 day lands in the gap and moves to 03:00 EDT");
    expect_time(window_add_hours(T("2026-03-08T06:30:00Z"), 1, &out), &out, "2026-03-08T07:30:00Z",
                "+1 hour is real time across the gap");
    tap_is_int(window_add_hours(INT64_MAX - 10, 1, &out), -ERANGE, "hours overflow is -ERANGE");
    expect_time(window_until_weekday(&r, T("2026-03-04T15:00:00Z"), 1, 9, 0, &out), &out,
                "2026-03-09T13:00:00Z", "Wednesday until Monday 09:00 (after DST) = 13:00Z");
    expect_time(window_until_weekday(&r, T("2026-03-09T13:00:00Z"), 1, 9, 0, &out), &out,
                "2026-03-16T13:00:00Z", "exactly at Monday 09:00: strictly after, the next week");
    expect_time(window_until_weekday(&r, T("2026-03-09T12:00:00Z"), 1, 9, 0, &out), &out,
                "2026-03-09T13:00:00Z", "Monday 08:00 until Monday 09:00 is the same day");
    tap_is_int(window_until_weekday(&r, 0, 8, 9, 0, &out), -EINVAL, "weekday 8 is refused");
    window_rules_clear(&r);

    struct window_hours none = wk;
    none.days = 0;
    rules(&r, "Europe/Paris", &none, NULL);
    tap_is_int(window_add_business_days(&r, 0, 1, &out), -ERANGE, "no business days: -ERANGE");
    int64_t open;
    tap_is_int(window_next_open(&r, false, 0, &open, NULL, NULL), -ERANGE,
               "a window with no days is never open: -ERANGE");
    window_rules_clear(&r);
    holidays_free(hol);
}

static void test_zones(void)
{
    struct window_rules r;
    struct window_hours wk = hours("mon-fri", "09:00-17:00");
    struct errbuf err = { 0 };
    const char *e2p[] = { "America/New_York", "America/Chicago", "America/Denver",
                          "America/Los_Angeles", NULL };

    tap_ok(window_rules_init_zones(&r, e2p, &wk, NULL, &err) == 0, "Eastern..Pacific zones");
    expect_open(&r, false, "2026-06-01T04:00:00Z", "2026-06-01T16:00:00Z", "2026-06-01T21:00:00Z",
                WINDOW_CLOSED, "Eastern..Pacific 09:00-17:00 is 12:00-17:00 EDT (09:00-14:00 PDT)");
    expect_open(&r, false, "2026-06-01T14:00:00Z", "2026-06-01T16:00:00Z", NULL, WINDOW_CLOSED,
                "10:00 Eastern is open there but not in Pacific: window_closed");
    window_rules_clear(&r);

    /* tz_country_zones("US") also lists Alaska and Hawaii, so the legal
     * intersection is narrower than the Eastern..Pacific one. */
    rules(&r, "ambiguous(US)", &wk, NULL);
    tap_is_int(r.nzones, 7, "ambiguous(US) covers the seven US zones");
    expect_open(&r, false, "2026-06-01T04:00:00Z", "2026-06-01T19:00:00Z", "2026-06-01T21:00:00Z",
                WINDOW_CLOSED, "ambiguous(US) in June: 15:00-17:00 EDT (09:00-11:00 HST)");
    expect_open(&r, false, "2026-01-05T04:00:00Z", "2026-01-05T19:00:00Z", "2026-01-05T22:00:00Z",
                WINDOW_CLOSED, "ambiguous(US) in January: 14:00-17:00 EST");
    window_rules_clear(&r);

    const char *kn[] = { "Pacific/Kiritimati", "Pacific/Niue", NULL };
    struct window_hours mon = hours("mon", "09:00-17:00");
    window_rules_init_zones(&r, kn, &mon, NULL, &err);
    int64_t open = 0;
    tap_is_int(window_next_open(&r, false, T("2026-06-01T00:00:00Z"), &open, NULL, NULL), -ERANGE,
               "Kiritimati (+14) and Niue (-11) Mondays never overlap: -ERANGE");
    window_rules_clear(&r);
    window_rules_init_zones(&r, kn, &wk, NULL, &err);
    expect_open(&r, false, "2026-06-01T00:00:00Z", "2026-06-01T20:00:00Z", "2026-06-02T03:00:00Z",
                WINDOW_CLOSED, "on weekdays they overlap: Kiritimati Tuesday is Niue Monday");
    window_rules_clear(&r);

    struct holidays *hol;
    holidays_new(&hol);
    holidays_add_date(hol, "--12-25", &err);
    struct window_hours allday = hours("all", "00:00-24:00");
    const char *pn[] = { "Europe/Paris", "America/New_York", NULL };
    window_rules_init_zones(&r, pn, &allday, hol, &err);
    expect_open(&r, false, "2026-12-20T12:00:00Z", "2026-12-20T12:00:00Z", "2026-12-24T23:00:00Z",
                WINDOW_OK, "open round the clock until Paris reaches 25 December");
    expect_open(&r, false, "2026-12-24T23:00:00Z", "2026-12-26T05:00:00Z", NULL, WINDOW_HOLIDAY,
                "closed until New York leaves 25 December (a holiday in any zone)");
    window_rules_clear(&r);
    holidays_free(hol);

    tap_ok(window_rules_init(&r, "Mars/Olympus", NULL, &wk, NULL, &err) == -EINVAL &&
           strstr(err.what, "unknown time zone \"Mars/Olympus\"") != NULL, "an unknown zone is refused");
    tap_ok(window_rules_init(&r, "ambiguous(ZZ)", NULL, &wk, NULL, &err) == -EINVAL,
           "ambiguous() of an unknown country is refused");
    tap_ok(window_rules_init(&r, NULL, NULL, &wk, NULL, &err) == -EINVAL, "no zone, no fallback");
    tap_ok(window_rules_init(&r, "", "Europe/Berlin", &wk, NULL, &err) == 0 && r.nzones == 1 &&
           strcmp(r.zone_names[0], "Europe/Berlin") == 0, "no lead zone: the cadence's");
    window_rules_clear(&r);
}

static void test_calling_hours(void)
{
    struct window_rules r;
    struct window_hours wide = hours("all", "07:00-22:00");

    rules(&r, "Europe/Paris", &wide, NULL);
    expect_open(&r, false, "2026-01-05T06:00:00Z", "2026-01-05T06:00:00Z", "2026-01-05T21:00:00Z",
                WINDOW_OK, "an email at 07:00 local goes now");
    expect_open(&r, true, "2026-01-05T06:00:00Z", "2026-01-05T07:00:00Z", "2026-01-05T20:00:00Z",
                WINDOW_CALLING_HOURS, "a call waits for 08:00 and ends at 21:00 (calling_hours)");
    struct window_hours fr = hours("mon-fri", "09:00-12:00");
    window_rules_set_calling(&r, &fr);
    expect_open(&r, true, "2026-01-10T10:00:00Z", "2026-01-12T08:00:00Z", "2026-01-12T11:00:00Z",
                WINDOW_CALLING_HOURS, "a per-country override: no calls on Saturday");
    window_rules_set_calling(&r, NULL);
    expect_open(&r, true, "2026-01-10T10:00:00Z", "2026-01-10T10:00:00Z", NULL, WINDOW_OK,
                "back to the default: Saturday 11:00 is fine");
    window_rules_clear(&r);

    tap_is_str(window_reason_name(WINDOW_CLOSED), "window_closed", "reason window_closed");
    tap_is_str(window_reason_name(WINDOW_HOLIDAY), "holiday", "reason holiday");
    tap_is_str(window_reason_name(WINDOW_CALLING_HOURS), "calling_hours", "reason calling_hours");
}

int main(void)
{
    tap_plan(75);
    test_parsing();
    test_dst_windows();
    test_waits();
    test_zones();
    test_calling_hours();
    return tap_done();
}
