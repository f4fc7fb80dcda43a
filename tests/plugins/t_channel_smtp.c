/* SPDX-License-Identifier: MIT */
/* tests/plugins/t_channel_smtp.c: plugins/channel_smtp through the real
 * loader (dlopen of the built .so) on a real uv loop and threadpool, against
 * a real SMTP server (tests/helpers/smtp_server.py, aiosmtpd) on 127.0.0.1:
 * a batch lands byte for byte over one session; replies at MAIL, RCPT and
 * DATA map to the right outcome and scope; a connection dropped after the
 * data is IN_DOUBT while its batch-mates are not resent; a refused
 * connection retries and succeeds once the server is back; STARTTLS with a
 * self-signed certificate made here (verify off, with ca_file, and refused
 * without a CA or for a certificate made out to another name, nothing sent in
 * clear); AUTH right and wrong, the password
 * never logged; implicit TLS (SMTPS) through the plugin's loopback relay
 * (delivery, in doubt after DATA, certificate refused, server down);
 * unsafe configurations refused at init. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config.h"
#include "plugin_loader.h"
#include "plugin_test_util.h"
#include "tap.h"

#define PY "/usr/bin/python3"

struct got {
    int calls;
    struct drumbeat_result res;
    char detail[800], enhanced[24];
};

static int total_calls;

static void on_done(void *arg, const struct drumbeat_result *res)
{
    struct got *g = arg;
    g->calls++;
    total_calls++;
    g->res = *res;
    snprintf(g->detail, sizeof(g->detail), "%s", res->detail ? res->detail : "");
    snprintf(g->enhanced, sizeof(g->enhanced), "%s", res->enhanced ? res->enhanced : "");
}

static bool calls_reach(void *arg)
{
    return total_calls >= *(int *)arg;
}

/* ---- the server ---- */

struct srv {
    pid_t pid;
    int port;
    char dir[600];     /* received messages */
};

static int start_server(struct srv *s, const char *extra_json, int port)
{
    char cfg[700], portarg[16], line[32] = "";
    int fds[2];
    FILE *f;

    snprintf(s->dir, sizeof(s->dir), "%s/out", tap_tmpdir());
    snprintf(cfg, sizeof(cfg), "%s.json", s->dir);
    if ((f = fopen(cfg, "w")) == NULL)
        return -errno;
    fprintf(f, "{\"dir\": \"%s\"%s%s}\n", s->dir, extra_json ? ", " : "", extra_json ? extra_json : "");
    fclose(f);
    snprintf(portarg, sizeof(portarg), "%d", port);
    if (pipe(fds) < 0)
        return -errno;
    s->pid = fork();
    if (s->pid == 0) {
        dup2(fds[1], STDOUT_FILENO);
        close(fds[0]);
        close(fds[1]);
        execl(PY, PY, tap_srcpath("tests/helpers/smtp_server.py"), "--config", cfg, "--port",
              portarg, (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    struct pollfd pfd = { .fd = fds[0], .events = POLLIN };
    size_t at = 0;
    while (at + 1 < sizeof(line) && poll(&pfd, 1, 10000) > 0) {
        if (read(fds[0], line + at, 1) != 1 || line[at] == '\n')
            break;
        at++;
    }
    line[at] = '\0';
    close(fds[0]);
    s->port = atoi(line);
    return s->port > 0 ? 0 : -EIO;
}

static void stop_server(struct srv *s)
{
    if (s->pid > 0) {
        kill(s->pid, SIGTERM);
        waitpid(s->pid, NULL, 0);
        s->pid = 0;
    }
}

static char *received(const struct srv *s, const char *file)
{
    char path[800];
    snprintf(path, sizeof(path), "%s/%s", s->dir, file);
    return test_slurp(path);
}

/* ---- the plugin ---- */

static struct plugins *load(uv_loop_t *loop, json_t *opts, struct config_plugin_instance *ci)
{
    struct config cfg = { .path = "smtp.json", .channels = ci, .n_channels = 1 };
    struct plugins *p = NULL;

    *ci = test_instance("smtp", "channel_smtp", opts);
    plugins_new(loop, NULL, NULL, &p);
    plugins_load(p, &cfg, NULL);
    return p;
}

static json_t *plain_opts(int port)
{
    return json_pack("{s:s, s:i, s:s, s:s, s:s}", "host", "127.0.0.1", "port", port, "tls", "none",
                     "command_timeout", "5s", "data_timeout", "5s");
}

static struct drumbeat_message msg(int64_t id, const char *from, const char *rcpt, const char *body)
{
    static char keys[64][32];
    snprintf(keys[id % 64], sizeof(keys[0]), "store1.%lld", (long long)id);
    return (struct drumbeat_message){
        .touch_id = id, .sender = from, .recipient = rcpt, .content_type = "message/rfc822",
        .payload = body, .payload_len = strlen(body), .idempotency_key = keys[id % 64],
    };
}

/* Sends n messages in one batch and waits for every outcome. */
static int send_all(uv_loop_t *loop, struct plugins *p, struct drumbeat_message *m,
                    struct got *g, size_t n)
{
    void *args[64];
    int want = (int)n;
    for (size_t i = 0; i < n; i++) {
        memset(&g[i], 0, sizeof(g[i]));
        args[i] = &g[i];
    }
    total_calls = 0;
    int rc = plugins_send(p, "smtp", m, n, on_done, args);
    if (rc < 0)
        return rc;
    return test_run_until(loop, calls_reach, &want, 20000) ? 0 : -ETIMEDOUT;
}

static const char *const BODY1 =
    "From: Ada <ada@example.com>\r\nTo: a@example.org\r\nSubject: one\r\n"
    "Date: Mon, 2 Mar 2026 09:00:00 +0000\r\nMessage-ID: <k1@example.com>\r\nMIME-Version: 1.0\r\n"
    "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
    "Hola Mar\xc3\xad" "a,\r\n.a line that starts with a dot\r\n.\r\nbye\r\n";
static const char *const BODY2 = "From: ada@example.com\r\nTo: b@example.org\r\nSubject: two\r\n"
                                 "Date: Mon, 2 Mar 2026 09:00:00 +0000\r\nMessage-ID: <k2@example.com>\r\n\r\nbody two\r\n";
static const char *const BODY3 = "From: ada@example.com\r\nTo: c@example.org\r\nSubject: three\r\n"
                                 "Date: Mon, 2 Mar 2026 09:00:00 +0000\r\nMessage-ID: <k3@example.com>\r\n\r\nbody three\r\n";

static void batch_delivered(uv_loop_t *loop)
{
    struct srv s = { 0 };
    struct config_plugin_instance ci;
    struct got g[3];

    tap_is_int(start_server(&s, NULL, 0), 0, "the SMTP server starts");
    json_t *o = plain_opts(s.port);
    json_object_set_new(o, "bounce_address", json_string("bounces+{token}@example.com"));
    struct plugins *p = load(loop, o, &ci);
    tap_ok(plugins_channel_ready(p, "smtp"), "channel_smtp loads and runs");
    tap_is_int(plugins_max_batch(p, "smtp"), 50, "max_batch is 50");
    struct drumbeat_message m[3] = {
        msg(1, "ada@example.com", "a@example.org", BODY1),
        msg(2, "ada@example.com", "b@example.org", BODY2),
        msg(3, "ada@example.com", "c@example.org", BODY3),
    };
    tap_is_int(send_all(loop, p, m, g, 3), 0, "a batch of 3 completes");
    tap_ok(g[0].res.outcome == DRUMBEAT_DONE && g[1].res.outcome == DRUMBEAT_DONE &&
           g[2].res.outcome == DRUMBEAT_DONE, "all 3 are DONE");
    tap_is_int(g[0].res.code, 250, "... with code 250");
    tap_is_str(g[0].enhanced, "2.0.0", "... enhanced 2.0.0");
    tap_contains(g[1].detail, "queued as Q", "the reply text with the queue id is the detail");
    char *b1 = received(&s, "a@example.org.eml"), *b2 = received(&s, "b@example.org.eml"),
         *b3 = received(&s, "c@example.org.eml");
    tap_is_str(b1, BODY1, "message 1 arrived byte for byte (8-bit, dot lines)");
    tap_is_str(b2, BODY2, "message 2 arrived byte for byte");
    tap_is_str(b3, BODY3, "message 3 arrived byte for byte");
    char *meta = received(&s, "a@example.org.json");
    tap_contains(meta, "\"mail_from\": \"bounces+store1.1@example.com\"",
                 "VERP: the envelope sender carries the idempotency key");
    free(b1), free(b2), free(b3), free(meta);
    plugins_free(p);
    test_instance_clear(&ci);
    stop_server(&s);
}

static void replies_classified(uv_loop_t *loop)
{
    struct srv s = { 0 };
    struct config_plugin_instance ci;
    struct got g[9];

    start_server(&s, "\"rules\": ["
        "{\"stage\": \"RCPT\", \"match\": \"gone@example.org\", \"reply\": \"550 5.1.1 <gone@example.org>: Recipient address rejected: User unknown\"},"
        "{\"stage\": \"RCPT\", \"match\": \"policy@example.org\", \"reply\": \"550 5.7.1 Relaying denied\"},"
        "{\"stage\": \"RCPT\", \"match\": \"busy@example.org\", \"reply\": \"451 4.3.0 Try again later\"},"
        "{\"stage\": \"RCPT\", \"match\": \"disabled@example.org\", \"reply\": \"550 5.2.1 Mailbox disabled\"},"
        "{\"stage\": \"MAIL\", \"match\": \"late@example.com\", \"reply\": \"451 4.7.1 Greylisted\"},"
        "{\"stage\": \"MAIL\", \"match\": \"banned@example.com\", \"reply\": \"553 5.7.1 Sender not allowed\"},"
        "{\"stage\": \"DATA\", \"match\": \"full@example.org\", \"reply\": \"452 4.3.1 Insufficient storage\"},"
        "{\"stage\": \"DATA\", \"match\": \"spam@example.org\", \"reply\": \"554 5.6.0 Content rejected\"}]", 0);
    struct plugins *p = load(loop, plain_opts(s.port), &ci);
    struct drumbeat_message m[9] = {
        msg(10, "ada@example.com", "gone@example.org", BODY2),
        msg(11, "ada@example.com", "policy@example.org", BODY2),
        msg(12, "ada@example.com", "busy@example.org", BODY2),
        msg(13, "ada@example.com", "disabled@example.org", BODY2),
        msg(14, "late@example.com", "x@example.org", BODY2),
        msg(15, "banned@example.com", "y@example.org", BODY2),
        msg(16, "ada@example.com", "full@example.org", BODY2),
        msg(17, "ada@example.com", "spam@example.org", BODY2),
        msg(18, "ada@example.com", "fine@example.org", BODY3),
    };
    tap_is_int(send_all(loop, p, m, g, 9), 0, "a batch of 9 with rejections completes");
    tap_ok(g[0].res.outcome == DRUMBEAT_FAILED && g[0].res.scope == DRUMBEAT_SCOPE_RECIPIENT &&
           g[0].res.code == 550 && strcmp(g[0].enhanced, "5.1.1") == 0,
           "550 5.1.1 at RCPT: FAILED, RECIPIENT, 550, 5.1.1");
    tap_contains(g[0].detail, "User unknown", "... with the server's text");
    tap_ok(g[1].res.outcome == DRUMBEAT_FAILED && g[1].res.scope == DRUMBEAT_SCOPE_MAILBOX &&
           strcmp(g[1].enhanced, "5.7.1") == 0, "550 5.7.1 at RCPT: FAILED, MAILBOX");
    tap_is_int(g[2].res.outcome, DRUMBEAT_RETRY, "451 at RCPT: RETRY");
    tap_ok(g[3].res.outcome == DRUMBEAT_FAILED && g[3].res.scope == DRUMBEAT_SCOPE_RECIPIENT,
           "550 5.2.1 at RCPT: FAILED, RECIPIENT");
    tap_is_int(g[4].res.outcome, DRUMBEAT_RETRY, "451 at MAIL: RETRY");
    tap_ok(g[5].res.outcome == DRUMBEAT_FAILED && g[5].res.scope == DRUMBEAT_SCOPE_MAILBOX,
           "553 5.7.1 at MAIL: FAILED, MAILBOX");
    tap_is_int(g[6].res.outcome, DRUMBEAT_RETRY, "452 at DATA: RETRY");
    tap_ok(g[7].res.outcome == DRUMBEAT_FAILED && g[7].res.scope == DRUMBEAT_SCOPE_MAILBOX &&
           g[7].res.code == 554, "554 5.6.0 at DATA: FAILED, MAILBOX");
    tap_is_int(g[8].res.outcome, DRUMBEAT_DONE, "the good one in the same session is sent");
    tap_is_int(test_count_dir(s.dir), 2, "only that one reached the server (.eml + .json)");
    plugins_free(p);
    test_instance_clear(&ci);
    stop_server(&s);

    /* A server without ENHANCEDSTATUSCODES: bare codes. */
    start_server(&s, "\"enhanced\": false, \"rules\": ["
        "{\"stage\": \"RCPT\", \"match\": \"nouser@example.org\", \"reply\": \"550 User unknown in local recipient table\"},"
        "{\"stage\": \"RCPT\", \"match\": \"denied@example.org\", \"reply\": \"550 Requested action not taken: mailbox unavailable\"},"
        "{\"stage\": \"RCPT\", \"match\": \"texty@example.org\", \"reply\": \"550 5.1.1 No such user here\"},"
        "{\"stage\": \"RCPT\", \"match\": \"relay@example.org\", \"reply\": \"553 sorry, that domain isn't in my list of allowed rcpthosts\"}]", 0);
    p = load(loop, plain_opts(s.port), &ci);
    struct drumbeat_message b[4] = {
        msg(20, "ada@example.com", "nouser@example.org", BODY2),
        msg(21, "ada@example.com", "denied@example.org", BODY2),
        msg(22, "ada@example.com", "texty@example.org", BODY2),
        msg(23, "ada@example.com", "relay@example.org", BODY2),
    };
    send_all(loop, p, b, g, 4);
    tap_ok(g[0].res.outcome == DRUMBEAT_FAILED && g[0].res.scope == DRUMBEAT_SCOPE_RECIPIENT &&
           g[0].enhanced[0] == '\0', "bare 550 \"User unknown\": FAILED, RECIPIENT");
    tap_ok(g[1].res.outcome == DRUMBEAT_FAILED && g[1].res.scope == DRUMBEAT_SCOPE_MAILBOX,
           "bare 550 without \"unknown\": FAILED, MAILBOX (never suppress on a guess)");
    tap_ok(g[2].res.scope == DRUMBEAT_SCOPE_RECIPIENT && strcmp(g[2].enhanced, "5.1.1") == 0,
           "5.1.1 in the text of an unadvertised server is still read");
    tap_ok(g[3].res.outcome == DRUMBEAT_FAILED && g[3].res.scope == DRUMBEAT_SCOPE_MAILBOX,
           "bare 553 relay refusal: FAILED, MAILBOX");
    plugins_free(p);
    test_instance_clear(&ci);
    stop_server(&s);
}

static void dropped_and_down(uv_loop_t *loop)
{
    struct srv s = { 0 };
    struct config_plugin_instance ci;
    struct got g[3];

    start_server(&s, "\"drop_after_data\": [\"drop@example.org\"]", 0);
    struct plugins *p = load(loop, plain_opts(s.port), &ci);
    struct drumbeat_message m[3] = {
        msg(30, "ada@example.com", "first@example.org", BODY2),
        msg(31, "ada@example.com", "drop@example.org", BODY2),
        msg(32, "ada@example.com", "after@example.org", BODY3),
    };
    test_capture_start();
    send_all(loop, p, m, g, 3);
    char *log = test_capture_end();
    tap_is_int(g[0].res.outcome, DRUMBEAT_DONE, "before the drop: DONE");
    tap_is_int(g[1].res.outcome, DRUMBEAT_IN_DOUBT, "connection dropped after DATA: IN_DOUBT");
    tap_contains(g[1].detail, "after the message was sent", "... saying why");
    tap_is_int(g[2].res.outcome, DRUMBEAT_RETRY, "the next one in the batch: RETRY (never sent)");
    char *f = received(&s, "after@example.org.eml");
    tap_ok(f == NULL, "... and the server never got it");
    free(f);
    tap_contains(log, "touch=31", "the in-doubt touch is logged");
    free(log);
    plugins_free(p);
    test_instance_clear(&ci);
    int port = s.port;
    stop_server(&s);

    /* Down: connection refused. */
    p = load(loop, plain_opts(port), &ci);
    struct drumbeat_message one = msg(33, "ada@example.com", "back@example.org", BODY3);
    test_capture_start();
    send_all(loop, p, &one, g, 1);
    log = test_capture_end();
    tap_is_int(g[0].res.outcome, DRUMBEAT_RETRY, "connection refused: RETRY");
    tap_contains(g[0].detail, "cannot connect to 127.0.0.1", "... the detail says so");
    tap_contains(log, "cannot send; will retry", "... with a clear log line");
    free(log);
    /* Back on the same port: the retry is delivered. */
    tap_is_int(start_server(&s, NULL, port), 0, "the server comes back on the same port");
    send_all(loop, p, &one, g, 1);
    tap_is_int(g[0].res.outcome, DRUMBEAT_DONE, "the retry succeeds");
    f = received(&s, "back@example.org.eml");
    tap_is_str(f, BODY3, "... byte for byte");
    free(f);
    plugins_free(p);
    test_instance_clear(&ci);
    stop_server(&s);
}

/* A self-signed certificate (and its key) for name, with subjectAltName san,
 * written to dir/name.pem and dir/name.key. */
static int make_cert_named(const char *dir, const char *name, const char *san, char *cert,
                           char *key, size_t len)
{
    char cmd[2400];
    snprintf(cert, len, "%s/%s.pem", dir, name);
    snprintf(key, len, "%s/%s.key", dir, name);
    snprintf(cmd, sizeof(cmd), "openssl req -x509 -newkey rsa:2048 -nodes -days 2 "
             "-subj /CN=%s -addext subjectAltName=%s -keyout '%s' -out '%s' >/dev/null 2>&1",
             name, san, key, cert);
    return system(cmd) == 0 ? 0 : -EIO;
}

/* The test servers' own: valid for 127.0.0.1, where they listen. */
static int make_cert(const char *dir, char *cert, char *key, size_t len)
{
    return make_cert_named(dir, "localhost", "DNS:localhost,IP:127.0.0.1", cert, key, len);
}

static json_t *tls_opts(int port, const char *tls)
{
    json_t *o = plain_opts(port);
    json_object_set_new(o, "tls", json_string(tls));
    return o;
}

static void starttls_and_auth(uv_loop_t *loop)
{
    struct srv s = { 0 };
    struct config_plugin_instance ci;
    struct got g[1];
    char dir[600], cert[700], key[700], extra[2000];

    snprintf(dir, sizeof(dir), "%s", tap_tmpdir());
    if (make_cert(dir, cert, key, sizeof(cert)) < 0) {
        tap_skip(18, "openssl could not make a certificate");
        return;
    }
    snprintf(extra, sizeof(extra), "\"tls\": {\"cert\": \"%s\", \"key\": \"%s\"}", cert, key);
    start_server(&s, extra, 0);

    json_t *o = tls_opts(s.port, "starttls");
    json_object_set_new(o, "verify_cert", json_false());
    struct plugins *p = load(loop, o, &ci);
    struct drumbeat_message m = msg(40, "ada@example.com", "tls1@example.org", BODY2);
    send_all(loop, p, &m, g, 1);
    tap_is_int(g[0].res.outcome, DRUMBEAT_DONE, "STARTTLS, self-signed, verify_cert false: DONE");
    char *meta = received(&s, "tls1@example.org.json");
    tap_contains(meta, "\"tls\": true", "... and it went over TLS");
    free(meta);
    plugins_free(p);
    test_instance_clear(&ci);

    o = tls_opts(s.port, "starttls");
    json_object_set_new(o, "ca_file", json_string(cert));
    p = load(loop, o, &ci);
    m = msg(41, "ada@example.com", "tls2@example.org", BODY2);
    send_all(loop, p, &m, g, 1);
    tap_is_int(g[0].res.outcome, DRUMBEAT_DONE, "STARTTLS verified with ca_file: DONE");
    plugins_free(p);
    test_instance_clear(&ci);

    p = load(loop, tls_opts(s.port, "starttls"), &ci);
    m = msg(42, "ada@example.com", "tls3@example.org", BODY2);
    test_capture_start();
    send_all(loop, p, &m, g, 1);
    char *log = test_capture_end();
    tap_is_int(g[0].res.outcome, DRUMBEAT_RETRY, "verify on without the CA: RETRY");
    tap_contains(g[0].detail, "certificate verification failed", "... the detail says why");
    tap_contains(log, "self-signed", "... and the log line names the problem");
    meta = received(&s, "tls3@example.org.eml");
    tap_ok(meta == NULL, "... and nothing was delivered");
    free(meta);
    free(log);
    plugins_free(p);
    test_instance_clear(&ci);
    stop_server(&s);

    /* A certificate the CA file trusts, but made out to another name: the
     * server at 127.0.0.1 is not the one it names, so nothing is sent. */
    char other_cert[700], other_key[700];
    if (make_cert_named(dir, "other.example", "DNS:other.example", other_cert, other_key,
                        sizeof(other_cert)) == 0) {
        snprintf(extra, sizeof(extra), "\"tls\": {\"cert\": \"%s\", \"key\": \"%s\"}",
                 other_cert, other_key);
        start_server(&s, extra, 0);
        o = tls_opts(s.port, "starttls");
        json_object_set_new(o, "ca_file", json_string(other_cert));
        p = load(loop, o, &ci);
        m = msg(46, "ada@example.com", "name@example.org", BODY2);
        send_all(loop, p, &m, g, 1);
        tap_is_int(g[0].res.outcome, DRUMBEAT_RETRY,
                   "a trusted certificate for another name: RETRY");
        tap_ok(strstr(g[0].detail, "mismatch") != NULL || strstr(g[0].detail, "does not name"),
               "... the detail says the name is wrong: %s", g[0].detail);
        tap_is_int(test_count_dir(s.dir), 0, "... and nothing was delivered");
        plugins_free(p);
        test_instance_clear(&ci);
        stop_server(&s);
    } else {
        tap_skip(3, "openssl could not make a second certificate");
    }

    /* A server without STARTTLS: required TLS sends nothing in clear. */
    start_server(&s, NULL, 0);
    p = load(loop, tls_opts(s.port, "starttls"), &ci);
    m = msg(43, "ada@example.com", "clear@example.org", BODY2);
    send_all(loop, p, &m, g, 1);
    tap_is_int(g[0].res.outcome, DRUMBEAT_RETRY, "no STARTTLS offered, tls starttls: RETRY");
    tap_contains(g[0].detail, "does not offer STARTTLS", "... saying so");
    tap_is_int(test_count_dir(s.dir), 0, "... and nothing was sent in clear");
    plugins_free(p);
    test_instance_clear(&ci);
    stop_server(&s);

    /* AUTH over STARTTLS. */
    snprintf(extra, sizeof(extra), "\"tls\": {\"cert\": \"%s\", \"key\": \"%s\"}, "
             "\"auth\": {\"user\": \"ada\", \"password\": \"S3cret-pw-right\"}", cert, key);
    start_server(&s, extra, 0);
    char pwfile[700];
    snprintf(pwfile, sizeof(pwfile), "%s/pw", dir);
    FILE *f = fopen(pwfile, "w");
    fputs("S3cret-pw-right\n", f);
    fclose(f);
    test_capture_start();
    o = tls_opts(s.port, "starttls");
    json_object_set_new(o, "ca_file", json_string(cert));
    json_object_set_new(o, "username", json_string("ada"));
    json_object_set_new(o, "password_file", json_string(pwfile));
    p = load(loop, o, &ci);
    m = msg(44, "ada@example.com", "auth1@example.org", BODY2);
    send_all(loop, p, &m, g, 1);
    tap_is_int(g[0].res.outcome, DRUMBEAT_DONE, "AUTH with the right password: DONE");
    meta = received(&s, "auth1@example.org.json");
    tap_contains(meta, "\"auth\": \"ada\"", "... as the authenticated user");
    free(meta);
    plugins_free(p);
    test_instance_clear(&ci);

    setenv("T_SMTP_PW", "Wr0ng-pw-value", 1);
    o = tls_opts(s.port, "starttls");
    json_object_set_new(o, "ca_file", json_string(cert));
    json_object_set_new(o, "username", json_string("ada"));
    json_object_set_new(o, "password_env", json_string("T_SMTP_PW"));
    p = load(loop, o, &ci);
    m = msg(45, "ada@example.com", "auth2@example.org", BODY2);
    send_all(loop, p, &m, g, 1);
    log = test_capture_end();
    tap_ok(g[0].res.outcome == DRUMBEAT_FAILED && g[0].res.scope == DRUMBEAT_SCOPE_MAILBOX,
           "AUTH with a wrong password: FAILED, MAILBOX");
    tap_contains(g[0].detail, "authentication rejected: 535", "... with the server's 535");
    tap_ok(strstr(log, "S3cret-pw-right") == NULL && strstr(log, "Wr0ng-pw-value") == NULL &&
           strstr(g[0].detail, "Wr0ng") == NULL, "no password in the log or the detail");
    free(log);
    plugins_free(p);
    test_instance_clear(&ci);
    stop_server(&s);
}

/* tls "implicit": libesmtp talks to the plugin's loopback TLS relay. */
static void implicit_tls(uv_loop_t *loop)
{
    struct srv s = { 0 };
    struct config_plugin_instance ci;
    struct got g[3];
    char dir[600], cert[700], key[700], extra[2000];

    snprintf(dir, sizeof(dir), "%s/smtps", tap_tmpdir());
    mkdir(dir, 0700);
    if (make_cert(dir, cert, key, sizeof(cert)) < 0) {
        tap_skip(11, "openssl could not make a certificate");
        return;
    }
    snprintf(extra, sizeof(extra), "\"implicit_tls\": {\"cert\": \"%s\", \"key\": \"%s\"}, "
             "\"drop_after_data\": [\"drop@example.org\"]", cert, key);
    start_server(&s, extra, 0);
    json_t *o = tls_opts(s.port, "implicit");
    json_object_set_new(o, "ca_file", json_string(cert));
    struct plugins *p = load(loop, o, &ci);
    struct drumbeat_message m[3] = {
        msg(50, "ada@example.com", "smtps1@example.org", BODY1),
        msg(51, "ada@example.com", "drop@example.org", BODY2),
        msg(52, "ada@example.com", "smtps3@example.org", BODY3),
    };
    send_all(loop, p, m, g, 3);
    tap_is_int(g[0].res.outcome, DRUMBEAT_DONE, "implicit TLS verified with ca_file: DONE");
    char *b = received(&s, "smtps1@example.org.eml"), *meta = received(&s, "smtps1@example.org.json");
    tap_is_str(b, BODY1, "... byte for byte through the relay");
    tap_contains(meta, "\"tls\": true", "... and over TLS");
    free(b), free(meta);
    tap_is_int(g[1].res.outcome, DRUMBEAT_IN_DOUBT, "implicit TLS, dropped after DATA: IN_DOUBT");
    tap_is_int(g[2].res.outcome, DRUMBEAT_RETRY, "... and the next one: RETRY");
    plugins_free(p);
    test_instance_clear(&ci);

    p = load(loop, tls_opts(s.port, "implicit"), &ci);
    struct drumbeat_message one = msg(53, "ada@example.com", "smtps4@example.org", BODY2);
    test_capture_start();
    send_all(loop, p, &one, g, 1);
    char *log = test_capture_end();
    tap_is_int(g[0].res.outcome, DRUMBEAT_RETRY, "implicit TLS, verify on without the CA: RETRY");
    tap_contains(g[0].detail, "TLS: certificate verification failed", "... the detail says why");
    tap_contains(log, "self-signed", "... and the log line names the problem");
    b = received(&s, "smtps4@example.org.eml");
    tap_ok(b == NULL, "... and nothing was delivered");
    free(b), free(log);
    plugins_free(p);
    test_instance_clear(&ci);
    int port = s.port;
    stop_server(&s);

    p = load(loop, tls_opts(port, "implicit"), &ci);
    one = msg(54, "ada@example.com", "smtps5@example.org", BODY2);
    send_all(loop, p, &one, g, 1);
    tap_is_int(g[0].res.outcome, DRUMBEAT_RETRY, "implicit TLS, server down: RETRY");
    tap_contains(g[0].detail, "cannot connect to the server", "... the detail says so");
    plugins_free(p);
    test_instance_clear(&ci);
}

static void refused_configs(uv_loop_t *loop)
{
    struct config_plugin_instance ci;

    setenv("T_SMTP_PW", "Wr0ng-pw-value", 1);
    json_t *o = tls_opts(2525, "opportunistic");
    json_object_set_new(o, "username", json_string("ada"));
    json_object_set_new(o, "password_env", json_string("T_SMTP_PW"));
    test_capture_start();
    struct plugins *p = load(loop, o, &ci);
    char *log = test_capture_end();
    tap_ok(!plugins_channel_ready(p, "smtp"), "AUTH over opportunistic STARTTLS: refused at init");
    tap_contains(log, "AUTH needs tls \"starttls\"", "... saying what to change");
    tap_ok(strstr(log, "Wr0ng-pw-value") == NULL, "... without the password");
    free(log);
    plugins_free(p);
    test_instance_clear(&ci);

    /* Not refused: implicit TLS, port 0 meaning 465, and AUTH over it. */
    o = tls_opts(0, "implicit");
    json_object_set_new(o, "username", json_string("ada"));
    json_object_set_new(o, "password_env", json_string("T_SMTP_PW"));
    test_capture_start();
    p = load(loop, o, &ci);
    log = test_capture_end();
    tap_ok(plugins_channel_ready(p, "smtp"), "tls implicit with AUTH: accepted at init");
    tap_contains(log, "server=127.0.0.1:465 tls=implicit", "... port 0 resolves to 465");
    tap_ok(strstr(log, "Wr0ng-pw-value") == NULL, "... without the password in the log");
    free(log);
    plugins_free(p);
    test_instance_clear(&ci);
}

int main(void)
{
    uv_loop_t loop;

    if (access(PY, X_OK) != 0 || system(PY " -c 'import aiosmtpd' 2>/dev/null") != 0)
        tap_skip_all("needs /usr/bin/python3 with aiosmtpd (python3-aiosmtpd)");
    /* The daemon ignores SIGPIPE; so must its stand-in, or a server that
     * hangs up kills the test. */
    signal(SIGPIPE, SIG_IGN);
    tap_plan(76);
    uv_loop_init(&loop);
    batch_delivered(&loop);
    replies_classified(&loop);
    dropped_and_down(&loop);
    starttls_and_auth(&loop);
    implicit_tls(&loop);
    refused_configs(&loop);
    tap_is_int(test_loop_finish(&loop), 0, "the loop closes cleanly");
    return tap_done();
}
