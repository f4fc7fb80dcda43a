/* SPDX-License-Identifier: MIT */
/* daemon/window_parse.c: the text forms of a send window (see window.h):
 * days ("mon-fri", ["mon", "wed-fri"]) and hours ("09:00-12:00,13:30-17:00").
 * Errors say what was expected and quote what was found; the caller adds the
 * file and JSON path. A range across midnight is refused rather than guessed:
 * "22:00-02:00" on a Friday could mean Friday night or Saturday morning, and
 * only the person writing the cadence knows which. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "window.h"

static const char *const day_names[7] = { "monday", "tuesday", "wednesday", "thursday",
                                          "friday", "saturday", "sunday" };

/* 1..7 for "mon" or "monday" (any case), 0 otherwise. */
static int day_of(const char *s, size_t n)
{
    for (int i = 0; i < 7; i++)
        if ((n == 3 || n == strlen(day_names[i])) && strncasecmp(s, day_names[i], n) == 0)
            return i + 1;
    return 0;
}

static const char *trim(const char *s, size_t *n)
{
    while (*n > 0 && isspace((unsigned char)*s)) {
        s++;
        (*n)--;
    }
    while (*n > 0 && isspace((unsigned char)s[*n - 1]))
        (*n)--;
    return s;
}

static int parse_day_token(const char *tok, size_t n, unsigned *days)
{
    static const struct { const char *name; unsigned mask; } groups[] = {
        { "weekdays", WINDOW_WEEKDAYS }, { "weekends", 0x60u }, { "weekend", 0x60u },
        { "all", WINDOW_ALL_DAYS }, { "daily", WINDOW_ALL_DAYS }, { "everyday", WINDOW_ALL_DAYS },
    };
    for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++)
        if (n == strlen(groups[i].name) && strncasecmp(tok, groups[i].name, n) == 0) {
            *days |= groups[i].mask;
            return 0;
        }
    const char *dash = memchr(tok, '-', n);
    size_t n1 = dash != NULL ? (size_t)(dash - tok) : n;
    const char *t1 = trim(tok, &n1);
    if (dash != NULL && memchr(dash + 1, '-', n - (size_t)(dash + 1 - tok)) != NULL)
        return -EINVAL;
    int a = day_of(t1, n1), b = a;
    if (dash != NULL) {
        size_t n2 = n - (size_t)(dash + 1 - tok);
        const char *t2 = trim(dash + 1, &n2);
        b = day_of(t2, n2);
    }
    if (a == 0 || b == 0)
        return -EINVAL;
    /* "fri-mon" wraps over the weekend. */
    for (int d = a;; d = d % 7 + 1) {
        *days |= WINDOW_DAY(d);
        if (d == b)
            break;
    }
    return 0;
}

int window_parse_days(const char *text, unsigned *days, struct errbuf *err)
{
    unsigned mask = 0;
    const char *p = text;

    for (;;) {
        size_t n = strcspn(p, ",");
        size_t tn = n;
        const char *tok = trim(p, &tn);
        if (tn == 0 || parse_day_token(tok, tn, &mask) < 0)
            return errbuf_set(err, -EINVAL,
                              "expected days like \"mon-fri\" or \"mon,wed,fri\", got \"%.64s\"",
                              text);
        if (p[n] == '\0')
            break;
        p += n + 1;
    }
    *days = mask;
    return 0;
}

int window_parse_days_json(const json_t *json, unsigned *days, struct errbuf *err)
{
    unsigned mask = 0, one;
    size_t i;
    json_t *v;

    if (json_is_string(json))
        return window_parse_days(json_string_value(json), days, err);
    if (!json_is_array(json) || json_array_size(json) == 0)
        return errbuf_set(err, -EINVAL,
                          "expected a non-empty array of days like [\"mon-fri\"] or a string");
    json_array_foreach(json, i, v) {
        if (!json_is_string(v))
            return errbuf_set(err, -EINVAL, "[%zu]: expected a day like \"mon\" or \"mon-fri\"", i);
        if (window_parse_days(json_string_value(v), &one, err) < 0) {
            char what[sizeof(err->what)];
            if (err != NULL) {
                snprintf(what, sizeof(what), "%s", err->what);
                errbuf_set(err, -EINVAL, "[%zu]: %s", i, what);
            }
            return -EINVAL;
        }
        mask |= one;
    }
    *days = mask;
    return 0;
}

/* "H:MM" or "HH:MM" (00:00..24:00) at s into minutes; returns the length
 * read, or 0. */
static size_t parse_hhmm(const char *s, int *minutes)
{
    size_t i = 0;
    int h = 0;
    while (i < 2 && isdigit((unsigned char)s[i]))
        h = h * 10 + (s[i++] - '0');
    if (i == 0 || s[i] != ':' || !isdigit((unsigned char)s[i + 1]) ||
        !isdigit((unsigned char)s[i + 2]))
        return 0;
    int m = (s[i + 1] - '0') * 10 + (s[i + 2] - '0');
    if (h > 24 || m > 59 || (h == 24 && m != 0))
        return 0;
    *minutes = h * 60 + m;
    return i + 3;
}

static int cmp_range(const void *a, const void *b)
{
    const struct window_range *x = a, *y = b;
    return (x->start > y->start) - (x->start < y->start);
}

int window_parse_hours(const char *text, struct window_hours *out, struct errbuf *err)
{
    struct window_range r[WINDOW_MAX_RANGES];
    int n = 0;
    const char *p = text;

    for (;;) {
        size_t len = strcspn(p, ",");
        size_t tn = len;
        const char *tok = trim(p, &tn);
        char copy[64];
        snprintf(copy, sizeof(copy), "%.*s", (int)(tn < 63 ? tn : 63), tok);
        int a, b;
        size_t k = parse_hhmm(copy, &a), k2 = 0;
        const char *q = copy + k;
        while (k > 0 && *q == ' ')
            q++;
        if (k > 0 && *q == '-') {
            q++;
            while (*q == ' ')
                q++;
            k2 = parse_hhmm(q, &b);
        }
        if (k == 0 || k2 == 0 || q[k2] != '\0' || tn >= 63)
            return errbuf_set(err, -EINVAL, "expected HH:MM-HH:MM, got \"%s\"", copy);
        if (a == 24 * 60)
            return errbuf_set(err, -EINVAL, "a range cannot start at 24:00, got \"%s\"", copy);
        if (b < a)
            return errbuf_set(err, -EINVAL,
                              "\"%s\" crosses midnight: write it as two ranges on the days "
                              "meant (HH:MM-24:00 and 00:00-HH:MM)", copy);
        if (b == a)
            return errbuf_set(err, -EINVAL, "\"%s\" is an empty range", copy);
        if (n == WINDOW_MAX_RANGES)
            return errbuf_set(err, -EINVAL, "at most %d ranges, got \"%.64s\"",
                              WINDOW_MAX_RANGES, text);
        r[n].start = a;
        r[n].end = b;
        n++;
        if (p[len] == '\0')
            break;
        p += len + 1;
    }
    qsort(r, (size_t)n, sizeof(r[0]), cmp_range);
    int m = 0;
    for (int i = 0; i < n; i++) {
        if (m > 0 && r[i].start < r[m - 1].end)
            return errbuf_set(err, -EINVAL, "ranges %02d:%02d-%02d:%02d and %02d:%02d-%02d:%02d overlap",
                              r[m - 1].start / 60, r[m - 1].start % 60, r[m - 1].end / 60,
                              r[m - 1].end % 60, r[i].start / 60, r[i].start % 60, r[i].end / 60,
                              r[i].end % 60);
        if (m > 0 && r[i].start == r[m - 1].end)
            r[m - 1].end = r[i].end;   /* touching ranges are one */
        else
            r[m++] = r[i];
    }
    out->nranges = m;
    memcpy(out->ranges, r, (size_t)m * sizeof(r[0]));
    return 0;
}

const char *window_hours_format(const struct window_hours *h, char *buf, size_t len)
{
    size_t n = 0;
    buf[0] = '\0';
    for (int d = 1; d <= 7 && n < len; d++)
        if (h->days & WINDOW_DAY(d))
            n += (size_t)snprintf(buf + n, len - n, "%s%.3s", n > 0 ? "," : "", day_names[d - 1]);
    for (int i = 0; i < h->nranges && n < len; i++) {
        const struct window_range *r = &h->ranges[i];
        n += (size_t)snprintf(buf + n, len - n, "%s%02d:%02d-%02d:%02d", i == 0 ? " " : ",",
                              r->start / 60, r->start % 60, r->end / 60, r->end % 60);
    }
    return buf;
}
