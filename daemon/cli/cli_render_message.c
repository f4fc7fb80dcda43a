/* SPDX-License-Identifier: MIT */
/* daemon/cli/cli_render_message.c: `drumbeat render --message TEMPLATE_FILE
 * DATA.json`: composes the complete message of one touch offline, exactly as
 * drumbeatd would send it (headers, RFC 2047, CRLF, transfer encoding,
 * threading, List-Unsubscribe), through the same render_message() path.
 * Template errors are "file:line:col: message" lines on stderr, exit 2.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "cli.h"
#include "clock.h"
#include "compose.h"
#include "config.h"
#include "render_message.h"
#include "template_file.h"
#include "unsub_token.h"

static void render_message_usage(FILE *out)
{
    fprintf(out,
            "Usage: drumbeat render --message TEMPLATE_FILE DATA.json\n"
            "                       [--unsubscribe-secret-file FILE]\n\n"
            "Composes the complete email of one touch offline, exactly as drumbeatd sends\n"
            "it: headers, RFC 2047 encoding, CRLF line ends, transfer encoding, threading\n"
            "and List-Unsubscribe. TEMPLATE_FILE is a template file (header lines, a blank\n"
            "line, the body; NAME.html.mustache beside it is the HTML part; partials come\n"
            "from partials/ beside it). DATA.json is an object with:\n"
            "  lead      {id, email, first_name, last_name, company, timezone, ...}\n"
            "  mailbox   {name, address, display_name, title, signature}\n"
            "  config    {company_name, postal_address, public_url,\n"
            "             list_unsubscribe_mailto, unsubscribe_secret_file}\n"
            "  step      {number, message_id, date, reply_subject,\n"
            "             thread: {message_id, references, subject}}\n"
            "The List-Unsubscribe link needs public_url, lead.id, mailbox.name and a\n"
            "secret file (relative paths in DATA.json are relative to its folder).\n\n"
            "  --unsubscribe-secret-file FILE   the HMAC secret for the unsubscribe link\n"
            "  -h, --help                       show this help\n\n"
            "Variables rendered empty are listed on stderr. Exit status: 0 composed,\n"
            "2 invalid template or data, or refused by the template's Missing: policy\n"
            "(\"missing first_name\"), 64 usage.\n");
}

static void print_err(const struct errbuf *err)
{
    char line[1400];
    fprintf(stderr, "%s\n", errbuf_format(err, line, sizeof(line)));
}

/* The secret named by --unsubscribe-secret-file, else by
 * config.unsubscribe_secret_file in DATA.json (relative to its folder). */
static int load_secret(const char *opt_file, const char *data_path, const json_t *data,
                       char **secret, size_t *len, struct errbuf *err)
{
    const char *file = json_string_value(json_object_get(json_object_get(data, "config"),
                                                         "unsubscribe_secret_file"));
    char *path = NULL;

    *secret = NULL;
    *len = 0;
    if (opt_file != NULL) {
        path = g_strdup(opt_file);
    } else if (file != NULL) {
        char *dir = g_path_get_dirname(data_path);
        path = g_path_is_absolute(file) ? g_strdup(file) : g_build_filename(dir, file, NULL);
        g_free(dir);
    } else {
        return 0;
    }
    int rc = unsub_secret_load(path, secret, len, err);
    g_free(path);
    return rc;
}

int cli_render_message(int argc, char **argv)
{
    const char *files[2] = { NULL, NULL }, *secret_file = NULL;
    int nfiles = 0;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            render_message_usage(stdout);
            return CLI_OK;
        } else if (strcmp(a, "--message") == 0) {
            continue;
        } else if (strcmp(a, "--unsubscribe-secret-file") == 0 && i + 1 < argc) {
            secret_file = argv[++i];
        } else if (strncmp(a, "--unsubscribe-secret-file=", 26) == 0) {
            secret_file = a + 26;
        } else if (a[0] == '-' && a[1] != '\0') {
            fprintf(stderr, "drumbeat: render --message: unknown option '%s'\n", a);
            render_message_usage(stderr);
            return CLI_USAGE;
        } else if (nfiles < 2) {
            files[nfiles++] = a;
        } else {
            fprintf(stderr, "drumbeat: render --message: unexpected argument '%s'\n", a);
            render_message_usage(stderr);
            return CLI_USAGE;
        }
    }
    if (nfiles != 2) {
        render_message_usage(stderr);
        return CLI_USAGE;
    }

    int status = CLI_INVALID;
    struct config_errors errs = { 0 };
    struct template_set *set = NULL;
    struct render_result res = { 0 };
    struct errbuf err = { 0 };
    char *secret = NULL, *msg = NULL;
    size_t secret_len = 0, len = 0;
    json_error_t jerr;

    compose_init();
    /* Lead data may hold \u0000; it is accepted here and dropped by the
     * renderer, the way the daemon would treat it. */
    json_t *data = json_load_file(files[1], JSON_ALLOW_NUL | JSON_REJECT_DUPLICATES, &jerr);
    if (data == NULL || !json_is_object(data)) {
        if (data == NULL)
            fprintf(stderr, "%s:%d:%d: %s\n", files[1], jerr.line, jerr.column, jerr.text);
        else
            fprintf(stderr, "%s: expected a JSON object with lead, mailbox, config and step\n",
                    files[1]);
        goto done;
    }
    if (template_set_load_file(files[0], &set, &errs) < 0) {
        for (size_t i = 0; i < errs.count; i++)
            print_err(&errs.items[i]);
        goto done;
    }
    if (load_secret(secret_file, files[1], data, &secret, &secret_len, &err) < 0) {
        print_err(&err);
        goto done;
    }
    struct render_message_in in = {
        .tf = set->items[0], .data = data,
        .unsub_secret = secret, .unsub_secret_len = secret_len,
        .now_ms = clock_now_ms(),
    };
    int rc = render_message(&in, &res, &msg, &len, &err);
    for (size_t i = 0; i < res.n_missing; i++)
        fprintf(stderr, "%s: note: no value for '%s'%s\n", files[0], res.missing[i],
                rc == 0 ? " (rendered empty)" : "");
    if (rc < 0) {
        if (err.file[0] == '\0')
            snprintf(err.file, sizeof(err.file), "%s", rc == -ENODATA ? files[0] : files[1]);
        print_err(&err);
        status = rc == -ENOMEM ? CLI_FAIL : CLI_INVALID;
        goto done;
    }
    if (fwrite(msg, 1, len, stdout) != len || fflush(stdout) != 0) {
        fprintf(stderr, "drumbeat: render --message: cannot write the message\n");
        status = CLI_FAIL;
        goto done;
    }
    status = CLI_OK;

done:
    free(msg);
    render_result_clear(&res);
    if (secret != NULL)
        explicit_bzero(secret, secret_len);
    free(secret);
    template_set_free(set);
    config_errors_free(&errs);
    json_decref(data);
    return status;
}
