/* SPDX-License-Identifier: MIT */
/* tests/plugins/init_fails.c: a well-formed channel whose init returns -EIO.
 * Built as a real .so for t_plugin_loader, which checks the loader refuses it
 * (or handles it) and names the file. */
#include <errno.h>
#include <stddef.h>

#include <drumbeat/plugin.h>

static int tp_send(void *state, const struct drumbeat_message *msgs,
                   struct drumbeat_op *const *ops, size_t n)
{
    (void)state; (void)msgs; (void)ops; (void)n;
    return -ENOSYS;
}

static const struct drumbeat_channel_ops tp_ops = { .send = tp_send };

static int tp_init(const struct drumbeat_host *host, struct drumbeat_instance *inst,
                   const void *settings, void **state)
{
    (void)host; (void)inst; (void)settings; (void)state;
    return -EIO;
}

const struct drumbeat_plugin drumbeat_plugin = {
    DRUMBEAT_PLUGIN_HEADER,
    .kind = DRUMBEAT_KIND_CHANNEL,
    .name = "init_fails",
    .version = "0.0.1",
    .init = tp_init,
    .channel = &tp_ops,
};
