/* SPDX-License-Identifier: MIT */
/* daemon/template_file_set.c: loads a whole templates folder at once (at
 * start, on SIGHUP, by check-config): every NAME.mustache with its optional
 * NAME.html.mustache, and every partials/NAME.mustache, all compiled now.
 * It keeps going after an error so that one run reports every broken file. */
#include <dirent.h>
#include <stdarg.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <glib.h>

#include "template_file.h"

#define SUFFIX ".mustache"
#define HTML_SUFFIX ".html.mustache"
#define NAME_MAX_LEN 64

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n > m && strcmp(s + n - m, suffix) == 0;
}

/* Template names end up in cadence configs and logs: keep them plain. */
static bool name_ok(const char *s, size_t n)
{
    if (n == 0 || n > NAME_MAX_LEN)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!g_ascii_isalnum(s[i]) && s[i] != '-' && s[i] != '_')
            return false;
    return true;
}

static bool is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static int add_error(struct config_errors *errs, int code, const char *file, const char *fmt,
                     ...) __attribute__((format(printf, 4, 5)));
static int add_error(struct config_errors *errs, int code, const char *file, const char *fmt,
                     ...)
{
    struct errbuf err = { 0 };
    char what[sizeof(err.what)];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    errbuf_at(&err, code, file, NULL, "%s", what);
    config_errors_add(errs, &err);
    return code;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The sorted names of the regular *.mustache files in dir, NULL-terminated;
 * -ENOENT when dir cannot be opened. */
static int list_dir(const char *dir, char ***out)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return -errno;
    GPtrArray *names = g_ptr_array_new();
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.' || !ends_with(de->d_name, SUFFIX))
            continue;
        char *path = g_build_filename(dir, de->d_name, NULL);
        if (is_file(path))
            g_ptr_array_add(names, g_strdup(de->d_name));
        g_free(path);
    }
    closedir(d);
    qsort(names->pdata, names->len, sizeof(char *), cmp_str);
    g_ptr_array_add(names, NULL);
    *out = (char **)g_ptr_array_free(names, FALSE);
    return 0;
}

static int load_partials(struct template_set *set, struct config_errors *errs)
{
    char *dir = g_build_filename(set->dir, "partials", NULL);
    char **names = NULL;
    int bad = 0;

    int rc = template_partials_new(NULL, NULL, &set->partials);
    if (rc < 0 || list_dir(dir, &names) < 0) {
        g_free(dir);
        return rc;   /* no partials folder is fine */
    }
    for (char **n = names; *n != NULL; n++) {
        char *path = g_build_filename(dir, *n, NULL);
        size_t nlen = strlen(*n) - strlen(SUFFIX);
        gchar *src = NULL;
        gsize len = 0;
        GError *gerr = NULL;
        struct errbuf err = { 0 };
        if (!name_ok(*n, nlen)) {
            bad = add_error(errs, -EINVAL, path, "expected a partial name of letters, digits, "
                            "'-' and '_' (%s)", *n);
        } else if (!g_file_get_contents(path, &src, &len, &gerr)) {
            bad = add_error(errs, -EIO, path, "cannot read: %s", gerr->message);
            g_error_free(gerr);
        } else {
            char *name = g_strndup(*n, nlen);
            /* Partials are compiled now, never lazily at send time. */
            if (template_partials_add(set->partials, name, src, len, &err) < 0) {
                /* The engine names the partial; the user needs its file. */
                snprintf(err.file, sizeof(err.file), "%s", path);
                config_errors_add(errs, &err);
                bad = -EINVAL;
            }
            g_free(name);
        }
        g_free(src);
        g_free(path);
    }
    g_strfreev(names);
    g_free(dir);
    return bad;
}

int template_set_load(const char *dir, struct template_set **out, struct config_errors *errs)
{
    struct template_set *set = calloc(1, sizeof(*set));
    char **names = NULL;
    int rc, bad = 0;

    if (set == NULL || (set->dir = g_strdup(dir)) == NULL) {
        rc = add_error(errs, -ENOMEM, dir, "%s", "out of memory loading templates");
        goto fail;
    }
    if ((rc = list_dir(dir, &names)) < 0) {
        add_error(errs, rc, dir, "expected a folder of templates: %s", error_text(rc));
        goto fail;
    }
    if ((rc = load_partials(set, errs)) < 0)
        bad = rc;
    size_t count = g_strv_length(names);
    set->items = calloc(count > 0 ? count : 1, sizeof(*set->items));
    if (set->items == NULL) {
        rc = add_error(errs, -ENOMEM, dir, "%s", "out of memory loading templates");
        goto fail;
    }
    for (char **n = names; *n != NULL; n++) {
        char *path = g_build_filename(dir, *n, NULL);
        if (ends_with(*n, HTML_SUFFIX)) {
            /* An HTML part belongs to the plain template beside it. */
            char *plain = g_strdup(path);
            strcpy(plain + strlen(plain) - strlen(HTML_SUFFIX), SUFFIX);
            if (!is_file(plain))
                bad = add_error(errs, -EINVAL, path, "an HTML part needs its template: "
                                "expected %s beside it", plain);
            g_free(plain);
            g_free(path);
            continue;
        }
        size_t nlen = strlen(*n) - strlen(SUFFIX);
        if (!name_ok(*n, nlen)) {
            bad = add_error(errs, -EINVAL, path, "expected a template name of at most 64 "
                            "letters, digits, '-' and '_' (%s)", *n);
            g_free(path);
            continue;
        }
        char *html = g_strdup(path);
        html[strlen(html) - strlen(SUFFIX)] = '\0';
        char *html_path = g_strconcat(html, HTML_SUFFIX, NULL);
        struct template_file *tf = NULL;
        struct errbuf err = { 0 };
        if (template_file_load(path, is_file(html_path) ? html_path : NULL, &tf, &err) < 0) {
            config_errors_add(errs, &err);
            bad = err.code < 0 ? err.code : -EINVAL;
        } else {
            tf->partials = set->partials;
            set->items[set->n++] = tf;
        }
        g_free(html);
        g_free(html_path);
        g_free(path);
    }
    g_strfreev(names);
    if (bad < 0) {
        template_set_free(set);
        return bad == -ENOMEM ? bad : -EINVAL;
    }
    *out = set;
    return 0;

fail:
    g_strfreev(names);
    template_set_free(set);
    return rc < 0 ? rc : -EINVAL;
}

int template_set_load_file(const char *path, struct template_set **out,
                           struct config_errors *errs)
{
    struct template_set *set = calloc(1, sizeof(*set));
    struct template_file *tf = NULL;
    struct errbuf err = { 0 };
    int rc;

    if (set == NULL || (set->dir = g_path_get_dirname(path)) == NULL ||
        (set->items = calloc(1, sizeof(*set->items))) == NULL) {
        rc = add_error(errs, -ENOMEM, path, "%s", "out of memory loading a template");
        goto fail;
    }
    if ((rc = load_partials(set, errs)) < 0)
        goto fail;
    char *html_path = NULL;
    if (ends_with(path, SUFFIX) && !ends_with(path, HTML_SUFFIX)) {
        char *stem = g_strndup(path, strlen(path) - strlen(SUFFIX));
        html_path = g_strconcat(stem, HTML_SUFFIX, NULL);
        g_free(stem);
    }
    rc = template_file_load(path, html_path != NULL && is_file(html_path) ? html_path : NULL,
                            &tf, &err);
    g_free(html_path);
    if (rc < 0) {
        config_errors_add(errs, &err);
        goto fail;
    }
    tf->partials = set->partials;
    set->items[set->n++] = tf;
    *out = set;
    return 0;

fail:
    template_set_free(set);
    return rc;
}

const struct template_file *template_set_get(const struct template_set *set, const char *name)
{
    if (set == NULL || name == NULL)
        return NULL;
    for (size_t i = 0; i < set->n; i++)
        if (strcmp(set->items[i]->name, name) == 0)
            return set->items[i];
    return NULL;
}

void template_set_free(struct template_set *set)
{
    if (set == NULL)
        return;
    for (size_t i = 0; i < set->n; i++)
        template_file_free(set->items[i]);
    free(set->items);
    template_partials_free(set->partials);
    g_free(set->dir);
    free(set);
}
