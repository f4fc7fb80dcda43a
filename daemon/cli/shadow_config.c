/* SPDX-License-Identifier: MIT */
/* daemon/cli/shadow_config.c: writes the config of a shadow run (shadow.h):
 * the user's config with everything that could reach the outside world taken
 * out or turned inward. Channels keep their names (mailboxes point at them)
 * but all become channel_maildir writing into the shadow's folder; enrichers,
 * enrichment and notifications are dropped; both listeners bind loopback on
 * a free port; the store, the pidfile and every person's token are the
 * shadow's own. What shapes the schedule stays as it is: cadences (their
 * folder, made absolute, so their holiday files resolve as before),
 * mailboxes and caps, templates, company, import rules. Relative paths of the
 * user's config are written out resolved, since the shadow config lives
 * elsewhere.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "shadow.h"

static char *path_join(const char *dir, const char *name)
{
    size_t len = strlen(dir) + 1 + strlen(name) + 1;
    char *p = malloc(len);
    if (p != NULL)
        snprintf(p, len, "%s/%s", dir, name);
    return p;
}

/* A random token (hex) into dir/name, mode 0600. */
static int write_token(const char *path)
{
    unsigned char raw[24];
    char hex[sizeof(raw) * 2 + 2];
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    ssize_t n = read(fd, raw, sizeof(raw));
    close(fd);
    if (n != (ssize_t)sizeof(raw))
        return -EIO;
    for (size_t i = 0; i < sizeof(raw); i++)
        snprintf(hex + 2 * i, 3, "%02x", raw[i]);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    n = write(fd, hex, strlen(hex));
    int rc = n == (ssize_t)strlen(hex) ? 0 : -EIO;
    if (close(fd) < 0 && rc == 0)
        rc = -errno;
    return rc;
}

/* The folder holding channel_maildir.so in a build tree, next to this
 * program (daemon/drumbeat -> plugins/channel_maildir/.libs), or NULL. An
 * installed drumbeatd finds it in its PKGLIBDIR by itself. */
static char *build_tree_plugins(void)
{
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 64);
    if (n <= 0)
        return NULL;
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (slash == NULL)
        return NULL;
    snprintf(slash, sizeof(exe) - (size_t)(slash - exe),
             "/../plugins/channel_maildir/.libs/channel_maildir.so");
    if (access(exe, R_OK) != 0)
        return NULL;
    *strrchr(exe, '/') = '\0';
    return strdup(exe);
}

static int set_team(json_t *root, const struct config *cfg, const char *dir, char **token_file)
{
    json_t *team = json_object_get(root, "team");
    size_t i;
    json_t *p;
    char name[64];
    int rc;

    /* Everyone keeps their name and roles (owners are assigned round-robin
     * by role, as live), but gets a token of the shadow's own. */
    json_array_foreach(team, i, p) {
        snprintf(name, sizeof(name), "person%zu.token", i);
        char *file = path_join(dir, name);
        if (file == NULL)
            return -ENOMEM;
        if ((rc = write_token(file)) < 0) {
            free(file);
            return rc;
        }
        json_object_set_new(p, "token_file", json_string(file));
        free(file);
    }
    (void)cfg;
    if (!json_is_array(team)) {
        team = json_array();
        json_object_set_new(root, "team", team);
    }
    /* And the CLI's own admin, who holds no stage role. */
    *token_file = path_join(dir, "shadow.token");
    if (*token_file == NULL)
        return -ENOMEM;
    if ((rc = write_token(*token_file)) < 0)
        return rc;
    json_array_append_new(team, json_pack("{s:s, s:s, s:s, s:[s]}", "name", "drumbeat-shadow",
                                          "email", "shadow@drumbeat.invalid", "token_file",
                                          *token_file, "roles", "admin"));
    return 0;
}

static int set_channels(json_t *root, const char *dir)
{
    json_t *chans = json_object_get(root, "channels");
    size_t i;
    json_t *c;
    char *maildir = path_join(dir, "maildir");
    if (maildir == NULL)
        return -ENOMEM;
    json_array_foreach(chans, i, c) {
        json_t *name = json_object_get(c, "name");
        json_t *nc = json_pack("{s:O, s:s, s:{s:s, s:b}}", "name", name, "plugin",
                               "channel_maildir", "options", "dir", maildir, "fsync", 0);
        if (nc == NULL || json_array_set_new(chans, i, nc) < 0) {
            free(maildir);
            return -ENOMEM;
        }
    }
    free(maildir);
    return 0;
}

int shadow_config_write(const struct config *cfg, const json_t *user_root, const char *dir,
                        char **token_file)
{
    json_t *root = json_deep_copy(user_root);
    char *store = path_join(dir, "store/drumbeat.db"), *file = path_join(dir, "drumbeat.json");
    char *plugins = build_tree_plugins();
    int rc = -ENOMEM;

    *token_file = NULL;
    if (root == NULL || store == NULL || file == NULL)
        goto out;
    json_t *daemon = json_object_get(root, "daemon");
    if (!json_is_object(daemon)) {
        daemon = json_object();
        json_object_set_new(root, "daemon", daemon);
    }
    json_object_del(daemon, "pidfile");
    json_object_set_new(daemon, "log_level", json_string("info"));
    json_object_set_new(root, "store", json_pack("{s:s}", "path", store));
    json_object_set_new(root, "api", json_pack("{s:s, s:i}", "address", "127.0.0.1", "port", 0));
    json_object_set_new(root, "public", json_pack("{s:s, s:i}", "address", "127.0.0.1",
                                                  "port", 0));
    json_t *pp = json_array();
    for (char **d = cfg->plugin_path; d != NULL && *d != NULL; d++)
        json_array_append_new(pp, json_string(*d));
    if (plugins != NULL)
        json_array_append_new(pp, json_string(plugins));
    json_object_set_new(root, "plugin_path", pp);
    json_object_del(root, "enrichers");
    json_object_del(root, "enrichment");
    json_object_del(root, "notifications");
    json_t *tpl = json_object_get(root, "templates");
    if (json_is_object(tpl) && cfg->templates_dir != NULL)
        json_object_set_new(tpl, "dir", json_string(cfg->templates_dir));
    if (json_is_object(tpl) && cfg->unsub_secret_file != NULL)
        json_object_set_new(tpl, "unsubscribe_secret_file", json_string(cfg->unsub_secret_file));
    if (cfg->cadences_dir != NULL)
        json_object_set_new(root, "cadences", json_pack("{s:s}", "dir", cfg->cadences_dir));
    else
        json_object_del(root, "cadences");
    if ((rc = set_channels(root, dir)) < 0 || (rc = set_team(root, cfg, dir, token_file)) < 0)
        goto out;
    char *sdir = path_join(dir, "store");
    if (sdir == NULL || (mkdir(sdir, 0700) < 0 && errno != EEXIST)) {
        rc = sdir == NULL ? -ENOMEM : -errno;
        free(sdir);
        goto out;
    }
    free(sdir);
    rc = json_dump_file(root, file, JSON_INDENT(2)) == 0 ? 0 : -EIO;
out:
    if (rc < 0) {
        free(*token_file);
        *token_file = NULL;
    }
    json_decref(root);
    free(store);
    free(file);
    free(plugins);
    return rc;
}
