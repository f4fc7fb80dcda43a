/* SPDX-License-Identifier: MIT */
/* daemon/template.h: drumbeat's Mustache engine. A template is compiled once
 * (template_compile) into a flat, immutable node array and rendered many times
 * (template_render) against a jansson context into one growable buffer.
 *
 * Language: the Mustache spec in full (variables, sections, inverted sections,
 * comments, partials, set delimiters, standalone-line rules), plus the spec's
 * optional inheritance ({{<parent}} / {{$block}}) and dynamic partial names
 * ({{>*name}}). Lambdas are not supported. Extensions (see README "Templates"):
 *   {{name|fallback}}           fallback text when name is missing, null or ""
 *                               (also {{{name|x}}} and {{&name|x}}); the
 *                               fallback is template text, printed as written;
 *   {{#spin}}a|b|c{{/spin}}     spintax: one alternative, picked from
 *                               opts->spin_seed; alternatives may hold tags;
 *   {{today}} {{weekday}}       "2026-11-29" / "Sunday" at opts->now_ms in
 *                               opts->timezone (unless the context has the key).
 * Values are data: Mustache syntax inside a context value is printed as text.
 *
 * Threads: a compiled struct template is immutable and may be rendered from
 * any number of threads at once. A struct template_partials may be shared too:
 * its lazily loaded entries are cached under a mutex.
 * Ownership: template_compile() hands *out to the caller (template_free()).
 * template_render() borrows everything it is given and fills *out, which the
 * caller releases with template_output_free() (also after a failed render).
 */
#ifndef DRUMBEAT_TEMPLATE_H
#define DRUMBEAT_TEMPLATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "errors.h"

struct template;            /* compiled, immutable, shareable across threads */
struct template_partials;   /* name -> compiled template; lazily loaded, cached */

/* Compiles src (len bytes, need not be NUL-terminated). name is used as the
 * file in errors ("templates/intro.mustache"); may be NULL. On a syntax error
 * returns -EINVAL with err->file = name, err->line/column (1-based) and
 * err->what saying what was expected, e.g.
 * "expected '}}' to close the tag opened at 3:5" (an unclosed tag is reported
 * at the end of the line it opens on; an unclosed section at the end of the
 * template, naming where it opened). -ENOMEM when out of memory. */
int template_compile(const char *src, size_t len, const char *name,
                     struct template **out, struct errbuf *err);
void template_free(struct template *t);
/* The name given to template_compile (borrowed), or "" when none. */
const char *template_name(const struct template *t);

/* Loader for partials not added with template_partials_add(): fills *src
 * (malloc'd, the set frees it) and *len, returns 0; -ENOENT when there is no
 * such partial (it renders as empty, per the spec); other negative errno on
 * failure (the render fails with it). Called at most once per name. */
typedef int (*template_loader_fn)(void *ud, const char *name, char **src, size_t *len);

/* An empty set. loader may be NULL (then only added partials exist). */
int template_partials_new(template_loader_fn loader, void *ud, struct template_partials **out);
/* A set whose loader reads DIR/NAME.mustache (names with '/' or starting
 * with '.' are refused as not found). dir is copied. */
int template_partials_new_dir(const char *dir, struct template_partials **out);
/* Compiles src as partial NAME (replacing an earlier one); err as template_compile. */
int template_partials_add(struct template_partials *p, const char *name,
                          const char *src, size_t len, struct errbuf *err);
void template_partials_free(struct template_partials *p);

struct template_render_opts {
    bool escape_html;           /* {{x}} escapes & < > " (spec); false: nothing escaped */
    const struct template_partials *partials;   /* may be NULL: no partials */
    uint64_t spin_seed;         /* e.g. a hash of lead id + step (template_spin_seed) */
    const char *timezone;       /* IANA name for {{today}}/{{weekday}}; NULL: UTC */
    int64_t now_ms;             /* UTC ms (clock_now_ms(), so the test clock works) */
};

struct template_output {
    char *text;                 /* malloc'd, NUL-terminated (len excludes the NUL) */
    size_t len;
    char **missing;             /* names rendered with no value and no fallback, */
    size_t n_missing;           /* deduplicated, in order of first use */
    bool timezone_unknown;      /* opts->timezone was unknown: dates used UTC */
};

/* Renders t against context (an object, or any JSON value; NULL = empty).
 * opts may be NULL (escaping off, no partials, seed 0, UTC, now_ms 0).
 * Returns 0; -ENOMEM; -ELOOP when partials nest deeper than 100 levels
 * (or expand more than 2^20 times in one render); -E2BIG when the render
 * does more than 2^21 steps (a tag or text visited, weighted by the depth of
 * sections around it) or writes more than 8 MiB (sections nested over lists
 * multiply);
 * -EINVAL when a lazily loaded partial does not compile (err says where);
 * or the loader's error. err may be NULL. */
int template_render(const struct template *t, const json_t *context,
                    const struct template_render_opts *opts,
                    struct template_output *out, struct errbuf *err);
void template_output_free(struct template_output *out);

/* The missing-variable list of a render, for the caller's policy
 * ("refuse" turns a non-empty list into a skipped touch: "missing first_name"). */
size_t template_missing_count(const struct template_output *out);
const char *template_missing_name(const struct template_output *out, size_t i);
/* Writes "a, b, c" (truncated to fit) into buf; returns buf. */
const char *template_missing_join(const struct template_output *out, char *buf, size_t len);

/* A stable 64-bit seed for spintax from a lead id and a step number, so
 * re-rendering the same touch gives the same text. */
uint64_t template_spin_seed(const char *lead_id, int step);

#endif /* DRUMBEAT_TEMPLATE_H */
