/* SPDX-License-Identifier: MIT */
/* daemon/template_partials.c: sets of named partials. A partial is either
 * added up front (compiled at once) or found on first use through a loader
 * (for drumbeat render: DIR/NAME.mustache), compiled, and cached, including
 * the fact that a name does not exist. Lookups happen by name at render
 * time, which is what lets a partial include itself (the spec's recursion).
 * The cache sits behind a mutex so one set can serve renders on any thread;
 * cached templates are never replaced while a set is in use by renders.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "template_int.h"

struct pentry {
    char *name;
    size_t len;
    struct template *t;     /* NULL: no such partial */
};

struct template_partials {
    pthread_mutex_t mu;
    template_loader_fn loader;
    void *ud;
    char *dir;              /* template_partials_new_dir's folder, for error names */
    struct pentry *v;
    size_t n, cap;
};

int template_partials_new(template_loader_fn loader, void *ud, struct template_partials **out)
{
    struct template_partials *p = calloc(1, sizeof *p);
    if (p == NULL)
        return -ENOMEM;
    pthread_mutex_init(&p->mu, NULL);
    p->loader = loader;
    p->ud = ud;
    *out = p;
    return 0;
}

static int read_file(const char *path, char **src, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return errno == ENOENT ? -ENOENT : -errno;
    struct strbuf b;
    strbuf_init(&b, 0);
    char chunk[8192];
    size_t n;
    int rc = 0;
    while (rc == 0 && (n = fread(chunk, 1, sizeof chunk, f)) > 0)
        rc = strbuf_append(&b, chunk, n);
    if (rc == 0 && ferror(f))
        rc = -EIO;
    fclose(f);
    if (rc == 0 && (*src = strbuf_detach(&b, len)) == NULL)
        rc = -ENOMEM;
    strbuf_free(&b);
    return rc;
}

static int dir_loader(void *ud, const char *name, char **src, size_t *len)
{
    const struct template_partials *p = ud;
    if (name[0] == '\0' || name[0] == '.' || strchr(name, '/') != NULL)
        return -ENOENT;     /* a name never walks out of the folder */
    char path[4096];
    if ((size_t)snprintf(path, sizeof path, "%s/%s.mustache", p->dir, name) >= sizeof path)
        return -ENAMETOOLONG;
    return read_file(path, src, len);
}

int template_partials_new_dir(const char *dir, struct template_partials **out)
{
    int rc = template_partials_new(dir_loader, NULL, out);
    if (rc < 0)
        return rc;
    (*out)->ud = *out;
    if (((*out)->dir = strdup(dir)) == NULL) {
        template_partials_free(*out);
        *out = NULL;
        return -ENOMEM;
    }
    return 0;
}

static struct pentry *find(const struct template_partials *p, const char *name, size_t len)
{
    for (size_t i = 0; i < p->n; i++)
        if (p->v[i].len == len && memcmp(p->v[i].name, name, len) == 0)
            return &p->v[i];
    return NULL;
}

/* Adds (or replaces) name -> t; takes t. Call with the mutex held. */
static int put(struct template_partials *p, const char *name, size_t len, struct template *t)
{
    struct pentry *e = find(p, name, len);
    if (e != NULL) {
        template_free(e->t);
        e->t = t;
        return 0;
    }
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 8;
        struct pentry *v = realloc(p->v, cap * sizeof *v);
        if (v == NULL)
            return -ENOMEM;
        p->v = v;
        p->cap = cap;
    }
    char *copy = strndup(name, len);
    if (copy == NULL)
        return -ENOMEM;
    p->v[p->n++] = (struct pentry){ .name = copy, .len = len, .t = t };
    return 0;
}

int template_partials_add(struct template_partials *p, const char *name, const char *src,
                          size_t len, struct errbuf *err)
{
    struct template *t;
    int rc = template_compile(src, len, name, &t, err);
    if (rc < 0)
        return rc;
    pthread_mutex_lock(&p->mu);
    rc = put(p, name, strlen(name), t);
    pthread_mutex_unlock(&p->mu);
    if (rc < 0)
        template_free(t);
    return rc;
}

static int load(struct template_partials *p, const char *name, size_t len,
                struct template **out, struct errbuf *err)
{
    char *cname = strndup(name, len), *src = NULL, display[4096];
    size_t slen = 0;
    *out = NULL;
    if (cname == NULL)
        return -ENOMEM;
    int rc = strlen(cname) != len ? -ENOENT : p->loader(p->ud, cname, &src, &slen);
    if (rc == 0) {
        if (p->dir != NULL)
            snprintf(display, sizeof display, "%s/%s.mustache", p->dir, cname);
        else
            snprintf(display, sizeof display, "%s", cname);
        rc = template_compile(src, slen, display, out, err);
    } else if (rc != -ENOENT) {
        errbuf_at(err, rc, cname, NULL, "cannot load partial: %s", error_text(rc));
    }
    free(src);
    free(cname);
    return rc == -ENOENT ? 0 : rc;
}

int template_partials_get(const struct template_partials *cp, const char *name, size_t len,
                          const struct template **out, struct errbuf *err)
{
    /* The cache is the set's private, mutex-guarded state: filling it does
     * not change what the set means, hence the const in the public API. */
    struct template_partials *p = (struct template_partials *)cp;
    int rc = 0;
    pthread_mutex_lock(&p->mu);
    struct pentry *e = find(p, name, len);
    if (e != NULL) {
        *out = e->t;
    } else if (p->loader == NULL) {
        *out = NULL;
    } else {
        struct template *t = NULL;
        rc = load(p, name, len, &t, err);
        if (rc == 0 && (rc = put(p, name, len, t)) < 0)
            template_free(t);
        *out = rc == 0 ? t : NULL;
    }
    pthread_mutex_unlock(&p->mu);
    return rc;
}

void template_partials_free(struct template_partials *p)
{
    if (p == NULL)
        return;
    for (size_t i = 0; i < p->n; i++) {
        free(p->v[i].name);
        template_free(p->v[i].t);
    }
    free(p->v);
    free(p->dir);
    pthread_mutex_destroy(&p->mu);
    free(p);
}
