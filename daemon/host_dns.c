/* SPDX-License-Identifier: MIT */
/* daemon/host_dns.c: host->dns_query, the plugins' view of the daemon's
 * resolver (dns.c). Each query is a host_pending of its instance (kind
 * PENDING_DNS), like curl transfers and queued work: the instance is
 * finalised only once its queries have answered, and an instance freed
 * first (shutdown, reload timeout) hears -ECANCELED before its fini, while
 * the answer that comes later is dropped here and never reaches the plugin.
 * Answers are handed over as the JSON the ABI documents: MX as
 * [{"host", "preference"}], A and TXT as arrays of strings. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>

#include "dns.h"
#include "plugin_instance.h"

struct host_dns {
    struct host_pending hp;        /* first: the pending list links */
    void (*answered)(int status, const json_t *answers, uint32_t ttl_s, void *arg);
    void *arg;
    bool told;                     /* host_dns_abandon already answered */
};

void plugins_set_dns(struct plugins *p, struct dns *dns)
{
    p->dns = dns;
}

/* Hands the answer to the plugin unless its instance is gone or was told,
 * then frees q. answers is stolen. */
static void finish(struct host_dns *q, int status, json_t *answers, uint32_t ttl_s)
{
    struct drumbeat_instance *inst = host_pending_remove(&q->hp);

    if (status == 0 && answers == NULL)
        status = -ENOMEM;
    if (status != 0) {
        json_decref(answers);
        answers = NULL;
        if (status != -ENOENT && status != -ENODATA)
            ttl_s = 0;
    }
    if (inst != NULL && !q->told)
        q->answered(status, answers, ttl_s, q->arg);
    json_decref(answers);
    free(q);
    if (inst != NULL)
        instance_maybe_idle(inst);
}

static json_t *strings_json(char **v, size_t n)
{
    json_t *a = json_array();

    for (size_t i = 0; a != NULL && i < n; i++)
        if (json_array_append_new(a, json_string(v[i])) < 0) {
            json_decref(a);
            a = NULL;
        }
    return a;
}

static void on_strings(int status, char **v, size_t n, uint32_t ttl_s, void *arg)
{
    finish(arg, status, status == 0 ? strings_json(v, n) : NULL, ttl_s);
}

static void on_mx(int status, const struct dns_mx *mx, size_t n, uint32_t ttl_s, void *arg)
{
    json_t *a = status == 0 ? json_array() : NULL;

    /* dns.c already sorted them by preference. */
    for (size_t i = 0; a != NULL && i < n; i++)
        if (json_array_append_new(a, json_pack("{s:s, s:i}", "host", mx[i].host,
                                               "preference", mx[i].preference)) < 0) {
            json_decref(a);
            a = NULL;
        }
    finish(arg, status, a, ttl_s);
}

int host_dns_query(struct drumbeat_instance *inst, const char *name, int type,
                   void (*answered)(int status, const json_t *answers, uint32_t ttl_s,
                                    void *arg),
                   void *arg)
{
    struct host_dns *q;
    int rc;

    if (inst == NULL || name == NULL || answered == NULL ||
        (type != DRUMBEAT_DNS_MX && type != DRUMBEAT_DNS_A && type != DRUMBEAT_DNS_TXT))
        return -EINVAL;
    if (inst->owner == NULL || inst->owner->dns == NULL)
        return -ENOSYS;
    if (inst->owner->freeing)
        return -ECANCELED;
    if ((q = calloc(1, sizeof(*q))) == NULL)
        return -ENOMEM;
    q->answered = answered;
    q->arg = arg;
    /* dns.c never calls back from inside the query, so linking after is safe. */
    if (type == DRUMBEAT_DNS_MX)
        rc = dns_query_mx(inst->owner->dns, name, on_mx, q);
    else if (type == DRUMBEAT_DNS_A)
        rc = dns_query_a(inst->owner->dns, name, on_strings, q);
    else
        rc = dns_query_txt(inst->owner->dns, name, on_strings, q);
    if (rc < 0) {
        free(q);
        return rc;
    }
    host_pending_add(inst, &q->hp, PENDING_DNS);
    return 0;
}

bool host_dns_abandon(struct host_pending *hp)
{
    struct host_dns *q = (struct host_dns *)hp;

    if (q->told)
        return false;
    /* c-ares cannot cancel one query: it stays out, and finish() drops its
     * answer once host_api_abandon has orphaned q. */
    q->told = true;
    q->answered(-ECANCELED, NULL, 0, q->arg);
    return true;
}
