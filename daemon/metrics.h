/* SPDX-License-Identifier: MIT */
/* daemon/metrics.h: the /metrics page, Prometheus text format 0.0.4.
 * Threads: loop thread (it reads the store's read connection).
 * Ownership: the returned text is malloc'd; the caller frees it.
 */
#ifndef DRUMBEAT_METRICS_H
#define DRUMBEAT_METRICS_H

#include <stddef.h>

struct daemon;

/* Renders every metric (process, loop lag, store, HTTP, plugins, reloads).
 * Parts whose module is not running (d->store NULL...) are left out. Returns
 * NUL-terminated text and its length in *len, or NULL when out of memory. */
char *metrics_render(struct daemon *d, size_t *len);

#endif /* DRUMBEAT_METRICS_H */
