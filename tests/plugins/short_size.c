/* SPDX-License-Identifier: MIT */
/* tests/plugins/short_size.c: a descriptor that claims to be shorter than ABI 1.0 allows.
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

const struct drumbeat_plugin drumbeat_plugin = {
    .magic = DRUMBEAT_PLUGIN_MAGIC,
    .abi_major = DRUMBEAT_ABI_MAJOR,
    .abi_minor = DRUMBEAT_ABI_MINOR,
    .size = 16,
    .kind = DRUMBEAT_KIND_CHANNEL,
    .name = "short_size",
    .channel = &tp_ops,
};
