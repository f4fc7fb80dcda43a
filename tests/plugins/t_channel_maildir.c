/* SPDX-License-Identifier: MIT */
/* tests/plugins/t_channel_maildir.c: plugins/channel_maildir through the real
 * loader (dlopen of the built .so) on a real uv loop and threadpool: a batch
 * lands byte-exact in new/ under unique Maildir names with nothing left in
 * tmp/, and is never completed from inside send; a JSON payload goes to
 * other/; per_mailbox makes a Maildir per sender; folders that cannot be
 * written give FAILED with a detail naming the folder (a regular file in the
 * way, a folder removed with create off, no permission when not root); a
 * folder removed with create on is made again; a root folder that cannot be
 * made fails the instance at start-up. */
#define _XOPEN_SOURCE 700
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "plugin_loader.h"
#include "plugin_test_util.h"
#include "tap.h"

struct got {
    int calls;
    enum drumbeat_outcome outcome;
    enum drumbeat_scope scope;
    char detail[1200];
};

static int total_calls;

static void on_done(void *arg, const struct drumbeat_result *res)
{
    struct got *g = arg;
    g->calls++;
    total_calls++;
    g->outcome = res->outcome;
    g->scope = res->scope;
    snprintf(g->detail, sizeof(g->detail), "%s", res->detail ? res->detail : "");
}

static bool calls_reach(void *arg)
{
    return total_calls >= *(int *)arg;
}

static struct drumbeat_message msg(int64_t id, const char *sender, const char *type,
                                   const char *body, size_t len)
{
    struct drumbeat_message m = {
        .touch_id = id, .sender = sender, .recipient = "lead@example.org",
        .content_type = type, .payload = body, .payload_len = len,
        .idempotency_key = "key",
    };
    return m;
}

static struct drumbeat_message mail(int64_t id, const char *sender, const char *body)
{
    return msg(id, sender, "message/rfc822", body, strlen(body));
}

/* Loads one channel_maildir instance "md" with opts (stolen). */
static struct plugins *load(uv_loop_t *loop, json_t *opts, struct config_plugin_instance *ci)
{
    struct config cfg = { .path = "md.json", .channels = ci, .n_channels = 1 };
    struct plugins *p = NULL;

    *ci = test_instance("md", "channel_maildir", opts);
    plugins_new(loop, NULL, NULL, &p);
    plugins_load(p, &cfg, NULL);
    return p;
}

/* Sends n messages and runs the loop until each has completed. */
static int send_wait(uv_loop_t *loop, struct plugins *p, const struct drumbeat_message *m,
                     size_t n, struct got *g)
{
    void *args[8];
    int want = (int)n, rc;

    for (size_t i = 0; i < n; i++)
        args[i] = &g[i];
    total_calls = 0;
    rc = plugins_send(p, "md", m, n, on_done, args);
    if (rc == 0 && !test_run_until(loop, calls_reach, &want, 5000))
        rc = -ETIMEDOUT;
    return rc;
}

static char *path2(const char *a, const char *b)
{
    static char buf[4][1400];
    static int at;
    char *out = buf[at++ % 4];
    snprintf(out, sizeof(buf[0]), "%s/%s", a, b);
    return out;
}

/* The whole file, which may hold NUL bytes; *len is its size. */
static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long size;

    *len = 0;
    if (f == NULL)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (buf = malloc((size_t)size + 1)) != NULL)
        *len = fread(buf, 1, (size_t)size, f);
    fclose(f);
    return buf;
}

static bool file_is(const char *path, const char *want, size_t want_len)
{
    size_t len;
    char *got = read_all(path, &len);
    bool same = got != NULL && len == want_len && memcmp(got, want, len) == 0;
    free(got);
    return same;
}

static bool is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* "new/<seconds>.M<micro>P<pid>Q<n>.<host>": the Maildir name of this process. */
static bool maildir_name(const char *detail, const char *prefix)
{
    long long sec;
    long micro, pid;
    unsigned long q;
    int used = 0;
    const char *name = detail + strlen(prefix);

    if (strncmp(detail, prefix, strlen(prefix)) != 0)
        return false;
    if (sscanf(name, "%lld.M%ldP%ldQ%lu.%n", &sec, &micro, &pid, &q, &used) != 4 || used == 0)
        return false;
    return pid == (long)getpid() && micro >= 0 && micro < 1000000 && name[used] != '\0' &&
           strpbrk(name, "/:") == NULL;
}

static void batch_lands_in_new(uv_loop_t *loop, const char *root)
{
    char dir[1024];
    struct config_plugin_instance ci;
    struct got g[3] = { 0 };
    static const char body2[] = "From: ada@example.com\r\nSubject: two\r\n\r\nnul \0 byte\r\n";

    snprintf(dir, sizeof(dir), "%s/fresh/maildir", root);
    struct plugins *p = load(loop, json_pack("{s:s}", "dir", dir), &ci);
    tap_ok(plugins_channel_ready(p, "md"), "channel_maildir loads and runs");
    tap_is_int(plugins_max_batch(p, "md"), 64, "max_batch is 64");
    tap_is_str(plugins_channel_accepts(p, "md"), "message/rfc822", "it accepts message/rfc822");
    tap_ok(is_dir(path2(dir, "tmp")) && is_dir(path2(dir, "new")) && is_dir(path2(dir, "cur")),
           "init created the folder (and its parent) with tmp/ new/ cur/");

    struct drumbeat_message three[3] = {
        mail(1, "ada@example.com", "Subject: one\r\n\r\nbody one\r\n"),
        msg(2, "ada@example.com", "message/rfc822", body2, sizeof(body2) - 1),
        mail(3, "ada@example.com", "Subject: three\r\n\r\nbody three\r\n"),
    };
    void *args[3] = { &g[0], &g[1], &g[2] };
    int want = 3;
    total_calls = 0;
    test_capture_start();
    int rc = plugins_send(p, "md", three, 3, on_done, args);
    int calls_in_send = total_calls;
    bool done = test_run_until(loop, calls_reach, &want, 5000);
    char *log = test_capture_end();
    tap_is_int(rc, 0, "a batch of 3 is accepted");
    tap_is_int(calls_in_send, 0, "nothing completes inside send");
    tap_ok(log != NULL && strstr(log, "from inside send") == NULL,
           "the host saw no completion from inside send");
    free(log);
    tap_ok(done, "all 3 complete");
    tap_ok(g[0].outcome == DRUMBEAT_DONE && g[1].outcome == DRUMBEAT_DONE &&
           g[2].outcome == DRUMBEAT_DONE && g[0].scope == DRUMBEAT_SCOPE_MESSAGE,
           "each is DONE");
    tap_ok(maildir_name(g[0].detail, "new/") && maildir_name(g[1].detail, "new/") &&
           maildir_name(g[2].detail, "new/"),
           "each detail is new/<sec>.M<usec>P<pid>Q<n>.<host> (%s)", g[0].detail);
    tap_ok(strcmp(g[0].detail, g[1].detail) != 0 && strcmp(g[1].detail, g[2].detail) != 0 &&
           strcmp(g[0].detail, g[2].detail) != 0, "the 3 names are unique");
    tap_is_int(test_count_dir(path2(dir, "new")), 3, "3 files in new/");
    tap_is_int(test_count_dir(path2(dir, "tmp")), 0, "nothing left in tmp/");
    tap_is_int(test_count_dir(path2(dir, "cur")), 0, "cur/ is left to the mail reader");
    tap_ok(file_is(path2(dir, g[0].detail), three[0].payload, three[0].payload_len) &&
           file_is(path2(dir, g[2].detail), three[2].payload, three[2].payload_len),
           "the files hold exactly the payloads (CRLF kept, no Delivered-To added)");
    tap_ok(file_is(path2(dir, g[1].detail), body2, sizeof(body2) - 1),
           "a payload with a NUL byte is written byte-exact");

    /* A big message, so the write loop has to go round. */
    size_t big_len = (size_t)3 << 20;
    char *big = malloc(big_len);
    for (size_t i = 0; i < big_len; i++)
        big[i] = (char)('a' + i % 26);
    memcpy(big, "Subject: big\r\n\r\n", 16);
    struct drumbeat_message mbig = msg(4, "ada@example.com", "message/rfc822", big, big_len);
    struct got gb = { 0 };
    tap_is_int(send_wait(loop, p, &mbig, 1, &gb), 0, "a 3 MiB message is sent");
    tap_ok(gb.outcome == DRUMBEAT_DONE && file_is(path2(dir, gb.detail), big, big_len),
           "... and written byte-exact");
    free(big);

    /* Notifications and other payloads stay out of the Maildir. */
    static const char json[] = "{\"event\":\"reply\",\"touch_id\":12}";
    struct drumbeat_message other[2] = {
        msg(5, NULL, "application/json", json, sizeof(json) - 1),
        msg(6, "ada@example.com", "text/plain; charset=utf-8", "hello\n", 6),
    };
    struct got go[2] = { 0 };
    tap_is_int(send_wait(loop, p, other, 2, go), 0, "a JSON and a text payload are sent");
    tap_ok(go[0].outcome == DRUMBEAT_DONE && strncmp(go[0].detail, "other/", 6) == 0 &&
           strstr(go[0].detail, ".json") != NULL &&
           strcmp(go[0].detail + strlen(go[0].detail) - 5, ".json") == 0,
           "the JSON payload goes to other/<name>.json (%s)", go[0].detail);
    tap_ok(file_is(path2(dir, go[0].detail), json, sizeof(json) - 1), "... as is");
    tap_ok(go[1].outcome == DRUMBEAT_DONE &&
           strcmp(go[1].detail + strlen(go[1].detail) - 4, ".txt") == 0 &&
           file_is(path2(dir, go[1].detail), "hello\n", 6), "text/plain goes to other/<name>.txt");
    tap_is_int(test_count_dir(path2(dir, "new")), 4, "new/ holds only the mail");
    tap_is_int(test_count_dir(path2(dir, "tmp")), 0, "tmp/ is still empty");

    /* The folder is deleted behind the daemon's back: create (the default)
     * makes it again. */
    char cmd[1200];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    tap_is_int(system(cmd), 0, "the maildir is removed while running");
    struct drumbeat_message again = mail(7, "ada@example.com", "Subject: again\r\n\r\nx\r\n");
    struct got ga = { 0 };
    send_wait(loop, p, &again, 1, &ga);
    tap_ok(ga.outcome == DRUMBEAT_DONE && file_is(path2(dir, ga.detail), again.payload,
                                                  again.payload_len) &&
           is_dir(path2(dir, "cur")), "with create on, the next message makes it again");
    plugins_free(p);
    test_instance_clear(&ci);
}

static void per_mailbox_folders(uv_loop_t *loop, const char *root)
{
    char dir[1024], blocker[1200];
    struct config_plugin_instance ci;
    struct got g[2] = { 0 }, gb = { 0 }, gn = { 0 }, gc[2] = { 0 };

    snprintf(dir, sizeof(dir), "%s/per", root);
    struct plugins *p = load(loop, json_pack("{s:s,s:b,s:b}", "dir", dir, "per_mailbox", 1,
                                             "fsync", 0), &ci);
    tap_ok(plugins_channel_ready(p, "md"), "per_mailbox with fsync off loads");
    struct drumbeat_message ada[2] = {
        mail(1, "ada@example.com", "Subject: a1\r\n\r\n.\r\n"),
        mail(2, "ada@example.com", "Subject: a2\r\n\r\n.\r\n"),
    };
    send_wait(loop, p, ada, 2, g);
    tap_ok(g[0].outcome == DRUMBEAT_DONE && g[1].outcome == DRUMBEAT_DONE &&
           maildir_name(g[0].detail, "ada@example.com/new/"),
           "ada's messages are DONE as ada@example.com/new/<name> (%s)", g[0].detail);
    tap_is_int(test_count_dir(path2(dir, "ada@example.com/new")), 2, "... 2 files in her new/");
    tap_ok(is_dir(path2(dir, "ada@example.com/tmp")) && is_dir(path2(dir, "ada@example.com/cur")) &&
           test_count_dir(path2(dir, "ada@example.com/tmp")) == 0,
           "... her folder is a Maildir with an empty tmp/");

    struct drumbeat_message bob = mail(3, "Bob@Example.COM", "Subject: b\r\n\r\n.\r\n");
    send_wait(loop, p, &bob, 1, &gb);
    tap_ok(gb.outcome == DRUMBEAT_DONE && maildir_name(gb.detail, "bob@example.com/new/") &&
           file_is(path2(dir, gb.detail), bob.payload, bob.payload_len),
           "a sender's folder is named by the lowercased address");
    struct drumbeat_message none = mail(4, NULL, "Subject: n\r\n\r\n.\r\n");
    send_wait(loop, p, &none, 1, &gn);
    tap_ok(gn.outcome == DRUMBEAT_DONE && maildir_name(gn.detail, "new/"),
           "a message without a sender goes to the top Maildir");
    tap_is_int(test_count_dir(path2(dir, "new")), 1, "... which holds only that one");

    /* A regular file where carl's folder would go: mkdir fails (ENOTDIR). */
    snprintf(blocker, sizeof(blocker), "%s/carl@example.com", dir);
    FILE *f = fopen(blocker, "w");
    if (f != NULL)
        fclose(f);
    struct drumbeat_message carl[2] = {
        mail(5, "carl@example.com", "Subject: c1\r\n\r\n.\r\n"),
        mail(6, "carl@example.com", "Subject: c2\r\n\r\n.\r\n"),
    };
    send_wait(loop, p, carl, 2, gc);
    tap_is_int(gc[0].outcome, DRUMBEAT_FAILED, "a folder that cannot be made: FAILED");
    tap_is_int(gc[0].scope, DRUMBEAT_SCOPE_MESSAGE, "... scope MESSAGE");
    tap_contains(gc[0].detail, blocker, "... the detail names the folder");
    tap_contains(gc[0].detail, "Not a directory", "... and says why");
    tap_is_int(gc[1].outcome, DRUMBEAT_FAILED, "... each message of the batch gets its outcome");
    plugins_free(p);
    test_instance_clear(&ci);
}

static void unusable_folders(uv_loop_t *loop, const char *root)
{
    char file[1024], dir[1200];
    struct config_plugin_instance ci;
    struct got g = { 0 };

    /* The root cannot be made: the instance fails at start-up, loudly. */
    snprintf(file, sizeof(file), "%s/a-file", root);
    FILE *f = fopen(file, "w");
    if (f != NULL)
        fclose(f);
    snprintf(dir, sizeof(dir), "%s/mail", file);
    test_capture_start();
    struct plugins *p = load(loop, json_pack("{s:s}", "dir", dir), &ci);
    char *log = test_capture_end();
    tap_ok(!plugins_channel_ready(p, "md"), "a dir under a regular file: the instance fails");
    tap_contains(log, dir, "... the log names the folder");
    tap_contains(log, "Not a directory", "... and says why");
    free(log);
    plugins_free(p);
    test_instance_clear(&ci);

    /* create off: a missing folder is not made. */
    snprintf(dir, sizeof(dir), "%s/nocreate", root);
    test_capture_start();
    p = load(loop, json_pack("{s:s,s:b}", "dir", dir, "create", 0), &ci);
    log = test_capture_end();
    tap_ok(!plugins_channel_ready(p, "md") && !is_dir(dir),
           "create off and no folder: the instance fails and makes nothing");
    tap_contains(log, "create is false", "... the log says why");
    free(log);
    plugins_free(p);
    test_instance_clear(&ci);

    mkdir(dir, 0750);
    mkdir(path2(dir, "tmp"), 0750);
    mkdir(path2(dir, "new"), 0750);
    mkdir(path2(dir, "cur"), 0750);
    p = load(loop, json_pack("{s:s,s:b}", "dir", dir, "create", 0), &ci);
    tap_ok(plugins_channel_ready(p, "md"), "create off on an existing Maildir runs");
    rmdir(path2(dir, "new"));
    struct drumbeat_message m = mail(1, "ada@example.com", "Subject: x\r\n\r\n.\r\n");
    send_wait(loop, p, &m, 1, &g);
    tap_is_int(g.outcome, DRUMBEAT_FAILED, "new/ removed with create off: FAILED");
    tap_contains(g.detail, path2(dir, "new"), "... the detail names the folder");
    tap_contains(g.detail, "create is false", "... and says why");
    tap_is_int(test_count_dir(path2(dir, "tmp")), 0, "... and nothing is left in tmp/");
    tap_ok(!is_dir(path2(dir, "new")), "... and new/ was not made");

    /* No permission: root ignores modes, so only a normal user can check. */
    mkdir(path2(dir, "new"), 0750);
    if (geteuid() == 0) {
        tap_skip(2, "running as root: permissions are not enforced");
    } else {
        struct got gp = { 0 };
        chmod(path2(dir, "tmp"), 0500);
        send_wait(loop, p, &m, 1, &gp);
        chmod(path2(dir, "tmp"), 0750);
        tap_is_int(gp.outcome, DRUMBEAT_FAILED, "tmp/ without write permission: FAILED");
        tap_contains(gp.detail, path2(dir, "tmp"), "... the detail names the folder");
    }
    plugins_free(p);
    test_instance_clear(&ci);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

int main(void)
{
    uv_loop_t loop;
    char root[600];

    tap_plan(52);
    snprintf(root, sizeof(root), "%s", tap_tmpdir());
    uv_loop_init(&loop);
    batch_lands_in_new(&loop, root);
    per_mailbox_folders(&loop, root);
    unusable_folders(&loop, root);
    tap_is_int(test_loop_finish(&loop), 0, "the loop closes cleanly");
    nftw(root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    return tap_done();
}
