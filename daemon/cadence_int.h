/* SPDX-License-Identifier: MIT */
/* daemon/cadence_int.h: what the cadence definition loader's files share:
 * the load context (the config loader's error-collecting context plus what
 * the definition is checked against), the sections' loaders, and the small
 * parsers for hours and weekdays.
 *
 * Ownership: struct cadence_ctx is stack storage of one load; its pointers
 * are borrowed for that load.
 * Threads: whatever thread runs the load.
 */
#ifndef DRUMBEAT_CADENCE_INT_H
#define DRUMBEAT_CADENCE_INT_H

#include "cadence_def.h"
#include "config_internal.h"

struct cadence_ctx {
    struct config_ctx c;          /* file = the cadence file; base_dir = its folder */
    const struct cadence_env *env;
    struct cadence_def *def;
};

/* cadence_rules.c: everything but "steps": timezone, window, holidays,
 * calling_hours, mailboxes, allowed_email_status, throttles, company,
 * exit_on, migrate. */
void cadence_load_rules(struct cadence_ctx *cx, const json_t *root);
void cadence_rules_free(struct cadence_def *d);
/* cadence_calendar.c: "holidays" and "calling_hours". */
void cadence_load_calendar(struct cadence_ctx *cx, const json_t *root);
void cadence_calendar_free(struct cadence_def *d);
/* obj[key], hours text, into out->ranges (out->days kept); errors recorded. */
void cadence_load_hours(struct cadence_ctx *cx, const json_t *obj, const char *path,
                        const char *key, struct window_hours *out);
/* cadence_steps.c: "steps" and the checks across steps. */
void cadence_load_steps(struct cadence_ctx *cx, const json_t *root);
void cadence_steps_free(struct cadence_def *d);

/* The state of one "steps" array being read. */
struct steps_ctx {
    struct cadence_ctx *cx;
    const char **names;        /* step names plus "next", "end": NULL-terminated */
};

/* cadence_branch.c: a jump target ("next", "end" or a step name other than
 * step self) as an index or CADENCE_TARGET_*; errors recorded at where. */
int cadence_read_target(struct steps_ctx *sx, const json_t *v, const char *where, size_t self);
/* The branch step at index self (obj at JSON path at) into *s. */
void cadence_read_branch(struct steps_ctx *sx, const json_t *obj, const char *at, size_t self,
                         struct cadence_step *s, bool earlier_call);

/* window_parse_hours() ("09:00-12:00,13:30-17:00", 24:00 allowed as an end,
 * at most WINDOW_MAX_RANGES ranges) into out->ranges, out->days untouched.
 * Returns 0 or -EINVAL with why (what was expected) filled. */
int cadence_hours_parse(const char *text, struct window_hours *out, char *why, size_t len);
/* "mon".."sun" (case-blind) to 1..7 (1 = Monday), or -1. */
int cadence_weekday_parse(const char *text);
extern const char *const cadence_weekdays[8];   /* "mon".."sun", NULL */

/* Records "expected WHAT, got GOT[; did you mean "HINT"?]" at where, the hint
 * being the closest of names (NULL-terminated; may be NULL). */
void cadence_name_error(struct cadence_ctx *cx, const char *where, const char *what,
                        const char *got, const char *const *names);
/* obj[key] as a non-empty string, borrowed; NULL when absent (an error when
 * required) or wrong (an error). */
const char *cadence_get_name(struct cadence_ctx *cx, const json_t *obj, const char *path,
                             const char *key, bool required);

#endif /* DRUMBEAT_CADENCE_INT_H */
