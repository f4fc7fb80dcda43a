/* SPDX-License-Identifier: MIT */
/* tests/plugins/bad_magic.c: a descriptor whose magic is wrong.
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
    .magic = 0x12345678u,          /* not DRUMBEAT_PLUGIN_MAGIC */
    .abi_major = DRUMBEAT_ABI_MAJOR,
    .abi_minor = DRUMBEAT_ABI_MINOR,
    .size = sizeof(struct drumbeat_plugin),
    .kind = DRUMBEAT_KIND_CHANNEL,
    .name = "bad_magic",
    .channel = &tp_ops,
};
