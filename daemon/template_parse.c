/* SPDX-License-Identifier: MIT */
/* daemon/template_parse.c: compiles Mustache source into the flat node array
 * of template_int.h. One left-to-right pass: find the next opening delimiter,
 * read the tag, decide whether it stands alone on its line (the spec's
 * standalone rule, which removes the whole line), and append nodes. Sections
 * are kept on a stack so a close tag can be checked against its opener and
 * the opener's `end` filled in. Every syntax error records file, line and
 * column of the point where it was found and what was expected there.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "template_int.h"

#define DELIM_MAX 16

struct open_sec {
    uint32_t node;          /* the section (or spin) node */
    uint32_t alt;           /* spin: the alternative being filled */
    uint32_t name_off, name_len;
    size_t tag_pos;         /* where its opening tag starts, for errors */
    bool spin;
};

struct parser {
    struct template *t;
    const char *s;
    size_t len;
    char otag[DELIM_MAX + 1], ctag[DELIM_MAX + 1];
    size_t olen, clen;
    size_t cap_nodes, cap_segs;
    struct open_sec *stack;
    size_t depth, cap_stack;
    uint32_t n_spin;
    struct errbuf *err;
};

static void line_col(const char *s, size_t pos, int *line, int *col)
{
    int l = 1, c = 1;
    for (size_t i = 0; i < pos; i++) {
        if (s[i] == '\n') {
            l++;
            c = 1;
        } else if (((unsigned char)s[i] & 0xC0) != 0x80) {
            c++;    /* columns count characters, not UTF-8 continuation bytes */
        }
    }
    *line = l;
    *col = c;
}

static int perr(struct parser *p, size_t pos, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int perr(struct parser *p, size_t pos, const char *fmt, ...)
{
    char what[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    errbuf_at(p->err, -EINVAL, p->t->name[0] != '\0' ? p->t->name : NULL, NULL, "%s", what);
    if (p->err != NULL)
        line_col(p->s, pos, &p->err->line, &p->err->column);
    return -EINVAL;
}

static bool is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static void trim(const char *s, size_t *off, size_t *end)
{
    while (*off < *end && is_ws(s[*off]))
        (*off)++;
    while (*end > *off && is_ws(s[*end - 1]))
        (*end)--;
}

static bool at_bol(const struct parser *p, size_t pos)
{
    return pos == 0 || p->s[pos - 1] == '\n';
}

static int add_node(struct parser *p, uint8_t type, size_t pos)
{
    struct template *t = p->t;
    if (t->n_nodes == p->cap_nodes) {
        size_t cap = p->cap_nodes ? p->cap_nodes * 2 : 32;
        struct tnode *n = realloc(t->nodes, cap * sizeof *n);
        if (n == NULL)
            return -ENOMEM;
        t->nodes = n;
        p->cap_nodes = cap;
    }
    struct tnode *n = &t->nodes[t->n_nodes];
    memset(n, 0, sizeof *n);
    n->type = type;
    n->end = t->n_nodes + 1;
    if (at_bol(p, pos))
        n->flags |= TF_BOL;
    return (int)t->n_nodes++;
}

static int add_seg(struct parser *p, size_t off, size_t len)
{
    struct template *t = p->t;
    if (t->n_segs == p->cap_segs) {
        size_t cap = p->cap_segs ? p->cap_segs * 2 : 16;
        struct tseg *n = realloc(t->segs, cap * sizeof *n);
        if (n == NULL)
            return -ENOMEM;
        t->segs = n;
        p->cap_segs = cap;
    }
    t->segs[t->n_segs].s = p->s + off;
    t->segs[t->n_segs].len = (uint32_t)len;
    t->n_segs++;
    return 0;
}

/* Sets node's name from src[off..end) (already trimmed) and splits it on dots. */
static int set_name(struct parser *p, int idx, size_t off, size_t end, size_t tag_pos)
{
    if (end == off)
        return perr(p, tag_pos, "expected a name in the tag '%s...%s'", p->otag, p->ctag);
    struct tnode *n = &p->t->nodes[idx];
    n->name_off = (uint32_t)off;
    n->name_len = (uint32_t)(end - off);
    if (end - off == 1 && p->s[off] == '.') {
        n->flags |= TF_DOT;
        return 0;
    }
    n->seg = p->t->n_segs;
    size_t a = off;
    for (size_t i = off; i <= end; i++) {
        if (i == end || p->s[i] == '.') {
            if (add_seg(p, a, i - a) < 0)
                return -ENOMEM;
            p->t->nodes[idx].nseg++;
            a = i + 1;
        }
    }
    return 0;
}

static int push(struct parser *p, int node, size_t off, size_t end, size_t tag_pos, bool spin)
{
    if (p->depth == p->cap_stack) {
        size_t cap = p->cap_stack ? p->cap_stack * 2 : 8;
        struct open_sec *n = realloc(p->stack, cap * sizeof *n);
        if (n == NULL)
            return -ENOMEM;
        p->stack = n;
        p->cap_stack = cap;
    }
    p->stack[p->depth++] = (struct open_sec){ .node = (uint32_t)node, .name_off = (uint32_t)off,
                                             .name_len = (uint32_t)(end - off),
                                             .tag_pos = tag_pos, .spin = spin };
    return 0;
}

static int open_alt(struct parser *p, size_t pos)
{
    int a = add_node(p, TN_ALT, pos);
    if (a < 0)
        return a;
    p->stack[p->depth - 1].alt = (uint32_t)a;
    return 0;
}

static int emit_plain(struct parser *p, size_t from, size_t to)
{
    if (to <= from)
        return 0;
    int i = add_node(p, TN_TEXT, from);
    if (i < 0)
        return i;
    p->t->nodes[i].off = (uint32_t)from;
    p->t->nodes[i].len = (uint32_t)(to - from);
    p->t->text_bytes += to - from;
    return 0;
}

/* Literal text; directly inside a spin, every '|' starts a new alternative. */
static int emit_text(struct parser *p, size_t from, size_t to)
{
    if (p->depth == 0 || !p->stack[p->depth - 1].spin)
        return emit_plain(p, from, to);
    size_t a = from;
    for (size_t i = from; i < to; i++) {
        if (p->s[i] != '|')
            continue;
        if (emit_plain(p, a, i) < 0)
            return -ENOMEM;
        p->t->nodes[p->stack[p->depth - 1].alt].end = p->t->n_nodes;
        if (open_alt(p, i + 1) < 0)
            return -ENOMEM;
        a = i + 1;
    }
    return emit_plain(p, a, to);
}

static int set_delims(struct parser *p, size_t off, size_t end, size_t tag_pos)
{
    trim(p->s, &off, &end);
    size_t a_end = off;
    while (a_end < end && !is_ws(p->s[a_end]))
        a_end++;
    size_t b = a_end;
    while (b < end && is_ws(p->s[b]))
        b++;
    size_t alen = a_end - off, blen = end - b;
    bool ok = alen > 0 && blen > 0 && b > a_end && alen <= DELIM_MAX && blen <= DELIM_MAX &&
              memchr(p->s + off, '=', alen) == NULL && memchr(p->s + b, '=', blen) == NULL;
    for (size_t i = b; ok && i < end; i++)
        if (is_ws(p->s[i]))
            ok = false;
    if (!ok)
        return perr(p, tag_pos, "expected two delimiters (1 to %d characters, no spaces or '=') "
                    "separated by a space, as in '%s=<%% %%>=%s'", DELIM_MAX, p->otag, p->ctag);
    memcpy(p->otag, p->s + off, alen);
    p->otag[alen] = '\0';
    p->olen = alen;
    memcpy(p->ctag, p->s + b, blen);
    p->ctag[blen] = '\0';
    p->clen = blen;
    return 0;
}

static int close_section(struct parser *p, size_t off, size_t end, size_t tag, bool standalone)
{
    int line, col;
    if (p->depth == 0)
        return perr(p, tag, "unexpected '%s/%.*s%s': no section is open", p->otag,
                    (int)(end - off), p->s + off, p->ctag);
    struct open_sec *o = &p->stack[p->depth - 1];
    if (o->name_len != end - off || memcmp(p->s + o->name_off, p->s + off, end - off) != 0) {
        line_col(p->s, o->tag_pos, &line, &col);
        return perr(p, tag, "expected '%s/%.*s%s' to close the section opened at %d:%d, got '%s/%.*s%s'",
                    p->otag, (int)o->name_len, p->s + o->name_off, p->ctag, line, col,
                    p->otag, (int)(end - off), p->s + off, p->ctag);
    }
    struct tnode *nodes = p->t->nodes;
    if (o->spin)
        nodes[o->alt].end = p->t->n_nodes;
    nodes[o->node].end = p->t->n_nodes;
    if (!standalone && at_bol(p, tag))
        nodes[o->node].flags |= TF_CLOSE_BOL;
    p->depth--;
    return 0;
}

/* Handles one tag whose content is s[off..end) (sigil already skipped). */
static int handle_tag(struct parser *p, char kind, size_t off, size_t end, size_t tag,
                      bool standalone, size_t indent_off)
{
    int i, rc;
    size_t fb = 0, fb_end = 0;
    bool has_fb = false;
    if (kind == '!')
        return 0;
    if (kind == '=')
        return set_delims(p, off, end, tag);
    trim(p->s, &off, &end);
    switch (kind) {
    case '/':
        return close_section(p, off, end, tag, standalone);
    case '#':
        if (end - off == 4 && memcmp(p->s + off, "spin", 4) == 0) {
            if ((i = add_node(p, TN_SPIN, tag)) < 0)
                return i;
            p->t->nodes[i].aux = p->n_spin++;
            if ((rc = push(p, i, off, end, tag, true)) < 0)
                return rc;
            return open_alt(p, tag);
        }
        /* fall through */
    case '^':
    case '$':
        i = add_node(p, kind == '#' ? TN_SECTION : kind == '^' ? TN_INVERTED : TN_BLOCK, tag);
        if (i < 0)
            return i;
        if ((rc = set_name(p, i, off, end, tag)) < 0)
            return rc;
        return push(p, i, off, end, tag, false);
    case '>':
    case '<':
        if ((i = add_node(p, kind == '>' ? TN_PARTIAL : TN_PARENT, tag)) < 0)
            return i;
        if (standalone) {
            p->t->nodes[i].off = (uint32_t)indent_off;
            p->t->nodes[i].len = (uint32_t)(tag - indent_off);
        }
        size_t name = off;
        if (name < end && p->s[name] == '*') {
            p->t->nodes[i].flags |= TF_DYNAMIC;
            name++;
            trim(p->s, &name, &end);
        }
        if ((rc = set_name(p, i, name, end, tag)) < 0)
            return rc;
        if (kind == '<') {
            p->t->nodes[i].name_off = (uint32_t)off;   /* the close tag repeats '*' too */
            p->t->nodes[i].name_len = (uint32_t)(end - off);
            return push(p, i, off, end, tag, false);
        }
        return 0;
    default:
        if ((i = add_node(p, TN_VAR, tag)) < 0)
            return i;
        if (kind != '&' && kind != '{')
            p->t->nodes[i].flags |= TF_ESCAPE;
        const char *bar = memchr(p->s + off, '|', end - off);
        if (bar != NULL) {
            has_fb = true;
            fb = (size_t)(bar - p->s) + 1;
            fb_end = end;
            trim(p->s, &fb, &fb_end);
            end = (size_t)(bar - p->s);
            trim(p->s, &off, &end);
        }
        if ((rc = set_name(p, i, off, end, tag)) < 0)
            return rc;
        struct tnode *n = &p->t->nodes[i];
        if (has_fb) {
            n->flags |= TF_FALLBACK;
            n->off = (uint32_t)fb;
            n->len = (uint32_t)(fb_end - fb);
        }
        if (n->nseg == 1) {
            n->builtin = (uint8_t)template_builtin(p->s + off, end - off);
            if (n->builtin != TB_NONE)
                p->t->uses_dates = true;
        }
        return 0;
    }
}

static bool standalone_kind(char kind)
{
    return strchr("#^/!><$=", kind) != NULL && kind != '\0';
}

static int parse(struct parser *p)
{
    const char *s = p->s;
    size_t len = p->len, pos = 0, text_start = 0, line_start = 0;
    int tags_on_line = 0, line, col;
    for (;;) {
        const char *hit = p->olen <= len - pos ? memmem(s + pos, len - pos, p->otag, p->olen) : NULL;
        if (hit == NULL)
            break;
        size_t tag = (size_t)(hit - s);
        for (size_t k = tag; k > text_start; k--) {
            if (s[k - 1] == '\n') {
                line_start = k;
                tags_on_line = 0;
                break;
            }
        }
        size_t q = tag + p->olen;
        char kind = q < len ? s[q] : '\0';
        char closer[DELIM_MAX + 2];
        size_t off = q;
        if (strchr("#^/!><$=&{", kind) != NULL && kind != '\0')
            off = q + 1;
        if (kind == '{' || kind == '=') {
            closer[0] = kind == '{' ? '}' : '=';
            memcpy(closer + 1, p->ctag, p->clen + 1);
        } else {
            memcpy(closer, p->ctag, p->clen + 1);
        }
        size_t cl = strlen(closer);
        const char *c = cl <= len - off ? memmem(s + off, len - off, closer, cl) : NULL;
        if (c == NULL) {
            /* Reported at the end of the tag's own line, where the closer
             * usually belongs: that is the line to fix, however far away
             * the end of the template is. */
            size_t eol = tag;
            while (eol < len && s[eol] != '\n' && s[eol] != '\r')
                eol++;
            line_col(s, tag, &line, &col);
            return perr(p, eol, "expected '%s' to close the tag opened at %d:%d",
                        closer, line, col);
        }
        size_t end = (size_t)(c - s), tag_end = end + cl;
        bool standalone = false;
        size_t line_end = tag_end;
        if (standalone_kind(kind) && tags_on_line == 0) {
            standalone = true;
            for (size_t k = line_start; k < tag && standalone; k++)
                standalone = s[k] == ' ' || s[k] == '\t';
            size_t e = tag_end;
            while (e < len && (s[e] == ' ' || s[e] == '\t'))
                e++;
            if (e == len)
                line_end = len;
            else if (s[e] == '\n')
                line_end = e + 1;
            else if (s[e] == '\r' && e + 1 < len && s[e + 1] == '\n')
                line_end = e + 2;
            else
                standalone = false;
        }
        int rc;
        size_t indent_off = line_start;
        if (standalone) {
            rc = emit_text(p, text_start, line_start);
            pos = line_end;
            line_start = line_end;
            tags_on_line = 0;
        } else {
            rc = emit_text(p, text_start, tag);
            pos = tag_end;
            tags_on_line++;
        }
        if (rc < 0)
            return rc;
        uint32_t first_new = p->t->n_nodes;
        if ((rc = handle_tag(p, kind, off, end, tag, standalone, indent_off)) < 0)
            return rc;
        /* A standalone tag's line is gone: it starts no line of output, and a
         * partial carries its indentation in off/len instead. */
        if (standalone && first_new < p->t->n_nodes)
            p->t->nodes[first_new].flags = (uint8_t)((p->t->nodes[first_new].flags & ~TF_BOL) |
                                                     TF_STANDALONE);
        text_start = pos;
    }
    if (emit_text(p, text_start, len) < 0)
        return -ENOMEM;
    if (p->depth > 0) {
        struct open_sec *o = &p->stack[p->depth - 1];
        line_col(s, o->tag_pos, &line, &col);
        return perr(p, len, "expected '%s/%.*s%s' to close the section opened at %d:%d",
                    p->otag, (int)o->name_len, s + o->name_off, p->ctag, line, col);
    }
    return 0;
}

int template_compile(const char *src, size_t len, const char *name, struct template **out,
                     struct errbuf *err)
{
    *out = NULL;
    if (len >= UINT32_MAX)
        return errbuf_at(err, -E2BIG, name, NULL, "template larger than 4 GiB");
    struct template *t = calloc(1, sizeof *t);
    if (t == NULL)
        return -ENOMEM;
    t->src = malloc(len + 1);
    t->name = strdup(name != NULL ? name : "");
    if (t->src == NULL || t->name == NULL) {
        template_free(t);
        return -ENOMEM;
    }
    memcpy(t->src, src, len);
    t->src[len] = '\0';
    t->src_len = len;
    struct parser p = { .t = t, .s = t->src, .len = len, .otag = "{{", .ctag = "}}",
                        .olen = 2, .clen = 2, .err = err };
    int rc = parse(&p);
    free(p.stack);
    if (rc < 0) {
        if (rc == -ENOMEM)
            errbuf_at(err, rc, name, NULL, "out of memory compiling the template");
        template_free(t);
        return rc;
    }
    *out = t;
    return 0;
}

void template_free(struct template *t)
{
    if (t == NULL)
        return;
    free(t->src);
    free(t->name);
    free(t->nodes);
    free(t->segs);
    free(t);
}

const char *template_name(const struct template *t)
{
    return t->name;
}
