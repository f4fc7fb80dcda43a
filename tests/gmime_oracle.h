/* SPDX-License-Identifier: MIT */
/* tests/gmime_oracle.h: GMime's own answers, for tests that check compose's
 * shortcuts against them (t_compose, fuzz_compose).
 * Ownership: nothing is kept; every GMime object made is released before
 * return. GMime must have been initialised (compose_init).
 */
#ifndef DRUMBEAT_TESTS_GMIME_ORACLE_H
#define DRUMBEAT_TESTS_GMIME_ORACLE_H

#include <stddef.h>

#include <gmime/gmime.h>

/* The transfer encoding GMime judges best under the 7-bit constraint for a
 * part holding these len bytes (g_mime_part_get_best_content_encoding). */
static inline int gmime_best_encoding(const char *s, size_t len)
{
    GMimePart *part = g_mime_part_new();
    GMimeStream *content = g_mime_stream_mem_new_with_buffer(s, len);
    GMimeDataWrapper *w = g_mime_data_wrapper_new_with_stream(content,
                                                              GMIME_CONTENT_ENCODING_DEFAULT);
    g_mime_part_set_content(part, w);
    int best = (int)g_mime_part_get_best_content_encoding(part, GMIME_ENCODING_CONSTRAINT_7BIT);
    g_object_unref(w);
    g_object_unref(content);
    g_object_unref(part);
    return best;
}

#endif /* DRUMBEAT_TESTS_GMIME_ORACLE_H */
