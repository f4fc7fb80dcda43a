/* SPDX-License-Identifier: MIT */
/* tests/fuzz/fuzz_template.c: libFuzzer entry for the Mustache engine. Each
 * input is compiled; when it compiles it is rendered against a fixed context
 * with escaping on and off, with partials that include fixed text, the input
 * itself (so recursion reaches the nesting limit) and a missing name, so
 * crashes, overreads and leaks in the parser and the renderer show up under
 * ASan/UBSan/LSan. Compile errors are formatted to exercise line:column. */
#include <stddef.h>
#include <stdint.h>

#include "template.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char context_json[] =
    "{\"name\":\"Ada\",\"first_name\":\"\",\"list\":[1,{\"a\":\"b\"},[2],null,\"s\"],"
    "\"obj\":{\"x\":\"<&>\\\"\",\"deep\":{\"y\":1.5}},\"t\":true,\"f\":false,\"n\":0,"
    "\"s\":\"{{x}} {{>self}}\",\"p\":\"self\",\"today\":null}";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static json_t *ctx;
    struct template *t = NULL;
    struct template_partials *parts = NULL;
    struct errbuf err = { 0 };
    char line[1400];

    if (ctx == NULL)
        ctx = json_loads(context_json, 0, NULL);
    if (template_compile((const char *)data, size, "fuzz.mustache", &t, &err) < 0) {
        (void)errbuf_format(&err, line, sizeof line);
        return 0;
    }
    if (template_partials_new(NULL, NULL, &parts) == 0) {
        template_partials_add(parts, "self", (const char *)data, size, &err);
        template_partials_add(parts, "fixed", "  {{name}}\n{{#list}}[{{.}}]{{/list}}\n", 37, &err);
    }
    for (int escape = 0; escape < 2; escape++) {
        struct template_render_opts o = { .escape_html = escape, .partials = parts,
                                          .spin_seed = size, .timezone = escape ? "Europe/Berlin" : "No/Such",
                                          .now_ms = 1795953600000 };
        struct template_output out;
        if (template_render(t, ctx, &o, &out, &err) < 0)
            (void)errbuf_format(&err, line, sizeof line);
        template_output_free(&out);
    }
    template_partials_free(parts);
    template_free(t);
    return 0;
}
