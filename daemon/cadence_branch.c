/* SPDX-License-Identifier: MIT */
/* daemon/cadence_branch.c: branch steps of a cadence file and their jump
 * targets ("next", "end" or a step name, resolved to an index):
 *   {"type": "branch", "on": "call_outcome",
 *    "cases": {"meeting-booked": "end", "no-answer": "bump"}, "default": "next"}
 *   {"type": "branch", "field": "attrs.industry", "equals": "saas" | "present": true,
 *    "goto": "stepname", "else": "next"}
 * A branch on a call outcome needs a call step before it; a branch may not
 * jump to itself (nothing would ever move the lead on). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cadence_int.h"

static const char *const outcomes[] = {
    "connected", "no-answer", "voicemail", "meeting-booked", "not-interested",
    "wrong-person", "bad-number", NULL,
};

/* The lead columns a branch may test; "attrs.KEY" reads the attributes. */
static const char *const lead_fields[] = {
    "email", "first_name", "last_name", "company", "domain", "title", "phone", "country",
    "timezone", "linkedin", "stage", "icp_score", "source", "lawful_basis", "email_status",
    NULL,
};

int cadence_read_target(struct steps_ctx *sx, const json_t *v, const char *where, size_t self)
{
    struct cadence_def *d = sx->cx->def;
    char got[128];

    config_describe(v, got, sizeof(got));
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        if (strcmp(s, "next") == 0)
            return CADENCE_TARGET_NEXT;
        if (strcmp(s, "end") == 0)
            return CADENCE_TARGET_END;
        int i = cadence_step_find(d, s);
        if (i >= 0 && (size_t)i == self) {
            config_ctx_error(&sx->cx->c, where, "expected another step, \"next\" or \"end\", "
                             "got %s, the branch itself", got);
            return CADENCE_TARGET_END;
        }
        if (i >= 0)
            return i;
    }
    cadence_name_error(sx->cx, where, "a step name, \"next\" or \"end\"", got,
                       json_is_string(v) ? sx->names : NULL);
    return CADENCE_TARGET_END;
}

void cadence_read_branch(struct steps_ctx *sx, const json_t *obj, const char *at, size_t self,
                         struct cadence_step *s, bool earlier_call)
{
    const json_t *on = json_object_get(obj, "on"), *cases = json_object_get(obj, "cases"), *v;
    char where[300], got[128];
    const char *key;

    s->branch.default_ = s->branch.goto_ = s->branch.else_ = CADENCE_TARGET_NEXT;
    for (int o = 0; o < CADENCE_OUTCOME_COUNT; o++)
        s->branch.cases[o] = CADENCE_TARGET_NEXT;
    if ((on != NULL) == (json_object_get(obj, "field") != NULL)) {
        config_ctx_error(&sx->cx->c, at, "expected exactly one of \"on\": \"call_outcome\" "
                         "and \"field\", got %s", on != NULL ? "both" : "neither");
        return;
    }
    if (on != NULL) {
        s->branch.kind = CADENCE_BRANCH_CALL_OUTCOME;
        config_path_key(where, sizeof(where), at, "on");
        config_describe(on, got, sizeof(got));
        if (!json_is_string(on) || strcmp(json_string_value(on), "call_outcome") != 0)
            config_ctx_error(&sx->cx->c, where, "expected \"call_outcome\", got %s", got);
        else if (!earlier_call)
            config_ctx_error(&sx->cx->c, where, "expected a call step before a branch on "
                             "\"call_outcome\", got none");
        for (const char *const *k = (const char *const[]){ "field", "equals", "present",
                                                             "goto", "else", NULL }; *k; k++)
            if (json_object_get(obj, *k) != NULL) {
                config_path_key(where, sizeof(where), at, *k);
                config_ctx_error(&sx->cx->c, where, "expected no \"%s\" in a branch on "
                                 "\"call_outcome\" (it takes \"cases\" and \"default\")", *k);
            }
        if (json_object_get(obj, "default") != NULL) {
            config_path_key(where, sizeof(where), at, "default");
            s->branch.default_ = cadence_read_target(sx, json_object_get(obj, "default"), where, self);
        }
        config_path_key(where, sizeof(where), at, "cases");
        if (cases == NULL) {
            config_ctx_error(&sx->cx->c, at, "missing required key \"cases\"");
            return;
        }
        if (!json_is_object(cases)) {
            config_describe(cases, got, sizeof(got));
            config_ctx_error(&sx->cx->c, where, "expected an object of call outcome to step, "
                             "got %s", got);
            return;
        }
        json_object_foreach((json_t *)cases, key, v) {
            char cat[340];
            enum cadence_call_outcome o;
            config_path_key(cat, sizeof(cat), where, key);
            if (cadence_call_outcome_parse(key, &o) == 0) {
                s->branch.cases[o] = cadence_read_target(sx, v, cat, self);
                continue;
            }
            json_t *js = json_string(key);
            got[0] = '\0';
            if (js != NULL)
                config_describe(js, got, sizeof(got));
            json_decref(js);
            cadence_name_error(sx->cx, cat, "a call outcome (connected, no-answer, voicemail, "
                               "meeting-booked, not-interested, wrong-person, bad-number)",
                               got, outcomes);
        }
        return;
    }
    s->branch.kind = CADENCE_BRANCH_FIELD;
    const char *field = cadence_get_name(sx->cx, obj, at, "field", true);
    for (const char *const *k = (const char *const[]){ "cases", "default", NULL }; *k; k++)
        if (json_object_get(obj, *k) != NULL) {
            config_path_key(where, sizeof(where), at, *k);
            config_ctx_error(&sx->cx->c, where, "expected no \"%s\" in a branch on a "
                             "\"field\" (it takes \"goto\" and \"else\")", *k);
        }
    if (field != NULL && (s->branch.field = strdup(field)) == NULL)
        sx->cx->c.oom = true;
    bool known = field == NULL || (strncmp(field, "attrs.", 6) == 0 && field[6] != '\0');
    for (size_t i = 0; !known && lead_fields[i] != NULL; i++)
        known = strcmp(field, lead_fields[i]) == 0;
    if (!known) {
        config_path_key(where, sizeof(where), at, "field");
        config_describe(json_object_get(obj, "field"), got, sizeof(got));
        cadence_name_error(sx->cx, where, "a lead column or \"attrs.KEY\"", got, lead_fields);
    }
    const json_t *eq = json_object_get(obj, "equals"), *pr = json_object_get(obj, "present");
    if ((eq != NULL) == (pr != NULL)) {
        config_ctx_error(&sx->cx->c, at, "expected exactly one of \"equals\" and \"present\", "
                         "got %s", eq != NULL ? "both" : "neither");
    } else if (eq != NULL) {
        config_path_key(where, sizeof(where), at, "equals");
        if (json_is_string(eq))
            s->branch.equals = strdup(json_string_value(eq));
        else if (json_is_number(eq) || json_is_boolean(eq))
            s->branch.equals = json_dumps(eq, JSON_ENCODE_ANY);
        else {
            config_describe(eq, got, sizeof(got));
            config_ctx_error(&sx->cx->c, where, "expected a string, number or boolean, got %s",
                             got);
        }
        if ((json_is_string(eq) || json_is_number(eq) || json_is_boolean(eq)) &&
            s->branch.equals == NULL)
            sx->cx->c.oom = true;
    } else {
        struct errbuf err = { 0 };
        if (config_get_bool(obj, at, "present", &s->branch.present, &err) == -EINVAL)
            config_ctx_add(&sx->cx->c, &err);
    }
    config_path_key(where, sizeof(where), at, "goto");
    if (json_object_get(obj, "goto") == NULL)
        config_ctx_error(&sx->cx->c, at, "missing required key \"goto\"");
    else
        s->branch.goto_ = cadence_read_target(sx, json_object_get(obj, "goto"), where, self);
    config_path_key(where, sizeof(where), at, "else");
    if (json_object_get(obj, "else") != NULL)
        s->branch.else_ = cadence_read_target(sx, json_object_get(obj, "else"), where, self);
}
