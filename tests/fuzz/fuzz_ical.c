/* SPDX-License-Identifier: MIT */
/* tests/fuzz/fuzz_ical.c: libFuzzer entry for the holiday calendar reader
 * (holidays_parse_ics_mem, what holidays_load_ics calls after reading the
 * file) and for the window texts. Each input is parsed as an iCalendar file;
 * when it loads, every date of a few years is looked up so the yearly and
 * nth-weekday rules run too. Its first line also goes to window_parse_hours()
 * and window_parse_days(), the parsers of the cadence's send window. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "holidays.h"
#include "ical.h"
#include "window.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct holidays *h = NULL;
    struct errbuf err = { 0 };
    char line[1400];

    if (holidays_new(&h) != 0)
        return 0;
    if (holidays_parse_ics_mem(h, (const char *)data, size, "fuzz.ics", &err) == 0) {
        for (long d = holidays_days_from_civil(2019, 1, 1); d < holidays_days_from_civil(2031, 1, 1); d++) {
            int y, m, dd;
            holidays_civil_from_days(d, &y, &m, &dd);
            (void)holidays_has(h, y, m, dd);
        }
    } else {
        /* A failed file adds nothing. */
        if (holidays_count(h) != 0)
            __builtin_trap();
        (void)errbuf_format(&err, line, sizeof(line));
    }
    holidays_free(h);

    size_t n = 0;
    while (n < size && n < sizeof(line) - 1 && data[n] != '\n' && data[n] != '\0')
        n++;
    memcpy(line, data, n);
    line[n] = '\0';
    struct window_hours wh = { 0 };
    if (window_parse_hours(line, &wh, &err) == 0) {
        for (int i = 0; i < wh.nranges; i++)
            if (wh.ranges[i].start < 0 || wh.ranges[i].start >= wh.ranges[i].end ||
                wh.ranges[i].end > 1440 || (i > 0 && wh.ranges[i].start <= wh.ranges[i - 1].end))
                __builtin_trap();
    }
    (void)window_parse_days(line, &wh.days, &err);
    return 0;
}
