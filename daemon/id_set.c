/* SPDX-License-Identifier: MIT */
/* daemon/id_set.c: see id_set.h. Removal shifts the following run back
 * instead of leaving tombstones, so lookups stay short however many ids
 * come and go. */
#include <errno.h>
#include <stdlib.h>

#include "id_set.h"

static size_t slot_of(int64_t id, size_t cap)
{
    /* Row ids are sequential: a multiplicative hash spreads them. */
    uint64_t h = (uint64_t)id * 0x9E3779B97F4A7C15ull;
    return (size_t)(h >> 32) & (cap - 1);
}

static int grow(struct id_set *set)
{
    size_t cap = set->cap ? set->cap * 2 : 64;
    int64_t *slots = calloc(cap, sizeof(*slots));
    if (slots == NULL)
        return -ENOMEM;
    for (size_t i = 0; i < set->cap; i++) {
        if (set->slots[i] == 0)
            continue;
        size_t j = slot_of(set->slots[i], cap);
        while (slots[j] != 0)
            j = (j + 1) & (cap - 1);
        slots[j] = set->slots[i];
    }
    free(set->slots);
    set->slots = slots;
    set->cap = cap;
    return 0;
}

int id_set_add(struct id_set *set, int64_t id)
{
    if (id <= 0)
        return -EINVAL;
    if (id_set_has(set, id))
        return 0;
    /* At most half full keeps probe runs short. */
    if ((set->n + 1) * 2 > set->cap && grow(set) < 0)
        return -ENOMEM;
    size_t i = slot_of(id, set->cap);
    while (set->slots[i] != 0)
        i = (i + 1) & (set->cap - 1);
    set->slots[i] = id;
    set->n++;
    return 0;
}

bool id_set_has(const struct id_set *set, int64_t id)
{
    if (set->cap == 0 || id <= 0)
        return false;
    for (size_t i = slot_of(id, set->cap);; i = (i + 1) & (set->cap - 1)) {
        if (set->slots[i] == id)
            return true;
        if (set->slots[i] == 0)
            return false;
    }
}

void id_set_remove(struct id_set *set, int64_t id)
{
    if (set->cap == 0 || id <= 0)
        return;
    size_t mask = set->cap - 1, i = slot_of(id, set->cap);
    while (set->slots[i] != id) {
        if (set->slots[i] == 0)
            return;
        i = (i + 1) & mask;
    }
    /* Backward shift: move later members of the run into the hole when
     * their home slot is not between the hole and them. */
    for (size_t j = (i + 1) & mask; set->slots[j] != 0; j = (j + 1) & mask) {
        size_t home = slot_of(set->slots[j], set->cap);
        bool between = i <= j ? (home > i && home <= j) : (home > i || home <= j);
        if (!between) {
            set->slots[i] = set->slots[j];
            i = j;
        }
    }
    set->slots[i] = 0;
    set->n--;
}

void id_set_clear(struct id_set *set)
{
    free(set->slots);
    set->slots = NULL;
    set->cap = set->n = 0;
}
