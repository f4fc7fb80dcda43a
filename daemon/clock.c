/* SPDX-License-Identifier: MIT */
/* daemon/clock.c: real or test time, read atomically from any thread. */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "clock.h"

static atomic_bool clock_test_on;
static _Atomic int64_t clock_test_ms;

int64_t clock_now_ms(void)
{
    if (atomic_load(&clock_test_on))
        return atomic_load(&clock_test_ms);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void clock_use_test(int64_t start_ms)
{
    atomic_store(&clock_test_ms, start_ms);
    atomic_store(&clock_test_on, true);
}

bool clock_is_test(void)
{
    return atomic_load(&clock_test_on);
}

int clock_advance(int64_t ms)
{
    if (!atomic_load(&clock_test_on) || ms < 0)
        return -EINVAL;
    atomic_fetch_add(&clock_test_ms, ms);
    return 0;
}

int clock_parse_iso(const char *text, int64_t *out_ms)
{
    struct tm tm;
    int consumed = 0;

    if (strcmp(text, "now") == 0) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        *out_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
        return 0;
    }
    memset(&tm, 0, sizeof(tm));
    if (sscanf(text, "%4d-%2d-%2dT%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
               &tm.tm_hour, &tm.tm_min, &consumed) != 5)
        return -EINVAL;
    const char *rest = text + consumed;
    if (*rest == ':') {
        int n = 0;
        if (sscanf(rest, ":%2d%n", &tm.tm_sec, &n) != 1)
            return -EINVAL;
        rest += n;
    }
    if (strcmp(rest, "Z") != 0 && *rest != '\0')
        return -EINVAL;
    if (tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 ||
        tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60)
        return -EINVAL;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    *out_ms = (int64_t)timegm(&tm) * 1000;
    return 0;
}

const char *clock_format_iso(int64_t ms, char *buf, unsigned long len)
{
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    size_t n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, len - n, ".%03dZ", (int)(ms % 1000));
    return buf;
}
