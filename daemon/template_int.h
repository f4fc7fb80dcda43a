/* SPDX-License-Identifier: MIT */
/* daemon/template_int.h: the compiled form of a template, shared by the
 * parser (template_parse.c), the renderer (template_render.c), the partial
 * sets (template_partials.c) and the extensions (template_ext.c). Not for
 * other modules: they use template.h.
 *
 * A template is one flat array of nodes. A node with children (section,
 * inverted section, spin, alternative, block, parent) is followed by its
 * children and records in `end` the index just past them, so the renderer
 * walks ranges [from, to) and skips a false section in one step. Every name
 * and text points into the template's own copy of its source.
 *
 * Ownership: struct template owns src, nodes and segs.
 */
#ifndef DRUMBEAT_TEMPLATE_INT_H
#define DRUMBEAT_TEMPLATE_INT_H

#include <stdint.h>

#include "strbuf.h"
#include "template.h"

enum tnode_type {
    TN_TEXT = 1,     /* off/len: literal text */
    TN_VAR,          /* name; off/len: fallback when TF_FALLBACK */
    TN_SECTION,      /* name; children */
    TN_INVERTED,     /* name; children */
    TN_PARTIAL,      /* name (TF_DYNAMIC: resolved in the context); off/len: indent */
    TN_SPIN,         /* aux: ordinal of this spin in the template; children: TN_ALT */
    TN_ALT,          /* one spintax alternative; children */
    TN_BLOCK,        /* {{$name}}: name; children are the default */
    TN_PARENT,       /* {{<name}}: name; children (only TN_BLOCKs matter); off/len: indent */
};

enum tnode_flag {
    TF_ESCAPE = 1 << 0,     /* {{x}}: HTML-escape when the render asks for it */
    TF_BOL = 1 << 1,        /* starts a source line (partial indentation goes here) */
    TF_CLOSE_BOL = 1 << 2,  /* its closing tag starts a line and is not standalone */
    TF_FALLBACK = 1 << 3,   /* {{x|fallback}} */
    TF_DYNAMIC = 1 << 4,    /* {{>*name}} */
    TF_DOT = 1 << 5,        /* the implicit iterator {{.}} */
    TF_STANDALONE = 1 << 6, /* the tag stood alone on its line (partials: indent the partial) */
};

enum tbuiltin {
    TB_NONE = 0,
    TB_TODAY,               /* {{today}} */
    TB_WEEKDAY,             /* {{weekday}} */
};

/* One segment of a dotted name ("company", "name" of "company.name"). */
struct tseg {
    const char *s;
    uint32_t len;
};

struct tnode {
    uint8_t type;           /* enum tnode_type */
    uint8_t flags;          /* enum tnode_flag */
    uint8_t builtin;        /* enum tbuiltin (TN_VAR only) */
    uint16_t nseg;          /* segments of the name (0 for {{.}}) */
    uint32_t seg;           /* index of the first segment in template->segs */
    uint32_t name_off;      /* the whole name in src, as written */
    uint32_t name_len;
    uint32_t off;           /* text, fallback or indent in src */
    uint32_t len;
    uint32_t end;           /* index just past the children */
    uint32_t aux;           /* TN_SPIN: ordinal */
};

struct template {
    char *src;              /* copy of the source, NUL-terminated */
    size_t src_len;
    char *name;             /* for errors; "" when none */
    struct tnode *nodes;
    uint32_t n_nodes;
    struct tseg *segs;
    uint32_t n_segs;
    size_t text_bytes;      /* literal text in total: sizes the output buffer */
    bool uses_dates;        /* has {{today}} or {{weekday}} */
};

/* Looks up (loading and compiling on first use) partial name[0..len).
 * *out is NULL when there is no such partial. Returns 0 or a negative errno
 * (err filled when a loaded partial does not compile). */
int template_partials_get(const struct template_partials *p, const char *name, size_t len,
                          const struct template **out, struct errbuf *err);

/* template_ext.c: the builtin a plain variable name stands for, if any. */
enum tbuiltin template_builtin(const char *name, size_t len);
/* Writes "2026-11-29" (today) and "Sunday" (weekday) for now_ms in the IANA
 * zone tz (NULL: UTC). Returns false when tz is unknown (UTC was used). */
bool template_dates(const char *tz, int64_t now_ms, char today[32], char weekday[16]);
/* Picks one of n alternatives from a seed and the spin's ordinal. */
uint32_t template_spin_pick(uint64_t seed, uint32_t ordinal, uint32_t n);

#endif /* DRUMBEAT_TEMPLATE_INT_H */
