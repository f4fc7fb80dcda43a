/* SPDX-License-Identifier: MIT */
/* plugins/channel_smtp/smtp_conf.c: the option table, provider profiles and
 * the checks that turn an instance's options into a struct smtp_conf (see
 * smtp_conf.h). Every refusal says which option to change and why; none
 * quotes a secret. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "smtp_conf.h"

#define OPT(key, type, def, flags, member, doc) \
    { key, type, def, flags, offsetof(struct smtp_settings, member), doc }

const struct drumbeat_option smtp_options[] = {
    OPT("provider", DRUMBEAT_OPT_STRING, "custom", 0, provider,
        "google_workspace | microsoft_365 | custom: sets host, port, TLS and sending limits"),
    OPT("host", DRUMBEAT_OPT_STRING, NULL, 0, host,
        "Relay or submission server (required unless the provider sets it)"),
    OPT("port", DRUMBEAT_OPT_INT, "0", 0, port, "TCP port; 0 means 587 (465 for tls \"implicit\")"),
    OPT("tls", DRUMBEAT_OPT_STRING, "starttls", 0, tls,
        "starttls (required) | opportunistic | implicit (TLS from the first byte, SMTPS) | none"),
    OPT("verify_cert", DRUMBEAT_OPT_BOOL, "true", 0, verify_cert,
        "Verify the server's certificate and name; turn off only for a test relay"),
    OPT("ca_file", DRUMBEAT_OPT_PATH, NULL, 0, ca_file,
        "PEM file of CA certificates to trust instead of the system's"),
    OPT("username", DRUMBEAT_OPT_STRING, NULL, 0, username, "AUTH user name (PLAIN/LOGIN)"),
    OPT("password_file", DRUMBEAT_OPT_PATH, NULL, DRUMBEAT_OPT_SECRET, password_file,
        "File holding the AUTH password"),
    OPT("password_env", DRUMBEAT_OPT_STRING, NULL, 0, password_env,
        "Name of an environment variable holding the AUTH password"),
    OPT("envelope_from", DRUMBEAT_OPT_STRING, NULL, 0, envelope_from,
        "Envelope sender (MAIL FROM); default: the mailbox's address"),
    OPT("bounce_address", DRUMBEAT_OPT_STRING, NULL, 0, bounce_address,
        "VERP envelope sender such as \"bounces+{token}@example.com\""),
    OPT("helo_name", DRUMBEAT_OPT_STRING, NULL, 0, helo_name,
        "Name given in EHLO; default: this machine's name"),
    OPT("connect_timeout", DRUMBEAT_OPT_DURATION_MS, "30s", 0, connect_timeout_ms,
        "Wait this long for the server's greeting"),
    OPT("command_timeout", DRUMBEAT_OPT_DURATION_MS, "30s", 0, command_timeout_ms,
        "Wait this long for each reply to a command"),
    OPT("data_timeout", DRUMBEAT_OPT_DURATION_MS, "60s", 0, data_timeout_ms,
        "Wait this long while sending a message and for its final reply"),
    OPT("max_connections", DRUMBEAT_OPT_INT, "2", 0, max_connections,
        "Sessions this mailbox may have open at once"),
    OPT("server_connections", DRUMBEAT_OPT_INT, "4", 0, server_connections,
        "Sessions all mailboxes together may have open to this host:port"),
    OPT("auth_failures_to_pause", DRUMBEAT_OPT_INT, "1", 0, auth_failures_to_pause,
        "Consecutive AUTH rejections before the mailbox is paused (earlier ones retry)"),
    OPT("per_minute", DRUMBEAT_OPT_INT, "-2", 0, per_minute,
        "Messages per minute the provider allows; -1 none; default from the provider"),
    OPT("per_day", DRUMBEAT_OPT_INT, "-2", 0, per_day,
        "Messages per day the provider allows; -1 none; default from the provider"),
    OPT("recipients_per_day", DRUMBEAT_OPT_INT, "-2", 0, recipients_per_day,
        "Recipients per day the provider allows; -1 none; default from the provider"),
    { 0 },
};

/* Published limits (2024): Google Workspace, "Gmail sending limits in Google
 * Workspace" (2,000 messages a day per user); Microsoft 365, "Exchange Online
 * limits" (30 messages a minute, 10,000 recipients a day). */
struct smtp_profile {
    const char *name;
    const char *host;
    enum smtp_tls tls;
    struct smtp_limits limits;
};

static const struct smtp_profile profiles[] = {
    { "google_workspace", "smtp.gmail.com", SMTP_TLS_STARTTLS, { -1, 2000, -1 } },
    { "microsoft_365", "smtp.office365.com", SMTP_TLS_STARTTLS, { 30, -1, 10000 } },
    { "custom", NULL, SMTP_TLS_STARTTLS, { -1, -1, -1 } },
};

const char *smtp_tls_name(enum smtp_tls tls)
{
    switch (tls) {
    case SMTP_TLS_STARTTLS:
        return "starttls";
    case SMTP_TLS_OPPORTUNISTIC:
        return "opportunistic";
    case SMTP_TLS_IMPLICIT:
        return "implicit";
    case SMTP_TLS_NONE:
        return "none";
    }
    return "?";
}

static int parse_tls(const char *s, enum smtp_tls *out)
{
    for (int t = SMTP_TLS_STARTTLS; t <= SMTP_TLS_NONE; t++)
        if (strcmp(s, smtp_tls_name((enum smtp_tls)t)) == 0) {
            *out = (enum smtp_tls)t;
            return 0;
        }
    return -EINVAL;
}

static int fail(char *err, size_t len, int rc, const char *fmt, const char *arg)
{
    snprintf(err, len, fmt, arg != NULL ? arg : "");
    return rc;
}

/* Reads the password file: the whole file, less one trailing newline. */
static int read_password_file(const char *path, char **out)
{
    char buf[1025];
    size_t at = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0)
        return -errno;
    for (;;) {
        ssize_t n = read(fd, buf + at, sizeof(buf) - 1 - at);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int rc = -errno;
            close(fd);
            return rc;
        }
        if (n == 0)
            break;
        at += (size_t)n;
        if (at == sizeof(buf) - 1) {
            close(fd);
            explicit_bzero(buf, sizeof(buf));
            return -EFBIG;
        }
    }
    close(fd);
    while (at > 0 && (buf[at - 1] == '\n' || buf[at - 1] == '\r'))
        at--;
    buf[at] = '\0';
    *out = strdup(buf);
    explicit_bzero(buf, sizeof(buf));
    return *out != NULL ? 0 : -ENOMEM;
}

static int64_t limit_or(int64_t set, int64_t profile)
{
    return set == -2 ? profile : set < 0 ? -1 : set;
}

int smtp_conf_resolve(const struct smtp_settings *set, struct smtp_conf *conf,
                      char *err, size_t errlen)
{
    const struct smtp_profile *prof = NULL;
    int rc;

    memset(conf, 0, sizeof(*conf));
    for (size_t i = 0; i < sizeof(profiles) / sizeof(profiles[0]); i++)
        if (strcmp(set->provider, profiles[i].name) == 0)
            prof = &profiles[i];
    if (prof == NULL)
        return fail(err, errlen, -EINVAL, "provider: expected google_workspace, microsoft_365 "
                    "or custom, got \"%s\"", set->provider);
    conf->provider = prof->name;
    conf->host = set->host != NULL ? set->host : prof->host;
    if (conf->host == NULL || *conf->host == '\0')
        return fail(err, errlen, -EINVAL, "host: required with provider \"custom\"%s", NULL);
    if (parse_tls(set->tls, &conf->tls) < 0)
        return fail(err, errlen, -EINVAL, "tls: expected starttls, opportunistic, implicit "
                    "or none, got \"%s\"", set->tls);
    if (set->port < 0 || set->port > 65535)
        return fail(err, errlen, -EINVAL, "port: expected 1..65535 (or 0 for the default)%s",
                    NULL);
    /* implicit: libesmtp cannot do it, so the session runs a loopback TLS
     * relay (smtp_tls_relay.c); 465 is its registered port (RFC 8314). */
    conf->port = set->port > 0 ? (int)set->port : conf->tls == SMTP_TLS_IMPLICIT ? 465 : 587;
    if ((size_t)snprintf(conf->hostport, sizeof(conf->hostport), "%s:%d", conf->host,
                         conf->port) >= sizeof(conf->hostport))
        return fail(err, errlen, -ENAMETOOLONG, "host: too long%s", NULL);
    conf->verify_cert = set->verify_cert;
    conf->ca_file = set->ca_file;
    conf->envelope_from = set->envelope_from;
    conf->helo_name = set->helo_name;

    if (set->bounce_address != NULL) {
        const char *tok = strstr(set->bounce_address, "{token}");
        if (tok == NULL || strchr(tok + 7, '@') == NULL || strstr(tok + 7, "{token}") != NULL)
            return fail(err, errlen, -EINVAL, "bounce_address: expected one \"{token}\" in the "
                        "local part, like \"bounces+{token}@example.com\", got \"%s\"",
                        set->bounce_address);
        conf->bounce_address = set->bounce_address;
    }

    if (set->username != NULL) {
        if (conf->tls != SMTP_TLS_STARTTLS && conf->tls != SMTP_TLS_IMPLICIT)
            /* Opportunistic TLS can be stripped by anyone on the path, and
             * none is clear text: the password would go out in clear.
             * Implicit TLS is encrypted from the first byte to the server;
             * its plaintext leg is loopback inside this process. */
            return fail(err, errlen, -EINVAL, "username: AUTH needs tls \"starttls\" or "
                        "\"implicit\" (TLS required); refusing to send a password with tls "
                        "\"%s\"", smtp_tls_name(conf->tls));
        if ((set->password_file == NULL) == (set->password_env == NULL))
            return fail(err, errlen, -EINVAL, "username: set exactly one of password_file and "
                        "password_env%s", NULL);
        conf->username = set->username;
        if (set->password_file != NULL) {
            rc = read_password_file(set->password_file, &conf->password);
            if (rc < 0) {
                char msg[160];
                snprintf(msg, sizeof(msg), "password_file: cannot read it: %s", strerror(-rc));
                return fail(err, errlen, rc, "%s", msg);
            }
        } else {
            const char *v = getenv(set->password_env);
            if (v == NULL || *v == '\0')
                return fail(err, errlen, -EINVAL, "password_env: the environment variable "
                            "\"%s\" is not set", set->password_env);
            if ((conf->password = strdup(v)) == NULL)
                return -ENOMEM;
        }
        if (*conf->password == '\0') {
            smtp_conf_clear(conf);
            return fail(err, errlen, -EINVAL, "the AUTH password is empty%s", NULL);
        }
    } else if (set->password_file != NULL || set->password_env != NULL) {
        return fail(err, errlen, -EINVAL, "password_file/password_env: set username too%s", NULL);
    }

    if (set->connect_timeout_ms == 0 || set->command_timeout_ms == 0 || set->data_timeout_ms == 0 ||
        set->connect_timeout_ms > 3600000 || set->command_timeout_ms > 3600000 ||
        set->data_timeout_ms > 3600000) {
        smtp_conf_clear(conf);
        return fail(err, errlen, -EINVAL, "timeouts: expected between 1ms and 1h%s", NULL);
    }
    conf->connect_timeout_ms = (long)set->connect_timeout_ms;
    conf->command_timeout_ms = (long)set->command_timeout_ms;
    conf->data_timeout_ms = (long)set->data_timeout_ms;
    if (set->max_connections < 1 || set->max_connections > 256 || set->server_connections < 1 ||
        set->server_connections > 1024 || set->auth_failures_to_pause < 1 ||
        set->auth_failures_to_pause > 1000) {
        smtp_conf_clear(conf);
        return fail(err, errlen, -EINVAL, "max_connections (1..256), server_connections "
                    "(1..1024) and auth_failures_to_pause (1..1000) out of range%s", NULL);
    }
    conf->max_connections = (int)set->max_connections;
    conf->server_connections = (int)set->server_connections;
    conf->auth_failures_to_pause = (int)set->auth_failures_to_pause;
    conf->limits.per_minute = limit_or(set->per_minute, prof->limits.per_minute);
    conf->limits.per_day = limit_or(set->per_day, prof->limits.per_day);
    conf->limits.recipients_per_day = limit_or(set->recipients_per_day,
                                               prof->limits.recipients_per_day);
    return 0;
}

void smtp_conf_clear(struct smtp_conf *conf)
{
    if (conf->password != NULL) {
        explicit_bzero(conf->password, strlen(conf->password));
        free(conf->password);
        conf->password = NULL;
    }
}

int smtp_conf_reverse_path(const struct smtp_conf *conf, const char *msg_sender,
                           const char *key, char *out, size_t len)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t at = 0;

    if (conf->bounce_address == NULL) {
        const char *from = conf->envelope_from != NULL ? conf->envelope_from : msg_sender;
        if (from == NULL)
            return -EINVAL;
        return (size_t)snprintf(out, len, "%s", from) < len ? 0 : -ENAMETOOLONG;
    }
    /* VERP: the key goes into the local part, characters outside
     * [A-Za-z0-9_-] (and dots that would be leading, trailing or doubled)
     * as =XX, so the token decodes back to the key exactly. */
    const char *tok = strstr(conf->bounce_address, "{token}");
    size_t pre = (size_t)(tok - conf->bounce_address);
    if (key == NULL || *key == '\0')
        return -EINVAL;
    if (pre + 1 > len)
        return -ENAMETOOLONG;
    memcpy(out, conf->bounce_address, pre);
    at = pre;
    size_t klen = strlen(key);
    for (size_t i = 0; i < klen; i++) {
        unsigned char c = (unsigned char)key[i];
        bool safe = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_' ||
                    (c == '.' && i > 0 && i + 1 < klen && key[i - 1] != '.');
        if (at + 4 >= len)
            return -ENAMETOOLONG;
        if (safe) {
            out[at++] = (char)c;
        } else {
            out[at++] = '=';
            out[at++] = hex[c >> 4];
            out[at++] = hex[c & 15];
        }
    }
    if ((size_t)snprintf(out + at, len - at, "%s", tok + 7) >= len - at)
        return -ENAMETOOLONG;
    return 0;
}

int smtp_conf_limits_json(const struct smtp_conf *conf, char *out, size_t len)
{
    int n = snprintf(out, len, "{\"provider\":\"%s\",\"per_minute\":%lld,\"per_day\":%lld,"
                     "\"recipients_per_day\":%lld}", conf->provider,
                     (long long)conf->limits.per_minute, (long long)conf->limits.per_day,
                     (long long)conf->limits.recipients_per_day);
    return n > 0 && (size_t)n < len ? 0 : -ENOSPC;
}
