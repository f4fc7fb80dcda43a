/* SPDX-License-Identifier: MIT */
/* daemon/stages.c: the stage-to-role table behind every stage transition. */
#include <string.h>

#include "config.h"
#include "stages.h"

static const struct {
    const char *stage;
    const char *role;
} stage_table[] = {
    { "intelligence", NULL },
    { "prospecting", "prospector" },
    { "qualification", "sdr" },
    { "closing", "closer" },
    { "customer", "cs" },
    { "lost", NULL },
    { "disqualified", NULL },
};

#define STAGE_COUNT (sizeof(stage_table) / sizeof(stage_table[0]))

bool stage_is_valid(const char *stage)
{
    for (size_t i = 0; i < STAGE_COUNT; i++)
        if (strcmp(stage_table[i].stage, stage) == 0)
            return true;
    return false;
}

const char *stage_role(const char *stage)
{
    for (size_t i = 0; i < STAGE_COUNT; i++)
        if (strcmp(stage_table[i].stage, stage) == 0)
            return stage_table[i].role;
    return NULL;
}

const char *stage_names(void)
{
    return "intelligence, prospecting, qualification, closing, customer, lost, disqualified";
}

size_t stage_candidates(const struct config *cfg, const char *role, const char **out, size_t cap)
{
    enum config_role bit;
    size_t n = 0;

    if (role == NULL || config_role_parse(role, &bit) < 0)
        return 0;
    for (size_t i = 0; i < cfg->n_team && n < cap; i++)
        if (cfg->team[i].roles & bit)
            out[n++] = cfg->team[i].name;
    return n;
}
