/* SPDX-License-Identifier: MIT */
/* daemon/stages.h: the sales stages a lead moves through, and which team
 * role owns each: intelligence (commercial intelligence, no single owner),
 * prospecting (prospector), qualification (sdr), closing (closer),
 * customer (cs); lost and disqualified end the journey without an owner.
 * Ownership: returned strings are static. */
#ifndef DRUMBEAT_STAGES_H
#define DRUMBEAT_STAGES_H

#include <stdbool.h>
#include <stddef.h>

struct config;

bool stage_is_valid(const char *stage);
/* The role owning stage ("prospector"...), or NULL when none does. */
const char *stage_role(const char *stage);
/* "intelligence, prospecting, ..." for error messages. */
const char *stage_names(void);
/* Fills out (capacity cap) with the names of the team members holding role,
 * in config order; returns how many. The names are borrowed from cfg. */
size_t stage_candidates(const struct config *cfg, const char *role, const char **out, size_t cap);

#endif /* DRUMBEAT_STAGES_H */
