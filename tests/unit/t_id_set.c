/* SPDX-License-Identifier: MIT */
/* tests/unit/t_id_set.c: the in-flight id set against a plain array, over
 * a long run of random adds and removes of clustered (sequential) ids, the
 * pattern the sequencer produces, so backward-shift removal and growth are
 * exercised on long probe runs. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "id_set.h"
#include "tap.h"

#define UNIVERSE 3000

int main(void)
{
    struct id_set set = { 0 };
    static bool ref[UNIVERSE + 1];
    size_t ref_n = 0;
    bool agree = true, counts = true;

    tap_plan(8);
    tap_ok(!id_set_has(&set, 1), "an empty set has nothing");
    tap_is_int(id_set_add(&set, 0), -EINVAL, "0 is not an id");
    srand(42);
    for (int round = 0; round < 200000 && agree; round++) {
        int64_t id = 1 + rand() % (round < 100000 ? 300 : UNIVERSE);
        if (rand() % 3 != 0) {
            if (id_set_add(&set, id) < 0)
                agree = false;
            if (!ref[id])
                ref_n++;
            ref[id] = true;
        } else {
            id_set_remove(&set, id);
            if (ref[id])
                ref_n--;
            ref[id] = false;
        }
        if (set.n != ref_n)
            counts = false;
        if (round % 997 == 0)
            for (int64_t i = 1; i <= UNIVERSE; i++)
                if (id_set_has(&set, i) != ref[i]) {
                    tap_diag("round %d: id %lld disagrees", round, (long long)i);
                    agree = false;
                    break;
                }
    }
    tap_ok(agree, "membership agrees with a plain array through 200,000 adds and removes");
    tap_ok(counts, "the count agrees at every step");
    tap_ok(set.cap >= 2 * set.n, "the set stays at most half full");
    int64_t member = 0;
    for (int64_t i = 1; i <= UNIVERSE && member == 0; i++)
        if (ref[i])
            member = i;
    size_t before = set.n;
    tap_is_int(id_set_add(&set, member), 0, "adding a member again is fine");
    tap_is_int((long long)set.n, (long long)before, "and counts once");
    for (int64_t i = 1; i <= UNIVERSE; i++)
        id_set_remove(&set, i);
    tap_is_int((long long)set.n, 0, "removing everything empties it");
    id_set_clear(&set);
    return tap_done();
}
