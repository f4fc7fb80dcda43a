/* SPDX-License-Identifier: MIT */
/* plugins/enrich_guess/enrich_guess.c: an enricher that proposes email
 * addresses for a lead that has a first name, a last name and a company
 * domain but no address, by the common corporate patterns (first.last,
 * flast, first, firstlast, f.last, last), ranked by a prior: global, or the
 * domain's own from the domain_priors file. The best candidate becomes the
 * lead's "email" with "email_status": "guessed" (never "verified": nothing
 * here talks to a mail server); all of them go to "email_candidates".
 * A domain that enrich_mx found undeliverable gets no candidates.
 *
 * It is pure computation, known at once; the ABI forbids completing from
 * inside enrich(), so the completion rides a no-op host->queue_work whose
 * after() calls enrich_done.
 *
 * Options: prior, domain_priors. See README.md.
 *
 * Ownership: struct eg is ours from init to fini; the settings belong to the
 * host until fini; each struct eg_job is ours from enrich until its after(),
 * which hands the attrs to the host.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <drumbeat/plugin.h>

#include "guess_name.h"
#include "guess_prior.h"

#define EG_DEFAULT_PRIOR "first.last:0.45,flast:0.2,first:0.12,firstlast:0.1,f.last:0.08,last:0.05"

struct eg_settings {
    const char *prior;
    const char *domain_priors;
};

static const struct drumbeat_option eg_options[] = {
    { "prior", DRUMBEAT_OPT_STRING, EG_DEFAULT_PRIOR, 0, offsetof(struct eg_settings, prior),
      "Pattern weights \"first.last:0.45,flast:0.2,...\" (patterns left out are not proposed)" },
    { "domain_priors", DRUMBEAT_OPT_PATH, NULL, 0, offsetof(struct eg_settings, domain_priors),
      "JSON file of per-domain weights {\"example.com\": {\"flast\": 0.9}}" },
    { 0 },
};

struct eg {
    const struct drumbeat_host *host;
    struct drumbeat_instance *inst;
    struct guess_priors *priors;
};

struct eg_job {
    struct eg *eg;
    struct drumbeat_op *op;
    json_t *attrs;
};

/* What a guess is made from. */
struct eg_parts {
    char first[128], last[128], domain[256];
};

static const char *lead_str(const json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));
    return s != NULL && s[0] != '\0' ? s : NULL;
}

/* -ENOENT when there is nothing to guess: an address already, or a name
 * part or the domain missing (or nothing left of it once made ASCII). */
static int eg_parts(const json_t *lead, struct eg_parts *p)
{
    if (lead_str(lead, "email") != NULL)
        return -ENOENT;
    if (guess_name_part(lead_str(lead, "first_name"), p->first, sizeof(p->first)) <= 0 ||
        guess_name_part(lead_str(lead, "last_name"), p->last, sizeof(p->last)) <= 0 ||
        guess_domain(lead_str(lead, "domain"), p->domain, sizeof(p->domain)) == 0)
        return -ENOENT;
    return 0;
}

static bool undeliverable(const json_t *lead)
{
    const char *s = lead_str(json_object_get(lead, "attrs"), "domain_status");
    if (s == NULL)
        s = lead_str(lead, "domain_status");
    return s != NULL && strcmp(s, "undeliverable") == 0;
}

struct eg_cand {
    int pattern;
    double score;
    char email[80 + 1 + 256];   /* local (as built, <= 64 used) @ domain */
};

/* The candidates, best first: by score, ties in pattern order; an address
 * two patterns make alike ("j.smith" for a one-letter first name) is listed
 * once, under the better one. */
static json_t *candidates(const struct eg *eg, const struct eg_parts *p)
{
    struct guess_weights w;
    struct eg_cand c[GUESS_NPATTERNS];
    size_t n = 0;
    json_t *list = json_array(), *attrs = json_object();

    if (list == NULL || attrs == NULL)
        goto nomem;
    guess_priors_for(eg->priors, p->domain, &w);
    for (int pat = 0; pat < GUESS_NPATTERNS; pat++) {
        char local[80];
        if (w.w[pat] <= 0 || guess_local_part(pat, p->first, p->last, local, sizeof(local)) == 0)
            continue;
        struct eg_cand cand = { .pattern = pat, .score = w.w[pat] };
        snprintf(cand.email, sizeof(cand.email), "%s@%s", local, p->domain);
        size_t at = n;
        while (at > 0 && c[at - 1].score < cand.score) {
            c[at] = c[at - 1];
            at--;
        }
        c[at] = cand;
        n++;
    }
    for (size_t i = 0; i < n; i++) {
        bool dup = false;
        for (size_t j = 0; j < i && !dup; j++)
            dup = strcmp(c[i].email, c[j].email) == 0;
        if (dup)
            continue;
        /* Four decimals: the weights are rough, and 0.0818 reads better than
         * 0.081818181818181818. */
        double score = (double)(long long)(c[i].score * 10000 + 0.5) / 10000;
        if (json_array_append_new(list, json_pack("{s:s, s:s, s:f}", "email", c[i].email,
                                                  "pattern", guess_pattern_name(c[i].pattern),
                                                  "score", score)) < 0)
            goto nomem;
    }
    if (json_array_size(list) > 0) {
        json_object_set_new(attrs, "email", json_string(c[0].email));
        json_object_set_new(attrs, "email_status", json_string("guessed"));
    }
    json_object_set_new(attrs, "email_candidates", list);
    return attrs;
nomem:
    json_decref(list);
    json_decref(attrs);
    return NULL;
}

static void eg_noop(void *arg)
{
    (void)arg;
}

/* On the loop thread: the answer was known at enrich time; even when the
 * threadpool cancelled the no-op (shutdown) it is still right. */
static void eg_after(void *arg, int status)
{
    struct eg_job *job = arg;
    struct drumbeat_result res = { .outcome = DRUMBEAT_DONE };

    (void)status;
    if (job->attrs == NULL)
        res.detail = "nothing to guess from";
    else if (json_object_get(job->attrs, "email") == NULL)
        res.detail = "no candidates";
    else
        res.detail = "guessed";
    job->eg->host->enrich_done(job->op, &res, job->attrs);
    free(job);
}

static int eg_enrich(void *state, const json_t *lead, struct drumbeat_op *op)
{
    struct eg *eg = state;
    struct eg_parts parts;
    struct eg_job *job = calloc(1, sizeof(*job));
    int rc;

    if (job == NULL)
        return -ENOMEM;
    job->eg = eg;
    job->op = op;
    if (eg_parts(lead, &parts) < 0) {
        job->attrs = NULL;
    } else if (undeliverable(lead)) {
        job->attrs = json_pack("{s:[]}", "email_candidates");
    } else if ((job->attrs = candidates(eg, &parts)) == NULL) {
        free(job);
        return -ENOMEM;
    }
    rc = eg->host->queue_work(eg->inst, eg_noop, eg_after, job);
    if (rc < 0) {
        json_decref(job->attrs);
        free(job);
    }
    return rc;
}

static const char *const eg_fields[] = { "email", NULL };

static const char *const *eg_provides(void *state)
{
    (void)state;
    return eg_fields;
}

/* Pure computation needs no cache; a lead without the parts needs no op. */
static int eg_cache_key(void *state, const json_t *lead, char *buf, size_t cap)
{
    struct eg_parts parts;

    (void)state;
    (void)buf;
    (void)cap;
    return eg_parts(lead, &parts) < 0 ? -ENOENT : -EAGAIN;
}

/* For a quoted log value: '"', '\\' and line breaks escaped. */
static void eg_escape(const char *in, char *out, size_t cap)
{
    size_t n = 0;

    for (; in != NULL && *in != '\0' && n + 3 < cap; in++) {
        char c = *in;
        if (c == '"' || c == '\\' || c == '\n' || c == '\r') {
            out[n++] = '\\';
            c = c == '\n' ? 'n' : c == '\r' ? 'r' : c;
        }
        out[n++] = c;
    }
    out[n] = '\0';
}

static int eg_init(const struct drumbeat_host *host, struct drumbeat_instance *inst,
                   const void *settings, void **state)
{
    const struct eg_settings *set = settings;
    struct errbuf err = { 0 };
    struct eg *eg = calloc(1, sizeof(*eg));
    int rc;

    if (eg == NULL)
        return -ENOMEM;
    eg->host = host;
    eg->inst = inst;
    rc = guess_priors_load(set->prior, set->domain_priors, &eg->priors, &err);
    if (rc < 0) {
        char file[512], where[512], what[1024];
        eg_escape(err.file, file, sizeof(file));
        eg_escape(err.where, where, sizeof(where));
        eg_escape(err.what, what, sizeof(what));
        if (err.file[0] != '\0')
            host->log(inst, DRUMBEAT_LOG_ERROR, "msg=\"cannot load domain priors\" file=\"%s\" "
                      "line=%d where=\"%s\" error=\"%s\"", file, err.line, where, what);
        else
            host->log(inst, DRUMBEAT_LOG_ERROR, "msg=\"bad option\" where=\"%s\" error=\"%s\"",
                      where, what);
        free(eg);
        return rc;
    }
    host->log(inst, DRUMBEAT_LOG_INFO, "msg=\"ready\" domain_priors=%zu",
              guess_priors_domains(eg->priors));
    *state = eg;
    return 0;
}

static void eg_fini(void *state)
{
    struct eg *eg = state;
    guess_priors_free(eg->priors);
    free(eg);
}

static const struct drumbeat_enricher_ops eg_ops = {
    .enrich = eg_enrich,
    .provides = eg_provides,
    .cache_key = eg_cache_key,
};

const struct drumbeat_plugin drumbeat_plugin = {
    DRUMBEAT_PLUGIN_HEADER,
    .kind = DRUMBEAT_KIND_ENRICHER,
    .name = "enrich_guess",
    .version = "1.0.0",
    .options = eg_options,
    .settings_size = sizeof(struct eg_settings),
    .init = eg_init,
    .fini = eg_fini,
    .enricher = &eg_ops,
};
