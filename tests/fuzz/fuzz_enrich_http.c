/* SPDX-License-Identifier: MIT */
/* tests/fuzz/fuzz_enrich_http.c: libFuzzer entry for enrich_http's reading
 * of an API's reply (plugins/enrich_http/ehttp_reply.c): a body from a
 * server we do not control, parsed by jansson and walked with the map's
 * RFC 6901 pointers (ehttp_text.c), plus the map option itself, parsed
 * and checked by ehttp_conf_init.
 *
 * The input's first byte picks the status (200, 201 or 204); its first line
 * after that is the map ("field=/pointer,..."); the rest is the body. A map
 * that init refuses ends the run. Otherwise the reply is read, and the
 * target aborts when the answer breaks its contract:
 *   - DONE comes with an object of at most one value per map entry, each
 *     under a field the map names, each a string, a number or a boolean;
 *     FAILED comes with no object;
 *   - the detail is one printable line, NUL-terminated within its buffer.
 * Each pointer of the map is also resolved on its own, so every token kind
 * (~0, ~1, indexes) meets the body. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ehttp_conf.h"
#include "ehttp_reply.h"
#include "ehttp_text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool mapped_field(const struct ehttp_conf *conf, const char *name)
{
    for (size_t i = 0; i < conf->n_map; i++)
        if (strcmp(conf->map[i].field, name) == 0)
            return true;
    return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const long statuses[] = { 200, 201, 204 };
    if (size < 1)
        return 0;
    long status = statuses[data[0] % 3];
    const char *rest = (const char *)data + 1;
    size_t left = size - 1;
    const char *nl = memchr(rest, '\n', left);
    size_t map_len = nl != NULL ? (size_t)(nl - rest) : left;
    char *map = malloc(map_len + 1);
    if (map == NULL)
        return 0;
    memcpy(map, rest, map_len);
    map[map_len] = '\0';
    const char *body = nl != NULL ? nl + 1 : rest + left;
    size_t body_len = nl != NULL ? left - map_len - 1 : 0;

    struct ehttp_settings set = { .url = "https://api.example/v1/{domain}", .method = "GET",
                                  .map = map, .timeout_ms = 1000, .max_response = 65536 };
    struct ehttp_conf conf;
    char why[256];
    memset(&conf, 0, sizeof(conf));
    if (ehttp_conf_init(&conf, &set, why, sizeof(why)) < 0) {
        if (memchr(why, '\0', sizeof(why)) == NULL)
            abort();
        free(map);
        return 0;
    }

    json_t *attrs = NULL;
    char detail[400];
    memset(detail, 'Z', sizeof(detail));
    enum drumbeat_outcome out = ehttp_reply_read(&conf, status, body_len ? body : NULL,
                                                 body_len, &attrs, detail, sizeof(detail));
    if (memchr(detail, '\0', sizeof(detail)) == NULL)
        abort();
    for (const char *p = detail; *p != '\0'; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            abort();
    if (out == DRUMBEAT_DONE) {
        if (!json_is_object(attrs) || json_object_size(attrs) > conf.n_map)
            abort();
        const char *key;
        json_t *v;
        json_object_foreach(attrs, key, v) {
            if (!mapped_field(&conf, key) ||
                !(json_is_string(v) || json_is_number(v) || json_is_boolean(v)))
                abort();
        }
    } else if (attrs != NULL) {
        abort();
    }
    json_decref(attrs);

    /* Each pointer alone, on the body as parsed. */
    json_t *doc = json_loadb(body, body_len, 0, NULL);
    for (size_t i = 0; doc != NULL && i < conf.n_map; i++)
        (void)ehttp_pointer_get(doc, conf.map[i].pointer);
    json_decref(doc);

    ehttp_conf_free(&conf);
    free(map);
    return 0;
}
