/* SPDX-License-Identifier: MIT */
/* daemon/ical.c: the iCalendar reader for holiday calendars (see ical.h).
 * This file unfolds lines, splits "NAME;PARAM=V:value", tracks the component
 * nesting and collects each VEVENT's DTSTART/DTEND/DURATION/RRULE; turning a
 * finished event into dates and yearly rules is ical_event.c's job. Events go
 * into a private calendar merged into the caller's only when the whole file
 * is read, so a bad line never leaves half a calendar behind. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ical.h"
#include "ical_int.h"

#define MAX_LINE 65536
#define MAX_DEPTH 8

struct parser {
    struct ical_ctx cx;
    char stack[MAX_DEPTH][32];
    int depth;
    bool seen_calendar;
    bool in_event;             /* a VEVENT directly inside the VCALENDAR */
    struct ical_event ev;
};

int ical_fail(struct ical_ctx *cx, int line, const char *where, const char *fmt, ...)
{
    char what[480];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    errbuf_at(cx->err, -EINVAL, cx->name, where, "%s", what);
    if (cx->err != NULL) {
        cx->err->line = line;
        cx->err->column = 1;
    }
    return -EINVAL;
}

/* Copies the property or parameter name at s (letters, digits, '-'), upper
 * cased and cut to cap-1, into out; returns its length in s. */
static size_t take_name(const char *s, char *out, size_t cap)
{
    size_t n = 0;
    while (isalnum((unsigned char)s[n]) || s[n] == '-') {
        if (n + 1 < cap)
            out[n] = (char)toupper((unsigned char)s[n]);
        n++;
    }
    out[n < cap ? n : cap - 1] = '\0';
    return n;
}

/* Splits a logical line into name, the VALUE= parameter and the value. */
static int split_line(struct ical_ctx *cx, int lineno, char *line, char *name, size_t ncap,
                      char *valtype, size_t vcap, char **value)
{
    size_t i = take_name(line, name, ncap);
    valtype[0] = '\0';
    if (i == 0 || (line[i] != ';' && line[i] != ':'))
        return ical_fail(cx, lineno, NULL,
                         "expected NAME:value or NAME;PARAM=value:value, got \"%.40s\"", line);
    while (line[i] == ';') {
        char pname[32];
        size_t n = take_name(line + i + 1, pname, sizeof(pname));
        i += 1 + n;
        if (n == 0 || line[i] != '=')
            return ical_fail(cx, lineno, name, "expected PARAM=value after ';'");
        i++;
        bool first = true;
        for (;;) {
            size_t start = i;
            if (line[i] == '"') {
                char *q = strchr(line + i + 1, '"');
                if (q == NULL)
                    return ical_fail(cx, lineno, name, "unterminated quoted parameter value");
                start = i + 1;
                i = (size_t)(q - line) + 1;
                if (first && strcmp(pname, "VALUE") == 0)
                    snprintf(valtype, vcap, "%.*s", (int)(i - 1 - start), line + start);
            } else {
                i += strcspn(line + i, ";:,\"");
                if (first && strcmp(pname, "VALUE") == 0)
                    snprintf(valtype, vcap, "%.*s", (int)(i - start), line + start);
            }
            first = false;
            if (line[i] != ',')
                break;
            i++;
        }
    }
    if (line[i] != ':')
        return ical_fail(cx, lineno, name, "expected ':' before the value");
    *value = line + i + 1;
    return 0;
}

static void upper(char *s)
{
    for (; *s != '\0'; s++)
        *s = (char)toupper((unsigned char)*s);
}

static int on_begin(struct parser *p, int lineno, char *value)
{
    upper(value);
    if (p->depth == 0 && strcmp(value, "VCALENDAR") != 0)
        return ical_fail(&p->cx, lineno, NULL, "expected BEGIN:VCALENDAR, got BEGIN:%.40s", value);
    if (p->depth == MAX_DEPTH)
        return ical_fail(&p->cx, lineno, NULL, "components nested more than %d deep", MAX_DEPTH);
    snprintf(p->stack[p->depth++], sizeof(p->stack[0]), "%s", value);
    p->seen_calendar = true;
    if (p->depth == 2 && strcmp(value, "VEVENT") == 0) {
        memset(&p->ev, 0, sizeof(p->ev));
        p->ev.begin_line = lineno;
        p->in_event = true;
    }
    return 0;
}

static int on_end(struct parser *p, int lineno, char *value)
{
    upper(value);
    if (p->depth == 0)
        return ical_fail(&p->cx, lineno, NULL, "END:%.40s without a BEGIN", value);
    if (strncmp(p->stack[p->depth - 1], value, sizeof(p->stack[0]) - 1) != 0)
        return ical_fail(&p->cx, lineno, NULL, "expected END:%s, got END:%.40s",
                         p->stack[p->depth - 1], value);
    p->depth--;
    if (p->in_event && p->depth == 1) {
        p->in_event = false;
        return ical_event_finish(&p->cx, &p->ev, lineno);
    }
    return 0;
}

static int on_event_prop(struct parser *p, int lineno, const char *name, const char *valtype,
                         const char *value)
{
    struct ical_event *ev = &p->ev;
    if (strcmp(name, "DTSTART") == 0 || strcmp(name, "DTEND") == 0) {
        bool start = name[2] == 'S';
        struct ical_time *t = start ? &ev->start : &ev->end;
        if ((start ? ev->has_start : ev->has_end))
            return ical_fail(&p->cx, lineno, name, "a second %s in one VEVENT", name);
        int rc = ical_parse_time(&p->cx, lineno, name, valtype, value, t);
        if (rc < 0)
            return rc;
        *(start ? &ev->has_start : &ev->has_end) = true;
    } else if (strcmp(name, "DURATION") == 0) {
        if (ev->has_dur)
            return ical_fail(&p->cx, lineno, name, "a second DURATION in one VEVENT");
        ev->has_dur = true;
        ev->dur_line = lineno;
        return ical_parse_duration(&p->cx, lineno, value, &ev->dur_secs);
    } else if (strcmp(name, "RRULE") == 0) {
        if (ev->has_rrule)
            return ical_fail(&p->cx, lineno, name, "only one RRULE per VEVENT is supported");
        if (strlen(value) >= sizeof(ev->rrule))
            return ical_fail(&p->cx, lineno, name, "RRULE longer than %zu bytes",
                             sizeof(ev->rrule) - 1);
        snprintf(ev->rrule, sizeof(ev->rrule), "%s", value);
        ev->has_rrule = true;
        ev->rrule_line = lineno;
    } else if (strcmp(name, "STATUS") == 0) {
        ev->cancelled = strcasecmp(value, "CANCELLED") == 0;
    } else if (strcmp(name, "RDATE") == 0 || strcmp(name, "EXDATE") == 0 ||
               strcmp(name, "EXRULE") == 0) {
        return ical_fail(&p->cx, lineno, name,
                         "%s is not supported: list each holiday as its own VEVENT", name);
    }
    return 0;
}

static int on_line(struct parser *p, int lineno, char *line)
{
    char name[64], valtype[24], *value = NULL;
    if (line[0] == '\0')
        return 0;   /* blank lines (often at the end) carry nothing */
    int rc = split_line(&p->cx, lineno, line, name, sizeof(name), valtype, sizeof(valtype),
                        &value);
    if (rc < 0)
        return rc;
    if (strcmp(name, "BEGIN") == 0)
        return on_begin(p, lineno, value);
    if (strcmp(name, "END") == 0)
        return on_end(p, lineno, value);
    if (p->depth == 0)
        return ical_fail(&p->cx, lineno, name, "expected BEGIN:VCALENDAR, got %s", name);
    if (p->in_event && p->depth == 2)
        return on_event_prop(p, lineno, name, valtype, value);
    return 0;
}

/* Unfolds physical lines into logical ones and feeds them to on_line(). */
static int parse_lines(struct parser *p, const char *data, size_t len)
{
    char *buf = malloc(MAX_LINE + 1);
    size_t blen = 0;
    int phys = 0, logical = 0, rc = 0;
    bool have = false;

    if (buf == NULL)
        return -ENOMEM;
    for (size_t i = 0; i < len && rc == 0;) {
        const char *nl = memchr(data + i, '\n', len - i);
        size_t end = nl != NULL ? (size_t)(nl - data) : len;
        size_t seg = end - i;
        const char *s = data + i;
        phys++;
        if (seg > 0 && s[seg - 1] == '\r')
            seg--;
        if (memchr(s, '\0', seg) != NULL) {
            rc = ical_fail(&p->cx, phys, NULL, "unexpected NUL byte");
            break;
        }
        if (have && seg > 0 && (s[0] == ' ' || s[0] == '\t')) {
            s++;
            seg--;
        } else {
            if (have) {
                buf[blen] = '\0';
                rc = on_line(p, logical, buf);
            }
            blen = 0;
            logical = phys;
            have = true;
        }
        if (rc == 0 && blen + seg > MAX_LINE)
            rc = ical_fail(&p->cx, logical, NULL, "line longer than %d bytes", MAX_LINE);
        if (rc == 0) {
            memcpy(buf + blen, s, seg);
            blen += seg;
        }
        i = end + 1;
    }
    if (rc == 0 && have) {
        buf[blen] = '\0';
        rc = on_line(p, logical, buf);
    }
    free(buf);
    if (rc == 0 && !p->seen_calendar)
        rc = ical_fail(&p->cx, phys > 0 ? phys : 1, NULL,
                       "expected BEGIN:VCALENDAR, found no calendar");
    if (rc == 0 && p->depth > 0)
        rc = ical_fail(&p->cx, phys, NULL, "expected END:%s before the end of the file",
                       p->stack[p->depth - 1]);
    return rc;
}

int holidays_parse_ics_mem(struct holidays *h, const char *data, size_t len,
                           const char *name, struct errbuf *err)
{
    struct parser *p = calloc(1, sizeof(*p));
    int rc;

    if (p == NULL)
        return errbuf_set(err, -ENOMEM, "out of memory");
    p->cx.name = name;
    p->cx.err = err;
    rc = holidays_new(&p->cx.out);
    if (rc < 0)
        goto fail;
    if (len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0) {
        data += 3;
        len -= 3;
    }
    rc = parse_lines(p, data, len);
    if (rc == 0) {
        rc = holidays_merge(h, p->cx.out);
        if (rc < 0)
            errbuf_at(err, rc, name, NULL, "too many holidays (more than %d)",
                      HOLIDAYS_MAX_ENTRIES);
    }
fail:
    if (rc == -ENOMEM)
        errbuf_at(err, rc, name, NULL, "out of memory");
    holidays_free(p->cx.out);
    free(p);
    return rc;
}

int holidays_load_ics(struct holidays *h, const char *path, struct errbuf *err)
{
    struct stat st;
    char *data = NULL;
    size_t got = 0;
    int rc = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0) {
        rc = -errno;
        return errbuf_at(err, rc, path, NULL, "cannot open the calendar: %s", error_text(rc));
    }
    if (fstat(fd, &st) < 0) {
        rc = errbuf_at(err, -errno, path, NULL, "cannot stat the calendar");
        goto fail;
    }
    if (!S_ISREG(st.st_mode) || (unsigned long long)st.st_size > ICAL_MAX_FILE) {
        rc = errbuf_at(err, -EINVAL, path, NULL,
                       "expected a regular file of at most %u bytes", ICAL_MAX_FILE);
        goto fail;
    }
    data = malloc((size_t)st.st_size + 1);
    if (data == NULL) {
        rc = errbuf_at(err, -ENOMEM, path, NULL, "out of memory");
        goto fail;
    }
    while (got < (size_t)st.st_size) {
        ssize_t n = read(fd, data + got, (size_t)st.st_size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            rc = errbuf_at(err, n < 0 ? -errno : -EIO, path, NULL, "cannot read the calendar");
            goto fail;
        }
        got += (size_t)n;
    }
    rc = holidays_parse_ics_mem(h, data, got, path, err);
fail:
    free(data);
    close(fd);
    return rc;
}
