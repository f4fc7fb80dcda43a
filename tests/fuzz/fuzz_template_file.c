/* SPDX-License-Identifier: MIT */
/* tests/fuzz/fuzz_template_file.c: libFuzzer entry for the template file
 * header parser. Each input goes to template_file_parse_head() (NULs, bad
 * UTF-8, any header block) and then to template_file_load_string(), which
 * also compiles the header values and the body and moves the engine's error
 * positions into the file's, so the offset arithmetic is fuzzed too. */
#include <stddef.h>
#include <stdint.h>

#include "template_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct template_file_head head;
    struct template_file *tf = NULL;
    struct errbuf err = { 0 };
    char line[1400];

    if (template_file_parse_head((const char *)data, size, "fuzz.mustache", &head, &err) == 0) {
        /* The body offset must stay inside the input. */
        if (head.body_offset > size || head.subject.value == NULL)
            __builtin_trap();
        template_file_head_clear(&head);
    } else {
        (void)errbuf_format(&err, line, sizeof(line));
    }
    err = (struct errbuf){ 0 };
    if (template_file_load_string((const char *)data, size, "fuzz.mustache", &tf, &err) == 0)
        template_file_free(tf);
    else
        (void)errbuf_format(&err, line, sizeof(line));
    return 0;
}
