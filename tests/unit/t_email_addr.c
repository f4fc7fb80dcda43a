/* SPDX-License-Identifier: MIT */
/* tests/unit/t_email_addr.c: email_addr_check() against every row of the
 * is_email test sets (shared/corpora/email-addresses/cases.tsv), aiming at
 * the `expected` column, and a report of the agreement. Then normalization,
 * role and free-mail tests and the status names.
 *
 * Deliberate difference (the only one):
 *   tests#71  test@[IPv6:1111:2222:3333:4444:5555:6666::8888]  expected
 *             invalid. Its diagnosis is ISEMAIL_RFC5321_IPV6DEPRECATED (a
 *             "::" standing for a single group), which is below is_email's
 *             own valid cut-off (16) and is filed under ISEMAIL_RFC5321 for
 *             the six other rows with that diagnosis, all expected valid
 *             (e.g. tests-original first.last@[IPv6:1111:2222:3333::4444:
 *             5555:6666:7777]). The two addresses have the same shape, so no
 *             validator can agree with both; we accept, as RFC 5321's
 *             IPv6-comp grammar does (RFC 5952 only deprecates the form).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "email_addr.h"
#include "tap.h"

struct known_diff {
    const char *set, *id, *ours;
};
static const struct known_diff known_diffs[] = {
    { "tests", "71", "valid" },
};

/* Undoes cases.tsv's escaping: \\ \t \r \n \xHH. */
static size_t unescape(const char *in, char *out, size_t cap)
{
    size_t n = 0;
    for (const char *p = in; *p != '\0' && n + 1 < cap; p++) {
        if (*p != '\\' || p[1] == '\0') {
            out[n++] = *p;
            continue;
        }
        p++;
        switch (*p) {
        case '\\': out[n++] = '\\'; break;
        case 't': out[n++] = '\t'; break;
        case 'r': out[n++] = '\r'; break;
        case 'n': out[n++] = '\n'; break;
        case 'x': {
            char hex[3] = { p[1], p[1] != '\0' ? p[2] : '\0', '\0' };
            out[n++] = (char)strtol(hex, NULL, 16);
            p += 2;
            break;
        }
        default: out[n++] = '\\'; out[n++] = *p; break;
        }
    }
    out[n] = '\0';
    return n;
}

static const struct known_diff *find_diff(const char *set, const char *id)
{
    for (size_t i = 0; i < sizeof(known_diffs) / sizeof(known_diffs[0]); i++)
        if (strcmp(known_diffs[i].set, set) == 0 && strcmp(known_diffs[i].id, id) == 0)
            return &known_diffs[i];
    return NULL;
}

static int run_corpus(FILE *f)
{
    char line[4096], addr[2048];
    int rows = 0, agree = 0, tests = 0;

    if (fgets(line, sizeof(line), f) == NULL)   /* the header */
        return 0;
    while (fgets(line, sizeof(line), f) != NULL) {
        char *cols[9] = { 0 };
        char *p = line;
        line[strcspn(line, "\n")] = '\0';
        for (int c = 0; c < 9 && p != NULL; c++) {
            cols[c] = p;
            p = strchr(p, '\t');
            if (p != NULL)
                *p++ = '\0';
        }
        if (cols[6] == NULL)
            continue;
        size_t len = unescape(cols[0], addr, sizeof(addr));
        const char *why = NULL;
        bool valid = email_addr_check(addr, len, &why) == 0;
        const char *ours = valid ? "valid" : "invalid";
        const struct known_diff *d = find_diff(cols[5], cols[6]);
        rows++;
        agree += strcmp(ours, cols[1]) == 0;
        const char *want = d != NULL ? d->ours : cols[1];
        tests++;
        if (!tap_ok(strcmp(ours, want) == 0, "%s#%s %s: %s%s", cols[5], cols[6], cols[3], want,
                    d != NULL ? " (deliberate difference, see the comment)" : ""))
            tap_diag("address [%s]: ours %s (%s)", cols[0], ours, why != NULL ? why : "-");
    }
    tap_diag("agreement with `expected`: %d of %d rows (%d deliberate difference)", agree, rows,
             (int)(sizeof(known_diffs) / sizeof(known_diffs[0])));
    return tests;
}

static int extra(void)
{
    char out[EMAIL_ADDR_MAX + 1];
    const char *why = NULL;
    static const char *const roles[] = { "info", "sales", "support", NULL };
    static const char *const free_mail[] = { "gmail.com", "outlook.com", NULL };

    tap_is_int(email_addr_normalize("Ada.Lovelace@Example.COM", 24, out, sizeof(out), &why),
               0, "mixed case normalizes");
    tap_is_str(out, "Ada.Lovelace@example.com", "domain lower-cased, local part kept");
    tap_is_int(email_addr_normalize("a..b@x.org", 10, out, sizeof(out), &why), -EINVAL,
               "consecutive dots refused");
    tap_contains(why, "consecutive dots", "with the reason");
    tap_ok(email_addr_is_role("Sales+eu@acme.io", roles), "sales+eu@ is a role address");
    tap_ok(!email_addr_is_role("ada@acme.io", roles), "ada@ is not");
    tap_ok(email_domain_in("GMail.com", free_mail), "gmail.com is free mail");
    tap_ok(!email_domain_in("acme.io", free_mail), "acme.io is not");
    enum email_status st;
    tap_ok(email_status_parse("catch_all", &st) == 0 && st == EMAIL_STATUS_CATCH_ALL &&
           strcmp(email_status_format(EMAIL_STATUS_GUESSED), "guessed") == 0,
           "status names round-trip");
    tap_is_int(email_addr_check("nul\0@x.org", 10, &why), -EINVAL, "an embedded NUL is refused");
    return 10;
}

int main(void)
{
    FILE *f = fopen(tap_corpus_path("email-addresses/cases.tsv"), "r");
    if (f == NULL)
        tap_skip_all("the email-addresses corpus is missing (shared/corpora/email-addresses)");
    int n = run_corpus(f);
    fclose(f);
    n += extra();
    tap_plan(n);
    return tap_done();
}
