/* SPDX-License-Identifier: MIT */
/* plugins/enrich_guess/guess_prior.c: parses the global prior option and the
 * per-domain prior file, and works out each domain's final weights once, at
 * load: they are kept in a jansson object (a hash table) from the domain to
 * an array of one weight per pattern.
 *
 * A domain's listed patterns take the weights it gives; the others share
 * what is left of 1 in proportion to their global weights, but are never
 * raised above their global weight ("scaled down", never up). A domain
 * whose weights already add up to 1 or more leaves nothing for the rest:
 * they are not proposed for it.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "guess_prior.h"

struct guess_priors {
    struct guess_weights global;
    json_t *domains;            /* "example.com" -> [w0, ..., w5] */
};

static int fail(struct errbuf *err, int code, const char *file, const char *where,
                const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static int fail(struct errbuf *err, int code, const char *file, const char *where,
                const char *fmt, ...)
{
    va_list ap;

    err->code = code;
    snprintf(err->file, sizeof(err->file), "%s", file != NULL ? file : "");
    snprintf(err->where, sizeof(err->where), "%s", where != NULL ? where : "");
    va_start(ap, fmt);
    vsnprintf(err->what, sizeof(err->what), fmt, ap);
    va_end(ap);
    return code;
}

static const char *pattern_list(void)
{
    static char list[128];
    if (list[0] == '\0')
        for (int i = 0; i < GUESS_NPATTERNS; i++)
            snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s",
                     i > 0 ? ", " : "", guess_pattern_name(i));
    return list;
}

/* "first.last:0.45, flast:0.2" */
static int parse_prior(const char *text, struct guess_weights *out, struct errbuf *err)
{
    memset(out, 0, sizeof(*out));
    for (const char *p = text; p != NULL && *p != '\0';) {
        const char *end = strchr(p, ','), *colon;
        size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
        char entry[128], *stop;
        const char *name;
        size_t nl;
        int pat;
        double w;

        if (len >= sizeof(entry))
            return fail(err, -EINVAL, NULL, "options.prior", "entry too long: \"%.40s...\"", p);
        memcpy(entry, p, len);
        entry[len] = '\0';
        p = end != NULL ? end + 1 : p + len;
        for (name = entry; isspace((unsigned char)*name); name++)
            ;
        if (*name == '\0')
            continue;
        colon = strchr(name, ':');
        if (colon == NULL)
            return fail(err, -EINVAL, NULL, "options.prior",
                        "expected pattern:weight, got \"%s\"", entry);
        for (nl = (size_t)(colon - name); nl > 0 && isspace((unsigned char)name[nl - 1]); nl--)
            ;
        if ((pat = guess_pattern_by_name(name, nl)) < 0)
            return fail(err, -EINVAL, NULL, "options.prior",
                        "unknown pattern \"%.*s\": expected one of %s", (int)nl, name,
                        pattern_list());
        errno = 0;
        w = strtod(colon + 1, &stop);
        while (isspace((unsigned char)*stop))
            stop++;
        if (stop == colon + 1 || *stop != '\0' || errno != 0 || !(w >= 0 && w <= 1))
            return fail(err, -EINVAL, NULL, "options.prior",
                        "expected a weight between 0 and 1 for \"%.*s\", got \"%s\"", (int)nl,
                        name, colon + 1);
        out->w[pat] = w;
    }
    return 0;
}

/* The final weights of one domain object of the file. */
static int domain_weights(const struct guess_weights *global, const char *path, const char *dom,
                          json_t *obj, json_t **out, struct errbuf *err)
{
    char where[320];
    double listed = 0, rest = 0, scale;
    double w[GUESS_NPATTERNS];
    bool set[GUESS_NPATTERNS] = { false };
    const char *key;
    json_t *v;

    snprintf(where, sizeof(where), "\"%s\"", dom);
    if (!json_is_object(obj))
        return fail(err, -EINVAL, path, where, "expected an object of pattern weights "
                    "like {\"flast\": 0.9}");
    json_object_foreach(obj, key, v) {
        int pat = guess_pattern_by_name(key, strlen(key));
        snprintf(where, sizeof(where), "\"%s\".%s", dom, key);
        if (pat < 0)
            return fail(err, -EINVAL, path, where, "unknown pattern: expected one of %s",
                        pattern_list());
        if (!json_is_number(v) || json_number_value(v) < 0 || json_number_value(v) > 1)
            return fail(err, -EINVAL, path, where, "expected a weight between 0 and 1");
        w[pat] = json_number_value(v);
        set[pat] = true;
        listed += w[pat];
    }
    for (int i = 0; i < GUESS_NPATTERNS; i++)
        if (!set[i])
            rest += global->w[i];
    scale = rest > 0 && listed < 1 ? (1.0 - listed) / rest : 0;
    if (scale > 1)
        scale = 1;
    if ((*out = json_array()) == NULL)
        return -ENOMEM;
    for (int i = 0; i < GUESS_NPATTERNS; i++)
        json_array_append_new(*out, json_real(set[i] ? w[i] : global->w[i] * scale));
    return 0;
}

/* Domains are matched as guess_domain writes them: lower case, no "www.". */
static int load_domains(struct guess_priors *p, const char *path, struct errbuf *err)
{
    json_error_t jerr;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    const char *key;
    json_t *v;
    int rc = 0;

    if (root == NULL) {
        int code = jerr.line < 1 && json_error_code(&jerr) == json_error_cannot_open_file
                   ? -ENOENT : -EINVAL;
        fail(err, code, path, NULL, "%s; expected a JSON object like "
             "{\"example.com\": {\"flast\": 0.9}}", jerr.text);
        err->line = jerr.line > 0 ? jerr.line : 0;
        err->column = jerr.column > 0 ? jerr.column : 0;
        return code;
    }
    if (!json_is_object(root)) {
        json_decref(root);
        return fail(err, -EINVAL, path, NULL, "expected a JSON object like "
                    "{\"example.com\": {\"flast\": 0.9}}");
    }
    if ((p->domains = json_object()) == NULL)
        rc = -ENOMEM;
    json_object_foreach(root, key, v) {
        char dom[256];
        json_t *weights = NULL;
        if (rc < 0)
            break;
        if (guess_domain(key, dom, sizeof(dom)) == 0) {
            rc = fail(err, -EINVAL, path, key, "expected a domain name like \"example.com\"");
            break;
        }
        if ((rc = domain_weights(&p->global, path, key, v, &weights, err)) < 0)
            break;
        rc = json_object_set_new(p->domains, dom, weights) == 0 ? 0 : -ENOMEM;
    }
    json_decref(root);
    return rc;
}

int guess_priors_load(const char *prior, const char *domains_path, struct guess_priors **out,
                      struct errbuf *err)
{
    struct guess_priors *p = calloc(1, sizeof(*p));
    int rc;

    *out = NULL;
    if (p == NULL)
        return -ENOMEM;
    if ((rc = parse_prior(prior, &p->global, err)) < 0)
        goto fail;
    if (domains_path != NULL && (rc = load_domains(p, domains_path, err)) < 0)
        goto fail;
    *out = p;
    return 0;
fail:
    guess_priors_free(p);
    return rc;
}

void guess_priors_free(struct guess_priors *p)
{
    if (p == NULL)
        return;
    json_decref(p->domains);
    free(p);
}

void guess_priors_for(const struct guess_priors *p, const char *domain, struct guess_weights *out)
{
    json_t *a = p->domains != NULL ? json_object_get(p->domains, domain) : NULL;

    *out = p->global;
    for (size_t i = 0; a != NULL && i < GUESS_NPATTERNS; i++)
        out->w[i] = json_real_value(json_array_get(a, i));
}

size_t guess_priors_domains(const struct guess_priors *p)
{
    return p->domains != NULL ? json_object_size(p->domains) : 0;
}
