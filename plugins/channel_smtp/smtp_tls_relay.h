/* SPDX-License-Identifier: MIT */
/* plugins/channel_smtp/smtp_tls_relay.h: implicit TLS (SMTPS, port 465)
 * for one libesmtp session. libesmtp 1.1.0 can only start TLS with
 * STARTTLS, so for tls "implicit" it talks plain SMTP to a one-shot relay on
 * 127.0.0.1, and the relay carries the bytes to the real server over TLS
 * (verified as the STARTTLS path verifies). The relay accepts exactly one
 * connection, and only one made by this very process, so no other local
 * user can read the plaintext leg (which carries AUTH).
 *
 * Ownership: a struct smtp_tls_relay is the caller's from start to finish;
 * it borrows conf and tls (with its own reference on tls) until finish.
 * Threads: start and finish on the same (pool) thread; the relay runs on a
 * pthread of its own that finish always joins, so none outlives a session.
 */
#ifndef DRUMBEAT_SMTP_TLS_RELAY_H
#define DRUMBEAT_SMTP_TLS_RELAY_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/ssl.h>

#include "smtp_conf.h"

struct smtp_tls_relay;

/* What the relay saw, for the session's verdict and log. */
struct smtp_tls_relay_report {
    bool tls_up;             /* the handshake with the server completed */
    char error[320];         /* the first failure ("TLS: certificate ..."), or "" */
};

/* Listens on 127.0.0.1 (an ephemeral port) and starts the relay thread.
 * address receives "127.0.0.1:PORT" for smtp_set_server(). Returns 0, or a
 * negative errno with err saying why (nothing is left running then). */
int smtp_tls_relay_start(const struct smtp_conf *conf, SSL_CTX *tls,
                         struct smtp_tls_relay **out, char *address, size_t addrlen,
                         char *err, size_t errlen);

/* Stops the relay if it still runs (the session is over), joins its thread,
 * fills rep and frees everything. r may be NULL. */
void smtp_tls_relay_finish(struct smtp_tls_relay *r, struct smtp_tls_relay_report *rep);

#endif /* DRUMBEAT_SMTP_TLS_RELAY_H */
