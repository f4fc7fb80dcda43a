/* SPDX-License-Identifier: MIT */
/* tests/plugins/sync_done.c: a channel that breaks the send contract on
 * purpose: it calls host->done for every op from inside send. The host must
 * still deliver each completion once, on a later loop iteration, and warn.
 * A recipient "refuse@x" makes send fail after completing its ops, which the
 * host must swallow (no completion for a refused send). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <drumbeat/plugin.h>

struct sd {
    const struct drumbeat_host *host;
};

static int sd_send(void *state, const struct drumbeat_message *msgs,
                   struct drumbeat_op *const *ops, size_t n)
{
    struct sd *sd = state;

    for (size_t i = 0; i < n; i++) {
        char detail[64];
        struct drumbeat_result res = { .outcome = DRUMBEAT_DONE, .code = 250,
                                       .detail = detail };
        /* The host must copy the text: this buffer dies with the call. */
        strcpy(detail, "sync ok");
        sd->host->done(ops[i], &res);
    }
    if (n > 0 && msgs[0].recipient != NULL && strcmp(msgs[0].recipient, "refuse@x") == 0)
        return -EAGAIN;
    return 0;
}

static int sd_init(const struct drumbeat_host *host, struct drumbeat_instance *inst,
                   const void *settings, void **state)
{
    struct sd *sd = calloc(1, sizeof(*sd));

    (void)inst;
    (void)settings;
    if (sd == NULL)
        return -ENOMEM;
    sd->host = host;
    *state = sd;
    return 0;
}

static void sd_fini(void *state)
{
    free(state);
}

static const struct drumbeat_channel_ops sd_ops = { .send = sd_send, .max_batch = 4 };

const struct drumbeat_plugin drumbeat_plugin = {
    DRUMBEAT_PLUGIN_HEADER,
    .kind = DRUMBEAT_KIND_CHANNEL,
    .name = "sync_done",
    .version = "0.0.1",
    .init = sd_init,
    .fini = sd_fini,
    .channel = &sd_ops,
};
