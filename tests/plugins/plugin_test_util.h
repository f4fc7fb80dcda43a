/* SPDX-License-Identifier: MIT */
/* tests/plugins/plugin_test_util.h: small helpers shared by the plugin tests:
 * running a real uv loop until a condition holds, capturing stderr (where
 * the daemon logs) to check what was and was not logged, reading files, and
 * building config instances by hand.
 *
 * Ownership: strings returned are malloc'd; the caller frees them. A
 * config_plugin_instance from test_instance() borrows name and plugin and
 * steals the options reference (test_instance_clear drops it). */
#ifndef DRUMBEAT_PLUGIN_TEST_UTIL_H
#define DRUMBEAT_PLUGIN_TEST_UTIL_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>
#include <uv.h>

#include "config.h"

/* Runs loop until cond(arg) is true or timeout_ms passes; returns cond(arg). */
bool test_run_until(uv_loop_t *loop, bool (*cond)(void *arg), void *arg, uint64_t timeout_ms);
/* Runs loop for about ms milliseconds. */
void test_run_for(uv_loop_t *loop, uint64_t ms);
/* Runs loop until it has no handles left; returns uv_loop_close(loop). */
int test_loop_finish(uv_loop_t *loop);

/* Sends stderr to a temporary file until test_capture_end(), which returns
 * what was written (malloc'd) and restores stderr. */
void test_capture_start(void);
char *test_capture_end(void);

/* The whole file as a NUL-terminated string, or NULL. */
char *test_slurp(const char *path);
/* How many entries (not . or ..) a folder has, or -1. */
int test_count_dir(const char *path);

struct config_plugin_instance test_instance(const char *name, const char *plugin, json_t *options);
void test_instance_clear(struct config_plugin_instance *ci);

#endif /* DRUMBEAT_PLUGIN_TEST_UTIL_H */
