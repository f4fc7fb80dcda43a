/* SPDX-License-Identifier: MIT */
/* tests/fuzz/fuzz_config.c: libFuzzer entry for the config loader. It feeds
 * each input to config_load_string(), the function config_load() uses, and
 * frees whatever came back, so crashes and leaks in parsing, validation and
 * error collection show up under ASan/LSan. Relative token files resolve
 * against a folder that does not exist, so no real file is ever read. */
#include <stddef.h>
#include <stdint.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct config_errors errs = { 0 };
    struct config *cfg = NULL;
    char line[1200];

    if (config_load_string((const char *)data, size, "fuzz.json", "/nonexistent-drumbeat-fuzz",
                           &cfg, &errs) == 0) {
        /* Exercise the read side of a config that loaded. */
        if (cfg->n_team > 0)
            (void)config_person_by_token(cfg, "fuzz-token");
        if (cfg->n_channels > 0 && cfg->channels[0].name != NULL)
            (void)config_channel_get(cfg, cfg->channels[0].name);
    }
    for (size_t i = 0; i < errs.count; i++)
        (void)errbuf_format(&errs.items[i], line, sizeof(line));
    config_free(cfg);
    config_errors_free(&errs);
    return 0;
}
