/* SPDX-License-Identifier: MIT */
/* daemon/touch_state.c: names for the touch states. */
#include <errno.h>
#include <string.h>

#include "touch_state.h"

static const char *const touch_state_names[] = {
#define X(name, text) text,
    TOUCH_STATE_TABLE(X)
#undef X
};

const char *touch_state_format(enum touch_state state)
{
    if ((int)state < 0 || state >= TOUCH_STATE_COUNT)
        return "unknown";
    return touch_state_names[state];
}

int touch_state_parse(const char *text, enum touch_state *out)
{
    for (int i = 0; i < TOUCH_STATE_COUNT; i++) {
        if (strcmp(text, touch_state_names[i]) == 0) {
            *out = (enum touch_state)i;
            return 0;
        }
    }
    return -EINVAL;
}

bool touch_state_is_final(enum touch_state state)
{
    return state == TOUCH_SENT || state == TOUCH_SKIPPED || state == TOUCH_FAILED ||
           state == TOUCH_CANCELLED;
}
