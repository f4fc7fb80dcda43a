/* SPDX-License-Identifier: MIT */
/* daemon/log_buffer.h: the loop thread's log lines, written once per turn
 * of the loop (log.h, log_hold). A uv_prepare handle flushes them just
 * before the loop waits for I/O, so a line is never held while the daemon
 * is idle. Ownership: the buffer and the handle are this module's; start
 * and stop run on the loop thread. */
#ifndef DRUMBEAT_LOG_BUFFER_H
#define DRUMBEAT_LOG_BUFFER_H

#include <uv.h>

/* Starts holding the calling (loop) thread's info and debug lines. */
int log_buffer_start(uv_loop_t *loop);
/* Flushes, stops holding and closes the handle (run the loop once more
 * afterwards for the close to complete). */
void log_buffer_stop(void);

#endif /* DRUMBEAT_LOG_BUFFER_H */
