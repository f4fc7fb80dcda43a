/* SPDX-License-Identifier: MIT */
/* tests/fuzz/fuzz_enrich_csv.c: libFuzzer entry for enrich_csv's table
 * (plugins/enrich_csv/csv_table.c): a firmographics CSV file a user hands
 * the daemon, read with daemon/csv_reader.c, keyed by domain or email,
 * mapped by a "csvcol=field" list, indexed in an open-addressing table.
 *
 * The input's first byte picks the key kind, the delimiter and whether a
 * map is given; its first line (up to a newline) is the map text; the rest
 * is the file, handed over as /proc/self/fd/N of a memfd (the loader reads
 * a path). A table that loads must keep its contract, or the target
 * aborts: no more rows indexed than the file has lines, every mapped field
 * named once, and each line's own key finding a row whose values are
 * NUL-terminated strings. Every line also goes through csv_key_normalize
 * and csv_log_escape, with buffers sized to catch an overflow. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "csv_table.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void warn_ignore(void *arg, const char *msg)
{
    (void)arg;
    (void)msg;
}

static void check_lines(enum csv_key_kind kind, const char *file, size_t len)
{
    char line[300], key[256], esc[64];
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && file[i] != '\n')
            continue;
        size_t n = i - start < sizeof(line) - 1 ? i - start : sizeof(line) - 1;
        memcpy(line, file + start, n);
        line[n] = '\0';
        start = i + 1;
        int k = csv_key_normalize(kind, line, key, sizeof(key));
        if (k > 0 && (size_t)k != strlen(key))
            abort();
        csv_log_escape(line, esc, sizeof(esc));
        if (strlen(esc) >= sizeof(esc))
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const int delims[] = { 0, ',', ';', '\t' };
    if (size < 1)
        return 0;
    enum csv_key_kind kind = (data[0] & 1) ? CSV_KEY_EMAIL : CSV_KEY_DOMAIN;
    int delim = delims[(data[0] >> 1) & 3];
    bool with_map = (data[0] & 8) != 0;
    const char *rest = (const char *)data + 1;
    size_t rest_len = size - 1;

    char map[256] = "";
    const char *nl = memchr(rest, '\n', rest_len);
    if (with_map && nl != NULL) {
        size_t m = (size_t)(nl - rest) < sizeof(map) - 1 ? (size_t)(nl - rest) : sizeof(map) - 1;
        memcpy(map, rest, m);
        map[m] = '\0';
        if (strlen(map) != m)
            map[0] = '\0';            /* a NUL inside: no map */
        rest_len -= (size_t)(nl - rest) + 1;
        rest = nl + 1;
    }

    int fd = memfd_create("fuzz_enrich_csv", 0);
    if (fd < 0)
        return 0;
    if (write(fd, rest, rest_len) != (ssize_t)rest_len) {
        close(fd);
        return 0;
    }
    char path[64];
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    struct csv_table_opts o = {
        .path = path, .kind = kind, .key_column = kind == CSV_KEY_EMAIL ? "email" : "domain",
        .map = with_map && map[0] != '\0' ? map : NULL, .delim = delim,
    };
    struct csv_table *t = NULL;
    struct errbuf err = { 0 };
    if (csv_table_load(&o, warn_ignore, NULL, &t, &err) == 0) {
        size_t lines = 1;
        for (size_t i = 0; i < rest_len; i++)
            lines += rest[i] == '\n' || rest[i] == '\r';
        if (csv_table_rows(t) > lines)
            abort();
        const char *const *fields = csv_table_fields(t);
        size_t nf = csv_table_nfields(t);
        for (size_t i = 0; i < nf; i++) {
            if (fields[i] == NULL)
                abort();
            for (size_t j = 0; j < i; j++)
                if (strcmp(fields[i], fields[j]) == 0)
                    abort();
        }
        if (fields[nf] != NULL)
            abort();
        /* Any line of the file, tried as a key: a hit has nf values. */
        char key[300];
        size_t start = 0;
        for (size_t i = 0; i <= rest_len; i++) {
            if (i < rest_len && rest[i] != '\n' && rest[i] != delim && rest[i] != ',')
                continue;
            size_t n = i - start < sizeof(key) - 1 ? i - start : sizeof(key) - 1;
            memcpy(key, rest + start, n);
            key[n] = '\0';
            start = i + 1;
            const char *const *vals = csv_table_find(t, key);
            for (size_t v = 0; vals != NULL && v < nf; v++)
                if (vals[v] != NULL)
                    (void)strlen(vals[v]);
        }
        csv_table_free(t);
    }
    close(fd);
    check_lines(kind, rest, rest_len);
    return 0;
}
