/* SPDX-License-Identifier: MIT */
/* daemon/icp.h: the ideal customer profile. The rules come from the
 * config's "icp" section (config_icp.c); icp_score() is a pure function of
 * the rules and a lead (as store_lead_get() returns it) giving a score and a
 * breakdown that says, rule by rule, whether it matched, the points it gave
 * and why. icp_run.c applies it: it stores score and breakdown and moves
 * ready leads from "intelligence" to "prospecting" (store_stage_move, actor
 * rule "icp"), on import, on enrichment and on config reload.
 *
 * Ownership:
 *   struct icp_rules     owned by the config (cfg->icp); icp_rules_free()
 *                        releases it, with its compiled regexes.
 *   icp_score() result   *out is a new json_t reference for the caller.
 *   struct icp_runner    owned by struct daemon (d->icp); icp_runner_free()
 *                        closes its timer (the loop must keep running until
 *                        the close callback freed it).
 * Threads: icp_score() is pure (any thread); the runner runs on the loop.
 */
#ifndef DRUMBEAT_ICP_H
#define DRUMBEAT_ICP_H

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/* Decision-makers first: the seniority levels a title is sorted into. */
enum icp_seniority {
    ICP_SENIORITY_C_LEVEL = 0,   /* chief ..., ceo, cto, founder, owner, president */
    ICP_SENIORITY_VP,            /* vp, svp, evp, vice president */
    ICP_SENIORITY_DIRECTOR,      /* director, managing director */
    ICP_SENIORITY_HEAD,          /* head (of ...) */
    ICP_SENIORITY_MANAGER,       /* manager, lead, supervisor */
    ICP_SENIORITY_INDIVIDUAL,    /* anything else */
    ICP_SENIORITY_COUNT
};

enum icp_op {
    ICP_OP_TITLE_KEYWORDS = 1,   /* any keyword (a word or phrase) in the title */
    ICP_OP_EQUALS,               /* field equals value (case-blind for text) */
    ICP_OP_IN,                   /* field equals one of values */
    ICP_OP_RANGE,                /* min <= field (a number) <= max */
    ICP_OP_REGEX,                /* POSIX extended regex, case-blind */
};

struct icp_rule {
    char *name;                  /* shown in the breakdown */
    enum icp_op op;
    char *field;                 /* a lead column or an attribute; NULL for keywords */
    json_t *values;              /* EQUALS: the value; IN, TITLE_KEYWORDS: an array */
    double min, max;             /* RANGE; -inf / +inf when open */
    regex_t re;                  /* REGEX, compiled once at load */
    bool re_ok;
    double points;               /* added when the rule matches; may be negative */
};

struct icp_rules {
    double threshold;            /* a lead at or above it is qualified */
    bool seniority_on;           /* score the title's seniority (default on) */
    double seniority[ICP_SENIORITY_COUNT];   /* points per level */
    struct icp_rule *rules;
    size_t n_rules;
};

/* "c-level", "vp", "director", "head", "manager", "individual". */
const char *icp_seniority_name(enum icp_seniority s);
/* 0 or -EINVAL. */
int icp_seniority_parse(const char *text, enum icp_seniority *out);
/* The level of a job title (NULL or empty is individual). */
enum icp_seniority icp_seniority_of(const char *title);
/* The built-in points per level: 40, 30, 25, 20, 10, 0. */
void icp_seniority_defaults(double out[ICP_SENIORITY_COUNT]);
/* True when phrase (one or more words) appears as whole words in text,
 * case-blind: "VP, Sales & Ops" has "sales" and "vp sales" but not "sale". */
bool icp_has_words(const char *text, const char *phrase);

void icp_rules_free(struct icp_rules *r);

/* The outcome of scoring one lead. */
struct icp_result {
    double score;
    bool qualified;              /* score >= threshold */
    bool ready;                  /* qualified and reachable: moves to prospecting */
    json_t *breakdown;           /* {"score", "threshold", "qualified", "ready",
                                    "contact": "email"|"phone"|null, "seniority",
                                    "rules": [{"rule", "matched", "points", "why"}],
                                    "failed": [rule names that did not match]} */
};
/* Scores lead (an object: email, title, country, ... and "attrs"). A lead
 * is reachable with a deliverable email (email_status neither
 * "undeliverable" nor "guessed", not bounced) or a phone, and not when
 * suppressed or unsubscribed. 0 or -ENOMEM. */
int icp_score(const struct icp_rules *r, const json_t *lead, struct icp_result *out);

/* ---- icp_run.c: applying the score on a running daemon ---- */
struct daemon;
struct icp_runner;

/* Leads scored per loop tick by a full pass, so the loop is never held long. */
#define ICP_PASS_BATCH 200

int icp_runner_new(struct daemon *d, struct icp_runner **out);
void icp_runner_free(struct icp_runner *r);
/* Scores one lead now with d->cfg->icp: stores score and breakdown and, when
 * it is in "intelligence" and ready, moves it to "prospecting" with a
 * prospector assigned round-robin. Asynchronous (the writes are queued);
 * 0, -ENOENT (no lead), -ENODATA (no "icp" in the config) or a negative
 * errno. For the enrichers, after they changed a lead. */
int icp_rescore_lead(struct daemon *d, int64_t lead_id);
/* Starts (or restarts from the beginning) a pass over every lead in
 * "intelligence", ICP_PASS_BATCH per loop tick; used after an import and a
 * config reload. A no-op without an "icp" section. */
void icp_rescore_all(struct daemon *d);
/* True while a pass runs (for tests and status). */
bool icp_pass_running(const struct daemon *d);

#endif /* DRUMBEAT_ICP_H */
