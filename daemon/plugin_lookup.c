/* SPDX-License-Identifier: MIT */
/* daemon/plugin_lookup.c: what the running instances offer, by name: the
 * instance itself, whether it takes work now, a channel's batch size,
 * sessions and content type, and an enricher's ABI 1.1 members (the fields
 * it provides, its cache key). Nothing here allocates or frees: every
 * pointer returned is borrowed from the instance (plugin_instance.h).
 */
#include <errno.h>
#include <string.h>

#include "plugin_instance.h"

struct drumbeat_instance *plugins_find(struct plugins *p, const char *name,
                                       enum drumbeat_kind kind)
{
    for (struct drumbeat_instance *i = p->current; i != NULL; i = i->next)
        if (i->kind == kind && strcmp(i->name, name) == 0)
            return i;
    return NULL;
}

struct drumbeat_instance *plugins_usable(struct plugins *p, const char *name,
                                         enum drumbeat_kind kind, int *rc)
{
    struct drumbeat_instance *inst = name ? plugins_find(p, name, kind) : NULL;

    *rc = 0;
    if (inst == NULL || inst->st != INST_RUNNING)
        *rc = -ENOENT;
    else if (p->draining || p->freeing)
        *rc = -ESHUTDOWN;
    return *rc == 0 ? inst : NULL;
}

uint32_t plugins_max_batch(struct plugins *p, const char *channel)
{
    struct drumbeat_instance *inst = channel ? plugins_find(p, channel, DRUMBEAT_KIND_CHANNEL) : NULL;

    if (inst == NULL || inst->st != INST_RUNNING)
        return 0;
    return inst->desc.channel->max_batch > 0 ? inst->desc.channel->max_batch : 1;
}

uint32_t plugins_channel_concurrency(struct plugins *p, const char *channel)
{
    struct drumbeat_instance *inst = channel ? plugins_find(p, channel, DRUMBEAT_KIND_CHANNEL) : NULL;

    if (inst == NULL || inst->st != INST_RUNNING)
        return 0;
    /* An older plugin's ops end before the member: never read past them. */
    uint32_t n = inst->desc.abi_minor >= 2 && inst->desc.channel->concurrency != NULL
               ? inst->desc.channel->concurrency(inst->state) : 0;
    return n > 0 ? n : 2;
}

const char *plugins_channel_accepts(struct plugins *p, const char *channel)
{
    struct drumbeat_instance *inst = channel ? plugins_find(p, channel, DRUMBEAT_KIND_CHANNEL) : NULL;

    if (inst == NULL || inst->st != INST_RUNNING)
        return NULL;
    return inst->desc.channel->accepts != NULL ? inst->desc.channel->accepts : "message/rfc822";
}

bool plugins_channel_ready(struct plugins *p, const char *channel)
{
    int rc;
    return plugins_usable(p, channel, DRUMBEAT_KIND_CHANNEL, &rc) != NULL;
}

/* The enricher ops members of ABI 1.1 exist only in plugins built for it. */
static const struct drumbeat_enricher_ops *enricher_1_1(struct plugins *p, const char *enricher,
                                                        void **state, int *rc)
{
    struct drumbeat_instance *inst = plugins_usable(p, enricher, DRUMBEAT_KIND_ENRICHER, rc);
    if (inst == NULL)
        return NULL;
    *state = inst->state;
    if (inst->desc.abi_minor < 1) {
        *rc = -EAGAIN;
        return NULL;
    }
    return inst->desc.enricher;
}

const char *const *plugins_enricher_provides(struct plugins *p, const char *enricher)
{
    void *state;
    int rc;
    const struct drumbeat_enricher_ops *ops = enricher_1_1(p, enricher, &state, &rc);
    return ops != NULL && ops->provides != NULL ? ops->provides(state) : NULL;
}

int plugins_enrich_cache_key(struct plugins *p, const char *enricher, const json_t *lead,
                             char *buf, size_t cap)
{
    void *state;
    int rc = 0;
    const struct drumbeat_enricher_ops *ops = enricher_1_1(p, enricher, &state, &rc);
    if (ops == NULL)
        return rc;
    if (ops->cache_key == NULL || cap == 0)
        return -EAGAIN;
    buf[0] = '\0';
    rc = ops->cache_key(state, lead, buf, cap);
    if (rc == 0 && (buf[0] == '\0' || memchr(buf, '\0', cap) == NULL))
        return -EAGAIN;              /* an empty or unterminated key is no key */
    return rc == 0 || rc == -ENOENT ? rc : -EAGAIN;
}
