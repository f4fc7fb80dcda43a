/* SPDX-License-Identifier: MIT */
/* daemon/template_file.h: template files and the folder that holds them.
 *
 * A template file (templates/intro.mustache) is a header block, a blank
 * line, then the plain-text body, all Mustache:
 *
 *     Subject: Quick question about {{company|your team}}
 *     Preheader: Two minutes, one idea.
 *     Lang: en
 *     Missing: first-line
 *
 *     Hi {{first_name}},
 *     ...
 *
 * Headers (names case-insensitive, each at most once, one line each):
 *   Subject:   required; for a call script it is the task's title.
 *   Preheader: optional; the inbox preview line, a hidden first line of the
 *              HTML part only (ignored without an HTML part).
 *   Lang:      optional language tag ("en", "pt-BR").
 *   Kind:      email (default) or call (a call script: no message is built).
 *   Missing:   what a missing variable (no value, no fallback) does:
 *              first-line (default) refuses when one is missing in the
 *              subject, the preheader or the first non-blank line of the body
 *              and renders it empty elsewhere; refuse refuses wherever it is;
 *              empty never refuses. A refusal is "missing first_name, ...".
 * The optional HTML body lives in the sibling file intro.html.mustache (no
 * headers; rendered with HTML escaping). Subjects, the preheader and the
 * text body render with escaping off. Partials come from templates/partials/
 * NAME.mustache, all compiled at load. Everything is compiled when the folder
 * loads, so a syntax error is a load error (file:line:column) and never a
 * send-time one.
 *
 * Ownership: struct template_file_head and struct template_file own their
 * strings and compiled templates (template_file_head_clear(),
 * template_file_free()); a struct template_set owns its files and partials
 * (template_set_free()); template_set_get() borrows. Threads: load anywhere;
 * a loaded set is immutable and may be rendered from any thread.
 */
#ifndef DRUMBEAT_TEMPLATE_FILE_H
#define DRUMBEAT_TEMPLATE_FILE_H

#include <stddef.h>

#include "config.h"
#include "errors.h"
#include "template.h"

enum template_kind {
    TEMPLATE_KIND_EMAIL,
    TEMPLATE_KIND_CALL,
};

enum template_missing {
    TEMPLATE_MISSING_FIRST_LINE,   /* the default */
    TEMPLATE_MISSING_REFUSE,
    TEMPLATE_MISSING_EMPTY,
};

/* One header value and where it starts in the file (1-based). */
struct template_file_field {
    char *value;                   /* trimmed; NULL when the header is absent */
    int line, column;
};

/* The parsed header block of a template file. */
struct template_file_head {
    struct template_file_field subject, preheader, lang;
    enum template_kind kind;
    enum template_missing missing;
    size_t body_offset;            /* where the body starts in the text */
    int body_line;                 /* its line number */
};

/* Parses the header block of text (len bytes; NULs and bad UTF-8 are
 * errors). Returns 0 and fills *head, or -EINVAL with err at file:line:column
 * saying what was expected (unknown header with a "did you mean", duplicate,
 * missing Subject, missing blank line, bad value), or -ENOMEM. */
int template_file_parse_head(const char *text, size_t len, const char *file,
                             struct template_file_head *head, struct errbuf *err);
void template_file_head_clear(struct template_file_head *head);

struct template_file {
    char *name;                    /* "intro" */
    char *path;                    /* ".../templates/intro.mustache" */
    char *html_path;               /* the sibling HTML file, or NULL */
    char *lang;                    /* or NULL */
    enum template_kind kind;
    enum template_missing missing;
    struct template *subject;
    struct template *preheader;    /* or NULL */
    struct template *text;
    struct template *first_line;   /* the body's first non-blank line on its own;
                                      NULL when it does not compile alone (then
                                      the whole body counts as the first line) */
    struct template *html;         /* or NULL */
    const struct template_partials *partials;   /* borrowed from the set, or NULL */
};

/* Loads and compiles one template file (and html_path when not NULL).
 * Returns 0 and *out, or a negative errno with err at file:line:column. */
int template_file_load(const char *path, const char *html_path, struct template_file **out,
                       struct errbuf *err);
/* The same from memory (name is the file name used in errors). */
int template_file_load_string(const char *text, size_t len, const char *name,
                              struct template_file **out, struct errbuf *err);
void template_file_free(struct template_file *tf);
/* "email" / "call". */
const char *template_kind_format(enum template_kind kind);

struct template_set {
    char *dir;
    struct template_file **items;  /* sorted by name */
    size_t n;
    struct template_partials *partials;   /* templates/partials/, preloaded */
};

/* Loads every NAME.mustache in dir (with NAME.html.mustache beside it, and
 * partials/NAME.mustache). Every problem found is appended to errs; returns
 * 0 and *out only when there were none, else -EINVAL (or -ENOENT when dir
 * is missing, -ENOMEM). */
int template_set_load(const char *dir, struct template_set **out, struct config_errors *errs);
/* One file loaded as the set would load it (its HTML sibling, the partials
 * folder beside it): a set of one item, for `drumbeat render --message`. */
int template_set_load_file(const char *path, struct template_set **out,
                           struct config_errors *errs);
const struct template_file *template_set_get(const struct template_set *set, const char *name);
void template_set_free(struct template_set *set);

#endif /* DRUMBEAT_TEMPLATE_FILE_H */
