/* SPDX-License-Identifier: MIT */
/* tests/unit/t_template_file.c: template files: the header parser and its
 * file:line:column errors, whole-folder loading (the shipped templates and a
 * folder of broken ones), the context of a touch, rendering under each
 * missing-data policy with per-part escaping, and the "templates" config
 * section with the mailbox title and signature. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config.h"
#include "render_context.h"
#include "tap.h"
#include "template_file.h"

static int head(const char *text, struct template_file_head *h, struct errbuf *err)
{
    memset(err, 0, sizeof(*err));
    return template_file_parse_head(text, strlen(text), "t.mustache", h, err);
}

/* Expects a parse error at line:col whose message contains what. */
static void head_err(const char *text, int line, int col, const char *what, const char *name)
{
    struct template_file_head h;
    struct errbuf err;
    int rc = head(text, &h, &err);
    tap_ok(rc == -EINVAL && err.line == line && err.column == col && strstr(err.what, what),
           "%s (got %d at %d:%d: %s)", name, rc, err.line, err.column, err.what);
}

static void parse_head(void)
{
    struct template_file_head h;
    struct errbuf err;

    tap_is_int(head("Subject: Hi {{first_name}}\nPreheader:  Two minutes \nlang: pt-BR\n"
                    "KIND: email\nMissing: refuse\n\nBody\n", &h, &err), 0, "a full header parses");
    tap_is_str(h.subject.value, "Hi {{first_name}}", "the subject is the trimmed value");
    tap_ok(h.subject.line == 1 && h.subject.column == 10, "the subject's place is known");
    tap_is_str(h.preheader.value, "Two minutes", "the preheader is trimmed");
    tap_is_str(h.lang.value, "pt-BR", "header names are case-insensitive");
    tap_ok(h.missing == TEMPLATE_MISSING_REFUSE && h.kind == TEMPLATE_KIND_EMAIL, "policy and kind");
    tap_ok(h.body_line == 7 && h.body_offset == strlen("Subject: Hi {{first_name}}\nPreheader:  "
                                                       "Two minutes \nlang: pt-BR\nKIND: email\n"
                                                       "Missing: refuse\n\n"),
           "the body starts after the blank line");
    template_file_head_clear(&h);
    tap_is_int(head("\xEF\xBB\xBFSubject: x\r\nKind: call\r\n\r\nBody\r\n", &h, &err), 0,
               "a BOM and CRLF line ends are accepted");
    tap_ok(h.kind == TEMPLATE_KIND_CALL && h.missing == TEMPLATE_MISSING_FIRST_LINE && h.body_line == 4,
           "Kind: call; the default policy is first-line");
    template_file_head_clear(&h);

    head_err("Subjet: Hi\n\nBody\n", 1, 1, "unknown header \"Subjet\"; did you mean \"Subject\"?",
             "a misspelt header gets a did-you-mean");
    head_err("Subject: x\nX-Mailer: y\n\nBody\n", 2, 1, "expected Subject, Preheader",
             "an unknown header lists the known ones");
    head_err("Subject: a\nPreheader: b\nSubject: c\n\nBody\n", 3, 1,
             "duplicate header \"Subject\" (first given on line 1)", "a duplicate header");
    head_err("Lang: en\n\nBody\n", 2, 1, "expected a \"Subject:\" header", "Subject is required");
    head_err("Subject: x\nLang: en", 3, 1, "expected a blank line after the headers",
             "the blank line is required");
    head_err("Subject: Hi\nHi {{first_name}},\n", 2, 3, "or a blank line between the headers",
             "a body without the blank line");
    head_err("Subject: Hi\n  there\n\nBody\n", 2, 1, "cannot continue on the next line",
             "no folded headers");
    head_err("", 1, 1, "got an empty file", "an empty file");
    head_err("Subject: x\nKind: letter\n\nBody\n", 2, 7, "expected \"email\" or \"call\", got "
             "\"letter\"", "a bad Kind");
    head_err("Subject: x\nMissing: maybe\n\nB\n", 2, 10, "\"first-line\", \"refuse\" or \"empty\"",
             "a bad Missing policy");
    head_err("Subject: x\nLang: english!\n\nB\n", 2, 7, "expected a language tag", "a bad Lang");
    head_err("Subject:   \n\nB\n", 1, 12, "expected a value after \"Subject:\"", "an empty subject");
    head_err("Subject: a\x01\x1b[31m\nKnid: x\n\nB\n", 2, 1, "did you mean \"Kind\"?",
             "controls in a line do not stop the parser");
    static const char with_nul[] = "Subject: x\n\nHi\0there\n";
    tap_is_int(template_file_parse_head(with_nul, sizeof(with_nul) - 1, "t", &h, &err), -EINVAL,
               "a NUL byte is refused");
    tap_ok(err.line == 3 && err.column == 3 && strstr(err.what, "NUL"), "at its line and column");
    head_err("Subject: caf\xc3\n\nB\n", 1, 13, "expected UTF-8 text", "invalid UTF-8 is refused");
}

static void compile_errors(void)
{
    struct template_file *tf = NULL;
    struct errbuf err = { 0 };
    const char *t1 = "Subject: Hi {{name\n\nBody\n";
    tap_is_int(template_file_load_string(t1, strlen(t1), "a.mustache", &tf, &err), -EINVAL,
               "a subject syntax error fails the load");
    tap_ok(err.line == 1 && err.column == 19 && strstr(err.what, "opened at 1:13"),
           "it is placed in the file (%d:%d %s)", err.line, err.column, err.what);
    const char *t2 = "Subject: ok\nLang: en\n\nHi {{#a}}\nline\n";
    tap_is_int(template_file_load_string(t2, strlen(t2), "b.mustache", &tf, &err), -EINVAL,
               "an unclosed section fails the load");
    tap_ok(strcmp(err.file, "b.mustache") == 0 && err.line == 6 && strstr(err.what, "opened at 4:4"),
           "body errors count lines from the top of the file (%d:%d %s)", err.line, err.column,
           err.what);
    const char *t3 = "Subject: ok\n\n   \n";
    tap_is_int(template_file_load_string(t3, strlen(t3), "c.mustache", &tf, &err), -EINVAL,
               "an empty body is refused");
}

static const char *shipped(void)
{
    return tap_srcpath("templates");
}

static void load_shipped(struct template_set **set)
{
    struct config_errors errs = { 0 };
    int rc = template_set_load(shipped(), set, &errs);
    tap_is_int(rc, 0, "the shipped templates load");
    for (size_t i = 0; i < errs.count; i++) {
        char line[1200];
        tap_diag("%s", errbuf_format(&errs.items[i], line, sizeof(line)));
    }
    config_errors_free(&errs);
    if (rc < 0)
        exit(tap_done());
    tap_is_int((int64_t)(*set)->n, 6, "six templates");
    const struct template_file *intro = template_set_get(*set, "intro");
    const struct template_file *call = template_set_get(*set, "call-first");
    tap_ok(intro != NULL && intro->html != NULL && intro->preheader != NULL,
           "intro has its HTML part and a preheader");
    tap_ok(call != NULL && call->kind == TEMPLATE_KIND_CALL && call->html == NULL,
           "call-first is a call script");
    tap_ok(template_set_get(*set, "welcome") != NULL && template_set_get(*set, "break-up") != NULL &&
               template_set_get(*set, "follow-up-1") != NULL &&
               template_set_get(*set, "follow-up-2") != NULL && template_set_get(*set, "nope") == NULL,
           "every example is there by name");
}

static json_t *lead_of(const char *first_name)
{
    json_t *lead = json_pack("{s:I, s:s, s:s, s:s, s:s, s:{s:s, s:s, s:s}, s:{s:s}}",
                             "id", (json_int_t)7, "email", "bob@example.org",
                             "company", "AT&T", "timezone", "America/New_York",
                             "stage", "prospecting", "attrs", "industry", "{{telecoms}}",
                             "company", "attr loses", "step", "attr step",
                             "owners", "prospector", "Pia");
    if (first_name != NULL)
        json_object_set_new(lead, "first_name", json_string(first_name));
    return lead;
}

static json_t *context_of(json_t *lead, int step)
{
    json_t *mb = json_pack("{s:s, s:s, s:s}", "name", "ada", "address", "ada@example.com",
                           "title", "Account Executive");
    json_t *cfg = json_pack("{s:s, s:s}", "company_name", "Example Ltd", "postal_address",
                            "1 Example Street");
    json_t *st = json_pack("{s:i}", "number", step);
    json_t *owner = json_pack("{s:s}", "name", "Pia");
    struct render_touch t = { .lead = lead, .mailbox = mb, .config = cfg, .step = st,
                              .owner = owner, .unsubscribe_url = "https://x.test/u/T" };
    json_t *ctx = NULL;
    int rc = render_context_build(&t, &ctx);
    json_decref(mb);
    json_decref(cfg);
    json_decref(st);
    json_decref(owner);
    return rc == 0 ? ctx : NULL;
}

static void context(void)
{
    json_t *lead = lead_of("Bob");
    json_t *ctx = context_of(lead, 1);
    tap_ok(ctx != NULL, "a context is built");
    tap_is_str(json_string_value(json_object_get(ctx, "first_name")), "Bob", "lead fields are top-level");
    tap_is_str(json_string_value(json_object_get(ctx, "company")), "AT&T", "core fields win over attributes");
    tap_is_str(json_string_value(json_object_get(ctx, "industry")), "{{telecoms}}", "attributes are top-level");
    tap_is_int(json_integer_value(json_object_get(json_object_get(ctx, "step"), "number")), 1,
               "reserved names win over attributes");
    tap_is_str(json_string_value(json_object_get(json_object_get(ctx, "lead"), "step")), "attr step",
               "the attribute stays reachable under lead");
    tap_is_str(json_string_value(json_object_get(json_object_get(ctx, "mailbox"), "display_name")),
               "ada", "display_name defaults to the mailbox name");
    json_decref(ctx);

    struct config cfg = { 0 };
    struct config_person team[] = { { .name = "Pia", .email = "pia@example.com" } };
    cfg.team = team;
    cfg.n_team = 1;
    json_t *owner = render_owner_json(&cfg, lead);
    tap_is_str(json_string_value(json_object_get(owner, "email")), "pia@example.com",
               "the stage owner comes from the team");
    json_decref(owner);
    json_object_set_new(lead, "stage", json_string("intelligence"));
    tap_ok(render_owner_json(&cfg, lead) == NULL, "a stage without an owner role has no owner");
    json_decref(lead);
}

static void render(const struct template_set *set)
{
    const struct template_file *intro = template_set_get(set, "intro");
    struct render_result r;
    struct errbuf err = { 0 };
    json_t *lead = lead_of("Bob {{#x}}");
    json_t *ctx = context_of(lead, 1);

    tap_is_int(render_template_file(intro, ctx, 0, &r, &err), 0, "intro renders");
    tap_contains(r.subject, "AT&T and ", "the subject is not HTML-escaped");
    tap_contains(r.text, " Bob {{#x}},\n", "lead data is printed, never evaluated");
    tap_contains(r.text, "growing in {{telecoms}}", "attributes reach the body");
    tap_contains(r.text, "\nada\nAccount Executive\nExample Ltd\n", "the signature partial renders");
    tap_contains(r.html, "AT&amp;T", "the HTML part is escaped");
    tap_contains(r.text, "https://x.test/u/T", "the unsubscribe URL reaches the body");
    tap_is_str(r.preheader, "A two-minute idea for AT&T, no meeting needed.", "the preheader renders");
    char *first = strdup(r.text);
    render_result_clear(&r);
    tap_is_int(render_template_file(intro, ctx, 0, &r, &err), 0, "it renders again");
    tap_is_str(r.text, first, "spintax is stable for one lead and step");
    free(first);
    render_result_clear(&r);
    json_decref(ctx);
    json_decref(lead);

    lead = lead_of(NULL);
    ctx = context_of(lead, 1);
    tap_is_int(render_template_file(intro, ctx, 0, &r, &err), -ENODATA,
               "a missing first_name in the first line refuses");
    tap_is_str(r.refused, "missing first_name", "with the reason the scheduler records");
    tap_is_str(err.what, "missing first_name", "err says it too");
    tap_ok(r.n_missing == 1 && strcmp(r.missing[0], "first_name") == 0, "the missing list");
    render_result_clear(&r);
    const struct template_file *call = template_set_get(set, "call-first");
    tap_is_int(render_template_file(call, ctx, 0, &r, &err), 0, "Missing: empty renders anyway");
    tap_ok(r.n_missing >= 1 && strcmp(r.missing[0], "first_name") == 0, "and lists what was empty");
    tap_contains(r.text, "Local time zone: America/New_York (today is Wednesday 1969-12-31",
                 "dates are in the lead's zone");
    render_result_clear(&r);
    json_decref(ctx);
    json_decref(lead);

    /* first-line versus refuse: a variable missing further down. */
    struct template_file *tf = NULL;
    const char *src = "Subject: Hello\n\nHi {{first_name}},\n\nAbout {{product}}.\n";
    lead = lead_of("Bob");
    ctx = context_of(lead, 1);
    tap_is_int(template_file_load_string(src, strlen(src), "p.mustache", &tf, &err), 0, "p loads");
    tap_is_int(render_template_file(tf, ctx, 0, &r, &err), 0,
               "first-line: a variable missing further down renders empty");
    tap_ok(r.n_missing == 1 && strcmp(r.missing[0], "product") == 0 && r.refused == NULL,
           "and is listed");
    render_result_clear(&r);
    template_file_free(tf);
    src = "Subject: Hello\nMissing: refuse\n\nHi {{first_name}},\n\nAbout {{product}} {{x}}.\n";
    template_file_load_string(src, strlen(src), "q.mustache", &tf, &err);
    tap_is_int(render_template_file(tf, ctx, 0, &r, &err), -ENODATA, "refuse: it refuses");
    tap_is_str(r.refused, "missing product, x", "naming every missing variable");
    render_result_clear(&r);
    template_file_free(tf);
    src = "Subject: {{#a}}Hi\n\n{{#a}}\nx\n{{/a}}\n";
    tap_is_int(template_file_load_string(src, strlen(src), "r.mustache", &tf, &err), -EINVAL,
               "an unclosed section in the subject fails");
    json_decref(ctx);
    json_decref(lead);
}

static void write_file(const char *dir, const char *name, const char *text)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
}

static void broken_folder(void)
{
    char dir[512], sub[600];
    snprintf(dir, sizeof(dir), "%s", tap_tmpdir());
    snprintf(sub, sizeof(sub), "%s/partials", dir);
    mkdir(sub, 0700);
    write_file(dir, "good.mustache", "Subject: ok\n\nHi {{> sig}}\n");
    write_file(dir, "bad1.mustache", "Subjet: x\n\nBody\n");
    write_file(dir, "bad2.mustache", "Subject: x\n\n{{#open}}\n");
    write_file(dir, "orphan.html.mustache", "<p>hi</p>");
    write_file(dir, "bad name.mustache", "Subject: x\n\nB\n");
    write_file(dir, "README.md", "not a template");
    write_file(sub, "sig.mustache", "{{/nope}}");

    struct template_set *set = NULL;
    struct config_errors errs = { 0 };
    tap_is_int(template_set_load(dir, &set, &errs), -EINVAL, "a broken folder does not load");
    tap_is_int((int64_t)errs.count, 5, "every problem is reported, not just the first");
    char all[8192] = "", line[1200];
    for (size_t i = 0; i < errs.count; i++) {
        strcat(all, errbuf_format(&errs.items[i], line, sizeof(line)));
        strcat(all, "\n");
    }
    tap_contains(all, "bad1.mustache:1:1: unknown header \"Subjet\"", "the misspelt header");
    tap_contains(all, "bad2.mustache:4:1: expected '{{/open}}'", "the unclosed section");
    tap_contains(all, "orphan.html.mustache: an HTML part needs its template", "the orphan HTML part");
    tap_contains(all, "sig.mustache:1:1:", "the broken partial");
    config_errors_free(&errs);
    tap_ok(set == NULL, "no set is handed out");
    errs = (struct config_errors){ 0 };
    snprintf(sub, sizeof(sub), "%s/missing", dir);
    tap_is_int(template_set_load(sub, &set, &errs), -ENOENT, "a missing folder is an error");
    config_errors_free(&errs);
}

static void config_section(void)
{
    char dir[512], secret[600];
    snprintf(dir, sizeof(dir), "%s", tap_tmpdir());
    write_file(dir, "unsub.secret", "0123456789abcdef0123456789\n");
    snprintf(secret, sizeof(secret), "%s/unsub.secret", dir);
    const char *ok =
        "{\"templates\": {\"dir\": \"tpl\", \"unsubscribe_secret_file\": \"unsub.secret\","
        " \"list_unsubscribe_mailto\": \"unsubscribe@example.com\"},"
        " \"channels\": [{\"name\": \"out\", \"plugin\": \"example_channel\"}],"
        " \"mailboxes\": [{\"name\": \"ada\", \"address\": \"ada@example.com\", \"channel\": \"out\","
        " \"title\": \"AE\", \"signature\": \"Ada\\nExample Ltd\"}]}";
    struct config *cfg = NULL;
    struct config_errors errs = { 0 };
    int rc = config_load_string(ok, strlen(ok), "c.json", dir, &cfg, &errs);
    tap_is_int(rc, 0, "a config with templates loads");
    if (rc == 0) {
        char want[600];
        snprintf(want, sizeof(want), "%s/tpl", dir);
        tap_is_str(cfg->templates_dir, want, "templates.dir is resolved against the config");
        tap_is_str(cfg->unsub_secret, "0123456789abcdef0123456789", "the secret is read");
        tap_is_str(cfg->unsub_mailto, "unsubscribe@example.com", "the mailto address");
        tap_is_str(cfg->mailboxes[0].title, "AE", "a mailbox has a title");
        tap_is_str(cfg->mailboxes[0].signature, "Ada\nExample Ltd", "and a signature");
        json_t *mb = render_mailbox_json(&cfg->mailboxes[0]);
        tap_is_str(json_string_value(json_object_get(mb, "title")), "AE", "which templates see");
        json_decref(mb);
    } else {
        tap_skip(6, "the config did not load");
    }
    config_free(cfg);
    config_errors_free(&errs);

    const char *bad = "{\"templates\": {\"dri\": \"x\", \"unsubscribe_secret_file\": \"none\","
                      " \"list_unsubscribe_mailto\": \"not an address\"}}";
    errs = (struct config_errors){ 0 };
    cfg = NULL;
    tap_is_int(config_load_string(bad, strlen(bad), "c.json", dir, &cfg, &errs), -EINVAL,
               "a bad templates section is refused");
    char all[4096] = "", line[1200];
    for (size_t i = 0; i < errs.count; i++) {
        strcat(all, errbuf_format(&errs.items[i], line, sizeof(line)));
        strcat(all, "\n");
    }
    tap_contains(all, "did you mean \"dir\"", "an unknown key gets a hint");
    tap_contains(all, "templates.unsubscribe_secret_file", "a missing secret file is named");
    tap_contains(all, "templates.list_unsubscribe_mailto: expected an email address", "a bad mailto");
    config_errors_free(&errs);
}

int main(void)
{
    struct template_set *set = NULL;

    tap_plan(86);
    parse_head();
    compile_errors();
    load_shipped(&set);
    context();
    render(set);
    template_set_free(set);
    broken_folder();
    config_section();
    return tap_done();
}
