/* SPDX-License-Identifier: MIT */
/* daemon/daemon.h: the running daemon's parts, wired together by main.c.
 * API route handlers receive this as their context.
 *
 * Ownership: struct daemon is owned by main.c (daemon_run). Each pointer in
 * it is owned by the daemon and released in reverse start order at shutdown;
 * everyone else borrows them on the loop thread. cfg is replaced on a
 * successful SIGHUP reload; never keep a pointer into an old config past the
 * current loop iteration.
 */
#ifndef DRUMBEAT_DAEMON_H
#define DRUMBEAT_DAEMON_H

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

struct config;
struct store;
struct plugins;
struct curl_loop;
struct http_server;
struct dispatch;
struct template_set;
struct icp_runner;
struct enrich;
struct sequencer;
struct cadence_set;

struct daemon {
    uv_loop_t *loop;
    struct config *cfg;            /* the config in force */
    struct template_set *templates;   /* compiled from cfg->templates_dir, or NULL when
                                         the config has no "templates"; replaced
                                         together with cfg on reload */
    struct store *store;
    struct curl_loop *curl;
    struct plugins *plugins;
    struct dispatch *dispatch;     /* claims touches and hands them to channels */
    struct http_server *api;       /* API listener */
    struct http_server *pub;       /* public listener */
    struct icp_runner *icp;        /* ICP scoring and readiness (icp.h) */
    struct enrich *enrich;         /* the enrichment waterfall (enrich.h) */
    struct cadence_set *cadences;  /* the cadences folder, or NULL; replaced
                                      together with cfg on reload */
    struct sequencer *sequencer;   /* runs the cadences (sequencer.h) */
    int64_t started_at_ms;
    uint64_t reloads;              /* successful reloads */
    uint64_t reload_failures;
    bool stopping;                 /* set by SIGTERM/SIGINT: no new claims */
    /* Loop lag: the last and worst lateness of a periodic timer, in µs. */
    uint64_t loop_lag_us, loop_lag_max_us;
};

#endif /* DRUMBEAT_DAEMON_H */
