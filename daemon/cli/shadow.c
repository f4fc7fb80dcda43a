/* SPDX-License-Identifier: MIT */
/* daemon/cli/shadow.c: starts, drives and removes a shadow run (shadow.h):
 * a private drumbeatd on a test clock in a folder under $TMPDIR. The daemon
 * is the drumbeatd beside this program (the build tree, or bin/../sbin when
 * installed), else the one on $PATH; $DRUMBEATD overrides. Its API port is
 * read from its log, as the daemon logs every listener it opened.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "config.h"
#include "shadow.h"

struct shadow {
    char dir[256];
    char url[64];
    char *token_file;
    struct cli_common api;
    struct config *cfg;
    pid_t pid;
};

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

/* The drumbeatd to run: $DRUMBEATD, beside us, ../sbin, or "drumbeatd" ($PATH). */
static void find_daemon(char *out, size_t len)
{
    const char *env = getenv("DRUMBEATD");
    char exe[4096];
    if (env != NULL && env[0] != '\0') {
        snprintf(out, len, "%s", env);
        return;
    }
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n > 0) {
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash != NULL) {
            *slash = '\0';
            snprintf(out, len, "%s/drumbeatd", exe);
            if (access(out, X_OK) == 0)
                return;
            snprintf(out, len, "%s/../sbin/drumbeatd", exe);
            if (access(out, X_OK) == 0)
                return;
        }
    }
    snprintf(out, len, "drumbeatd");
}

/* A consistent copy of the live store: VACUUM INTO reads one snapshot (WAL
 * readers never block the daemon's writer, nor it them). */
static int copy_store(const char *from, const char *to)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_open_v2(from, &db, SQLITE_OPEN_READONLY, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_busy_timeout(db, 10000);
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v2(db, "VACUUM INTO ?1", -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(st, 1, to, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
        rc = rc == SQLITE_DONE ? SQLITE_OK : rc;
    }
    if (rc != SQLITE_OK)
        fprintf(stderr, "drumbeat: cannot copy the store %s: %s\n", from,
                db != NULL ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
    sqlite3_finalize(st);
    sqlite3_close(db);
    return rc == SQLITE_OK ? 0 : -EIO;
}

/* Waits for "drumbeatd started" and the API listener's port in the log. */
static int wait_started(struct shadow *s, const char *log)
{
    for (int i = 0; i < 600; i++) {
        FILE *f = fopen(log, "r");
        char line[2048];
        int port = 0;
        bool started = false;
        while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
            const char *p = strstr(line, "listener=api ");
            const char *q = p != NULL ? strstr(p, " port=") : NULL;
            if (q != NULL)
                port = atoi(q + 6);
            if (strstr(line, "drumbeatd started") != NULL)
                started = true;
        }
        if (f != NULL)
            fclose(f);
        if (started && port > 0) {
            snprintf(s->url, sizeof(s->url), "http://127.0.0.1:%d", port);
            return 0;
        }
        int status;
        if (waitpid(s->pid, &status, WNOHANG) == s->pid) {
            s->pid = 0;
            break;
        }
        sleep_ms(50);
    }
    fprintf(stderr, "drumbeat: the shadow drumbeatd did not start; its log (%s):\n", log);
    FILE *f = fopen(log, "r");
    char line[2048];
    while (f != NULL && fgets(line, sizeof(line), f) != NULL)
        fprintf(stderr, "  %s", line);
    if (f != NULL)
        fclose(f);
    return -EIO;
}

static int spawn(struct shadow *s, int64_t start_ms)
{
    char daemon[4200], conf[300], log[300], clockarg[64], iso[40];
    snprintf(conf, sizeof(conf), "%s/drumbeat.json", s->dir);
    snprintf(log, sizeof(log), "%s/daemon.log", s->dir);
    /* --test-clock takes whole seconds; the rest is advanced after. */
    clock_format_iso(start_ms - start_ms % 1000, iso, sizeof(iso));
    iso[19] = '\0';
    snprintf(clockarg, sizeof(clockarg), "--test-clock=%sZ", iso);
    find_daemon(daemon, sizeof(daemon));
    fflush(NULL);
    s->pid = fork();
    if (s->pid < 0)
        return -errno;
    if (s->pid == 0) {
        int out = open("/dev/null", O_WRONLY), err = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (out >= 0)
            dup2(out, STDOUT_FILENO);
        if (err >= 0)
            dup2(err, STDERR_FILENO);
        execlp(daemon, daemon, "-c", conf, clockarg, (char *)NULL);
        fprintf(stderr, "cannot run %s: %s\n", daemon, strerror(errno));
        _exit(127);
    }
    int rc = wait_started(s, log);
    if (rc == 0 && start_ms % 1000 != 0) {
        char by[32];
        snprintf(by, sizeof(by), "%lld", (long long)(start_ms % 1000));
        rc = shadow_advance(s, by);
    }
    return rc;
}

int shadow_start(const struct shadow_options *o, struct shadow **out)
{
    struct config_errors errs = { 0 };
    json_error_t jerr;
    json_t *root = NULL;
    const char *path = o->config_path != NULL ? o->config_path : "config/drumbeat.json";
    const char *tmp = getenv("TMPDIR");
    int rc;

    struct shadow *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return -ENOMEM;
    if ((rc = config_load(path, &s->cfg, &errs)) < 0) {
        fprintf(stderr, "drumbeat: the config %s is not valid:\n", path);
        config_errors_log(&errs);
        config_errors_free(&errs);
        free(s);
        return rc;
    }
    config_errors_free(&errs);
    if ((root = json_load_file(path, 0, &jerr)) == NULL) {
        fprintf(stderr, "drumbeat: cannot read %s: %s\n", path, jerr.text);
        rc = -EINVAL;
        goto fail;
    }
    snprintf(s->dir, sizeof(s->dir), "%s/drumbeat-shadow-XXXXXX",
             tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp");
    if (mkdtemp(s->dir) == NULL) {
        rc = -errno;
        fprintf(stderr, "drumbeat: cannot make a folder for the shadow run: %s\n", strerror(-rc));
        s->dir[0] = '\0';
        goto fail;
    }
    if ((rc = shadow_config_write(s->cfg, root, s->dir, &s->token_file)) < 0) {
        fprintf(stderr, "drumbeat: cannot write the shadow config: %s\n", strerror(-rc));
        goto fail;
    }
    if (o->copy_store) {
        char to[300];
        snprintf(to, sizeof(to), "%s/store/drumbeat.db", s->dir);
        if ((rc = copy_store(s->cfg->store_path, to)) < 0)
            goto fail;
    }
    s->api.url = s->url;
    s->api.token_file = s->token_file;
    if ((rc = spawn(s, o->start_ms)) < 0)
        goto fail;
    json_decref(root);
    *out = s;
    return 0;
fail:
    json_decref(root);
    shadow_free(s);
    return rc;
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path) < 0 ? -1 : 0;
}

void shadow_free(struct shadow *s)
{
    if (s == NULL)
        return;
    if (s->pid > 0) {
        int status;
        kill(s->pid, SIGTERM);
        for (int i = 0; i < 300 && waitpid(s->pid, &status, WNOHANG) == 0; i++)
            sleep_ms(50);
        if (waitpid(s->pid, &status, WNOHANG) == 0) {
            kill(s->pid, SIGKILL);
            waitpid(s->pid, &status, 0);
        }
    }
    if (s->dir[0] != '\0') {
        const char *keep = getenv("DRUMBEAT_SHADOW_KEEP");
        if (keep != NULL && keep[0] != '\0')
            fprintf(stderr, "drumbeat: the shadow run is kept in %s\n", s->dir);
        else
            nftw(s->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    }
    config_free(s->cfg);
    free(s->token_file);
    free(s);
}

const struct cli_common *shadow_api(const struct shadow *s)
{
    return &s->api;
}

const struct config *shadow_user_config(const struct shadow *s)
{
    return s->cfg;
}

int shadow_store_open(const struct shadow *s, sqlite3 **db)
{
    char path[300];
    snprintf(path, sizeof(path), "%s/store/drumbeat.db", s->dir);
    int rc = sqlite3_open_v2(path, db, SQLITE_OPEN_READONLY, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_busy_timeout(*db, 10000);
    if (rc != SQLITE_OK) {
        fprintf(stderr, "drumbeat: cannot open the shadow store: %s\n", sqlite3_errstr(rc));
        sqlite3_close(*db);
        *db = NULL;
        return -EIO;
    }
    return 0;
}

int shadow_advance(struct shadow *s, const char *by)
{
    json_t *body = json_pack("{s:s}", "by", by), *reply = NULL;
    int status = cli_api_request(&s->api, "POST", "/api/clock", body, &reply);
    json_decref(body);
    if (status != 200) {
        cli_api_failed(status, reply);
        return -EIO;
    }
    json_decref(reply);
    return 0;
}

int shadow_run_cli(struct shadow *s, int (*cmd)(int argc, char **argv), int argc, char **argv,
                   json_t **out)
{
    char file[300];
    char *args[argc + 6];
    int status;

    *out = NULL;
    snprintf(file, sizeof(file), "%s/cli-output.json", s->dir);
    for (int i = 0; i < argc; i++)
        args[i] = argv[i];
    args[argc] = "--url";
    args[argc + 1] = s->url;
    args[argc + 2] = "--token-file";
    args[argc + 3] = s->token_file;
    args[argc + 4] = "--json";
    args[argc + 5] = NULL;
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        return CLI_FAIL;
    if (pid == 0) {
        /* The subcommand prints its JSON to stdout: into the file. */
        if (freopen(file, "w", stdout) == NULL)
            _exit(CLI_FAIL);
        int rc = cmd(argc + 5, args);
        fflush(stdout);
        _exit(rc);
    }
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
        return CLI_FAIL;
    *out = json_load_file(file, 0, NULL);
    unlink(file);
    return WEXITSTATUS(status);
}
