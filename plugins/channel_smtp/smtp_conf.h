/* SPDX-License-Identifier: MIT */
/* plugins/channel_smtp/smtp_conf.h: the SMTP channel's options (the table
 * the host validates), its provider profiles (google_workspace,
 * microsoft_365, custom) and the resolved configuration a session runs
 * with: TLS policy, the password read from its file or environment variable,
 * timeouts, limits. Resolution refuses unsafe combinations (AUTH without
 * required TLS) with a message that says what to change.
 *
 * Ownership: struct smtp_settings is filled and owned by the host until
 * fini. struct smtp_conf is the plugin's: smtp_conf_resolve() fills it,
 * smtp_conf_clear() wipes the password and frees it. Strings in a conf are
 * either borrowed from the settings (valid until fini) or owned by the conf.
 * Threads: resolve and clear on the loop thread; a resolved conf is read-only
 * and may be read from the threadpool.
 */
#ifndef DRUMBEAT_SMTP_CONF_H
#define DRUMBEAT_SMTP_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <drumbeat/plugin.h>

/* Filled by the host from the instance's "options". */
struct smtp_settings {
    const char *provider;
    const char *host;
    int64_t port;
    const char *tls;
    bool verify_cert;
    const char *ca_file;
    const char *username;
    const char *password_file;
    const char *password_env;
    const char *envelope_from;
    const char *bounce_address;
    const char *helo_name;
    uint64_t connect_timeout_ms;
    uint64_t command_timeout_ms;
    uint64_t data_timeout_ms;
    int64_t max_connections;
    int64_t server_connections;
    int64_t auth_failures_to_pause;
    int64_t per_minute;
    int64_t per_day;
    int64_t recipients_per_day;
};

extern const struct drumbeat_option smtp_options[];

enum smtp_tls {
    SMTP_TLS_STARTTLS = 1,     /* STARTTLS required: never a byte of mail in clear */
    SMTP_TLS_OPPORTUNISTIC,    /* STARTTLS when offered; no AUTH */
    SMTP_TLS_IMPLICIT,         /* TLS from the first byte (465) */
    SMTP_TLS_NONE,             /* plain text, for a relay on loopback */
};

/* Sending limits for the host to enforce; -1 means "no limit known". */
struct smtp_limits {
    int64_t per_minute;
    int64_t per_day;
    int64_t recipients_per_day;
};

struct smtp_conf {
    const char *provider;      /* "custom" when not set */
    const char *host;
    int port;
    char hostport[300];        /* "host:port" for libesmtp and logs */
    enum smtp_tls tls;
    bool verify_cert;
    const char *ca_file;
    const char *username;      /* NULL: no AUTH */
    char *password;            /* owned; wiped by smtp_conf_clear; never logged */
    const char *envelope_from;
    const char *bounce_address;/* contains "{token}" when set */
    const char *helo_name;
    long connect_timeout_ms, command_timeout_ms, data_timeout_ms;
    int max_connections;
    int server_connections;
    int auth_failures_to_pause;
    struct smtp_limits limits;
};

/* Resolves settings (with the provider profile's defaults) into conf. On
 * failure returns a negative errno and writes a message into err (which
 * never contains a secret). */
int smtp_conf_resolve(const struct smtp_settings *set, struct smtp_conf *conf,
                      char *err, size_t errlen);
void smtp_conf_clear(struct smtp_conf *conf);

const char *smtp_tls_name(enum smtp_tls tls);

/* The envelope sender for one message: bounce_address with "{token}"
 * replaced by the idempotency key made safe for a local part (VERP), else
 * envelope_from, else the message's sender. Returns 0 or -ENAMETOOLONG /
 * -EINVAL (no sender at all). */
int smtp_conf_reverse_path(const struct smtp_conf *conf, const char *msg_sender,
                           const char *idempotency_key, char *out, size_t len);

/* The limits as JSON text ({"provider":..,"per_minute":..,...}), what the
 * plugin stores under its kv key "limits" for the host. Returns 0 or
 * -ENOSPC. */
int smtp_conf_limits_json(const struct smtp_conf *conf, char *out, size_t len);

#endif /* DRUMBEAT_SMTP_CONF_H */
