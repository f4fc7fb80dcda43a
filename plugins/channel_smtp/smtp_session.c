/* SPDX-License-Identifier: MIT */
/* plugins/channel_smtp/smtp_session.c: one batch over one fresh libesmtp
 * session (see smtp_session.h).
 *
 * Why each rule:
 * - A session is created, started once and destroyed. libesmtp's
 *   smtp_start_session() on a used session resends every recipient not
 *   marked complete, including one whose DATA broke off: that would bypass
 *   in_doubt and could deliver twice.
 * - Every timeout is ORed with Timeout_OVERRIDE_RFC2822_MINIMUM, otherwise
 *   libesmtp raises it to RFC 5321's minimum (up to 10 minutes) and a stuck
 *   server holds a pool thread that long.
 * - Certificate events answer *ok = 0 unless verify_cert is off. The name
 *   is checked by OpenSSL (X509_VERIFY_PARAM, which knows IP addresses);
 *   libesmtp's own name match only knows DNS names, so its "wrong peer
 *   certificate" event is accepted only when OpenSSL's check passed.
 * - libesmtp returns 1 from smtp_start_session() even when STARTTLS failed,
 *   so each message is judged by its own statuses, never by that value.
 * - AUTH: libesmtp carries on without authentication when AUTH is refused.
 *   We watch the AUTH replies (protocol monitor) and report the rejection
 *   for every message that was not accepted anyway.
 * - tls "implicit": libesmtp speaks plain SMTP, STARTTLS off, to a relay on
 *   loopback that does the TLS (smtp_tls_relay.c). The relay is joined as
 *   soon as the session returns, before the verdicts, because its failure
 *   (a certificate, say) is the reason the messages were not sent.
 * The headers must come first: libesmtp.h declares its OpenSSL and SASL
 * parts only when those headers were included before it. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <auth-client.h>
#include <libesmtp.h>

#include "smtp_classify.h"
#include "smtp_session.h"
#include "smtp_tls_relay.h"

/* Everything the callbacks of one session share. */
struct sess {
    const struct smtp_conf *conf;
    SSL_CTX *tls;
    bool connected;
    bool tls_up;
    char tls_error[320];          /* why TLS was refused, or "" */
    bool auth_pending;            /* an AUTH exchange is under way */
    bool auth_failed;
    struct smtp_reply auth_reply;
    char auth_text[256];
};

/* Hands the message to libesmtp in one piece. libesmtp rewinds with
 * len == NULL and frees *ctx itself, so *ctx stays unused (NULL). Asked
 * again after the content, we answer "end" and note that the whole message
 * has been handed over: from then on a broken connection means in doubt. */
static const char *sess_message_cb(void **ctx, int *len, void *arg)
{
    struct smtp_item *it = arg;
    static const char empty[1];

    (void)ctx;
    if (len == NULL) {
        it->content_given = it->content_sent = false;
        return NULL;
    }
    if (!it->content_given) {
        it->content_given = true;
        *len = (int)it->msg->payload_len;
        return it->msg->payload;
    }
    it->content_sent = true;
    *len = 0;
    return empty;
}

static void cert_ok(struct sess *s, int *ok, const char *what)
{
    if (!s->conf->verify_cert) {
        *ok = 1;                      /* verification is off by explicit config */
        return;
    }
    *ok = 0;
    if (s->tls_error[0] == '\0')
        snprintf(s->tls_error, sizeof(s->tls_error), "TLS: %s", what);
}

static void sess_event_cb(smtp_session_t session, int event, void *arg, ...)
{
    struct sess *s = arg;
    va_list ap;

    (void)session;
    va_start(ap, arg);
    switch (event) {
    case SMTP_EV_CONNECT:
        s->connected = true;
        break;
    case SMTP_EV_MESSAGESENT: {
        smtp_message_t m = va_arg(ap, smtp_message_t);
        struct smtp_item *it = smtp_message_get_application_data(m);
        if (it != NULL)
            it->reply_seen = true;
        break;
    }
    case SMTP_EV_STARTTLS_OK:
        s->tls_up = true;
        break;
    case SMTP_EV_INVALID_PEER_CERTIFICATE: {
        long vfy = va_arg(ap, long);
        int *ok = va_arg(ap, int *);
        char what[200];
        snprintf(what, sizeof(what), "certificate verification failed: %s",
                 X509_verify_cert_error_string(vfy));
        cert_ok(s, ok, what);
        break;
    }
    case SMTP_EV_NO_PEER_CERTIFICATE: {
        int *ok = va_arg(ap, int *);
        cert_ok(s, ok, "the server sent no certificate");
        break;
    }
    case SMTP_EV_WRONG_PEER_CERTIFICATE: {
        int *ok = va_arg(ap, int *);
        (void)va_arg(ap, char *);
        SSL *ssl = va_arg(ap, SSL *);
        /* OpenSSL already matched the name (an IP address too) when the
         * chain verified: see smtp_tls_ctx_new(). */
        if (s->conf->verify_cert && ssl != NULL && SSL_get_verify_result(ssl) == X509_V_OK)
            *ok = 1;
        else
            cert_ok(s, ok, "the certificate does not name the server");
        break;
    }
    case SMTP_EV_WEAK_CIPHER: {
        (void)va_arg(ap, int);
        int *ok = va_arg(ap, int *);
        *ok = 0;
        snprintf(s->tls_error, sizeof(s->tls_error), "TLS: the negotiated cipher is too weak");
        break;
    }
    case SMTP_EV_NO_CLIENT_CERTIFICATE: {
        int *ok = va_arg(ap, int *);
        *ok = 0;
        break;
    }
    case SMTP_EV_UNUSABLE_CA_LIST:
    case SMTP_EV_UNUSABLE_CLIENT_CERTIFICATE:
        snprintf(s->tls_error, sizeof(s->tls_error), "TLS: unusable certificate files");
        break;
    case SMTP_EV_EXTNA_STARTTLS:
        snprintf(s->tls_error, sizeof(s->tls_error),
                 "TLS: the server does not offer STARTTLS, which tls \"starttls\" requires; "
                 "nothing was sent");
        break;
    default:
        break;
    }
    va_end(ap);
}

/* The protocol monitor: spots AUTH and reads its final reply. It never
 * keeps what we write (the AUTH lines carry the password), only the
 * server's reply line. libesmtp turns the monitor off during DATA. */
static void sess_monitor_cb(const char *buf, int len, int writing, void *arg)
{
    struct sess *s = arg;

    if (writing == SMTP_CB_WRITING) {
        if (len >= 5 && strncasecmp(buf, "AUTH ", 5) == 0)
            s->auth_pending = true;
        return;
    }
    if (writing != SMTP_CB_READING || !s->auth_pending || len < 3)
        return;
    int code = (buf[0] - '0') * 100 + (buf[1] - '0') * 10 + (buf[2] - '0');
    if (code == 334 || code < 200 || code > 599)
        return;                       /* a challenge: the exchange goes on */
    s->auth_pending = false;
    if (code / 100 == 2)
        return;
    size_t n = 0;
    const char *text = buf + 3;
    size_t left = (size_t)len - 3;
    if (left > 0 && (*text == ' ' || *text == '-'))
        text++, left--;
    while (n < left && n + 1 < sizeof(s->auth_text) && text[n] != '\r' && text[n] != '\n')
        n++;
    memcpy(s->auth_text, text, n);
    s->auth_text[n] = '\0';
    s->auth_failed = true;
    s->auth_reply = (struct smtp_reply){ .code = code, .text = s->auth_text };
}

/* libesmtp asks for the user name and password. */
static int sess_auth_interact(auth_client_request_t req, char **result, int fields, void *arg)
{
    struct sess *s = arg;
    static char empty[] = "";

    for (int i = 0; i < fields; i++) {
        if (req[i].flags & AUTH_USER)
            result[i] = (char *)s->conf->username;
        else if (req[i].flags & AUTH_PASS)
            result[i] = s->conf->password;
        else
            result[i] = empty;        /* a realm: none */
    }
    return 1;
}

static void trim_copy(char *out, size_t len, const char *text)
{
    size_t n;
    if (text == NULL)
        text = "";
    n = strlen(text);
    while (n > 0 && (text[n - 1] == '\r' || text[n - 1] == '\n' || text[n - 1] == ' '))
        n--;
    if (n >= len)
        n = len - 1;
    memcpy(out, text, n);
    out[n] = '\0';
}

/* Records a reply's verdict on an item: "<code> <enhanced> <text>". */
static void judge_reply(struct smtp_item *it, enum smtp_stage stage, const smtp_status_t *st)
{
    struct smtp_reply r = { .code = st->code, .enh_class = st->enh_class,
                            .enh_subject = st->enh_subject, .enh_detail = st->enh_detail,
                            .text = st->text };
    struct smtp_verdict v;
    char text[400];

    smtp_classify_reply(stage, &r, &v);
    it->outcome = v.outcome;
    it->scope = v.scope;
    it->code = st->code;
    it->why = v.why;
    snprintf(it->enhanced, sizeof(it->enhanced), "%s", v.enhanced);
    trim_copy(text, sizeof(text), st->text);
    if (st->enh_class != 0)
        snprintf(it->detail, sizeof(it->detail), "%d %s %s", st->code, v.enhanced, text);
    else
        snprintf(it->detail, sizeof(it->detail), "%d %s", st->code, text);
}

static void judge_break(struct smtp_item *it, const char *reason)
{
    struct smtp_verdict v;

    smtp_classify_break(it->content_sent, &v);
    it->outcome = v.outcome;
    it->scope = v.scope;
    it->code = 0;
    it->enhanced[0] = '\0';
    it->why = v.why;
    if (reason != NULL && *reason != '\0' && !it->content_sent)
        snprintf(it->detail, sizeof(it->detail), "not sent: %s", reason);
    else
        snprintf(it->detail, sizeof(it->detail), "%s", v.why);
}

static void judge(struct sess *s, struct smtp_item *it, smtp_message_t m, smtp_recipient_t r,
                  const char *reason)
{
    const smtp_status_t *mail = smtp_reverse_path_status(m);
    const smtp_status_t *rcpt = smtp_recipient_status(r);
    const smtp_status_t *data = smtp_message_transfer_status(m);

    if (it->reply_seen && data != NULL && data->code / 100 == 2 && it->content_sent) {
        judge_reply(it, SMTP_STAGE_DATA_END, data);   /* accepted, AUTH or not */
        return;
    }
    if (s->auth_failed) {
        struct smtp_status st = { .code = s->auth_reply.code, .text = s->auth_text };
        judge_reply(it, SMTP_STAGE_AUTH, &st);
        it->auth_failure = true;
        char d[sizeof(it->detail)];
        snprintf(d, sizeof(d), "authentication rejected: %s", it->detail);
        snprintf(it->detail, sizeof(it->detail), "%s", d);
        return;
    }
    if (mail == NULL || mail->code == 0) {
        judge_break(it, reason);
        return;
    }
    if (mail->code / 100 != 2) {
        judge_reply(it, SMTP_STAGE_MAIL, mail);
        return;
    }
    if (rcpt == NULL || rcpt->code == 0) {
        judge_break(it, reason);
        return;
    }
    if (rcpt->code / 100 != 2) {
        judge_reply(it, SMTP_STAGE_RCPT, rcpt);
        return;
    }
    if (it->reply_seen && data != NULL && data->code != 0) {
        judge_reply(it, it->content_sent ? SMTP_STAGE_DATA_END : SMTP_STAGE_DATA, data);
        return;
    }
    judge_break(it, reason);
}

/* Whether the content has bytes above 127 (it then needs 8BITMIME). */
static bool has_8bit(const char *p, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)p[i] & 0x80)
            return true;
    return false;
}

static void fail_all(struct smtp_item *items, size_t n, struct smtp_session_report *rep,
                     const char *why)
{
    rep->session_failed = true;
    snprintf(rep->reason, sizeof(rep->reason), "%s", why);
    for (size_t i = 0; i < n; i++)
        judge_break(&items[i], why);
}

void smtp_session_run(const struct smtp_conf *conf, SSL_CTX *tls, struct smtp_item *items,
                      size_t n, struct smtp_session_report *rep)
{
    struct sess s = { .conf = conf, .tls = tls };
    smtp_session_t session = smtp_create_session();
    auth_context_t auth = NULL;
    smtp_message_t *msgs = calloc(n, sizeof(*msgs));
    smtp_recipient_t *rcpts = calloc(n, sizeof(*rcpts));
    char reason[640] = "";
    struct smtp_tls_relay *relay = NULL;
    char server[64];

    memset(rep, 0, sizeof(*rep));
    for (size_t i = 0; i < n; i++) {
        items[i].content_given = items[i].content_sent = false;
        items[i].reply_seen = items[i].auth_failure = false;
    }
    if (session == NULL || msgs == NULL || rcpts == NULL) {
        fail_all(items, n, rep, "out of memory");
        goto out;
    }
    smtp_set_hostname(session, conf->helo_name);
    smtp_set_eventcb(session, sess_event_cb, &s);
    smtp_set_monitorcb(session, sess_monitor_cb, &s, 0);
    smtp_set_timeout(session, Timeout_GREETING | Timeout_OVERRIDE_RFC2822_MINIMUM,
                     conf->connect_timeout_ms);
    smtp_set_timeout(session, Timeout_ENVELOPE | Timeout_OVERRIDE_RFC2822_MINIMUM,
                     conf->command_timeout_ms);
    smtp_set_timeout(session, Timeout_DATA | Timeout_OVERRIDE_RFC2822_MINIMUM,
                     conf->command_timeout_ms);
    smtp_set_timeout(session, Timeout_TRANSFER | Timeout_OVERRIDE_RFC2822_MINIMUM,
                     conf->data_timeout_ms);
    smtp_set_timeout(session, Timeout_DATA2 | Timeout_OVERRIDE_RFC2822_MINIMUM,
                     conf->data_timeout_ms);
    switch (conf->tls) {
    case SMTP_TLS_STARTTLS:
        smtp_starttls_enable(session, Starttls_REQUIRED);
        break;
    case SMTP_TLS_OPPORTUNISTIC:
        smtp_starttls_enable(session, Starttls_ENABLED);
        break;
    default:
        /* none, and implicit: the relay does the TLS, from the first byte */
        smtp_starttls_enable(session, Starttls_DISABLED);
        break;
    }
    /* Always our context: libesmtp's own would read ~/.authenticate. */
    if (tls != NULL)
        smtp_starttls_set_ctx(session, tls);
    if (conf->username != NULL) {
        auth = auth_create_context();
        if (auth == NULL) {
            fail_all(items, n, rep, "out of memory");
            goto out;
        }
        auth_set_mechanism_flags(auth, AUTH_PLUGIN_PLAIN, 0);
        auth_set_interact_cb(auth, sess_auth_interact, &s);
        smtp_auth_set_context(session, auth);
    }

    for (size_t i = 0; i < n; i++) {
        struct smtp_item *it = &items[i];
        char rpath[512];
        int rc = smtp_conf_reverse_path(conf, it->msg->sender, it->msg->idempotency_key,
                                        rpath, sizeof(rpath));
        msgs[i] = smtp_add_message(session);
        if (msgs[i] == NULL || rc < 0 || it->msg->recipient == NULL ||
            (rcpts[i] = smtp_add_recipient(msgs[i], it->msg->recipient)) == NULL) {
            fail_all(items, n, rep, rc < 0 ? "no usable envelope sender" : "out of memory");
            goto out;
        }
        smtp_set_reverse_path(msgs[i], rpath);
        smtp_message_set_application_data_release(msgs[i], it, NULL);
        smtp_set_messagecb(msgs[i], sess_message_cb, it);
        if (has_8bit(it->msg->payload, it->msg->payload_len))
            smtp_8bitmime_set_body(msgs[i], E8bitmime_8BITMIME);
    }

    /* The relay listens only now, for as short a time as can be. */
    if (conf->tls == SMTP_TLS_IMPLICIT) {
        char err[256];
        if (smtp_tls_relay_start(conf, tls, &relay, server, sizeof(server), err,
                                 sizeof(err)) < 0) {
            fail_all(items, n, rep, err);
            goto out;
        }
        smtp_set_server(session, server);
    } else {
        smtp_set_server(session, conf->hostport);
    }
    /* Started exactly once; see the top of this file. */
    if (!smtp_start_session(session)) {
        char buf[200];
        int e = smtp_errno();
        const char *what = smtp_strerror(e, buf, sizeof(buf));
        snprintf(reason, sizeof(reason), "%s %s: %s",
                 s.connected ? "session with" : "cannot connect to", conf->hostport,
                 what != NULL ? what : "unknown error");
    }
    if (relay != NULL) {
        struct smtp_tls_relay_report rr;
        smtp_tls_relay_finish(relay, &rr);
        relay = NULL;
        s.tls_up = rr.tls_up;
        if (rr.error[0] != '\0' && s.tls_error[0] == '\0')
            snprintf(s.tls_error, sizeof(s.tls_error), "%s", rr.error);
    }
    if (s.tls_error[0] != '\0')
        snprintf(reason, sizeof(reason), "%s (%s)", s.tls_error, conf->hostport);
    else if (reason[0] == '\0')
        snprintf(reason, sizeof(reason), "the session with %s ended before this message",
                 conf->hostport);

    size_t replied = 0;
    for (size_t i = 0; i < n; i++) {
        judge(&s, &items[i], msgs[i], rcpts[i], reason);
        if (items[i].code != 0)
            replied++;
    }
    rep->tls_up = s.tls_up;
    rep->auth_failed = s.auth_failed;
    if (s.auth_failed)
        snprintf(rep->reason, sizeof(rep->reason), "AUTH rejected by %s: %d %s",
                 conf->hostport, s.auth_reply.code, s.auth_text);
    else if (replied == 0) {
        rep->session_failed = true;
        snprintf(rep->reason, sizeof(rep->reason), "%s", reason);
    }
out:
    smtp_tls_relay_finish(relay, NULL);
    if (session != NULL)
        smtp_destroy_session(session);
    if (auth != NULL)
        auth_destroy_context(auth);
    free(msgs);
    free(rcpts);
    /* A pool thread is not ours: release its OpenSSL thread state (error
     * queue and the like) now, since nothing does when the thread exits. */
    if (tls != NULL) {
        ERR_clear_error();
        OPENSSL_thread_stop();
    }
}
