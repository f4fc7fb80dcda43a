/* SPDX-License-Identifier: MIT */
/* daemon/ical_int.h: what ical.c (lines and components) and ical_event.c
 * (an event's dates and RRULE into holidays) share. Not for other modules.
 * Ownership: struct ical_ctx borrows name and err and owns nothing; out is
 * the private calendar ical.c made and frees. */
#ifndef DRUMBEAT_ICAL_INT_H
#define DRUMBEAT_ICAL_INT_H

#include <stdbool.h>

#include "errors.h"
#include "holidays.h"

struct ical_ctx {
    const char *name;          /* file name for errors */
    struct errbuf *err;
    struct holidays *out;      /* the file's events, merged at the end */
};

/* A DATE or DATE-TIME value; secs is the time of day (0 for a DATE). */
struct ical_time {
    int year, month, day;
    int secs;
    bool has_time;
    int line;
};

struct ical_event {
    int begin_line;
    bool has_start, has_end, has_dur, has_rrule, cancelled;
    struct ical_time start, end;
    long dur_secs;
    int dur_line;
    char rrule[512];
    int rrule_line;
};

/* Records -EINVAL with file, line (column 1), where and what; returns -EINVAL. */
int ical_fail(struct ical_ctx *cx, int line, const char *where, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* "YYYYMMDD" or "YYYYMMDDTHHMMSS[Z]", checked against VALUE= (may be ""). */
int ical_parse_time(struct ical_ctx *cx, int line, const char *prop, const char *valtype,
                    const char *value, struct ical_time *out);
/* "P1D", "P2W", "PT36H", "P1DT12H"... into seconds (not negative). */
int ical_parse_duration(struct ical_ctx *cx, int line, const char *value, long *secs);
/* Adds a finished VEVENT (END:VEVENT at end_line) to cx->out. */
int ical_event_finish(struct ical_ctx *cx, const struct ical_event *ev, int end_line);

#endif /* DRUMBEAT_ICAL_INT_H */
