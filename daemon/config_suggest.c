/* SPDX-License-Identifier: MIT */
/* daemon/config_suggest.c: unknown keys are errors, and each carries the
 * closest allowed key as a "did you mean" hint. Closeness is the optimal
 * string alignment distance (Levenshtein plus adjacent transpositions), so
 * "dialy_cap" is one edit from "daily_cap", as a person would count it. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "config_internal.h"

/* Longer keys cannot be close to any key we allow; bounding them keeps the
 * distance table on the stack whatever the input. */
#define SUGGEST_MAX_LEN 64

static size_t min3(size_t a, size_t b, size_t c)
{
    size_t m = a < b ? a : b;
    return m < c ? m : c;
}

/* Case-insensitive optimal string alignment distance. */
static size_t osa_distance(const char *a, size_t la, const char *b, size_t lb)
{
    size_t d[SUGGEST_MAX_LEN + 1][SUGGEST_MAX_LEN + 1];

    for (size_t i = 0; i <= la; i++)
        d[i][0] = i;
    for (size_t j = 0; j <= lb; j++)
        d[0][j] = j;
    for (size_t i = 1; i <= la; i++) {
        for (size_t j = 1; j <= lb; j++) {
            int ca = tolower((unsigned char)a[i - 1]);
            int cb = tolower((unsigned char)b[j - 1]);
            size_t cost = ca == cb ? 0 : 1;
            d[i][j] = min3(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
            if (i > 1 && j > 1 && ca == tolower((unsigned char)b[j - 2]) &&
                tolower((unsigned char)a[i - 2]) == cb && d[i - 2][j - 2] + 1 < d[i][j])
                d[i][j] = d[i - 2][j - 2] + 1;
        }
    }
    return d[la][lb];
}

const char *config_suggest(const char *key, const char *const *allowed)
{
    size_t lk = strlen(key);
    const char *best = NULL;
    size_t best_d = SIZE_MAX;

    if (lk == 0 || lk > SUGGEST_MAX_LEN || allowed == NULL)
        return NULL;
    /* Up to a third of the key may be wrong, and at least two edits are
     * forgiven, but never so many that any short word matches. */
    size_t limit = lk / 3 > 2 ? lk / 3 : 2;
    if (limit >= lk)
        limit = lk - 1;
    for (const char *const *a = allowed; *a != NULL; a++) {
        size_t la = strlen(*a);
        if (la > SUGGEST_MAX_LEN || (la > lk ? la - lk : lk - la) > limit)
            continue;
        size_t d = osa_distance(key, lk, *a, la);
        if (d <= limit && d < best_d) {
            best = *a;
            best_d = d;
        }
    }
    return best;
}

int config_check_keys(const json_t *obj, const char *file, const char *path,
                      const char *const *allowed, struct config_errors *errs)
{
    const char *key;
    json_t *value;
    int n = 0;

    if (!json_is_object(obj))
        return 0;
    json_object_foreach((json_t *)obj, key, value) {
        bool known = false;
        for (const char *const *a = allowed; *a != NULL && !known; a++)
            known = strcmp(*a, key) == 0;
        if (known)
            continue;

        struct errbuf err = { .code = -EINVAL };
        const char *hint = config_suggest(key, allowed);
        snprintf(err.file, sizeof(err.file), "%s", file != NULL ? file : "");
        config_path_key(err.where, sizeof(err.where), path, key);
        if (hint != NULL) {
            snprintf(err.what, sizeof(err.what), "unknown key; did you mean \"%s\"?", hint);
        } else {
            /* No close match: list what is allowed instead. */
            size_t at = (size_t)snprintf(err.what, sizeof(err.what), "unknown key; expected one of");
            for (const char *const *a = allowed; *a != NULL && at < sizeof(err.what); a++)
                at += (size_t)snprintf(err.what + at, sizeof(err.what) - at, "%s \"%s\"",
                                       a == allowed ? "" : ",", *a);
        }
        config_errors_add(errs, &err);
        n++;
    }
    return n;
}
