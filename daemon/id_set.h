/* SPDX-License-Identifier: MIT */
/* daemon/id_set.h: a set of positive row ids (open addressing, linear
 * probing), for "is this one already in flight?" asked thousands of times
 * per second. Ownership: the set owns its slot array; id_set_clear frees
 * it. Not thread-safe: one thread (the loop) uses it. */
#ifndef DRUMBEAT_ID_SET_H
#define DRUMBEAT_ID_SET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct id_set {
    int64_t *slots;        /* 0 = empty; ids are > 0 */
    size_t cap;            /* a power of two, or 0 */
    size_t n;
};

/* Adds id (> 0). Returns 0, or -ENOMEM (the set is unchanged). */
int id_set_add(struct id_set *set, int64_t id);
bool id_set_has(const struct id_set *set, int64_t id);
/* Removes id if present. */
void id_set_remove(struct id_set *set, int64_t id);
void id_set_clear(struct id_set *set);

#endif /* DRUMBEAT_ID_SET_H */
