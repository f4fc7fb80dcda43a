/* SPDX-License-Identifier: MIT */
/* daemon/config_import.c: the "import" section of the config:
 *   "import": {
 *     "free_mail_domains": ["gmail.com", ...],  replaces the built-in list
 *     "role_locals": ["info", "sales", ...],     replaces the built-in list
 *     "lawful_basis": "legitimate_interest",     GDPR art. 6 basis recorded per lead
 *     "batch_rows": 2000                         rows per store request; the
 *                                                writer commits up to 56 of an
 *                                                import's requests at once
 *   }
 * The built-in lists are the defaults: the free-mail providers B2B lists
 * commonly hold, and the mailbox names used by teams rather than persons.
 */
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "config_internal.h"

static const char *const default_free_mail[] = {
    "gmail.com", "googlemail.com", "yahoo.com", "yahoo.co.uk", "yahoo.fr", "ymail.com",
    "hotmail.com", "hotmail.co.uk", "hotmail.fr", "outlook.com", "live.com", "msn.com",
    "aol.com", "icloud.com", "me.com", "mac.com", "proton.me", "protonmail.com", "gmx.com",
    "gmx.de", "gmx.net", "web.de", "mail.com", "yandex.ru", "yandex.com", "mail.ru",
    "zoho.com", "fastmail.com", "tutanota.com", "hey.com", "qq.com", "163.com", "126.com",
    "orange.fr", "free.fr", "laposte.net", "wanadoo.fr", "t-online.de", "libero.it",
    "btinternet.com", "comcast.net", "verizon.net", "att.net", "sbcglobal.net", NULL,
};

static const char *const default_role_locals[] = {
    "info", "sales", "support", "contact", "hello", "admin", "office", "team", "help",
    "marketing", "billing", "accounts", "hr", "jobs", "careers", "press", "media", "noreply",
    "no-reply", "postmaster", "abuse", "webmaster", "enquiries", "inquiries", "service",
    "customerservice", "feedback", "privacy", "legal", "security", "finance", NULL,
};

/* GDPR article 6(1) bases. */
static const char *const lawful_bases[] = {
    "consent", "contract", "legal_obligation", "vital_interests", "public_task",
    "legitimate_interest", NULL,
};

bool config_lawful_basis_valid(const char *basis)
{
    for (const char *const *b = lawful_bases; basis != NULL && *b != NULL; b++)
        if (strcmp(*b, basis) == 0)
            return true;
    return false;
}

static char **strv_dup(const char *const *v)
{
    size_t n = 0;
    while (v[n] != NULL)
        n++;
    char **out = calloc(n + 1, sizeof(*out));
    for (size_t i = 0; out != NULL && i < n; i++) {
        out[i] = strdup(v[i]);
        if (out[i] == NULL) {
            config_strv_free(out);
            return NULL;
        }
    }
    return out;
}

int config_import_defaults(struct config *cfg)
{
    cfg->import.free_mail_domains = strv_dup(default_free_mail);
    cfg->import.role_locals = strv_dup(default_role_locals);
    cfg->import.lawful_basis = strdup("legitimate_interest");
    /* 500 was 27% slower on bench/bench_import.sh; a batch of 2000 holds
     * the store's writer for about 0.1 s, which sends can wait. */
    cfg->import.batch_rows = 2000;
    return cfg->import.free_mail_domains != NULL && cfg->import.role_locals != NULL &&
           cfg->import.lawful_basis != NULL ? 0 : -1;
}

void config_import_free(struct config *cfg)
{
    config_strv_free(cfg->import.free_mail_domains);
    config_strv_free(cfg->import.role_locals);
    free(cfg->import.lawful_basis);
}

void config_load_import(struct config_ctx *ctx, const json_t *root, struct config *cfg)
{
    static const char *const keys[] = {
        "free_mail_domains", "role_locals", "lawful_basis", "batch_rows", NULL,
    };
    const json_t *obj = config_ctx_object(ctx, root, "", "import");
    int64_t n;

    if (obj == NULL)
        return;
    config_ctx_keys(ctx, obj, "import", keys);
    if (json_object_get(obj, "free_mail_domains") != NULL) {
        char **v = config_ctx_strv(ctx, obj, "import", "free_mail_domains", false);
        if (v != NULL) {
            config_strv_free(cfg->import.free_mail_domains);
            cfg->import.free_mail_domains = v;
        }
    }
    if (json_object_get(obj, "role_locals") != NULL) {
        char **v = config_ctx_strv(ctx, obj, "import", "role_locals", false);
        if (v != NULL) {
            config_strv_free(cfg->import.role_locals);
            cfg->import.role_locals = v;
        }
    }
    if (config_ctx_string(ctx, obj, "import", "lawful_basis", false, &cfg->import.lawful_basis) &&
        !config_lawful_basis_valid(cfg->import.lawful_basis)) {
        char got[128];
        config_describe(json_object_get(obj, "lawful_basis"), got, sizeof(got));
        config_ctx_error(ctx, "import.lawful_basis",
                         "expected one of \"consent\", \"contract\", \"legal_obligation\", "
                         "\"vital_interests\", \"public_task\", \"legitimate_interest\", got %s",
                         got);
    }
    /* One writer transaction per batch: large enough to amortise the
     * fsync, small enough that the writer never holds others up for long. */
    if (config_ctx_int(ctx, obj, "import", "batch_rows", 1, 10000, &n))
        cfg->import.batch_rows = (int)n;
}
