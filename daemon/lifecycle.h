/* SPDX-License-Identifier: MIT */
/* daemon/lifecycle.h: start, run, reload and stop drumbeatd in order.
 *
 * Start order: config, store (which parks interrupted sends as in_doubt),
 * curl loop, plugins, dispatcher, listeners, signals, pidfile. Stop order is
 * the reverse, after a drain: listeners close first (no new work), the
 * dispatcher stops claiming, in-flight sends finish and their outcomes are
 * committed (or, past daemon.shutdown_timeout, stay 'sending' and become
 * in_doubt at the next start), then every handle closes and the store closes.
 *
 * Ownership: struct lifecycle_options is borrowed for the call.
 */
#ifndef DRUMBEAT_LIFECYCLE_H
#define DRUMBEAT_LIFECYCLE_H

#include <stdbool.h>
#include <stdint.h>

struct lifecycle_options {
    const char *config_path;     /* NULL: config/drumbeat.json */
    const char *pidfile;         /* overrides daemon.pidfile; NULL keeps it */
    const char *log_level;       /* overrides daemon.log_level; NULL keeps it */
    bool test_clock;             /* --test-clock */
    int64_t test_clock_start_ms; /* where the test clock starts */
    int api_port;                /* >= 0 overrides api.port (tests use 0) */
    int public_port;             /* >= 0 overrides public.port */
};

/* Runs the daemon until SIGTERM or SIGINT. Returns the process exit status:
 * 0 after a clean stop, 1 when it could not start, 2 for an invalid config. */
int lifecycle_run(const struct lifecycle_options *opts);

#endif /* DRUMBEAT_LIFECYCLE_H */
