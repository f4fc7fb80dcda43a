/* SPDX-License-Identifier: MIT */
/* daemon/clock.h: "now" for the whole daemon. With --test-clock the daemon's
 * time starts at a given instant and moves only when told to (clock_advance),
 * so weeks of cadence can be tested in seconds; it is never on otherwise.
 * All times are UTC instants in int64 milliseconds.
 * Threads: thread-safe (atomics). Ownership: no pointers kept. */
#ifndef DRUMBEAT_CLOCK_H
#define DRUMBEAT_CLOCK_H

#include <stdbool.h>
#include <stdint.h>

int64_t clock_now_ms(void);
/* Switches to the test clock, starting at start_ms. */
void clock_use_test(int64_t start_ms);
bool clock_is_test(void);
/* Moves the test clock forward by ms; returns -EINVAL when it is not on. */
int clock_advance(int64_t ms);
/* Parses "2026-01-05T08:00:00Z" (UTC, seconds optional) or "now"; 0 or -EINVAL. */
int clock_parse_iso(const char *text, int64_t *out_ms);
/* Formats ms as "2026-01-05T08:00:00.000Z" into buf (>= 32 bytes). */
const char *clock_format_iso(int64_t ms, char *buf, unsigned long len);

#endif /* DRUMBEAT_CLOCK_H */
