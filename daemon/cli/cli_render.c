/* SPDX-License-Identifier: MIT */
/* daemon/cli/cli_render.c: `drumbeat render TEMPLATE_FILE DATA.json
 * [--partials DIR]`: renders a template file as a plain Mustache body, the
 * way the spec does it ({{x}} HTML-escapes), with DATA.json as the context,
 * and prints the result byte for byte (no newline added). Offline: no daemon.
 * Errors are one "file:line:col: message" line on stderr and exit 2.
 * `drumbeat render --message ...` is handed to cli_render_message().
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "clock.h"
#include "strbuf.h"
#include "template.h"

static void render_usage(FILE *out)
{
    fprintf(out,
            "Usage: drumbeat render TEMPLATE_FILE DATA.json [--partials DIR]\n"
            "                       [--timezone ZONE] [--seed N]\n"
            "       drumbeat render --message TEMPLATE_FILE DATA.json (see --message --help)\n\n"
            "Renders TEMPLATE_FILE as a plain Mustache body with DATA.json (a JSON object)\n"
            "as the context and prints it exactly, with no newline added. {{x}} is\n"
            "HTML-escaped as in the Mustache spec; {{{x}}} and {{&x}} are not.\n\n"
            "  --partials DIR    read {{> name}} from DIR/name.mustache (default: the\n"
            "                    template file's folder)\n"
            "  --timezone ZONE   IANA zone for {{today}} and {{weekday}} (default UTC)\n"
            "  --seed N          spintax seed (default 0)\n"
            "  -h, --help        show this help\n\n"
            "Variables without a value and without a fallback are listed on stderr.\n"
            "Exit status: 0 rendered, 2 invalid template or data (file:line:col: message\n"
            "on stderr), 64 usage.\n");
}

static int read_all(const char *path, char **out, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return -errno;
    struct strbuf b;
    char chunk[16384];
    size_t n;
    int rc = strbuf_init(&b, 0);
    while (rc == 0 && (n = fread(chunk, 1, sizeof chunk, f)) > 0)
        rc = strbuf_append(&b, chunk, n);
    if (rc == 0 && ferror(f))
        rc = -EIO;
    fclose(f);
    if (rc == 0 && (*out = strbuf_detach(&b, len)) == NULL)
        rc = -ENOMEM;
    strbuf_free(&b);
    return rc;
}

/* The folder part of path ("." when there is none), malloc'd. */
static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (slash == NULL)
        return strdup(".");
    if (slash == path)
        return strdup("/");
    return strndup(path, (size_t)(slash - path));
}

int cli_render(int argc, char **argv)
{
    const char *files[2] = { NULL, NULL }, *partials_dir = NULL, *tz = NULL;
    unsigned long long seed = 0;
    int nfiles = 0;
    /* The --message form composes a whole message: cli_render_message.c. */
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--message") == 0)
            return cli_render_message(argc, argv);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            render_usage(stdout);
            return CLI_OK;
        } else if (strcmp(a, "--partials") == 0 && i + 1 < argc) {
            partials_dir = argv[++i];
        } else if (strncmp(a, "--partials=", 11) == 0) {
            partials_dir = a + 11;
        } else if (strcmp(a, "--timezone") == 0 && i + 1 < argc) {
            tz = argv[++i];
        } else if (strcmp(a, "--seed") == 0 && i + 1 < argc) {
            char *end;
            seed = strtoull(argv[++i], &end, 10);
            if (*end != '\0') {
                fprintf(stderr, "drumbeat: render: --seed expects a number, got '%s'\n", argv[i]);
                return CLI_USAGE;
            }
        } else if (a[0] == '-' && a[1] != '\0') {
            fprintf(stderr, "drumbeat: render: unknown option '%s'\n", a);
            render_usage(stderr);
            return CLI_USAGE;
        } else if (nfiles < 2) {
            files[nfiles++] = a;
        } else {
            fprintf(stderr, "drumbeat: render: unexpected argument '%s'\n", a);
            render_usage(stderr);
            return CLI_USAGE;
        }
    }
    if (nfiles != 2) {
        render_usage(stderr);
        return CLI_USAGE;
    }

    int status = CLI_INVALID;
    char *src = NULL, *dir = NULL, line[1400];
    size_t len = 0;
    struct template *t = NULL;
    struct template_partials *parts = NULL;
    struct template_output out = { 0 };
    struct errbuf err = { 0 };
    json_t *data = NULL;
    json_error_t jerr;
    int rc = read_all(files[0], &src, &len);
    if (rc < 0) {
        fprintf(stderr, "%s: cannot read: %s\n", files[0], error_text(rc));
        goto done;
    }
    if (template_compile(src, len, files[0], &t, &err) < 0) {
        fprintf(stderr, "%s\n", errbuf_format(&err, line, sizeof line));
        goto done;
    }
    if ((data = json_load_file(files[1], JSON_DECODE_ANY, &jerr)) == NULL) {
        if (jerr.line > 0)
            fprintf(stderr, "%s:%d:%d: %s\n", files[1], jerr.line, jerr.column, jerr.text);
        else
            fprintf(stderr, "%s: %s\n", files[1], jerr.text);
        goto done;
    }
    dir = partials_dir != NULL ? strdup(partials_dir) : dir_of(files[0]);
    if (dir == NULL || template_partials_new_dir(dir, &parts) < 0) {
        fprintf(stderr, "drumbeat: render: out of memory\n");
        status = CLI_FAIL;
        goto done;
    }
    struct template_render_opts o = { .escape_html = true, .partials = parts,
                                      .spin_seed = seed, .timezone = tz,
                                      .now_ms = clock_now_ms() };
    if (template_render(t, data, &o, &out, &err) < 0) {
        fprintf(stderr, "%s\n", errbuf_format(&err, line, sizeof line));
        goto done;
    }
    if (out.timezone_unknown)
        fprintf(stderr, "drumbeat: render: unknown time zone '%s': dates use UTC\n", tz);
    if (template_missing_count(&out) > 0)
        fprintf(stderr, "drumbeat: render: no value for: %s\n",
                template_missing_join(&out, line, sizeof line));
    if (fwrite(out.text, 1, out.len, stdout) != out.len || fflush(stdout) != 0) {
        fprintf(stderr, "drumbeat: render: cannot write the output\n");
        status = CLI_FAIL;
        goto done;
    }
    status = CLI_OK;
done:
    template_output_free(&out);
    template_partials_free(parts);
    template_free(t);
    json_decref(data);
    free(dir);
    free(src);
    return status;
}
