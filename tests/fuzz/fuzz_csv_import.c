/* SPDX-License-Identifier: MIT */
/* tests/fuzz/fuzz_csv_import.c: libFuzzer entry for the import path: row
 * parsing (csv_reader over libcsv, or JSON lines), header mapping with a
 * --map text, and per-row normalization and validation (email syntax,
 * phone, country, time zone, website domain, attributes), through
 * import_parser_feed(), the function the daemon's import workers call. The
 * first input byte picks the format, the delimiter, a --map text and where
 * the input is cut in two feeds (so chunk boundaries get exercised); no
 * store is involved. */
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "import_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const free_mail[] = { "gmail.com", "outlook.com", NULL };
static const char *const roles[] = { "info", "sales", "support", NULL };
static const char *const maps[] = {
    NULL, "Mail=email", "a=first_name,b=ignore,c=attr:x", "email=email,name=name,,", "=",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct import_rules rules = {
        .free_mail = free_mail, .role_locals = roles, .source = "fuzz",
        .lawful_basis = "legitimate_interest",
    };
    struct import_parser *p = NULL;
    struct import_out out = { 0 };
    struct errbuf err = { 0 };
    static const char delims[4] = { 0, ',', ';', '\t' };

    if (size < 1)
        return 0;
    uint8_t ctl = data[0];
    data++;
    size--;
    enum import_format fmt = (ctl & 1) ? IMPORT_FORMAT_JSONL : IMPORT_FORMAT_CSV;
    if (import_parser_new(fmt, delims[(ctl >> 1) & 3], maps[(ctl >> 3) % 5], &rules, &p,
                          &err) < 0)
        return 0;
    size_t cut = size > 0 ? (size_t)(ctl >> 5) * size / 8 : 0;
    import_parser_feed(p, (const char *)data, cut, false, &out);
    import_parser_feed(p, (const char *)data + cut, size - cut, true, &out);
    /* Every row handed to the store carries an email, or (for enrich_guess
     * to find one) a first name, a last name and a company domain. */
    for (size_t i = 0; i < out.n; i++) {
        const struct store_lead_in *r = &out.rows[i];
        bool keyed_by_name = r->first_name != NULL && r->first_name[0] != '\0' &&
                             r->last_name != NULL && r->last_name[0] != '\0' &&
                             r->domain != NULL && r->domain[0] != '\0';
        if (r->email == NULL ? !keyed_by_name : strchr(r->email, '@') == NULL)
            __builtin_trap();
    }
    import_out_free(&out);
    import_parser_free(p);
    return 0;
}
