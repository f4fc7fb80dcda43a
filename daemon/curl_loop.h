/* SPDX-License-Identifier: MIT */
/* daemon/curl_loop.h: libcurl's multi-socket interface driven by the daemon's
 * libuv loop (the shape of curl's docs/examples/multi-uv.c), shared by every
 * plugin through host->curl_submit and by the daemon's own HTTP clients.
 *
 * Transfers wait in an application queue and at most a window of them (64 by
 * default) sit in the multi handle at once, because CURLOPT_TIMEOUT counts the
 * time a transfer spends queued inside the multi handle.
 *
 * Ownership:
 *   struct curl_loop   owned by the caller of curl_loop_init(); released by
 *                      curl_loop_close(), whose memory is freed in the uv close
 *                      callbacks (keep running the loop until it has no handles).
 *   CURL *easy         owned by the submitter throughout; the loop borrows it
 *                      from submit until finished, and owns CURLOPT_PRIVATE
 *                      (do not set it) and sets CURLOPT_NOSIGNAL.
 * Threads: loop thread only.
 */
#ifndef DRUMBEAT_CURL_LOOP_H
#define DRUMBEAT_CURL_LOOP_H

#include <curl/curl.h>
#include <uv.h>

struct curl_loop;

/* Runs on the loop thread after easy has been removed from the multi handle;
 * rc is the transfer's result, CURLE_ABORTED_BY_CALLBACK when the loop was
 * closed or the transfer cancelled before it finished. */
typedef void (*curl_loop_finished_cb)(CURL *easy, CURLcode rc, void *arg);

#define CURL_LOOP_DEFAULT_WINDOW 64

/* Creates the multi handle and its timer on loop. Returns 0 or -ENOMEM/-EIO. */
int curl_loop_init(uv_loop_t *loop, struct curl_loop **out);

/* Cancels every queued and running transfer (each finished is called with
 * CURLE_ABORTED_BY_CALLBACK before this returns), cleans up the multi handle
 * and closes the uv handles; the memory goes in their close callbacks.
 * cl may be NULL. */
void curl_loop_close(struct curl_loop *cl);

/* Queues easy. Returns 0, and then finished(easy, rc, arg) runs exactly once,
 * never from inside this call; or a negative errno (-ECANCELED once the loop
 * is closing, -EBUSY if easy is already submitted, -ENOMEM) and then never. */
int curl_loop_submit(struct curl_loop *cl, CURL *easy, curl_loop_finished_cb finished,
                     void *arg);

/* Cancels one submitted transfer: removes it and calls its finished with
 * CURLE_ABORTED_BY_CALLBACK before returning. -ENOENT if easy is not here. */
int curl_loop_cancel(struct curl_loop *cl, CURL *easy);

/* How many transfers are submitted and not finished (queued plus running). */
int curl_loop_in_flight(const struct curl_loop *cl);
/* How many of those are inside the multi handle now (at most the window). */
int curl_loop_running(const struct curl_loop *cl);
/* Sets the in-flight window (>= 1); returns 0 or -EINVAL. */
int curl_loop_set_window(struct curl_loop *cl, int window);

#endif /* DRUMBEAT_CURL_LOOP_H */
