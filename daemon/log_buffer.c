/* SPDX-License-Identifier: MIT */
/* daemon/log_buffer.c: see log_buffer.h. The handle is unreferenced so it
 * never keeps the loop alive on its own. */
#include <stdlib.h>

#include "log.h"
#include "log_buffer.h"

/* A turn's lines: a batch of 1,000 outcomes logs about 100 kB at info. */
#define LOG_BUFFER_BYTES (64 * 1024)

static char buffer[LOG_BUFFER_BYTES];
static uv_prepare_t prepare;
static bool started;

static void on_prepare(uv_prepare_t *handle)
{
    (void)handle;
    log_flush_held();
}

/* An exit() from the loop thread still writes what it held. */
static void flush_at_exit(void)
{
    log_flush_held();
}

int log_buffer_start(uv_loop_t *loop)
{
    static bool registered;
    if (started)
        return 0;
    if (!registered && atexit(flush_at_exit) == 0)
        registered = true;
    int rc = uv_prepare_init(loop, &prepare);
    if (rc < 0)
        return rc;
    rc = uv_prepare_start(&prepare, on_prepare);
    if (rc < 0) {
        uv_close((uv_handle_t *)&prepare, NULL);
        return rc;
    }
    uv_unref((uv_handle_t *)&prepare);
    log_hold(buffer, sizeof(buffer));
    started = true;
    return 0;
}

void log_buffer_stop(void)
{
    if (!started)
        return;
    log_release();
    if (!uv_is_closing((uv_handle_t *)&prepare))
        uv_close((uv_handle_t *)&prepare, NULL);
    started = false;
}
