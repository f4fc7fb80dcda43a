/* SPDX-License-Identifier: MIT */
/* plugins/enrich_http/ehttp_conf.c: the option table and turning the
 * settings into what a request needs. Header values are credentials: they
 * come from the environment or a file (${ENV:NAME}, ${FILE:path}) so the
 * config itself can be shown and committed, they are read once at init, and
 * no message here ever quotes one; errors name the header line by number. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "ehttp_conf.h"
#include "ehttp_text.h"

/* Far above any real key; a bound so a wrong path cannot make us read a disk. */
#define EHTTP_FILE_MAX 16384
/* Largest max_response accepted: an enrichment answer is a small document. */
#define EHTTP_RESPONSE_CAP (256ll * 1024 * 1024)

const struct drumbeat_option ehttp_options[] = {
    { "url", DRUMBEAT_OPT_STRING, NULL, DRUMBEAT_OPT_REQUIRED,
      offsetof(struct ehttp_settings, url),
      "http(s) URL template; {email}, {domain}, {attrs.NAME}... are filled from the lead" },
    { "method", DRUMBEAT_OPT_STRING, "GET", 0, offsetof(struct ehttp_settings, method),
      "GET, or POST to send the lead's fields as a JSON body" },
    { "headers", DRUMBEAT_OPT_STRING, NULL, DRUMBEAT_OPT_SECRET,
      offsetof(struct ehttp_settings, headers),
      "Request headers, \"Name: value\" one a line; a value may use ${ENV:NAME} or ${FILE:path}" },
    { "map", DRUMBEAT_OPT_STRING, NULL, DRUMBEAT_OPT_REQUIRED,
      offsetof(struct ehttp_settings, map),
      "Lead fields from the reply: \"field=/json/pointer,field2=/other/0/name\"" },
    { "files_dir", DRUMBEAT_OPT_PATH, ".", 0, offsetof(struct ehttp_settings, files_dir),
      "Folder relative ${FILE:path} references start from (default: the config file's)" },
    { "timeout", DRUMBEAT_OPT_DURATION_MS, "10s", 0, offsetof(struct ehttp_settings, timeout_ms),
      "Give up on one request after this long (then RETRY)" },
    { "max_response", DRUMBEAT_OPT_INT, "1048576", 0,
      offsetof(struct ehttp_settings, max_response), "Largest reply body in bytes (larger: FAILED)" },
    { 0 },
};

static const char *const reserved_headers[] = {
    "Host", "Content-Length", "Content-Type", "Transfer-Encoding", NULL,
};

static int secrets_push(struct ehttp_conf *conf, const char *s, size_t len)
{
    char **more = realloc(conf->secrets, (conf->n_secrets + 1) * sizeof(*more));
    if (more == NULL)
        return -ENOMEM;
    conf->secrets = more;
    if ((more[conf->n_secrets] = strndup(s, len)) == NULL)
        return -ENOMEM;
    conf->n_secrets++;
    return 0;
}

static int read_file(const char *dir, const char *name, size_t name_len, char **out, size_t *len,
                     int line, char *why, size_t why_len)
{
    char path[4096];
    char *buf = NULL;
    size_t n = 0;
    int rc = 0, fd;

    if (name[0] == '/' || dir == NULL || dir[0] == '\0')
        rc = snprintf(path, sizeof(path), "%.*s", (int)name_len, name);
    else
        rc = snprintf(path, sizeof(path), "%s/%.*s", dir, (int)name_len, name);
    if (rc < 0 || (size_t)rc >= sizeof(path)) {
        snprintf(why, why_len, "headers: line %d: the ${FILE:...} path is too long", line);
        return -ENAMETOOLONG;
    }
    if ((buf = malloc(EHTTP_FILE_MAX + 1)) == NULL)
        return -ENOMEM;
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        rc = -errno;
        snprintf(why, why_len, "headers: line %d: cannot open %s: %s", line, path, strerror(-rc));
        free(buf);
        return rc;
    }
    for (rc = 0;;) {
        ssize_t r = read(fd, buf + n, EHTTP_FILE_MAX + 1 - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            rc = -errno;
            snprintf(why, why_len, "headers: line %d: cannot read %s: %s", line, path,
                     strerror(-rc));
            break;
        }
        if (r == 0)
            break;
        if ((n += (size_t)r) > EHTTP_FILE_MAX) {
            rc = -EFBIG;
            snprintf(why, why_len, "headers: line %d: %s is larger than %d bytes", line, path,
                     EHTTP_FILE_MAX);
            break;
        }
    }
    close(fd);
    /* Editors add a final newline; a credential never ends in white space. */
    while (rc == 0 && n > 0 && isspace((unsigned char)buf[n - 1]))
        n--;
    if (rc < 0) {
        explicit_bzero(buf, EHTTP_FILE_MAX + 1);
        free(buf);
        return rc;
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return 0;
}

/* Appends value (len bytes) to the header text at *line, growing it. */
static int line_put(char **line, size_t *at, size_t *cap, const char *value, size_t len)
{
    if (*at + len + 1 > *cap) {
        size_t grown = (*at + len + 1) * 2;
        char *bigger = malloc(grown);
        if (bigger == NULL)
            return -ENOMEM;
        memcpy(bigger, *line, *at);
        /* The old copy may already hold a credential. */
        explicit_bzero(*line, *cap);
        free(*line);
        *line = bigger;
        *cap = grown;
    }
    memcpy(*line + *at, value, len);
    *at += len;
    (*line)[*at] = '\0';
    return 0;
}

/* Expands the references in one header value (len bytes at v) into *line,
 * after the "Name: " already there. */
static int expand_value(struct ehttp_conf *conf, const char *v, size_t len, char **line,
                        size_t *at, size_t *cap, int lineno, char *why, size_t why_len)
{
    const char *end = v + len;
    int rc = 0;

    while (rc == 0 && v < end) {
        const char *ref = memmem(v, (size_t)(end - v), "${", 2);
        if (ref == NULL)
            return line_put(line, at, cap, v, (size_t)(end - v));
        if ((rc = line_put(line, at, cap, v, (size_t)(ref - v))) < 0)
            return rc;
        const char *close = memchr(ref, '}', (size_t)(end - ref));
        bool env = close != NULL && (size_t)(close - ref) > 6 && strncmp(ref + 2, "ENV:", 4) == 0;
        bool file = close != NULL && (size_t)(close - ref) > 7 && strncmp(ref + 2, "FILE:", 5) == 0;
        if (!env && !file) {
            snprintf(why, why_len, "headers: line %d: expected ${ENV:NAME} or ${FILE:path}",
                     lineno);
            return -EINVAL;
        }
        char *got = NULL;
        size_t got_len = 0;
        if (env) {
            char name[128];
            snprintf(name, sizeof(name), "%.*s", (int)(close - ref - 6), ref + 6);
            const char *e = getenv(name);
            if (e == NULL || e[0] == '\0') {
                snprintf(why, why_len, "headers: line %d: the environment variable %.64s is "
                         "not set", lineno, name);
                return -ENOENT;
            }
            if ((got = strdup(e)) == NULL)
                return -ENOMEM;
            got_len = strlen(got);
        } else {
            rc = read_file(conf->set->files_dir, ref + 7, (size_t)(close - ref - 7), &got,
                           &got_len, lineno, why, why_len);
            if (rc < 0)
                return rc;
        }
        if (memchr(got, '\r', got_len) != NULL || memchr(got, '\n', got_len) != NULL ||
            strlen(got) != got_len) {
            snprintf(why, why_len, "headers: line %d: the value read holds CR, LF or NUL",
                     lineno);
            rc = -EINVAL;
        }
        if (rc == 0 && got_len >= 4)
            rc = secrets_push(conf, got, got_len);
        if (rc == 0)
            rc = line_put(line, at, cap, got, got_len);
        explicit_bzero(got, got_len);
        free(got);
        v = close + 1;
    }
    return rc;
}

static bool is_token_char(int c)
{
    return isalnum(c) || (c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static int parse_header_line(struct ehttp_conf *conf, const char *p, size_t len, int lineno,
                             bool *has_accept, char *why, size_t why_len)
{
    size_t name_len = 0;

    while (name_len < len && is_token_char((unsigned char)p[name_len]))
        name_len++;
    if (name_len == 0 || name_len == len || p[name_len] != ':') {
        snprintf(why, why_len, "headers: line %d: expected \"Name: value\"", lineno);
        return -EINVAL;
    }
    for (const char *const *r = reserved_headers; *r != NULL; r++)
        if (strlen(*r) == name_len && strncasecmp(*r, p, name_len) == 0) {
            snprintf(why, why_len, "headers: line %d: %s is set by the enricher itself", lineno,
                     *r);
            return -EINVAL;
        }
    if (name_len == 6 && strncasecmp(p, "Accept", 6) == 0)
        *has_accept = true;
    const char *v = p + name_len + 1;
    size_t vlen = len - name_len - 1;
    while (vlen > 0 && isspace((unsigned char)*v))
        v++, vlen--;

    size_t at = 0, cap = name_len + vlen + 64;
    char *line = malloc(cap);
    if (line == NULL)
        return -ENOMEM;
    int rc = line_put(&line, &at, &cap, p, name_len);
    if (rc == 0)
        rc = line_put(&line, &at, &cap, ": ", 2);
    if (rc == 0)
        rc = expand_value(conf, v, vlen, &line, &at, &cap, lineno, why, why_len);
    if (rc == 0 && at - name_len - 2 >= 4)
        rc = secrets_push(conf, line + name_len + 2, at - name_len - 2);
    if (rc == 0) {
        struct curl_slist *grown = curl_slist_append(conf->headers, line);
        if (grown == NULL)
            rc = -ENOMEM;
        else
            conf->headers = grown;
    }
    explicit_bzero(line, cap);
    free(line);
    return rc;
}

static int parse_headers(struct ehttp_conf *conf, const char *text, char *why, size_t why_len)
{
    bool has_accept = false;
    int lineno = 0, rc = 0;
    struct curl_slist *grown;

    for (const char *p = text; rc == 0 && p != NULL && *p != '\0';) {
        const char *nl = strchr(p, '\n');
        size_t len = nl != NULL ? (size_t)(nl - p) : strlen(p);
        const char *next = nl != NULL ? nl + 1 : NULL;
        lineno++;
        while (len > 0 && isspace((unsigned char)*p))
            p++, len--;
        while (len > 0 && isspace((unsigned char)p[len - 1]))
            len--;
        if (len > 0)
            rc = parse_header_line(conf, p, len, lineno, &has_accept, why, why_len);
        p = next;
    }
    if (rc == 0 && !has_accept) {
        if ((grown = curl_slist_append(conf->headers, "Accept: application/json")) == NULL)
            return -ENOMEM;
        conf->headers = grown;
    }
    if (rc == 0 && conf->post) {
        /* No "Expect: 100-continue" round trip for a larger lead. */
        if ((grown = curl_slist_append(conf->headers, "Content-Type: application/json")) == NULL ||
            (conf->headers = grown, grown = curl_slist_append(conf->headers, "Expect:")) == NULL)
            return -ENOMEM;
        conf->headers = grown;
    }
    return rc;
}

static bool field_name_ok(const char *s, size_t len)
{
    if (len == 0 || len > EHTTP_FIELD_MAX)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '-')
            return false;
    return true;
}

static int parse_map(struct ehttp_conf *conf, const char *text, char *why, size_t why_len)
{
    int index = 0;

    for (const char *p = text; p != NULL && *p != '\0';) {
        size_t len = strcspn(p, ",\n");
        const char *next = p[len] != '\0' ? p + len + 1 : NULL;
        while (len > 0 && isspace((unsigned char)*p))
            p++, len--;
        while (len > 0 && isspace((unsigned char)p[len - 1]))
            len--;
        if (len == 0) {
            p = next;
            continue;
        }
        index++;
        const char *eq = memchr(p, '=', len);
        size_t flen = eq != NULL ? (size_t)(eq - p) : 0;
        while (flen > 0 && isspace((unsigned char)p[flen - 1]))
            flen--;
        if (eq == NULL || !field_name_ok(p, flen)) {
            snprintf(why, why_len, "map: entry %d: expected field=/json/pointer with a field "
                     "name of letters, digits and '_'", index);
            return -EINVAL;
        }
        const char *ptr = eq + 1;
        while (ptr < p + len && isspace((unsigned char)*ptr))
            ptr++;
        char *field = strndup(p, flen), *pointer = strndup(ptr, (size_t)(p + len - ptr));
        struct ehttp_map_entry *more = realloc(conf->map, (conf->n_map + 1) * sizeof(*more));
        if (more != NULL)
            conf->map = more;
        if (field == NULL || pointer == NULL || more == NULL) {
            free(field);
            free(pointer);
            return -ENOMEM;
        }
        conf->map[conf->n_map++] = (struct ehttp_map_entry){ field, pointer };
        if (ehttp_pointer_check(pointer) < 0) {
            snprintf(why, why_len, "map: entry %d (%s): expected a JSON pointer (RFC 6901) such "
                     "as /company/name, with ~0 for '~' and ~1 for '/'", index, field);
            return -EINVAL;
        }
        for (size_t i = 0; i + 1 < conf->n_map; i++)
            if (strcmp(conf->map[i].field, field) == 0) {
                snprintf(why, why_len, "map: entry %d: %s is mapped twice", index, field);
                return -EINVAL;
            }
        p = next;
    }
    if (conf->n_map == 0) {
        snprintf(why, why_len, "map: expected at least one field=/json/pointer");
        return -EINVAL;
    }
    conf->provides = calloc(conf->n_map + 1, sizeof(*conf->provides));
    if (conf->provides == NULL)
        return -ENOMEM;
    for (size_t i = 0; i < conf->n_map; i++)
        conf->provides[i] = conf->map[i].field;
    return 0;
}

int ehttp_conf_init(struct ehttp_conf *conf, const struct ehttp_settings *set, char *why,
                    size_t why_len)
{
    int rc;

    memset(conf, 0, sizeof(*conf));
    conf->set = set;
    if (strncasecmp(set->url, "http://", 7) != 0 && strncasecmp(set->url, "https://", 8) != 0) {
        snprintf(why, why_len, "url: expected an http:// or https:// URL template");
        return -EINVAL;
    }
    if ((rc = ehttp_template_check(set->url, why, why_len)) < 0)
        return rc;
    if (strcasecmp(set->method, "POST") == 0) {
        conf->post = true;
    } else if (strcasecmp(set->method, "GET") != 0) {
        snprintf(why, why_len, "method: expected GET or POST, got \"%.16s\"", set->method);
        return -EINVAL;
    }
    if (set->timeout_ms == 0) {
        snprintf(why, why_len, "timeout: expected a positive duration");
        return -EINVAL;
    }
    if (set->max_response < 1 || set->max_response > EHTTP_RESPONSE_CAP) {
        snprintf(why, why_len, "max_response: expected 1..%lld bytes, got %lld",
                 EHTTP_RESPONSE_CAP, (long long)set->max_response);
        return -EINVAL;
    }
    conf->max_response = (size_t)set->max_response;
    rc = parse_map(conf, set->map, why, why_len);
    if (rc == 0)
        rc = parse_headers(conf, set->headers, why, why_len);
    if (rc < 0)
        ehttp_conf_free(conf);
    return rc;
}

void ehttp_conf_free(struct ehttp_conf *conf)
{
    for (size_t i = 0; i < conf->n_secrets; i++) {
        explicit_bzero(conf->secrets[i], strlen(conf->secrets[i]));
        free(conf->secrets[i]);
    }
    free(conf->secrets);
    /* curl_slist_free_all cannot wipe; the header values are credentials. */
    for (struct curl_slist *h = conf->headers; h != NULL; h = h->next)
        explicit_bzero(h->data, strlen(h->data));
    curl_slist_free_all(conf->headers);
    for (size_t i = 0; i < conf->n_map; i++) {
        free(conf->map[i].field);
        free(conf->map[i].pointer);
    }
    free(conf->map);
    free(conf->provides);
    const struct ehttp_settings *set = conf->set;
    memset(conf, 0, sizeof(*conf));
    conf->set = set;
}

void ehttp_conf_scrub(const struct ehttp_conf *conf, char *text)
{
    /* Whole values first ("Bearer abc..."), then the pieces read into them. */
    for (size_t i = conf->n_secrets; i-- > 0;) {
        const char *s = conf->secrets[i];
        size_t len = strlen(s);
        for (char *hit = strstr(text, s); hit != NULL; hit = strstr(hit + 3, s)) {
            memmove(hit + 3, hit + len, strlen(hit + len) + 1);
            memcpy(hit, "***", 3);
        }
    }
}
