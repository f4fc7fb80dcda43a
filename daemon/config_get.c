/* SPDX-License-Identifier: MIT */
/* daemon/config_get.c: path-aware typed getters over jansson objects and the
 * duration parser. The getters are shared by the config loader and the plugin
 * option validator, so every message has the same shape: where is the JSON
 * path of the value ("channels[0].options.port") and what says what was
 * expected and what was found ("expected an integer from 0 to 65535, got 70000"). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "config_internal.h"

void config_path_key(char *buf, size_t len, const char *path, const char *key)
{
    if (path != NULL && path[0] != '\0')
        snprintf(buf, len, "%s.%s", path, key);
    else
        snprintf(buf, len, "%s", key);
    /* Keys come from the file: a newline in one must not start a new message line. */
    for (char *p = buf; *p != '\0'; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = '?';
}

void config_path_index(char *buf, size_t len, const char *path, size_t index)
{
    snprintf(buf, len, "%s[%zu]", path != NULL ? path : "", index);
}

void config_describe(const json_t *v, char *buf, size_t len)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        snprintf(buf, len, "an object");
        return;
    case JSON_ARRAY:
        snprintf(buf, len, "an array");
        return;
    case JSON_INTEGER:
        snprintf(buf, len, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return;
    case JSON_REAL:
        snprintf(buf, len, "%.17g", json_real_value(v));
        return;
    case JSON_TRUE:
        snprintf(buf, len, "true");
        return;
    case JSON_FALSE:
        snprintf(buf, len, "false");
        return;
    case JSON_NULL:
        snprintf(buf, len, "null");
        return;
    case JSON_STRING:
        break;
    }
    /* json_dumps quotes and escapes, so control characters in the value
     * cannot reach a terminal or a log line raw. */
    char *dump = json_dumps(v, JSON_ENCODE_ANY);
    if (dump == NULL) {
        snprintf(buf, len, "a string");
        return;
    }
    size_t n = strlen(dump);
    const size_t keep = 60;
    if (n > keep + 4) {
        size_t cut = keep;
        /* Back up to a character boundary so the message stays valid UTF-8. */
        while (cut > 1 && ((unsigned char)dump[cut] & 0xC0) == 0x80)
            cut--;
        snprintf(buf, len, "%.*s...\"", (int)cut, dump);
    } else {
        snprintf(buf, len, "%s", dump);
    }
    free(dump);
}

/* Fills err for a value of the wrong type or range. */
static int get_fail(struct errbuf *err, const char *path, const char *key,
                    const json_t *v, const char *expected)
{
    char where[sizeof(err->where)];
    char got[128];

    config_path_key(where, sizeof(where), path, key);
    config_describe(v, got, sizeof(got));
    return errbuf_at(err, -EINVAL, NULL, where, "expected %s, got %s", expected, got);
}

static const json_t *get_value(const json_t *obj, const char *key)
{
    return json_is_object(obj) ? json_object_get(obj, key) : NULL;
}

int config_get_int(const json_t *obj, const char *path, const char *key,
                   int64_t min, int64_t max, int64_t *out, struct errbuf *err)
{
    const json_t *v = get_value(obj, key);
    char expected[96];

    if (v == NULL)
        return -ENOENT;
    if (min == 1 && max == INT64_MAX)
        snprintf(expected, sizeof(expected), "a positive integer");
    else if (min == 0 && max == INT64_MAX)
        snprintf(expected, sizeof(expected), "a non-negative integer");
    else if (min == INT64_MIN && max == INT64_MAX)
        snprintf(expected, sizeof(expected), "an integer");
    else
        snprintf(expected, sizeof(expected), "an integer from %" PRId64 " to %" PRId64,
                 min, max);
    if (!json_is_integer(v))
        return get_fail(err, path, key, v, expected);
    int64_t n = (int64_t)json_integer_value(v);
    if (n < min || n > max)
        return get_fail(err, path, key, v, expected);
    *out = n;
    return 0;
}

int config_get_bool(const json_t *obj, const char *path, const char *key,
                    bool *out, struct errbuf *err)
{
    const json_t *v = get_value(obj, key);

    if (v == NULL)
        return -ENOENT;
    if (!json_is_boolean(v))
        return get_fail(err, path, key, v, "true or false");
    *out = json_is_true(v);
    return 0;
}

int config_get_string(const json_t *obj, const char *path, const char *key,
                      const char **out, struct errbuf *err)
{
    const json_t *v = get_value(obj, key);

    if (v == NULL)
        return -ENOENT;
    if (!json_is_string(v))
        return get_fail(err, path, key, v, "a string");
    *out = json_string_value(v);
    return 0;
}

int config_get_duration(const json_t *obj, const char *path, const char *key,
                        uint64_t *out, struct errbuf *err)
{
    static const char expected[] =
        "a duration such as \"250ms\", \"30s\", \"5m\", \"2h\", \"1d\" or milliseconds";
    const json_t *v = get_value(obj, key);
    uint64_t ms;

    if (v == NULL)
        return -ENOENT;
    if (json_is_integer(v) && json_integer_value(v) >= 0) {
        *out = (uint64_t)json_integer_value(v);
        return 0;
    }
    if (json_is_string(v) && duration_parse(json_string_value(v), &ms) == 0) {
        *out = ms;
        return 0;
    }
    return get_fail(err, path, key, v, expected);
}

/* Milliseconds per unit; the longest suffix is tried first so "ms" is not
 * read as "m" followed by garbage. */
static int duration_unit(const char **p, uint64_t *mult)
{
    static const struct { const char *name; uint64_t ms; } units[] = {
        { "ms", 1 }, { "s", 1000 }, { "m", 60000 }, { "h", 3600000 }, { "d", 86400000 },
    };
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        size_t n = strlen(units[i].name);
        if (strncmp(*p, units[i].name, n) == 0) {
            *p += n;
            *mult = units[i].ms;
            return 0;
        }
    }
    return -EINVAL;
}

/* Accepts "250ms", "30s", "5m", "2h", "1d", sums such as "1h30m", and a bare
 * number of milliseconds ("0", "1500"), which is how option defaults are
 * written. No signs, fractions or spaces: a typo must not become a guess. */
int duration_parse(const char *text, uint64_t *out_ms)
{
    const char *p = text;
    uint64_t total = 0;

    if (text == NULL || *p == '\0')
        return -EINVAL;
    while (*p != '\0') {
        uint64_t n = 0, mult;
        if (*p < '0' || *p > '9')
            return -EINVAL;
        while (*p >= '0' && *p <= '9') {
            if (n > (UINT64_MAX - 9) / 10)
                return -EINVAL;
            n = n * 10 + (uint64_t)(*p++ - '0');
        }
        if (*p == '\0' && p == text + strspn(text, "0123456789")) {
            mult = 1;    /* the whole text is one bare number */
        } else if (duration_unit(&p, &mult) != 0) {
            return -EINVAL;
        }
        if (n != 0 && mult > UINT64_MAX / n)
            return -EINVAL;
        if (total > UINT64_MAX - n * mult)
            return -EINVAL;
        total += n * mult;
    }
    *out_ms = total;
    return 0;
}
