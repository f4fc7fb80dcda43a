/* SPDX-License-Identifier: MIT */
/* plugins/channel_smtp/smtp_tls_ctx.c: the client TLS context that a
 * mailbox's sessions share (smtp_session.h): the protocol versions, the CA
 * file or the system's store, and the configured host as the name the
 * certificate must carry. Its verdict is read in smtp_session.c's event
 * callback, which is where a failed check refuses the session.
 */
#include <errno.h>
#include <stdio.h>

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "smtp_session.h"

int smtp_tls_ctx_new(const struct smtp_conf *conf, SSL_CTX **out, char *err, size_t errlen)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

    if (ctx == NULL)
        return snprintf(err, errlen, "cannot create a TLS context"), -ENOMEM;
    /* TLS 1.2 only. libesmtp 1.1.0's I/O layer polls the socket and asks
     * SSL_pending() before reading; with TLS 1.3 the server's post-handshake
     * NewSessionTicket records can leave a reply inside OpenSSL where that
     * check does not see it, and the session stalls until its timeout (seen
     * against aiosmtpd in about one session in five). Every relay we
     * target (Google, Microsoft, Postfix) speaks TLS 1.2. */
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_max_proto_version(ctx, TLS1_2_VERSION);
    /* VERIFY_NONE lets the handshake finish so that libesmtp reports the
     * verification result through its events, where we refuse it (and can
     * say why); nothing is sent before that decision. */
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    if (conf->ca_file != NULL) {
        if (SSL_CTX_load_verify_locations(ctx, conf->ca_file, NULL) != 1) {
            snprintf(err, errlen, "ca_file: cannot load CA certificates from \"%s\"",
                     conf->ca_file);
            SSL_CTX_free(ctx);
            return -EINVAL;
        }
    } else if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
        snprintf(err, errlen, "cannot load the system's CA certificates");
        SSL_CTX_free(ctx);
        return -EIO;
    }
    X509_VERIFY_PARAM *param = SSL_CTX_get0_param(ctx);
    if (X509_VERIFY_PARAM_set1_ip_asc(param, conf->host) != 1 &&
        X509_VERIFY_PARAM_set1_host(param, conf->host, 0) != 1) {
        snprintf(err, errlen, "host: \"%s\" is not a name a certificate can carry", conf->host);
        SSL_CTX_free(ctx);
        return -EINVAL;
    }
    *out = ctx;
    return 0;
}
