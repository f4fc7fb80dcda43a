/* SPDX-License-Identifier: MIT */
/* daemon/metrics.c: renders /metrics in the Prometheus text format 0.0.4:
 * process figures from /proc (the same names the official client libraries
 * use, so stock dashboards work), loop lag, the store's counts, the HTTP
 * listeners' counters, plugin instances by state and reloads. Every family
 * gets HELP and TYPE lines. Everything is read at scrape time; nothing here
 * keeps state.
 */
#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <jansson.h>

#include "daemon.h"
#include "http.h"
#include "metrics.h"
#include "plugin_loader.h"
#include "store.h"
#include "touch_state.h"

struct mbuf {
    char *text;
    size_t len, cap;
    bool failed;
};

static void mb_printf(struct mbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void mb_printf(struct mbuf *b, const char *fmt, ...)
{
    va_list ap;
    if (b->failed)
        return;
    for (;;) {
        va_start(ap, fmt);
        int n = vsnprintf(b->text + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->failed = true;
            return;
        }
        if ((size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = b->cap * 2 + (size_t)n;
        char *t = realloc(b->text, cap);
        if (t == NULL) {
            b->failed = true;
            return;
        }
        b->text = t;
        b->cap = cap;
    }
}

static void mb_family(struct mbuf *b, const char *name, const char *type, const char *help)
{
    mb_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* Label values are ours (listener names, state names), but escape anyway:
 * a backslash, quote or newline would break the whole page. */
static const char *label_escape(const char *in, char *buf, size_t len)
{
    size_t n = 0;
    for (; in != NULL && *in != '\0' && n + 3 < len; in++) {
        if (*in == '\\' || *in == '"') {
            buf[n++] = '\\';
            buf[n++] = *in;
        } else if (*in == '\n') {
            buf[n++] = '\\';
            buf[n++] = 'n';
        } else {
            buf[n++] = *in;
        }
    }
    buf[n] = '\0';
    return buf;
}

static void metrics_process(struct mbuf *b)
{
    struct rusage ru;
    long page = sysconf(_SC_PAGESIZE), ticks = sysconf(_SC_CLK_TCK);

    if (getrusage(RUSAGE_SELF, &ru) == 0) {
        double cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
                     (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
        mb_family(b, "process_cpu_seconds_total", "counter",
                  "Total user and system CPU time spent in seconds.");
        mb_printf(b, "process_cpu_seconds_total %.6f\n", cpu);
    }
    FILE *f = fopen("/proc/self/statm", "r");
    if (f != NULL) {
        unsigned long size = 0, resident = 0;
        if (fscanf(f, "%lu %lu", &size, &resident) == 2) {
            mb_family(b, "process_resident_memory_bytes", "gauge",
                      "Resident memory size in bytes.");
            mb_printf(b, "process_resident_memory_bytes %lu\n", resident * (unsigned long)page);
        }
        fclose(f);
    }
    DIR *dir = opendir("/proc/self/fd");
    if (dir != NULL) {
        long n = 0;
        for (struct dirent *e; (e = readdir(dir)) != NULL;)
            if (e->d_name[0] != '.')
                n++;
        closedir(dir);
        mb_family(b, "process_open_fds", "gauge", "Number of open file descriptors.");
        mb_printf(b, "process_open_fds %ld\n", n - 1);   /* not the one opendir holds */
    }
    /* Start time = boot time (btime in /proc/stat) + field 22 of
     * /proc/self/stat in clock ticks. The command name (field 2) may hold
     * spaces, so parsing starts after its closing parenthesis. */
    unsigned long long start_ticks = 0, btime = 0;
    char line[1024];
    f = fopen("/proc/self/stat", "r");
    if (f != NULL) {
        if (fgets(line, sizeof(line), f) != NULL) {
            char *p = strrchr(line, ')');
            /* After ")": state is field 3; starttime is field 22. */
            for (int field = 3; p != NULL && field <= 22; field++)
                p = strchr(p + 1, ' ');
            if (p != NULL)
                start_ticks = strtoull(p + 1, NULL, 10);
        }
        fclose(f);
    }
    f = fopen("/proc/stat", "r");
    if (f != NULL) {
        while (fgets(line, sizeof(line), f) != NULL)
            if (sscanf(line, "btime %llu", &btime) == 1)
                break;
        fclose(f);
    }
    if (btime != 0 && ticks > 0) {
        mb_family(b, "process_start_time_seconds", "gauge",
                  "Start time of the process since unix epoch in seconds.");
        mb_printf(b, "process_start_time_seconds %.2f\n",
                  (double)btime + (double)start_ticks / (double)ticks);
    }
}

static void metrics_store(struct mbuf *b, struct store *store)
{
    struct store_status st;
    if (store == NULL || store_status(store, &st) < 0)
        return;
    mb_family(b, "drumbeat_store_leads", "gauge", "Leads in the store.");
    mb_printf(b, "drumbeat_store_leads %lld\n", (long long)st.leads);
    mb_family(b, "drumbeat_store_events", "gauge", "Events in the event log.");
    mb_printf(b, "drumbeat_store_events %lld\n", (long long)st.events);
    mb_family(b, "drumbeat_store_touches", "gauge", "Touches by state.");
    for (int s = 0; s < TOUCH_STATE_COUNT; s++)
        mb_printf(b, "drumbeat_store_touches{state=\"%s\"} %lld\n",
                  touch_state_format((enum touch_state)s), (long long)st.touches[s]);
    mb_family(b, "drumbeat_store_tasks_open", "gauge", "Open tasks (the call list).");
    mb_printf(b, "drumbeat_store_tasks_open %lld\n", (long long)st.tasks_open);
    mb_family(b, "drumbeat_store_file_bytes", "gauge", "Store size on disk, WAL included.");
    mb_printf(b, "drumbeat_store_file_bytes %lld\n", (long long)st.file_bytes);
    mb_family(b, "drumbeat_store_writes_committed_total", "counter",
              "Write transactions committed since the store was opened.");
    mb_printf(b, "drumbeat_store_writes_committed_total %lld\n", (long long)st.writes_committed);
    mb_family(b, "drumbeat_store_commits_total", "counter",
              "Group commits since the store was opened (each an fsync, but the lazy ones).");
    mb_printf(b, "drumbeat_store_commits_total %lld\n", (long long)st.commits);
    mb_family(b, "drumbeat_store_lazy_commits_total", "counter",
              "Commits of writes safe to lose in a power cut, made durable by the next fsync.");
    mb_printf(b, "drumbeat_store_lazy_commits_total %lld\n", (long long)st.lazy_commits);
    mb_family(b, "drumbeat_store_lazy_syncs_total", "counter",
              "Fsyncs of the WAL that made lazy commits durable (the writer idle, a notification).");
    mb_printf(b, "drumbeat_store_lazy_syncs_total %lld\n", (long long)st.lazy_syncs);
    mb_family(b, "drumbeat_store_write_queue", "gauge",
              "Write transactions waiting for the writer thread.");
    mb_printf(b, "drumbeat_store_write_queue %lld\n", (long long)st.write_queue);
}

static void metrics_http(struct mbuf *b, struct daemon *d)
{
    struct http_server *servers[2] = { d->api, d->pub };
    struct http_stats st[2];
    char name[2][32];
    static const struct {
        const char *metric, *type, *help;
        size_t offset;
    } fields[] = {
        { "drumbeat_http_requests_total", "counter", "HTTP requests answered.",
          offsetof(struct http_stats, requests) },
        { "drumbeat_http_errors_4xx_total", "counter", "HTTP requests answered with a 4xx.",
          offsetof(struct http_stats, errors_4xx) },
        { "drumbeat_http_errors_5xx_total", "counter", "HTTP requests answered with a 5xx.",
          offsetof(struct http_stats, errors_5xx) },
        { "drumbeat_http_unauthorized_total", "counter",
          "HTTP requests refused for a missing or wrong token.",
          offsetof(struct http_stats, unauthorized) },
        { "drumbeat_http_active_requests", "gauge", "HTTP requests in progress.",
          offsetof(struct http_stats, active) },
    };

    if (d->api == NULL && d->pub == NULL)
        return;
    for (int i = 0; i < 2; i++)
        if (servers[i] != NULL) {
            http_server_stats(servers[i], &st[i]);
            label_escape(http_server_name(servers[i]), name[i], sizeof(name[i]));
        }
    for (size_t f = 0; f < sizeof(fields) / sizeof(fields[0]); f++) {
        mb_family(b, fields[f].metric, fields[f].type, fields[f].help);
        for (int i = 0; i < 2; i++) {
            if (servers[i] == NULL)
                continue;
            uint64_t v;
            memcpy(&v, (const char *)&st[i] + fields[f].offset, sizeof(v));
            mb_printf(b, "%s{listener=\"%s\"} %llu\n", fields[f].metric, name[i],
                      (unsigned long long)v);
        }
    }
}

static void metrics_plugins(struct mbuf *b, struct plugins *p)
{
    static const char *const states[] = { "running", "failed", "draining" };
    long counts[3] = { 0, 0, 0 };
    json_t *all, *inst;
    size_t i;

    if (p == NULL || (all = plugins_status_json(p)) == NULL)
        return;
    json_array_foreach(all, i, inst) {
        const char *s = json_string_value(json_object_get(inst, "state"));
        for (size_t k = 0; s != NULL && k < 3; k++)
            if (strcmp(s, states[k]) == 0)
                counts[k]++;
    }
    json_decref(all);
    mb_family(b, "drumbeat_plugin_instances", "gauge", "Plugin instances by state.");
    for (size_t k = 0; k < 3; k++)
        mb_printf(b, "drumbeat_plugin_instances{state=\"%s\"} %ld\n", states[k], counts[k]);
}

char *metrics_render(struct daemon *d, size_t *len)
{
    struct mbuf b = { .cap = 8192 };

    b.text = malloc(b.cap);
    if (b.text == NULL)
        return NULL;
    b.text[0] = '\0';
    metrics_process(&b);
    mb_family(&b, "drumbeat_loop_lag_seconds", "gauge",
              "Lateness of the loop's periodic probe timer, last sample.");
    mb_printf(&b, "drumbeat_loop_lag_seconds %.6f\n", (double)d->loop_lag_us / 1e6);
    mb_family(&b, "drumbeat_loop_lag_max_seconds", "gauge",
              "Worst lateness of the loop's probe timer since start.");
    mb_printf(&b, "drumbeat_loop_lag_max_seconds %.6f\n", (double)d->loop_lag_max_us / 1e6);
    metrics_store(&b, d->store);
    metrics_http(&b, d);
    metrics_plugins(&b, d->plugins);
    mb_family(&b, "drumbeat_reloads_total", "counter", "Successful configuration reloads.");
    mb_printf(&b, "drumbeat_reloads_total %llu\n", (unsigned long long)d->reloads);
    mb_family(&b, "drumbeat_reload_failures_total", "counter",
              "Configuration reloads rejected (the old configuration stayed).");
    mb_printf(&b, "drumbeat_reload_failures_total %llu\n",
              (unsigned long long)d->reload_failures);
    if (b.failed) {
        free(b.text);
        return NULL;
    }
    *len = b.len;
    return b.text;
}
