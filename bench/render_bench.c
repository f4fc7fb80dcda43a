/* SPDX-License-Identifier: MIT */
/* bench/render_bench.c: the C side of bench_render.sh. Compiles a template
 * once and renders it many times with escaping off (as for a plain-text
 * body), then composes full messages (subject + body render, compose_message
 * with its RFC 5322 serialisation). Built by the script against the build
 * tree's libcore; not part of make check.
 *   render_bench TEMPLATE DATA.json --print    print one render, byte-exact
 *   render_bench TEMPLATE DATA.json N M        N renders, M compositions
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "compose.h"
#include "template.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct template *compile_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        perror(path);
        exit(2);
    }
    static char src[65536];
    size_t n = fread(src, 1, sizeof src, f);
    fclose(f);
    struct template *t;
    struct errbuf err = { 0 };
    char line[1400];
    if (template_compile(src, n, path, &t, &err) < 0) {
        fprintf(stderr, "%s\n", errbuf_format(&err, line, sizeof line));
        exit(2);
    }
    return t;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: render_bench TEMPLATE DATA.json (--print | N M)\n");
        return 64;
    }
    struct template *t = compile_file(argv[1]);
    json_error_t jerr;
    json_t *data = json_load_file(argv[2], 0, &jerr);
    if (data == NULL) {
        fprintf(stderr, "%s:%d: %s\n", argv[2], jerr.line, jerr.text);
        return 2;
    }
    struct template_render_opts o = { .escape_html = false,
                                      .spin_seed = template_spin_seed("lead-0042", 1) };
    struct template_output out;
    struct errbuf err = { 0 };
    if (strcmp(argv[3], "--print") == 0) {
        template_render(t, data, &o, &out, &err);
        fwrite(out.text, 1, out.len, stdout);
        template_output_free(&out);
        return 0;
    }
    long n = atol(argv[3]), m = argc > 4 ? atol(argv[4]) : 0;
    size_t bytes = 0;
    double t0 = now_s();
    for (long i = 0; i < n; i++) {
        if (template_render(t, data, &o, &out, &err) < 0)
            return 1;
        bytes += out.len;
        template_output_free(&out);
    }
    double dt = now_s() - t0;
    printf("c_renders %ld\nc_seconds %.3f\nc_renders_per_sec %.0f\nc_bytes_per_render %zu\n", n, dt,
           (double)n / dt, n > 0 ? bytes / (size_t)n : 0);

    if (m > 0) {
        static const char subj_src[] = "{{#spin}}Quick question|Idea{{/spin}} for {{company}}";
        struct template *subject;
        template_compile(subj_src, sizeof subj_src - 1, "subject", &subject, &err);
        compose_init();
        size_t total = 0;
        t0 = now_s();
        for (long i = 0; i < m; i++) {
            struct template_output so, bo;
            char *msg, mid[64];
            size_t len;
            o.spin_seed = (uint64_t)i;
            if (template_render(subject, data, &o, &so, &err) < 0 ||
                template_render(t, data, &o, &bo, &err) < 0)
                return 1;
            snprintf(mid, sizeof mid, "touch-%ld@drumbeat.example", i);
            struct compose_in in = { .from_name = "Bo Chen", .from_addr = "bo@drumbeat.example",
                                     .to_name = "Ada Lovelace", .to_addr = "ada@lovelace.example",
                                     .subject = so.text, .text = bo.text, .message_id = mid,
                                     .date_ms = 1795953600000 + i };
            if (compose_message(&in, &msg, &len, &err) < 0) {
                char line[1400];
                fprintf(stderr, "compose: %s\n", errbuf_format(&err, line, sizeof line));
                return 1;
            }
            total += len;
            free(msg);
            template_output_free(&so);
            template_output_free(&bo);
        }
        dt = now_s() - t0;
        printf("c_compositions %ld\nc_compositions_per_sec %.0f\nc_bytes_per_message %zu\n", m,
               (double)m / dt, total / (size_t)m);
        template_free(subject);
    }
    template_free(t);
    json_decref(data);
    return 0;
}
