/* SPDX-License-Identifier: MIT */
/* plugins/channel_smtp/smtp_tls_relay.c: the one-shot loopback relay that
 * gives libesmtp implicit TLS (see smtp_tls_relay.h).
 *
 * The thread: accept one connection (within connect_timeout), close the
 * listener at once, refuse a peer that is not our own socket, connect to
 * the server and finish the TLS handshake (both within connect_timeout,
 * which is also libesmtp's wait for the greeting), then copy bytes both ways
 * until either side closes. The session then sees exactly what a direct
 * connection would show: a server that breaks off after DATA breaks the
 * loopback leg at the same point, so "in doubt" is judged as before.
 * Every wait also watches stop_fd, so finish() never waits on a relay whose
 * session is over. All sockets and the SSL are the thread's; it closes them
 * before it returns.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "smtp_loopback_peer.h"
#include "smtp_tls_relay.h"

struct smtp_tls_relay {
    const struct smtp_conf *conf;   /* borrowed until finish */
    SSL_CTX *tls;                   /* our reference, dropped at finish */
    int listen_fd;                  /* the thread's once started; it closes it */
    int stop_fd;                    /* eventfd: finish() wakes the thread */
    pthread_t thread;
    struct smtp_tls_relay_report rep;   /* written by the thread, read after join */
};

enum { RELAY_BUF = 16384 };

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void relay_fail(struct smtp_tls_relay *r, const char *fmt, const char *arg)
{
    if (r->rep.error[0] == '\0')      /* the first failure is the cause */
        snprintf(r->rep.error, sizeof(r->rep.error), fmt, arg != NULL ? arg : "");
}

/* Polls pfd[0..n) plus stop_fd until deadline_ms (or forever when < 0).
 * Returns 1 when some fd is ready, 0 on timeout, -ECANCELED when told to
 * stop, or a negative errno. pfd must have room for n + 1 entries. */
static int relay_poll(struct smtp_tls_relay *r, struct pollfd *pfd, int n, int64_t deadline_ms)
{
    pfd[n] = (struct pollfd){ .fd = r->stop_fd, .events = POLLIN };
    for (;;) {
        int wait = -1;
        if (deadline_ms >= 0) {
            int64_t left = deadline_ms - now_ms();
            if (left <= 0)
                return 0;
            wait = left > INT32_MAX ? INT32_MAX : (int)left;
        }
        int rc = poll(pfd, (nfds_t)n + 1, wait);
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc < 0)
            return -errno;
        if (rc == 0)
            return 0;
        if (pfd[n].revents != 0)
            return -ECANCELED;
        return 1;
    }
}

/* Accepts the session's connection and closes the listener: one peer only. */
static int accept_one(struct smtp_tls_relay *r, int64_t deadline)
{
    struct pollfd pfd[2] = { { .fd = r->listen_fd, .events = POLLIN } };
    int rc = relay_poll(r, pfd, 1, deadline);
    int fd = rc == 1 ? accept4(r->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC) : -1;
    int err = errno;

    close(r->listen_fd);
    r->listen_fd = -1;
    if (rc == 0)
        relay_fail(r, "the session did not connect to its TLS relay in time%s", NULL);
    else if (rc == 1 && fd < 0)
        relay_fail(r, "TLS relay: accept failed: %s", strerror(err));
    int ours = fd >= 0 ? smtp_loopback_peer_is_ours(fd) : 0;
    if (ours < 0) {
        /* Someone else reached the port first, or we cannot tell: the
         * plaintext leg carries AUTH, so never talk to them. */
        if (ours == -EPERM)
            relay_fail(r, "TLS relay: refused a loopback connection from another process%s", NULL);
        else
            relay_fail(r, "TLS relay: cannot tell who connected, refused: %s", strerror(-ours));
        close(fd);
        fd = -1;
    }
    return fd;
}

/* Waits for fd to be ready for events before deadline, giving up when the
 * session closes its end (cli, POLLRDHUP) or finish() stops us. */
static int wait_server(struct smtp_tls_relay *r, int fd, short events, int cli, int64_t deadline)
{
    struct pollfd pfd[3] = { { .fd = fd, .events = events },
                             { .fd = cli, .events = POLLRDHUP } };
    int rc = relay_poll(r, pfd, 2, deadline);
    if (rc == 1 && pfd[1].revents != 0 && pfd[0].revents == 0)
        return -ECONNABORTED;
    return rc;
}

static int connect_server(struct smtp_tls_relay *r, int cli, int64_t deadline)
{
    const struct smtp_conf *conf = r->conf;
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
    struct addrinfo *res = NULL;
    char port[8];
    int fd = -1, err = ECONNREFUSED;

    snprintf(port, sizeof(port), "%d", conf->port);
    int gai = getaddrinfo(conf->host, port, &hints, &res);
    if (gai != 0) {
        relay_fail(r, "cannot resolve the server: %s", gai_strerror(gai));
        return -1;
    }
    for (struct addrinfo *ai = res; ai != NULL && fd < 0; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                    ai->ai_protocol);
        if (fd < 0) {
            err = errno;
            continue;
        }
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
            break;
        err = errno;
        if (err == EINPROGRESS) {
            int rc = wait_server(r, fd, POLLOUT, cli, deadline);
            socklen_t len = sizeof(err);
            if (rc == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0)
                break;
            if (rc <= 0)
                err = rc == 0 ? ETIMEDOUT : -rc;
        }
        close(fd);
        fd = -1;
        if (err == ETIMEDOUT || err == ECANCELED || err == ECONNABORTED)
            break;            /* out of time: no other address gets a go */
    }
    freeaddrinfo(res);
    if (fd < 0 && err != ECANCELED)
        relay_fail(r, "cannot connect to the server: %s",
                   err == ECONNABORTED ? "the session gave up" : strerror(err));
    return fd;
}

/* Why a handshake failed, in words: the verification result when there is
 * one, else OpenSSL's reason. */
static void describe_handshake_failure(struct smtp_tls_relay *r, SSL *ssl, int ssl_err)
{
    long vfy = SSL_get_verify_result(ssl);
    unsigned long e = ERR_peek_last_error();

    if (r->conf->verify_cert && vfy != X509_V_OK)
        relay_fail(r, "TLS: certificate verification failed: %s",
                   X509_verify_cert_error_string(vfy));
    else if (e != 0 && ERR_reason_error_string(e) != NULL)
        relay_fail(r, "TLS: handshake failed: %s", ERR_reason_error_string(e));
    else if (ssl_err == SSL_ERROR_SYSCALL || ssl_err == SSL_ERROR_ZERO_RETURN)
        relay_fail(r, "TLS: the server closed the connection during the handshake%s", NULL);
    else
        relay_fail(r, "TLS: handshake failed%s", NULL);
}

static SSL *handshake(struct smtp_tls_relay *r, int srv, int cli, int64_t deadline)
{
    const struct smtp_conf *conf = r->conf;
    unsigned char probe[16];
    SSL *ssl = SSL_new(r->tls);

    if (ssl == NULL || SSL_set_fd(ssl, srv) != 1) {
        relay_fail(r, "TLS: out of memory%s", NULL);
        SSL_free(ssl);
        return NULL;
    }
    /* The context caps TLS at 1.2 for libesmtp's own I/O (smtp_session.c);
     * this relay drains OpenSSL's buffer itself, so 1.3 is safe here. */
    SSL_set_min_proto_version(ssl, TLS1_2_VERSION);
    SSL_set_max_proto_version(ssl, 0);
    /* The name to check (DNS name or IP) came with the context's
     * X509_VERIFY_PARAM; SNI carries DNS names only. */
    SSL_set_verify(ssl, conf->verify_cert ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, NULL);
    if (inet_pton(AF_INET, conf->host, probe) != 1 && inet_pton(AF_INET6, conf->host, probe) != 1)
        SSL_set_tlsext_host_name(ssl, conf->host);
    SSL_set_mode(ssl, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    ERR_clear_error();
    for (;;) {
        int rc = SSL_connect(ssl);
        if (rc == 1)
            return ssl;
        int e = SSL_get_error(ssl, rc);
        if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
            describe_handshake_failure(r, ssl, e);
            break;
        }
        rc = wait_server(r, srv, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, cli, deadline);
        if (rc == 0)
            relay_fail(r, "TLS: no handshake with the server within connect_timeout%s", NULL);
        else if (rc == -ECONNABORTED)
            relay_fail(r, "TLS: the session gave up during the handshake%s", NULL);
        if (rc != 1)
            break;
    }
    SSL_free(ssl);
    return NULL;
}

/* Copies bytes both ways until one side closes (or stays silent longer
 * than any reply may take, or finish() stops us). SSL_read is retried
 * before every poll: a record OpenSSL already holds is invisible to poll.
 * Writes to the session use MSG_NOSIGNAL; SSL_write relies on the daemon
 * ignoring SIGPIPE, as libesmtp's own writes do. */
/* After SSL_read or SSL_write returned n <= 0: true when OpenSSL only waits
 * for the socket (what for is added to *events); false when the connection
 * is over, with *clean set for the server's orderly close_notify. */
static bool ssl_waits(SSL *ssl, int n, short *events, bool *clean)
{
    int e = SSL_get_error(ssl, n);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        *events |= e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT;
        return true;
    }
    *clean = e == SSL_ERROR_ZERO_RETURN;
    return false;
}

static void pump(struct smtp_tls_relay *r, SSL *ssl, int srv, int cli)
{
    char *to_srv = malloc(RELAY_BUF), *to_cli = malloc(RELAY_BUF);
    size_t up_len = 0, up_off = 0, down_len = 0, down_off = 0;
    bool srv_eof = false, cli_eof = false;
    long idle = r->conf->command_timeout_ms > r->conf->data_timeout_ms
                    ? r->conf->command_timeout_ms : r->conf->data_timeout_ms;

    if (to_srv == NULL || to_cli == NULL) {
        relay_fail(r, "TLS relay: out of memory%s", NULL);
        goto out;
    }
    for (;;) {
        short cli_ev = 0, srv_ev = 0;
        bool progress = false;

        /* server -> session */
        if (down_len == 0 && !srv_eof) {
            int n = SSL_read(ssl, to_cli, RELAY_BUF);
            bool clean = false;
            if (n > 0) {
                down_len = (size_t)n, down_off = 0, progress = true;
            } else if (!ssl_waits(ssl, n, &srv_ev, &clean)) {
                if (!clean)
                    relay_fail(r, "TLS: the connection to the server broke%s", NULL);
                srv_eof = progress = true;
            }
        }
        if (down_len > 0) {
            ssize_t w = send(cli, to_cli + down_off, down_len - down_off, MSG_NOSIGNAL);
            if (w > 0) {
                down_off += (size_t)w, progress = true;
                if (down_off == down_len)
                    down_len = down_off = 0;
            } else if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
                cli_ev |= POLLOUT;
            } else {
                break;        /* the session hung up: nobody to deliver to */
            }
        }
        if (srv_eof && down_len == 0)
            break;            /* everything the server said has been handed on */

        /* session -> server */
        if (up_len == 0 && !cli_eof) {
            ssize_t n = recv(cli, to_srv, RELAY_BUF, 0);
            if (n > 0)
                up_len = (size_t)n, up_off = 0, progress = true;
            else if (n < 0 && (errno == EAGAIN || errno == EINTR))
                cli_ev |= POLLIN;
            else
                cli_eof = progress = true;
        }
        if (up_len > 0) {
            int n = SSL_write(ssl, to_srv + up_off, (int)(up_len - up_off));
            bool clean = false;
            if (n > 0) {
                up_off += (size_t)n, progress = true;
                if (up_off == up_len)
                    up_len = up_off = 0;
            } else if (!ssl_waits(ssl, n, &srv_ev, &clean)) {
                relay_fail(r, "TLS: the connection to the server broke%s", NULL);
                break;
            }
        }
        if (cli_eof && up_len == 0) {
            SSL_shutdown(ssl);    /* best effort close_notify; QUIT is done */
            break;
        }
        if (progress)
            continue;

        struct pollfd pfd[3] = { { .fd = cli, .events = cli_ev }, { .fd = srv, .events = srv_ev } };
        /* libesmtp enforces the real per-step timeouts; this one only
         * bounds a relay whose session somehow stopped listening. */
        int rc = relay_poll(r, pfd, 2, now_ms() + idle + 1000);
        if (rc == 0)
            relay_fail(r, "TLS: the connection was idle longer than any timeout%s", NULL);
        if (rc != 1)
            break;
    }
out:
    free(to_srv);
    free(to_cli);
}

static void *relay_main(void *arg)
{
    struct smtp_tls_relay *r = arg;
    int64_t deadline = now_ms() + r->conf->connect_timeout_ms;
    int srv = -1;
    SSL *ssl = NULL;
    int cli = accept_one(r, deadline);

    if (cli < 0)
        goto out;
    /* Connect and handshake share connect_timeout, like libesmtp's wait
     * for the greeting that follows them. */
    deadline = now_ms() + r->conf->connect_timeout_ms;
    if ((srv = connect_server(r, cli, deadline)) < 0)
        goto out;
    if ((ssl = handshake(r, srv, cli, deadline)) == NULL)
        goto out;
    r->rep.tls_up = true;
    pump(r, ssl, srv, cli);
out:
    SSL_free(ssl);
    if (srv >= 0)
        close(srv);
    if (cli >= 0)
        close(cli);       /* the session reads EOF: the server is gone */
    /* Our own thread: free its OpenSSL state before it ends. */
    ERR_clear_error();
    OPENSSL_thread_stop();
    return NULL;
}

int smtp_tls_relay_start(const struct smtp_conf *conf, SSL_CTX *tls,
                         struct smtp_tls_relay **out, char *address, size_t addrlen,
                         char *err, size_t errlen)
{
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof(sa);
    struct smtp_tls_relay *r = calloc(1, sizeof(*r));
    int rc;

    if (tls == NULL || r == NULL) {
        free(r);
        snprintf(err, errlen, "TLS relay: %s", tls == NULL ? "no TLS context" : "out of memory");
        return tls == NULL ? -EINVAL : -ENOMEM;
    }
    r->conf = conf;
    r->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    r->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (r->listen_fd < 0 || r->stop_fd < 0 ||
        bind(r->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
        listen(r->listen_fd, 1) < 0 ||
        getsockname(r->listen_fd, (struct sockaddr *)&sa, &len) < 0) {
        rc = -errno;
        snprintf(err, errlen, "TLS relay: cannot listen on 127.0.0.1: %s", strerror(-rc));
        goto fail;
    }
    snprintf(address, addrlen, "127.0.0.1:%u", (unsigned)ntohs(sa.sin_port));
    SSL_CTX_up_ref(tls);
    r->tls = tls;
    rc = -pthread_create(&r->thread, NULL, relay_main, r);
    if (rc < 0) {
        snprintf(err, errlen, "TLS relay: cannot start its thread: %s", strerror(-rc));
        goto fail;
    }
    *out = r;
    return 0;
fail:
    if (r->listen_fd >= 0)
        close(r->listen_fd);
    if (r->stop_fd >= 0)
        close(r->stop_fd);
    if (r->tls != NULL)
        SSL_CTX_free(r->tls);
    free(r);
    return rc;
}

void smtp_tls_relay_finish(struct smtp_tls_relay *r, struct smtp_tls_relay_report *rep)
{
    uint64_t one = 1;

    if (r == NULL)
        return;
    /* The session is over: whatever the relay still waits for is moot.
     * (Adding 1 to a fresh eventfd cannot fail; were it to, the thread
     * would still end at its own timeouts.) */
    ssize_t w = write(r->stop_fd, &one, sizeof(one));
    (void)w;
    pthread_join(r->thread, NULL);
    if (rep != NULL)
        *rep = r->rep;
    close(r->stop_fd);
    SSL_CTX_free(r->tls);
    free(r);
}
