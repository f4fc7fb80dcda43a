/* SPDX-License-Identifier: MIT */
/* tests/fuzz/fuzz_cadence.c: libFuzzer entry for the cadence definition
 * loader. Each input is a cadence file, fed to cadence_def_load_string() (the
 * function cadence_def_load() ends in) and checked against a small config
 * with two mailboxes, a channel and no token files, so the name checks and
 * their "did you mean" hints run too. A definition that loads has its
 * canonical text built and reloaded, and an A/B pick made for each step, so
 * crashes and leaks anywhere in parsing, validation and error collection show
 * up under ASan/LSan. Relative .ics paths resolve against a folder that does
 * not exist, so no real file is ever read. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cadence_def.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct config *fuzz_config(void)
{
    static struct config *cfg;
    static const char text[] =
        "{\"channels\": [{\"name\": \"outbox\", \"plugin\": \"example_channel\"},"
        " {\"name\": \"crm\", \"plugin\": \"channel_webhook\"}],"
        " \"mailboxes\": [{\"name\": \"ada\", \"address\": \"ada@example.com\", \"channel\": \"outbox\"},"
        " {\"name\": \"bob\", \"address\": \"bob@example.com\", \"channel\": \"outbox\"}]}";
    struct config_errors errs = { 0 };

    if (cfg == NULL && config_load_string(text, strlen(text), "fuzz-config.json",
                                          "/nonexistent-drumbeat-fuzz", &cfg, &errs) != 0)
        abort();
    config_errors_free(&errs);
    return cfg;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cadence_env env = { .cfg = fuzz_config() };
    struct config_errors errs = { 0 };
    struct cadence_def *d = NULL, *again = NULL;
    char line[1200], *canon = NULL;

    if (cadence_def_load_string((const char *)data, size, "/nonexistent-drumbeat-fuzz/fuzz.json",
                                &env, &d, &errs) == 0) {
        for (size_t i = 0; i < d->n_steps; i++)
            (void)cadence_variant_pick(&d->steps[i], (int64_t)i * 7919);
        if (cadence_def_canonical(d, &canon) == 0) {
            json_t *root = json_loads(canon, 0, NULL);
            /* The canonical text of a valid file is a valid file. */
            if (root == NULL || cadence_def_from_json(root, "fuzz", "/nonexistent-drumbeat-fuzz",
                                                      &env, &again, &errs) != 0)
                abort();
            json_decref(root);
        }
    }
    for (size_t i = 0; i < errs.count; i++)
        (void)errbuf_format(&errs.items[i], line, sizeof(line));
    free(canon);
    cadence_def_free(again);
    cadence_def_free(d);
    config_errors_free(&errs);
    return 0;
}
