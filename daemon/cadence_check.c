/* SPDX-License-Identifier: MIT */
/* daemon/cadence_check.c: the launch check of a cadence (cadence_check.h):
 * renders every email template of the cadence for a sample lead through the
 * same path the sequencer sends with (render_data_new, render_message), then
 * looks for the unsubscribe link and the postal address in the text part,
 * and checks the mailboxes, their channels and the daily caps against the
 * planned volume. It only reads: it is cheap enough to run at every
 * enrollment. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "cadence_check.h"
#include "cadence_def.h"
#include "config.h"
#include "daemon.h"
#include "plugin_loader.h"
#include "render_message.h"
#include "template_file.h"
#include "unsub_token.h"

#define SAMPLE_LEAD_ID 1

static int problem(json_t *list, const char *check, const char *where, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int problem(json_t *list, const char *check, const char *where, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *text = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    json_t *p = json_pack("{s:s, s:s, s:s}", "check", check, "where", where, "problem", text);
    g_free(text);
    return p != NULL && json_array_append_new(list, p) == 0 ? 0 : -ENOMEM;
}

json_t *cadence_check_sample_lead(const struct cadence_def *def)
{
    return json_pack("{s:i, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s,"
                     " s:s, s:{s:s, s:s, s:s}, s:{}}",
                     "id", SAMPLE_LEAD_ID, "email", "jordan.sample@example.com",
                     "first_name", "Jordan", "last_name", "Sample",
                     "company", "Example Industries", "domain", "example.com",
                     "title", "Head of Sales", "phone", "+33142685300", "country", "FR",
                     "timezone", def != NULL && def->timezone != NULL ? def->timezone
                                                                      : "Europe/Paris",
                     "linkedin", "https://www.linkedin.com/in/jordan-sample",
                     "source", "launch-check", "lawful_basis", "legitimate_interest",
                     "email_status", "verified", "stage", "prospect",
                     "attrs", "industry", "software", "city", "Paris", "employees", "120",
                     "owners");
}

/* The unsubscribe link the sample's emails carry from mailbox, as
 * render_message() makes it; NULL (and a problem) when none can be made. */
static char *unsubscribe_url(const struct config *cfg, const char *mailbox, json_t *out,
                             bool *reported)
{
    char *token = NULL;
    const char *missing = cfg->public_url == NULL ? "config public_url"
                        : cfg->unsub_secret == NULL ? "config templates.unsubscribe_secret_file"
                        : NULL;
    if (missing != NULL) {
        if (!*reported)
            problem(out, "unsubscribe_link", missing, "no unsubscribe link can be made: set %s "
                    "(emails must carry a working unsubscribe link)", missing + 7);
        *reported = true;
        return NULL;
    }
    if (unsub_token_sign(cfg->unsub_secret, cfg->unsub_secret_len, SAMPLE_LEAD_ID, mailbox,
                         &token) < 0)
        return NULL;
    size_t n = strlen(cfg->public_url);
    while (n > 0 && cfg->public_url[n - 1] == '/')
        n--;
    char *url = g_strdup_printf("%.*s/u/%s", (int)n, cfg->public_url, token);
    free(token);
    return url;
}

/* Renders one email template for the sample and checks its text part. */
static int check_template(struct daemon *d, const struct cadence_def *def, size_t step,
                          const char *tname, const char *where, const struct config_mailbox *mb,
                          const json_t *lead, json_t *out, bool *unsub_reported)
{
    const struct config *cfg = d->cfg;
    const struct template_file *tf = d->templates != NULL
                                   ? template_set_get(d->templates, tname) : NULL;
    if (tf == NULL)
        return problem(out, "template", where, "no email template named \"%s\" in %s", tname,
                       cfg->templates_dir != NULL ? cfg->templates_dir : "the config");
    if (tf->kind != TEMPLATE_KIND_EMAIL)
        return problem(out, "template", where, "\"%s\" is a call script, not an email", tname);

    json_t *cad = json_pack("{s:s, s:i}", "name", def->name, "version", 0);
    json_t *st = json_pack("{s:i, s:s, s:b}", "number", (int)step + 1, "name",
                           def->steps[step].name, "reply_subject", 0);
    json_t *data = render_data_new(cfg, mb, lead, cad, st);
    json_decref(cad);
    json_decref(st);
    if (data == NULL)
        return -ENOMEM;
    struct render_message_in in = { .tf = tf, .data = data, .unsub_secret = cfg->unsub_secret,
                                    .unsub_secret_len = cfg->unsub_secret_len,
                                    .now_ms = 1767600000000LL /* a Monday, 2026-01-05 */ };
    struct render_result res = { 0 };
    struct errbuf err = { 0 };
    char *msg = NULL, *url = NULL;
    size_t len = 0;
    int rc = render_message(&in, &res, &msg, &len, &err);
    if (rc == -ENOMEM)
        goto out;
    if (rc < 0) {
        rc = problem(out, "template", tname, rc == -ENODATA
                     ? "refuses the sample lead (%s): the template would skip most leads"
                     : "does not render for the sample lead: %s%s%s", err.what,
                     err.where[0] != '\0' ? " at " : "", err.where);
        goto out;
    }
    const char *text = res.text != NULL ? res.text : "";
    url = unsubscribe_url(cfg, mb->name, out, unsub_reported);
    if (url != NULL && strstr(text, url) == NULL)
        rc = problem(out, "unsubscribe_link", tname, "the text part does not carry the "
                     "unsubscribe link: add {{unsubscribe_url}} (the signature partial has it)");
    if (rc == 0 && cfg->postal_address != NULL && strstr(text, cfg->postal_address) == NULL)
        rc = problem(out, "postal_address", tname, "the text part does not carry the postal "
                     "address \"%s\": add {{config.postal_address}}", cfg->postal_address);
out:
    g_free(url);
    free(msg);
    render_result_clear(&res);
    json_decref(data);
    return rc;
}

static int check_mailboxes(struct daemon *d, const struct cadence_def *def, size_t n_email,
                           json_t *out)
{
    const struct config *cfg = d->cfg;
    char where[64];
    int rc = 0;
    if (def->n_mailboxes == 0 && n_email > 0)
        return problem(out, "mailbox", "mailboxes", "the cadence has %zu email step%s and no "
                       "mailbox to send from", n_email, n_email == 1 ? "" : "s");
    for (size_t i = 0; rc == 0 && i < def->n_mailboxes; i++) {
        const struct config_mailbox *mb = config_mailbox_get(cfg, def->mailboxes[i]);
        snprintf(where, sizeof(where), "mailboxes[%zu]", i);
        if (mb == NULL)
            rc = problem(out, "mailbox", where, "mailbox \"%s\" is not configured (config "
                         "\"mailboxes\")", def->mailboxes[i]);
        else if (config_channel_get(cfg, mb->channel) == NULL)
            rc = problem(out, "mailbox", where, "mailbox \"%s\" sends through channel \"%s\", "
                         "which is not configured", mb->name, mb->channel);
        else if (d->plugins != NULL && !plugins_channel_ready(d->plugins, mb->channel))
            rc = problem(out, "mailbox", where, "mailbox \"%s\" sends through channel \"%s\", "
                         "which is not running (see drumbeat status)", mb->name, mb->channel);
    }
    return rc;
}

/* The most the cadence asks for in a day, once it runs at full speed: each
 * day's new leads get each email step once. */
static int check_caps(const struct config *cfg, const struct cadence_def *def, size_t n_email,
                      json_t *out)
{
    int64_t cap = 0;
    GString *parts = g_string_new(NULL);
    if (def->new_per_day <= 0 || n_email == 0) {
        g_string_free(parts, TRUE);
        return 0;                /* no throttle: nothing planned to compare */
    }
    for (size_t i = 0; i < def->n_mailboxes; i++) {
        const struct config_mailbox *mb = config_mailbox_get(cfg, def->mailboxes[i]);
        if (mb == NULL)
            continue;
        cap += mb->daily_cap;
        g_string_append_printf(parts, "%s%s %" PRId64, parts->len > 0 ? ", " : "", mb->name,
                               mb->daily_cap);
    }
    int64_t planned = def->new_per_day * (int64_t)n_email;
    int rc = 0;
    if (planned > cap)
        rc = problem(out, "caps", "throttle.new_per_day", "new_per_day %" PRId64 " x %zu email "
                     "step%s = %" PRId64 " emails a day at full run, but the mailboxes' daily "
                     "caps sum to %" PRId64 " (%s): lower new_per_day to %" PRId64 " or add "
                     "mailboxes", def->new_per_day, n_email, n_email == 1 ? "" : "s", planned,
                     cap, parts->len > 0 ? parts->str : "no configured mailbox",
                     cap / (int64_t)n_email);
    g_string_free(parts, TRUE);
    return rc;
}

int cadence_check(struct daemon *d, const struct cadence_def *def, json_t **problems)
{
    json_t *out = json_array(), *lead = cadence_check_sample_lead(def);
    const struct config_mailbox *mb = NULL;
    struct config_mailbox placeholder = { .name = "launch-check",
                                          .address = "launch-check@example.com",
                                          .display_name = "Launch Check" };
    bool unsub_reported = false;
    size_t n_email = 0;
    char where[96];
    int rc = out != NULL && lead != NULL ? 0 : -ENOMEM;

    /* The emails render as the first configured mailbox sends them. */
    for (size_t i = 0; mb == NULL && i < def->n_mailboxes; i++)
        mb = config_mailbox_get(d->cfg, def->mailboxes[i]);
    if (mb == NULL)
        mb = &placeholder;
    if (rc == 0 && d->cfg->postal_address == NULL)
        rc = problem(out, "postal_address", "config company.postal_address", "no postal address "
                     "is configured: commercial email must carry the sender's postal address");
    for (size_t i = 0; rc == 0 && i < def->n_steps; i++) {
        const struct cadence_step *st = &def->steps[i];
        if (st->type != CADENCE_STEP_EMAIL)
            continue;
        n_email++;
        if (st->email.template != NULL) {
            snprintf(where, sizeof(where), "steps[%zu].template", i);
            rc = check_template(d, def, i, st->email.template, where, mb, lead, out,
                                &unsub_reported);
        }
        for (size_t k = 0; rc == 0 && k < st->email.n_variants; k++) {
            snprintf(where, sizeof(where), "steps[%zu].variants[%zu].template", i, k);
            rc = check_template(d, def, i, st->email.variants[k].template, where, mb, lead, out,
                                &unsub_reported);
        }
    }
    if (rc == 0)
        rc = check_mailboxes(d, def, n_email, out);
    if (rc == 0)
        rc = check_caps(d->cfg, def, n_email, out);
    json_decref(lead);
    if (rc < 0) {
        json_decref(out);
        return rc;
    }
    *problems = out;
    return 0;
}
