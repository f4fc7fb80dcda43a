/* SPDX-License-Identifier: MIT */
/* daemon/touch_state.h: the one list of touch states (DESIGN.md, "Durability"),
 * used by the store, the CLI, the API, reports and the docs.
 *
 *  scheduled --claim (committed)--> sending --DONE--> sent
 *      ^   \                          |  \--RETRY--> scheduled (backoff)
 *      |    \--> skipped(reason)      |   \-FAILED--> failed(reason)
 *   deferred(reason)                  |    \IN_DOUBT> in_doubt
 *                                     \--found 'sending' at start-up--> in_doubt
 *   any not-yet-sent state --(exit rule, stop, suppression)--> cancelled(reason)
 *
 * Ownership: touch_state_format() returns a static string; never free it.
 */
#ifndef DRUMBEAT_TOUCH_STATE_H
#define DRUMBEAT_TOUCH_STATE_H

#include <stdbool.h>

#define TOUCH_STATE_TABLE(X)   \
    X(SCHEDULED, "scheduled")  \
    X(DEFERRED, "deferred")    \
    X(SENDING, "sending")      \
    X(SENT, "sent")            \
    X(SKIPPED, "skipped")      \
    X(FAILED, "failed")        \
    X(IN_DOUBT, "in_doubt")    \
    X(CANCELLED, "cancelled")

enum touch_state {
#define X(name, text) TOUCH_##name,
    TOUCH_STATE_TABLE(X)
#undef X
    TOUCH_STATE_COUNT
};

const char *touch_state_format(enum touch_state state);
/* Returns 0 and sets *out, or -EINVAL for an unknown name. */
int touch_state_parse(const char *text, enum touch_state *out);
/* True for sent, skipped, failed and cancelled: nothing more will happen. */
bool touch_state_is_final(enum touch_state state);

#endif /* DRUMBEAT_TOUCH_STATE_H */
