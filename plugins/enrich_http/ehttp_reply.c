/* SPDX-License-Identifier: MIT */
/* plugins/enrich_http/ehttp_reply.c: an API's 2xx reply into the mapped
 * fields (ehttp_reply.h). */
#include <stdio.h>

#include "ehttp_reply.h"
#include "ehttp_text.h"

void ehttp_clean_text(char *s)
{
    for (; *s != '\0'; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            *s = ' ';
}

/* The mapped fields of doc. */
static json_t *map_reply(const struct ehttp_conf *conf, const json_t *doc)
{
    json_t *attrs = json_object();

    for (size_t i = 0; attrs != NULL && i < conf->n_map; i++) {
        json_t *v = ehttp_pointer_get(doc, conf->map[i].pointer);
        if (json_is_string(v) || json_is_number(v) || json_is_boolean(v))
            json_object_set(attrs, conf->map[i].field, v);
    }
    return attrs;
}

enum drumbeat_outcome ehttp_reply_read(const struct ehttp_conf *conf, long status,
                                       const char *data, size_t len, json_t **attrs,
                                       char *detail, size_t cap)
{
    json_error_t jerr;

    *attrs = NULL;
    if (len == 0 && status == 204) {
        snprintf(detail, cap, "HTTP 204: no content");
        *attrs = json_object();
        return *attrs != NULL ? DRUMBEAT_DONE : DRUMBEAT_RETRY;
    }
    json_t *doc = json_loadb(data != NULL ? data : "", len, 0, &jerr);
    if (doc == NULL) {
        ehttp_clean_text(jerr.text);
        snprintf(detail, cap, "HTTP %ld but the reply is not JSON (line %d column %d: %s)",
                 status, jerr.line, jerr.column, jerr.text);
        return DRUMBEAT_FAILED;
    }
    if (!json_is_object(doc) && !json_is_array(doc)) {
        snprintf(detail, cap, "HTTP %ld but the reply is a JSON scalar, not an object", status);
        json_decref(doc);
        return DRUMBEAT_FAILED;
    }
    *attrs = map_reply(conf, doc);
    json_decref(doc);
    snprintf(detail, cap, "HTTP %ld: %zu of %zu fields found", status,
             *attrs != NULL ? json_object_size(*attrs) : 0, conf->n_map);
    return *attrs != NULL ? DRUMBEAT_DONE : DRUMBEAT_RETRY;
}
