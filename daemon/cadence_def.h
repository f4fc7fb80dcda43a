/* SPDX-License-Identifier: MIT */
/* daemon/cadence_def.h: cadence definitions, the JSON files in the cadences
 * folder (config "cadences": {"dir": ...}, default "cadences" beside the
 * config file). One file, NAME.json, is one cadence: its ordered steps
 * (email, call, task, webhook, wait, branch), its send window, holidays and
 * calling hours, the mailboxes it sends from, its exit rules, throttles and
 * company rules, and how enrollments on older versions migrate when the file
 * changes. Loading validates the whole file like the config loader does:
 * every error at once, each naming the file, the JSON path
 * ("steps[2].template") and what was expected and found, with a "did you
 * mean" hint for unknown keys and unknown names (templates, mailboxes,
 * channels, steps, outcomes, countries, team members).
 *
 * Versions: the store keeps each distinct canonical text
 * (cadence_def_canonical()) as one version; cadence_def_from_json() rebuilds a
 * definition from a stored version.
 *
 * Ownership:
 *   struct cadence_set   owned by the caller of cadence_set_load();
 *                        cadence_set_free() releases it and every definition.
 *   struct cadence_def   owned by its set, or by the caller of
 *                        cadence_def_load*() / cadence_def_from_json()
 *                        (cadence_def_free()). Every string, array and step
 *                        below it is owned by the definition and borrowed by
 *                        everyone else for as long as it lives.
 *   cadence_def.json     a jansson reference owned by the definition: the
 *                        file's parsed object, read-only.
 *   struct cadence_env   borrowed for the duration of a load only; nothing
 *                        in a definition points into the config or the
 *                        template set (names are copied), so a definition
 *                        outlives a reload of either.
 *   cadence_def_canonical()'s *json: heap text the caller free()s.
 * Threads: load on any thread; a loaded definition is immutable and may be
 * read from any thread.
 */
#ifndef DRUMBEAT_CADENCE_DEF_H
#define DRUMBEAT_CADENCE_DEF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "config.h"
#include "window.h"

struct template_set;

/* Jump targets of branch steps: a step index (>= 0), or one of these. */
#define CADENCE_TARGET_NEXT (-1)
#define CADENCE_TARGET_END (-2)

enum cadence_step_type {
    CADENCE_STEP_EMAIL,
    CADENCE_STEP_CALL,
    CADENCE_STEP_TASK,
    CADENCE_STEP_WEBHOOK,
    CADENCE_STEP_WAIT,
    CADENCE_STEP_BRANCH,
};

enum cadence_thread {
    CADENCE_THREAD_NEW,     /* a new thread (default for the first email step) */
    CADENCE_THREAD_REPLY,   /* "Re:" onto the previous email (default for the others) */
};

enum cadence_wait_kind {
    CADENCE_WAIT_BUSINESS_DAYS,
    CADENCE_WAIT_CALENDAR_DAYS,
    CADENCE_WAIT_HOURS,
    CADENCE_WAIT_UNTIL,     /* the next weekday at HH:MM in the lead's zone */
};

enum cadence_branch_kind {
    CADENCE_BRANCH_CALL_OUTCOME,  /* on the outcome of the last call task */
    CADENCE_BRANCH_FIELD,         /* on a lead field: equals or present */
};

/* Outcomes of a call task, as `drumbeat log-call --outcome` spells them. */
enum cadence_call_outcome {
    CADENCE_OUTCOME_CONNECTED,
    CADENCE_OUTCOME_NO_ANSWER,
    CADENCE_OUTCOME_VOICEMAIL,
    CADENCE_OUTCOME_MEETING_BOOKED,
    CADENCE_OUTCOME_NOT_INTERESTED,
    CADENCE_OUTCOME_WRONG_PERSON,
    CADENCE_OUTCOME_BAD_NUMBER,
    CADENCE_OUTCOME_COUNT
};

/* Events that end an enrollment ("exit_on"). */
enum cadence_exit {
    CADENCE_EXIT_REPLY,
    CADENCE_EXIT_BOUNCE,
    CADENCE_EXIT_UNSUBSCRIBE,
    CADENCE_EXIT_COMPLAINT,
    CADENCE_EXIT_MEETING_BOOKED,
    CADENCE_EXIT_STAGE_CHANGE,
    CADENCE_EXIT_MANUAL,
    CADENCE_EXIT_COUNT
};

enum cadence_migrate {
    CADENCE_MIGRATE_NONE,           /* enrollments keep their version (default) */
    CADENCE_MIGRATE_SAME_STEP,      /* "continue-at-same-step": same step index */
    CADENCE_MIGRATE_RESTART,        /* "restart": from the first step */
};

/* One holiday date; year 0 means every year ("--12-25"). */
struct cadence_date {
    int year, month, day;
};

/* The holidays of one country ("FR", or "*" for every lead). */
struct cadence_holidays {
    char *country;
    char *ics_path;          /* resolved against the cadence file's folder, or NULL */
    struct cadence_date *dates;   /* when given as a list; NULL with an .ics */
    size_t n_dates;
};

/* Calling hours for one country ("*" is always present: 08:00-21:00 by
 * default); hours.days is every day (WINDOW_ALL_DAYS). */
struct cadence_calling_hours {
    char *country;
    struct window_hours hours;
};

struct cadence_exit_rule {
    bool on;                 /* bounce, unsubscribe, complaint, manual: always on */
    char *stage;             /* the stage the lead moves to, or NULL */
    char *owner;             /* a team member's name, or NULL */
};

struct cadence_variant {
    char *template;
    int64_t weight;          /* > 0 */
};

struct cadence_step {
    char *name;              /* unique; "step-N" (1-based) when the file has none */
    enum cadence_step_type type;
    struct {
        char *template;      /* NULL when variants are used */
        struct cadence_variant *variants;
        size_t n_variants;
        enum cadence_thread thread;
        bool review;
    } email;
    struct {
        char *script;        /* a call-script template (Kind: call) */
        int priority;        /* 1 (highest) .. 5, default 3 */
    } call;
    struct {
        char *title;
        int priority;        /* 1 .. 5, default 3 */
    } task;
    struct {
        char *channel;       /* a channel instance of the config */
    } webhook;
    struct {
        enum cadence_wait_kind kind;
        int64_t n;           /* days or hours; 0 for CADENCE_WAIT_UNTIL */
        int weekday;         /* CADENCE_WAIT_UNTIL: 1 = Monday .. 7 = Sunday, as
                                window_until_weekday() takes it */
        int minute;          /* CADENCE_WAIT_UNTIL: minutes since midnight */
    } wait;
    struct {
        enum cadence_branch_kind kind;
        /* CADENCE_BRANCH_CALL_OUTCOME: a target per outcome, default_ for
         * outcomes without a case (and for no outcome at all). */
        int cases[CADENCE_OUTCOME_COUNT];
        int default_;
        /* CADENCE_BRANCH_FIELD: a lead column ("country") or "attrs.KEY". */
        char *field;
        char *equals;        /* the value as text (numbers and booleans in JSON
                                spelling), or NULL when "present" is used */
        bool present;        /* with equals == NULL: true = has a non-empty value */
        int goto_;           /* when the test holds */
        int else_;           /* when it does not (default next) */
    } branch;
};

struct cadence_def {
    char *name;              /* the file's base name */
    char *file;              /* the path it was loaded from (used in messages) */
    char *description;       /* or NULL */
    char *timezone;          /* IANA name, checked with GLib */
    struct window_hours window;   /* days (WINDOW_DAY() bits) and hours; default
                                     Monday to Friday, 09:00-17:00 */
    struct cadence_holidays *holidays; size_t n_holidays;
    struct cadence_calling_hours *calling_hours; size_t n_calling_hours;
    char **mailboxes;        /* NULL-terminated, in rotation order */
    size_t n_mailboxes;
    char **retired_mailboxes;   /* NULL-terminated; may be empty */
    unsigned allowed_email_status;   /* bit (1u << enum email_status); default
                                        syntax_ok, verified, catch_all */
    int64_t call_overdue_days;       /* default 3 (business days) */
    int64_t new_per_day;             /* throttle; 0 = no limit (default) */
    int64_t max_active;              /* throttle; 0 = no limit (default) */
    int64_t max_active_per_domain;   /* company; 0 = no cap (default) */
    int64_t cooldown_days;           /* company; default 0 */
    bool skip_customer_domains;      /* company; default true */
    struct cadence_exit_rule exits[CADENCE_EXIT_COUNT];
    enum cadence_migrate migrate;
    struct cadence_step *steps;
    size_t n_steps;
    json_t *json;            /* the parsed file */
};

/* What a definition is checked against. Each pointer may be NULL, and then
 * the names it would check are taken on trust (a stored version is rebuilt
 * without them). */
struct cadence_env {
    const struct config *cfg;              /* mailboxes, channels, team */
    const struct template_set *templates;  /* email templates and call scripts */
};

struct cadence_set {
    char *dir;
    struct cadence_def **items;   /* sorted by name */
    size_t n;
};

/* Loads and validates one file (its name without ".json" must be the
 * cadence's name). Returns 0 and *out, or -EINVAL with every error in errs
 * (syntax errors with line and column), -ENOENT / -EFBIG / -ENOMEM. */
int cadence_def_load(const char *path, const struct cadence_env *env,
                     struct cadence_def **out, struct config_errors *errs);
/* The same from memory: file is the path used in messages and for the
 * name check and relative .ics paths. */
int cadence_def_load_string(const char *text, size_t len, const char *file,
                            const struct cadence_env *env, struct cadence_def **out,
                            struct config_errors *errs);
/* From a parsed object (a stored version): name is the cadence's name, dir
 * the folder .ics paths resolve against (NULL: kept as written). root is
 * copied, not kept. */
int cadence_def_from_json(const json_t *root, const char *name, const char *dir,
                          const struct cadence_env *env, struct cadence_def **out,
                          struct config_errors *errs);
void cadence_def_free(struct cadence_def *d);

/* The canonical text of the file's object (sorted keys, compact), equal for
 * two files that differ only in key order and white space. 0 or -ENOMEM. */
int cadence_def_canonical(const struct cadence_def *d, char **json);

/* Loads every NAME.json in dir (other files and folders are ignored).
 * Returns 0 and *out only when all are valid; else -EINVAL with every error
 * appended to errs, -ENOENT when dir is missing, or -ENOMEM. */
int cadence_set_load(const char *dir, const struct cadence_env *env,
                     struct cadence_set **out, struct config_errors *errs);
const struct cadence_def *cadence_set_get(const struct cadence_set *set, const char *name);
void cadence_set_free(struct cadence_set *set);

/* The index of the step named name, or -1. */
int cadence_step_find(const struct cadence_def *d, const char *name);

/* The variant an email step uses for a lead: deterministic per (lead, step
 * name), following the weights across leads. 0 for a step without
 * variants. */
int cadence_variant_pick(const struct cadence_step *s, int64_t lead_id);

/* "email", "call", ...; "connected", "no-answer", ...; "reply", ...; "none",
 * "continue-at-same-step", "restart". */
const char *cadence_step_type_format(enum cadence_step_type t);
const char *cadence_call_outcome_format(enum cadence_call_outcome o);
int cadence_call_outcome_parse(const char *text, enum cadence_call_outcome *out);
const char *cadence_exit_format(enum cadence_exit e);
const char *cadence_migrate_format(enum cadence_migrate m);

#endif /* DRUMBEAT_CADENCE_DEF_H */
