/* SPDX-License-Identifier: MIT */
/* plugins/channel_smtp/smtp_session.h: one batch of messages over one fresh
 * libesmtp session (one connection), run on the threadpool, and the TLS
 * context sessions share. Each message ends with an outcome, scope, code,
 * enhanced status and detail (smtp_classify.h), judged from libesmtp's
 * per-message statuses and its event callback: a message whose content was
 * fully handed over but whose final reply never came is IN_DOUBT.
 *
 * Ownership: the items array and the messages it points to are the
 * caller's and must outlive smtp_session_run(); the session writes only the
 * result fields. The SSL_CTX from smtp_tls_ctx_new() is the caller's
 * (SSL_CTX_free); each session takes its own reference. With tls
 * "implicit" a session runs a relay thread (smtp_tls_relay.h) and joins it
 * before it returns.
 * Threads: smtp_session_run() blocks; run it on the threadpool, never on the
 * loop. It calls nothing of the host. Several may run at once.
 */
#ifndef DRUMBEAT_SMTP_SESSION_H
#define DRUMBEAT_SMTP_SESSION_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/ssl.h>

#include <drumbeat/plugin.h>

#include "smtp_conf.h"

struct smtp_item {
    const struct drumbeat_message *msg;   /* borrowed from the host until done */
    struct drumbeat_op *op;
    /* Set by smtp_session_run(): */
    bool content_given;      /* the message callback handed out the content */
    bool content_sent;       /* our message callback reached the end of the content */
    bool reply_seen;         /* libesmtp reported the message's final reply */
    bool auth_failure;       /* the outcome is the session's AUTH rejection */
    enum drumbeat_outcome outcome;
    enum drumbeat_scope scope;
    int code;
    char enhanced[24];
    const char *why;         /* short fixed phrase for the log */
    char detail[768];        /* the server's reply or our explanation */
};

/* What happened to the session as a whole, for one log line per batch. */
struct smtp_session_report {
    bool session_failed;     /* no message got a reply: connect, TLS, greeting... */
    bool auth_failed;
    bool tls_up;             /* TLS came up: STARTTLS, or the implicit relay's handshake */
    char reason[640];        /* why, when session_failed or auth_failed */
};

/* Sends items[0..n) over one connection; fills every item's result. */
void smtp_session_run(const struct smtp_conf *conf, SSL_CTX *tls, struct smtp_item *items,
                      size_t n, struct smtp_session_report *rep);

/* smtp_tls_ctx.c: a client TLS context for conf: the CA file (or the
 * system's store), and the configured host as the name to verify. Returns 0, or a negative errno
 * with err saying why. */
int smtp_tls_ctx_new(const struct smtp_conf *conf, SSL_CTX **out, char *err, size_t errlen);

#endif /* DRUMBEAT_SMTP_SESSION_H */
