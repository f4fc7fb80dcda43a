/* SPDX-License-Identifier: MIT */
/* daemon/template_render.c: renders a compiled template (template_int.h)
 * against a jansson context into one growable buffer. The walk is a loop over
 * node ranges; a section recurses into its children's range and then jumps
 * past them. Names are resolved segment by segment with json_object_getn on
 * the context stack, so no string is built or allocated per node: the only
 * allocations of a render are the output buffer's growth and, on the rare
 * path, the missing-name list.
 *
 * Context values are only ever copied to the output (escaped or not), never
 * parsed: Mustache syntax inside lead data stays text.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "template_int.h"

#define MAX_NESTING 100     /* partials and parents; recursion must end */
#define MAX_EXPANSIONS (1u << 20)   /* {{>a}}{{>a}} nested 100 deep would be 2^100 */
/* Sections over lists multiply: ten nested {{#list}} over five items visit
 * 5^10 nodes. A render that does more work (nodes visited, each weighted by
 * the context depth its lookups scan) or writes more than any message could
 * need stops with -E2BIG instead of holding a thread for minutes. */
#define MAX_STEPS (1u << 21)
#define MAX_OUTPUT (8u << 20)
#define STACK_INLINE 32

/* The indentation of a standalone partial: each piece, outermost first. */
struct indent {
    const char *s;
    size_t n;
    const struct indent *outer;
};

/* The {{$block}} overrides of one {{<parent}} tag: its children's range. */
struct overrides {
    const struct template *t;
    uint32_t from, to;
    const struct overrides *outer;
};

struct render {
    const struct template_render_opts *o;
    struct strbuf b;
    const json_t **stack;
    size_t n, cap;
    const json_t *inline_stack[STACK_INLINE];
    struct template_output *out;
    struct errbuf *err;
    int nesting;
    unsigned expansions;
    unsigned steps;
    bool dates_done;
    char today[32], weekday[16];
};

static int render_range(struct render *r, const struct template *t, uint32_t from, uint32_t to,
                        const struct indent *ind, const struct overrides *ov);

static const char escape_need[256] = { ['&'] = 1, ['<'] = 1, ['>'] = 1, ['"'] = 1 };

static int append_escaped(struct strbuf *b, const char *s, size_t n)
{
    size_t a = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!escape_need[c])
            continue;
        const char *rep = c == '&' ? "&amp;" : c == '<' ? "&lt;" : c == '>' ? "&gt;" : "&quot;";
        if (strbuf_append(b, s + a, i - a) < 0 || strbuf_puts(b, rep) < 0)
            return -ENOMEM;
        a = i + 1;
    }
    return strbuf_append(b, s + a, n - a);
}

static int emit_indent(struct strbuf *b, const struct indent *ind)
{
    if (ind == NULL)
        return 0;
    if (emit_indent(b, ind->outer) < 0)
        return -ENOMEM;
    return strbuf_append(b, ind->s, ind->n);
}

/* Literal text inside an indented partial: every line it starts gets the indent. */
static int emit_text_indented(struct strbuf *b, const char *s, size_t n, const struct indent *ind)
{
    size_t a = 0;
    for (size_t i = 0; i + 1 < n; i++) {
        if (s[i] != '\n')
            continue;
        if (strbuf_append(b, s + a, i + 1 - a) < 0 || emit_indent(b, ind) < 0)
            return -ENOMEM;
        a = i + 1;
    }
    return strbuf_append(b, s + a, n - a);
}

static int push(struct render *r, const json_t *v)
{
    if (r->n == r->cap) {
        size_t cap = r->cap * 2;
        const json_t **s = r->stack == r->inline_stack ? malloc(cap * sizeof *s)
                                                       : realloc(r->stack, cap * sizeof *s);
        if (s == NULL)
            return -ENOMEM;
        if (r->stack == r->inline_stack)
            memcpy(s, r->inline_stack, sizeof r->inline_stack);
        r->stack = s;
        r->cap = cap;
    }
    r->stack[r->n++] = v;
    return 0;
}

static const json_t *lookup(const struct render *r, const struct template *t, const struct tnode *n)
{
    if (n->flags & TF_DOT)
        return r->n > 0 ? r->stack[r->n - 1] : NULL;
    const struct tseg *seg = &t->segs[n->seg];
    const json_t *v = NULL;
    for (size_t k = r->n; k-- > 0;) {
        if (json_is_object(r->stack[k]) &&
            (v = json_object_getn(r->stack[k], seg->s, seg->len)) != NULL)
            break;
    }
    for (uint16_t j = 1; j < n->nseg && v != NULL; j++) {
        seg++;
        v = json_is_object(v) ? json_object_getn(v, seg->s, seg->len) : NULL;
    }
    return v;
}

/* JavaScript's truthiness, as the spec and mustache.js use it. */
static bool truthy(const json_t *v)
{
    switch (v != NULL ? json_typeof(v) : JSON_NULL) {
    case JSON_OBJECT:
    case JSON_TRUE:
        return true;
    case JSON_ARRAY:
        return json_array_size(v) > 0;
    case JSON_STRING:
        return json_string_length(v) > 0;
    case JSON_INTEGER:
        return json_integer_value(v) != 0;
    case JSON_REAL:
        return json_real_value(v) != 0.0;
    default:
        return false;
    }
}

static int note_missing(struct render *r, const char *name, size_t len)
{
    struct template_output *o = r->out;
    len = strnlen(name, len);   /* the list keeps C strings: a NUL ends the name */
    for (size_t i = 0; i < o->n_missing; i++)
        if (strlen(o->missing[i]) == len && memcmp(o->missing[i], name, len) == 0)
            return 0;
    char **m = realloc(o->missing, (o->n_missing + 1) * sizeof *m);
    if (m == NULL)
        return -ENOMEM;
    o->missing = m;
    if ((m[o->n_missing] = strndup(name, len)) == NULL)
        return -ENOMEM;
    o->n_missing++;
    return 0;
}

/* The shortest decimal that reads back as the same double (1.21, not 1.2099...). */
static int append_real(struct strbuf *b, double d)
{
    char buf[40];
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, d);
        if (strtod(buf, NULL) == d)
            break;
    }
    return strbuf_puts(b, buf);
}

static int render_var(struct render *r, const struct template *t, const struct tnode *n)
{
    const json_t *v = lookup(r, t, n);
    const char *s = NULL;
    size_t len = 0;
    char num[32];
    if (v == NULL && n->builtin != TB_NONE) {
        if (!r->dates_done) {
            r->out->timezone_unknown =
                !template_dates(r->o->timezone, r->o->now_ms, r->today, r->weekday);
            r->dates_done = true;
        }
        return strbuf_puts(&r->b, n->builtin == TB_TODAY ? r->today : r->weekday);
    }
    switch (v != NULL ? json_typeof(v) : JSON_NULL) {
    case JSON_STRING:
        s = json_string_value(v);
        len = json_string_length(v);
        break;
    case JSON_INTEGER:
        len = (size_t)snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        s = num;
        break;
    case JSON_REAL:
        return append_real(&r->b, json_real_value(v));
    case JSON_TRUE:
        return strbuf_append(&r->b, "true", 4);
    case JSON_FALSE:
        return strbuf_append(&r->b, "false", 5);
    case JSON_OBJECT:
    case JSON_ARRAY:
        return 0;
    default:
        break;
    }
    if (len == 0) {
        if (n->flags & TF_FALLBACK)
            return strbuf_append(&r->b, t->src + n->off, n->len);
        return note_missing(r, t->src + n->name_off, n->name_len);
    }
    if ((n->flags & TF_ESCAPE) && r->o->escape_html)
        return append_escaped(&r->b, s, len);
    return strbuf_append(&r->b, s, len);
}

/* Renders a section's children once per item (or once, or not at all). */
static int render_section(struct render *r, const struct template *t, uint32_t i,
                          const struct indent *ind, const struct overrides *ov)
{
    const struct tnode *n = &t->nodes[i];
    const json_t *v = lookup(r, t, n);
    bool close_indent = ind != NULL && (n->flags & TF_CLOSE_BOL);
    size_t items = 1;
    if (!truthy(v))
        return 0;
    if (json_is_array(v))
        items = json_array_size(v);
    for (size_t k = 0; k < items; k++) {
        const json_t *item = json_is_array(v) ? json_array_get(v, k) : v;
        if (push(r, item) < 0)
            return -ENOMEM;
        int rc = render_range(r, t, i + 1, n->end, ind, ov);
        r->n--;
        if (rc < 0)
            return rc;
        if (close_indent && emit_indent(&r->b, ind) < 0)
            return -ENOMEM;
    }
    return 0;
}

/* The template a partial or parent tag names, or NULL when there is none. */
static int resolve_partial(struct render *r, const struct template *t, const struct tnode *n,
                           const struct template **out)
{
    const char *name = t->src + n->name_off;
    size_t len = n->name_len;
    *out = NULL;
    if (r->o->partials == NULL)
        return 0;
    if (n->flags & TF_DYNAMIC) {
        const json_t *v = lookup(r, t, n);
        if (!json_is_string(v))
            return 0;
        name = json_string_value(v);
        len = json_string_length(v);
    }
    return template_partials_get(r->o->partials, name, len, out, r->err);
}

static bool same_name(const struct template *a, const struct tnode *x,
                      const struct template *b, const struct tnode *y)
{
    return x->name_len == y->name_len &&
           memcmp(a->src + x->name_off, b->src + y->name_off, x->name_len) == 0;
}

static int render_block(struct render *r, const struct template *t, uint32_t i,
                        const struct indent *ind, const struct overrides *ov)
{
    const struct tnode *n = &t->nodes[i];
    const struct template *bt = t;
    uint32_t from = i + 1, to = n->end;
    const struct overrides *in_effect = ov;
    /* The outermost override wins: the most derived template has the last word.
     * Its body is part of the template that wrote it, so only the overrides
     * outside that one apply inside it. That also ends {{$b}} blocks nested in
     * an override of b: each step out drops one override. */
    for (const struct overrides *f = ov; f != NULL; f = f->outer) {
        for (uint32_t k = f->from; k < f->to; k = f->t->nodes[k].end) {
            const struct tnode *c = &f->t->nodes[k];
            if (c->type == TN_BLOCK && same_name(f->t, c, t, n)) {
                bt = f->t;
                from = k + 1;
                to = c->end;
                in_effect = f->outer;
            }
        }
    }
    return render_range(r, bt, from, to, ind, in_effect);
}

static int render_nested(struct render *r, const struct template *t, const struct tnode *n,
                         const struct indent *ind, const struct overrides *ov)
{
    const struct template *pt;
    int rc = resolve_partial(r, t, n, &pt);
    if (rc < 0 || pt == NULL)
        return rc;
    if (r->nesting >= MAX_NESTING || ++r->expansions > MAX_EXPANSIONS)
        return errbuf_at(r->err, -ELOOP, t->name[0] ? t->name : NULL, NULL,
                         "partials nest deeper than %d levels or expand more than %u times "
                         "at '%.*s'", MAX_NESTING, MAX_EXPANSIONS,
                         (int)n->name_len, t->src + n->name_off);
    struct indent mine = { t->src + n->off, n->len, ind };
    const struct indent *use = NULL;
    if (n->flags & TF_STANDALONE)
        use = n->len > 0 ? &mine : ind;
    r->nesting++;
    rc = render_range(r, pt, 0, pt->n_nodes, use, ov);
    r->nesting--;
    return rc;
}

static int render_range(struct render *r, const struct template *t, uint32_t from, uint32_t to,
                        const struct indent *ind, const struct overrides *ov)
{
    int rc = 0;
    for (uint32_t i = from; i < to && rc == 0; i++) {
        const struct tnode *n = &t->nodes[i];
        /* Each node is charged the context stack's depth too: a missing
         * name's lookup scans every frame, and {{#obj}} nests without end. */
        r->steps += 1 + (unsigned)r->n;
        if (r->steps > MAX_STEPS || r->b.len > MAX_OUTPUT)
            return errbuf_at(r->err, -E2BIG, t->name[0] ? t->name : NULL, NULL,
                             "rendering takes more than %u steps or %u MiB (sections"
                             " nested over long lists?)", MAX_STEPS, MAX_OUTPUT >> 20);
        if (ind != NULL && (n->flags & TF_BOL) && (rc = emit_indent(&r->b, ind)) < 0)
            break;
        switch (n->type) {
        case TN_TEXT:
            rc = ind == NULL ? strbuf_append(&r->b, t->src + n->off, n->len)
                             : emit_text_indented(&r->b, t->src + n->off, n->len, ind);
            break;
        case TN_VAR:
            rc = render_var(r, t, n);
            break;
        case TN_SECTION:
            rc = render_section(r, t, i, ind, ov);
            i = n->end - 1;
            break;
        case TN_INVERTED:
            if (!truthy(lookup(r, t, n))) {
                rc = render_range(r, t, i + 1, n->end, ind, ov);
                if (rc == 0 && ind != NULL && (n->flags & TF_CLOSE_BOL))
                    rc = emit_indent(&r->b, ind);
            }
            i = n->end - 1;
            break;
        case TN_SPIN: {
            uint32_t alts = 0;
            for (uint32_t k = i + 1; k < n->end; k = t->nodes[k].end)
                alts++;
            uint32_t pick = template_spin_pick(r->o->spin_seed, n->aux, alts), k = i + 1;
            while (pick-- > 0)
                k = t->nodes[k].end;
            if (k < n->end)
                rc = render_range(r, t, k + 1, t->nodes[k].end, ind, ov);
            i = n->end - 1;
            break;
        }
        case TN_BLOCK:
            rc = render_block(r, t, i, ind, ov);
            i = n->end - 1;
            break;
        case TN_PARENT: {
            struct overrides mine = { t, i + 1, n->end, ov };
            rc = render_nested(r, t, n, ind, &mine);
            i = n->end - 1;
            break;
        }
        case TN_PARTIAL:
            rc = render_nested(r, t, n, ind, NULL);
            break;
        default:
            break;
        }
    }
    return rc;
}

int template_render(const struct template *t, const json_t *context,
                    const struct template_render_opts *opts, struct template_output *out,
                    struct errbuf *err)
{
    static const struct template_render_opts defaults = { 0 };
    struct render r;
    /* Field by field: zeroing the inline stack too would cost every render. */
    r.o = opts != NULL ? opts : &defaults;
    r.out = out;
    r.err = err;
    r.n = 0;
    r.cap = STACK_INLINE;
    r.stack = r.inline_stack;
    r.nesting = 0;
    r.expansions = 0;
    r.steps = 0;
    r.dates_done = false;
    memset(out, 0, sizeof *out);
    if (context != NULL)
        r.stack[r.n++] = context;
    int rc = strbuf_init(&r.b, t->text_bytes + t->text_bytes / 4 + 64);
    if (rc == 0)
        rc = render_range(&r, t, 0, t->n_nodes, NULL, NULL);
    if (r.stack != r.inline_stack)
        free(r.stack);
    if (rc == 0 && (out->text = strbuf_detach(&r.b, &out->len)) == NULL)
        rc = -ENOMEM;
    strbuf_free(&r.b);
    if (rc == -ENOMEM)
        errbuf_set(err, rc, "out of memory rendering '%s'", t->name);
    return rc;
}

void template_output_free(struct template_output *out)
{
    if (out == NULL)
        return;
    free(out->text);
    for (size_t i = 0; i < out->n_missing; i++)
        free(out->missing[i]);
    free(out->missing);
    memset(out, 0, sizeof *out);
}
