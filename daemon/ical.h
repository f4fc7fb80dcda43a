/* SPDX-License-Identifier: MIT */
/* daemon/ical.h: holiday calendars from iCalendar files (RFC 5545).
 *
 * What is read: lines are unfolded (CRLF or LF, continuation lines start with
 * a space or tab); every VEVENT directly inside a VCALENDAR becomes holidays:
 *   - DTSTART;VALUE=DATE:YYYYMMDD, an all-day event; DTEND is exclusive, so
 *     DTEND a few days later is a multi-day span; DURATION:PnD/PnW also works;
 *   - DTSTART with a date-time: its date (as written; a span that ends after
 *     midnight covers the next date too);
 *   - RRULE:FREQ=YEARLY with optional INTERVAL, COUNT or UNTIL, BYMONTH and
 *     BYMONTHDAY (which must agree with DTSTART), or BYMONTH with one ordinal
 *     BYDAY (4TH, -1MO: "fourth Thursday of November");
 *   - STATUS:CANCELLED events are left out.
 * Anything that would change which dates are holidays and is not understood
 * (another FREQ, BYSETPOS, RDATE, EXDATE...) is an error naming file:line,
 * never silently ignored. Other components (VTIMEZONE, VTODO) and other
 * properties (SUMMARY, UID...) are skipped.
 *
 * The file is all-or-nothing: on error nothing is added to h.
 * Threads: any thread, each on its own struct holidays.
 * Ownership: data, name and path are borrowed for the call.
 */
#ifndef DRUMBEAT_ICAL_H
#define DRUMBEAT_ICAL_H

#include <stddef.h>

#include "errors.h"
#include "holidays.h"

/* Largest file holidays_load_ics() reads. */
#define ICAL_MAX_FILE (16u << 20)

/* Reads path and adds its holidays to h. Returns 0, -EINVAL (err has
 * file:line and what was expected), -ENOMEM, -E2BIG, or the open/read errno. */
int holidays_load_ics(struct holidays *h, const char *path, struct errbuf *err);
/* The same over len bytes (any bytes: NULs are errors); name goes into err. */
int holidays_parse_ics_mem(struct holidays *h, const char *data, size_t len,
                           const char *name, struct errbuf *err);

#endif /* DRUMBEAT_ICAL_H */
