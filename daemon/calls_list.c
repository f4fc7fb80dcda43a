/* SPDX-License-Identifier: MIT */
/* daemon/calls_list.c: a prospector's call list in the order to call it.
 * store_calls_list() gives the open call tasks with their leads; this adds
 * what depends on the moment: the lead's local time, whether it is business
 * hours there now, and the phone as a tel: URI, then orders the list by
 * priority, then "callable now" before "zone unknown" before "not now", then
 * due_at. A lead of an ambiguous zone ("ambiguous(US)") is callable only
 * when it is business hours in every zone of its country: calling someone
 * at 07:00 is worse than calling them an hour late.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "calls.h"
#include "tz_infer.h"
#include "window.h"

/* Business hours for the list's order: Monday to Friday, 09:00-18:00. */
#define BUSINESS_START_MS (9 * 3600 * 1000LL)
#define BUSINESS_END_MS (18 * 3600 * 1000LL)

enum call_rank { RANK_CALLABLE = 0, RANK_UNKNOWN, RANK_LATER };

struct call_entry {
    json_t *call;               /* borrowed from the store's array */
    int priority;
    enum call_rank rank;
    int64_t due_at, id;
};

/* "tel:+33142685300" from "+33 1 42 68 53 00" (spaces, dots, dashes and
 * brackets dropped), or NULL when the phone is not E.164. */
static json_t *tel_uri(const char *phone)
{
    char buf[32] = "tel:+";
    size_t n = 5, digits = 0;
    if (phone == NULL || phone[0] != '+')
        return json_null();
    for (const char *p = phone + 1; *p != '\0'; p++) {
        if (*p >= '0' && *p <= '9') {
            if (n + 1 >= sizeof(buf))
                return json_null();
            buf[n++] = *p;
            digits++;
        } else if (strchr(" .-()", *p) == NULL) {
            return json_null();
        }
    }
    buf[n] = '\0';
    return digits >= 6 && digits <= 15 ? json_string(buf) : json_null();
}

/* Fills entry's rank and the call's local_time and callable_now. */
static void place(struct call_entry *e, const char *tz, int64_t now_ms)
{
    const char *single[2] = { tz, NULL };
    const char *const *zones = single;
    char iso2[3];
    char local[96] = "";
    bool any = false, all_open = true;

    if (tz != NULL && tz_is_ambiguous(tz, iso2))
        zones = tz_country_zones(iso2);
    for (size_t i = 0; zones != NULL && zones[i] != NULL && *zones[i] != '\0'; i++) {
        GTimeZone *z = window_zone_ref(zones[i]);
        long days;
        int weekday;
        int64_t ms;
        if (z == NULL) {
            any = false;            /* an unknown zone: nothing is sure */
            break;
        }
        window_utc_to_local(z, now_ms, &days, &weekday, &ms);
        g_time_zone_unref(z);
        if (weekday > 5 || ms < BUSINESS_START_MS || ms >= BUSINESS_END_MS)
            all_open = false;
        if (!any)
            snprintf(local, sizeof(local), "%02d:%02d %s", (int)(ms / 3600000),
                     (int)(ms / 60000 % 60), zones[i]);
        any = true;
    }
    if (!any) {
        e->rank = RANK_UNKNOWN;
        json_object_set_new(e->call, "local_time", json_null());
        json_object_set_new(e->call, "callable_now", json_null());
        return;
    }
    e->rank = all_open ? RANK_CALLABLE : RANK_LATER;
    json_object_set_new(e->call, "local_time", json_string(local));
    json_object_set_new(e->call, "callable_now", json_boolean(all_open));
}

static int by_order(const void *a, const void *b)
{
    const struct call_entry *x = a, *y = b;
    if (x->priority != y->priority)
        return x->priority < y->priority ? -1 : 1;
    if (x->rank != y->rank)
        return x->rank < y->rank ? -1 : 1;
    if (x->due_at != y->due_at)
        return x->due_at < y->due_at ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

int calls_list(struct store *st, const char *owner, int64_t until_ms, int64_t now_ms,
               json_t **out)
{
    json_t *calls = NULL, *sorted = NULL, *c;
    struct call_entry *entries = NULL;
    size_t i, n;
    int rc = store_calls_list(st, owner, until_ms, &calls);
    if (rc < 0)
        return rc;
    n = json_array_size(calls);
    entries = calloc(n > 0 ? n : 1, sizeof(*entries));
    sorted = json_array();
    if (entries == NULL || sorted == NULL) {
        rc = -ENOMEM;
        goto fail;
    }
    json_array_foreach(calls, i, c) {
        struct call_entry *e = &entries[i];
        json_int_t p = json_integer_value(json_object_get(c, "priority"));
        e->call = c;
        e->priority = p > 0 ? (int)p : 1000;
        e->due_at = json_integer_value(json_object_get(c, "due_at"));
        e->id = json_integer_value(json_object_get(c, "id"));
        place(e, json_string_value(json_object_get(c, "timezone")), now_ms);
        json_object_set_new(c, "tel", tel_uri(json_string_value(json_object_get(c, "phone"))));
    }
    qsort(entries, n, sizeof(*entries), by_order);
    for (i = 0; i < n; i++) {
        if (json_array_append(sorted, entries[i].call) < 0) {
            rc = -ENOMEM;
            goto fail;
        }
    }
    free(entries);
    json_decref(calls);
    *out = sorted;
    return 0;

fail:
    free(entries);
    json_decref(sorted);
    json_decref(calls);
    return rc;
}
