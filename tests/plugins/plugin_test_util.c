/* SPDX-License-Identifier: MIT */
/* tests/plugins/plugin_test_util.c: see plugin_test_util.h. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "plugin_test_util.h"

static void on_tick(uv_timer_t *t)
{
    (void)t;
}

bool test_run_until(uv_loop_t *loop, bool (*cond)(void *arg), void *arg, uint64_t timeout_ms)
{
    uv_timer_t tick;
    uint64_t end;

    /* A ticking timer so that UV_RUN_ONCE returns regularly to check cond. */
    uv_timer_init(loop, &tick);
    uv_timer_start(&tick, on_tick, 5, 5);
    uv_update_time(loop);
    end = uv_now(loop) + timeout_ms;
    while (!cond(arg) && uv_now(loop) < end)
        uv_run(loop, UV_RUN_ONCE);
    uv_close((uv_handle_t *)&tick, NULL);
    uv_run(loop, UV_RUN_NOWAIT);
    return cond(arg);
}

static bool never(void *arg)
{
    (void)arg;
    return false;
}

void test_run_for(uv_loop_t *loop, uint64_t ms)
{
    test_run_until(loop, never, NULL, ms);
}

int test_loop_finish(uv_loop_t *loop)
{
    uv_run(loop, UV_RUN_DEFAULT);
    return uv_loop_close(loop);
}

static int saved_stderr = -1;
static char capture_path[256];

void test_capture_start(void)
{
    int fd;

    snprintf(capture_path, sizeof(capture_path), "/tmp/drumbeat-capture-%ld.log", (long)getpid());
    fflush(stderr);
    saved_stderr = dup(STDERR_FILENO);
    fd = open(capture_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    dup2(fd, STDERR_FILENO);
    close(fd);
}

char *test_capture_end(void)
{
    char *text;

    fflush(stderr);
    dup2(saved_stderr, STDERR_FILENO);
    close(saved_stderr);
    saved_stderr = -1;
    text = test_slurp(capture_path);
    unlink(capture_path);
    /* Echo it, so the test log still shows what the daemon said. */
    if (text != NULL)
        fputs(text, stderr);
    return text;
}

char *test_slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t len = 0, cap = 0, n;
    char chunk[4096];

    if (f == NULL)
        return NULL;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        if (len + n + 1 > cap) {
            cap = (len + n + 1) * 2;
            char *b = realloc(buf, cap);
            if (b == NULL) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = b;
        }
        memcpy(buf + len, chunk, n);
        len += n;
    }
    fclose(f);
    if (buf == NULL)
        buf = calloc(1, 1);
    else
        buf[len] = '\0';
    return buf;
}

int test_count_dir(const char *path)
{
    DIR *d = opendir(path);
    struct dirent *e;
    int n = 0;

    if (d == NULL)
        return -1;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            n++;
    closedir(d);
    return n;
}

struct config_plugin_instance test_instance(const char *name, const char *plugin, json_t *options)
{
    struct config_plugin_instance ci = {
        .name = (char *)name, .plugin = (char *)plugin, .options = options,
        .log_level = LOG_LEVEL_DEBUG,
    };
    return ci;
}

void test_instance_clear(struct config_plugin_instance *ci)
{
    json_decref(ci->options);
    ci->options = NULL;
}
