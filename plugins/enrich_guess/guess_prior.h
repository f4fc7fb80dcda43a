/* SPDX-License-Identifier: MIT */
/* plugins/enrich_guess/guess_prior.h: how likely each address pattern is: a
 * global prior ("first.last:0.45,flast:0.2,...") and, from an optional JSON
 * file, per-domain priors ({"example.com": {"flast": 0.9}}) that override
 * it. A pattern a domain does not list keeps its global weight, scaled down
 * so the domain's weights together stay within 1.
 *
 * Threads: loaded once; afterwards read-only (any thread).
 * Ownership: struct guess_priors is owned by the caller of
 * guess_priors_load(); guess_priors_free() releases it (NULL is fine).
 */
#ifndef DRUMBEAT_GUESS_PRIOR_H
#define DRUMBEAT_GUESS_PRIOR_H

#include "errors.h"
#include "guess_name.h"

/* A weight per pattern, 0..1; 0 means "never proposed". */
struct guess_weights {
    double w[GUESS_NPATTERNS];
};

struct guess_priors;

/* Parses the global prior text (patterns not listed weigh 0) and, when
 * domains_path is not NULL, the per-domain file. Returns 0 with *out set,
 * or -EINVAL (err names the option or the file and the JSON path, and says
 * what was expected), -ENOENT/-EACCES (file unreadable), -ENOMEM. */
int guess_priors_load(const char *prior, const char *domains_path, struct guess_priors **out,
                      struct errbuf *err);
void guess_priors_free(struct guess_priors *p);

/* The weights for domain (already normalised by guess_domain). */
void guess_priors_for(const struct guess_priors *p, const char *domain, struct guess_weights *out);
/* How many domains the file listed. */
size_t guess_priors_domains(const struct guess_priors *p);

#endif /* DRUMBEAT_GUESS_PRIOR_H */
