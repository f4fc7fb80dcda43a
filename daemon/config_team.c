/* SPDX-License-Identifier: MIT */
/* daemon/config_team.c: the "team": people, their roles and territories, and
 * the bearer tokens read from their token files. Tokens are secrets: no
 * message here ever contains one, only the path of the file that holds it.
 * Lookups by token compare SHA-256 digests with CRYPTO_memcmp, so the time
 * taken says nothing about how much of a guess was right, nor its length. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "config.h"
#include "config_internal.h"

/* A bearer token is a line of text; anything larger is not a token file. */
#define TOKEN_FILE_MAX 4096

static const struct {
    const char *name;
    enum config_role role;
} role_names[] = {
    { "prospector", CONFIG_ROLE_PROSPECTOR },
    { "sdr", CONFIG_ROLE_SDR },
    { "closer", CONFIG_ROLE_CLOSER },
    { "cs", CONFIG_ROLE_CS },
    { "admin", CONFIG_ROLE_ADMIN },
};
#define N_ROLES (sizeof(role_names) / sizeof(role_names[0]))

const char *config_role_format(enum config_role role)
{
    for (size_t i = 0; i < N_ROLES; i++)
        if (role_names[i].role == role)
            return role_names[i].name;
    return "unknown";
}

int config_role_parse(const char *text, enum config_role *out)
{
    for (size_t i = 0; i < N_ROLES; i++) {
        if (strcmp(role_names[i].name, text) == 0) {
            *out = role_names[i].role;
            return 0;
        }
    }
    return -EINVAL;
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Reads and trims the token in path. Returns 0, a negative errno from the
 * system, -ENODATA when empty, -EFBIG when too large, or -EBADMSG when the
 * content is not one line of printable text. */
static int read_token(const char *path, char **out)
{
    char buf[TOKEN_FILE_MAX + 1];
    size_t n = 0;
    struct stat st;
    int rc = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);

    if (fd < 0)
        return -errno;
    if (fstat(fd, &st) != 0) {
        rc = -errno;
        goto out;
    }
    if (S_ISDIR(st.st_mode)) {
        rc = -EISDIR;
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        rc = -EBADMSG;
        goto out;
    }
    while (n < sizeof(buf)) {
        ssize_t r = read(fd, buf + n, sizeof(buf) - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            rc = -errno;
            goto out;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    if (n > TOKEN_FILE_MAX) {
        rc = -EFBIG;
        goto out;
    }
    size_t start = 0;
    while (start < n && is_space(buf[start]))
        start++;
    while (n > start && is_space(buf[n - 1]))
        n--;
    if (n == start) {
        rc = -ENODATA;
        goto out;
    }
    for (size_t i = start; i < n; i++) {
        unsigned char c = (unsigned char)buf[i];
        if (c <= 0x20 || c == 0x7f) {
            rc = -EBADMSG;
            goto out;
        }
    }
    *out = strndup(buf + start, n - start);
    if (*out == NULL)
        rc = -ENOMEM;
out:
    /* The buffer held a secret: do not leave it on the stack. */
    OPENSSL_cleanse(buf, sizeof(buf));
    close(fd);
    return rc;
}

static void load_token(struct config_ctx *ctx, const char *path, struct config_person *p)
{
    char where[256];
    int rc = read_token(p->token_file, &p->token);

    if (rc == 0)
        return;
    if (rc == -ENOMEM) {
        ctx->oom = true;
        return;
    }
    config_path_key(where, sizeof(where), path, "token_file");
    if (rc == -ENODATA)
        config_ctx_error(ctx, where, "token file \"%s\" is empty", p->token_file);
    else if (rc == -EFBIG)
        config_ctx_error(ctx, where, "token file \"%s\" is larger than %d bytes; expected "
                         "one token", p->token_file, TOKEN_FILE_MAX);
    else if (rc == -EBADMSG)
        config_ctx_error(ctx, where, "token file \"%s\" must be a regular file holding one "
                         "token of printable characters without spaces", p->token_file);
    else
        config_ctx_error(ctx, where, "cannot read token file \"%s\": %s", p->token_file,
                         strerror(-rc));
}

static void load_roles(struct config_ctx *ctx, const json_t *obj, const char *path,
                       unsigned *roles)
{
    static const char *const allowed[] = { "prospector", "sdr", "closer", "cs", "admin", NULL };
    char **names = config_ctx_strv(ctx, obj, path, "roles", false);
    const json_t *arr = json_object_get(obj, "roles");
    char at[256], where[256], got[128];

    if (names == NULL)
        return;
    /* Entries that were not strings were reported and left out of names,
     * so walk the JSON array to keep the indexes right. */
    config_path_key(at, sizeof(at), path, "roles");
    for (size_t i = 0; json_is_array(arr) && i < json_array_size(arr); i++) {
        const json_t *item = json_array_get(arr, i);
        enum config_role role;
        if (!json_is_string(item) || json_string_length(item) == 0)
            continue;
        if (config_role_parse(json_string_value(item), &role) == 0) {
            *roles |= (unsigned)role;
            continue;
        }
        config_path_index(where, sizeof(where), at, i);
        config_describe(item, got, sizeof(got));
        const char *hint = config_suggest(json_string_value(item), allowed);
        config_ctx_error(ctx, where, "expected one of \"prospector\", \"sdr\", \"closer\", "
                         "\"cs\", \"admin\", got %s%s%s%s", got,
                         hint != NULL ? "; did you mean \"" : "", hint != NULL ? hint : "",
                         hint != NULL ? "\"?" : "");
    }
    config_strv_free(names);
}

static void load_person(struct config_ctx *ctx, const json_t *obj, const char *path,
                        struct config_person *p)
{
    static const char *const keys[] = {
        "name", "email", "token_file", "roles", "territories", NULL,
    };
    char where[256], got[128];

    config_ctx_keys(ctx, obj, path, keys);
    if (config_ctx_string(ctx, obj, path, "name", true, &p->name)) {
        bool ok = p->name[0] != '\0';
        for (const unsigned char *c = (const unsigned char *)p->name; *c != '\0'; c++)
            ok = ok && *c >= 0x20 && *c != 0x7f;
        if (!ok) {
            config_path_key(where, sizeof(where), path, "name");
            config_describe(json_object_get(obj, "name"), got, sizeof(got));
            config_ctx_error(ctx, where, "expected a non-empty name without control "
                             "characters, got %s", got);
        }
    }
    if (config_ctx_string(ctx, obj, path, "email", false, &p->email) &&
        !config_is_email(p->email)) {
        config_path_key(where, sizeof(where), path, "email");
        config_describe(json_object_get(obj, "email"), got, sizeof(got));
        config_ctx_error(ctx, where, "expected an email address such as \"ada@example.com\", "
                         "got %s", got);
    }
    char *file = NULL;
    if (config_ctx_string(ctx, obj, path, "token_file", true, &file)) {
        if (file[0] == '\0') {
            config_path_key(where, sizeof(where), path, "token_file");
            config_ctx_error(ctx, where, "expected a file name, got \"\"");
        } else if ((p->token_file = config_path_resolve(ctx->base_dir, file)) == NULL) {
            ctx->oom = true;
        } else {
            load_token(ctx, path, p);
        }
    }
    free(file);
    load_roles(ctx, obj, path, &p->roles);
    p->territories = config_ctx_strv(ctx, obj, path, "territories", false);
}

/* Two people with one token could not be told apart in the event log. */
static void check_shared_tokens(struct config_ctx *ctx, const struct config *cfg)
{
    char where[256], first[64];

    for (size_t i = 0; i < cfg->n_team; i++) {
        for (size_t j = 0; j < i && cfg->team[i].token != NULL; j++) {
            if (cfg->team[j].token == NULL || strcmp(cfg->team[i].token, cfg->team[j].token) != 0)
                continue;
            config_path_index(first, sizeof(first), "team", i);
            config_path_key(where, sizeof(where), first, "token_file");
            config_path_index(first, sizeof(first), "team", j);
            config_ctx_error(ctx, where, "token file \"%s\" holds the same token as %s's; "
                             "every person needs their own token", cfg->team[i].token_file,
                             first);
            break;
        }
    }
}

void config_load_team(struct config_ctx *ctx, const json_t *root, struct config *cfg)
{
    const json_t *arr = json_object_get(root, "team");
    char path[64], got[128];

    if (arr == NULL)
        return;
    if (!json_is_array(arr)) {
        config_describe(arr, got, sizeof(got));
        config_ctx_error(ctx, "team", "expected an array of objects, got %s", got);
        return;
    }
    if (json_array_size(arr) == 0)
        return;
    /* One slot per item, so team[i] in messages is slot i. */
    cfg->team = calloc(json_array_size(arr), sizeof(*cfg->team));
    if (cfg->team == NULL) {
        ctx->oom = true;
        return;
    }
    cfg->n_team = json_array_size(arr);
    for (size_t i = 0; i < cfg->n_team; i++) {
        const json_t *obj = json_array_get(arr, i);
        config_path_index(path, sizeof(path), "team", i);
        if (!json_is_object(obj)) {
            config_describe(obj, got, sizeof(got));
            config_ctx_error(ctx, path, "expected an object, got %s", got);
            continue;
        }
        load_person(ctx, obj, path, &cfg->team[i]);
    }

    const char **names = calloc(cfg->n_team, sizeof(*names));
    const char **sections = calloc(cfg->n_team, sizeof(*sections));
    size_t *indexes = calloc(cfg->n_team, sizeof(*indexes));
    if (names != NULL && sections != NULL && indexes != NULL) {
        for (size_t i = 0; i < cfg->n_team; i++) {
            names[i] = cfg->team[i].name;
            sections[i] = "team";
            indexes[i] = i;
        }
        config_ctx_unique(ctx, names, sections, indexes, cfg->n_team);
    } else {
        ctx->oom = true;
    }
    free(names);
    free(sections);
    free(indexes);
    check_shared_tokens(ctx, cfg);
}

void config_team_free(struct config *cfg)
{
    for (size_t i = 0; i < cfg->n_team; i++) {
        struct config_person *p = &cfg->team[i];
        free(p->name);
        free(p->email);
        free(p->token_file);
        if (p->token != NULL) {
            OPENSSL_cleanse(p->token, strlen(p->token));
            free(p->token);
        }
        config_strv_free(p->territories);
    }
    free(cfg->team);
}

const struct config_person *config_person_by_token(const struct config *cfg,
                                                   const char *token)
{
    unsigned char want[SHA256_DIGEST_LENGTH], have[SHA256_DIGEST_LENGTH];
    const struct config_person *found = NULL;

    if (cfg == NULL || token == NULL || token[0] == '\0')
        return NULL;
    SHA256((const unsigned char *)token, strlen(token), want);
    /* Every person is compared, whether or not one matched already. */
    for (size_t i = 0; i < cfg->n_team; i++) {
        const char *t = cfg->team[i].token;
        if (t == NULL)
            continue;
        SHA256((const unsigned char *)t, strlen(t), have);
        if (CRYPTO_memcmp(have, want, sizeof(want)) == 0 && found == NULL)
            found = &cfg->team[i];
    }
    OPENSSL_cleanse(have, sizeof(have));
    return found;
}
