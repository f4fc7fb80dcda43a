/* SPDX-License-Identifier: MIT */
/* tests/plugins/t_smtp_classify.c: the SMTP reply classifier
 * (plugins/channel_smtp/smtp_classify.c), exhaustively: every reply class at
 * every stage, every enhanced subject at RCPT, bare codes with and without
 * "unknown user" text, enhanced codes read from the text of a server that
 * did not advertise them, and broken connections before and after the data.
 * These are pure functions, so the test links the file directly. */
#include <stdio.h>
#include <string.h>

#include "../../plugins/channel_smtp/smtp_classify.h"
#include "tap.h"

static struct smtp_verdict cls(enum smtp_stage st, int code, int c, int s, int d, const char *text)
{
    struct smtp_reply r = { .code = code, .enh_class = c, .enh_subject = s, .enh_detail = d,
                            .text = text };
    struct smtp_verdict v;
    smtp_classify_reply(st, &r, &v);
    return v;
}

static bool is(struct smtp_verdict v, enum drumbeat_outcome o, enum drumbeat_scope s)
{
    return v.outcome == o && v.scope == s;
}

static const char *stage_name(enum smtp_stage st)
{
    static const char *const n[] = { "?", "AUTH", "MAIL", "RCPT", "DATA", "DATA_END" };
    return n[st];
}

int main(void)
{
    struct smtp_verdict v;
    int bad = 0;

    tap_plan(40);

    /* 2xx */
    v = cls(SMTP_STAGE_DATA_END, 250, 2, 0, 0, "Ok: queued as 4F2A1");
    tap_ok(is(v, DRUMBEAT_DONE, DRUMBEAT_SCOPE_MESSAGE) && strcmp(v.enhanced, "2.0.0") == 0,
           "250 2.0.0 after the data: DONE");
    v = cls(SMTP_STAGE_DATA_END, 250, 0, 0, 0, "2.0.0 Ok: queued");
    tap_is_str(v.enhanced, "2.0.0", "an enhanced code in the text is read");
    v = cls(SMTP_STAGE_RCPT, 250, 0, 0, 0, "Ok");
    tap_is_int(v.outcome, DRUMBEAT_RETRY, "a 2xx before the end is not a delivery");

    /* 4xx at every stage: RETRY. */
    bad = 0;
    for (int st = SMTP_STAGE_MAIL; st <= SMTP_STAGE_DATA_END; st++)
        for (int code = 400; code <= 499; code++) {
            v = cls((enum smtp_stage)st, code, 0, 0, 0, "try later");
            if (v.outcome != DRUMBEAT_RETRY) {
                tap_diag("%d at %s: outcome %d", code, stage_name(st), v.outcome);
                bad++;
            }
            v = cls((enum smtp_stage)st, code, 4, 7, 1, "greylisted");
            if (v.outcome != DRUMBEAT_RETRY)
                bad++;
        }
    tap_is_int(bad, 0, "every 4xx, bare or enhanced, at MAIL/RCPT/DATA: RETRY");
    v = cls(SMTP_STAGE_AUTH, 454, 4, 7, 0, "Temporary authentication failure");
    tap_ok(is(v, DRUMBEAT_RETRY, DRUMBEAT_SCOPE_MAILBOX), "454 at AUTH: RETRY, MAILBOX");

    /* 5.1.x and 5.2.1 at RCPT: RECIPIENT; every other subject: MAILBOX. */
    bad = 0;
    for (int d = 0; d <= 10; d++) {
        v = cls(SMTP_STAGE_RCPT, 550, 5, 1, d, "bad address");
        if (!is(v, DRUMBEAT_FAILED, DRUMBEAT_SCOPE_RECIPIENT))
            bad++;
    }
    tap_is_int(bad, 0, "5.1.0 .. 5.1.10 at RCPT: FAILED, RECIPIENT");
    v = cls(SMTP_STAGE_RCPT, 550, 5, 2, 1, "Mailbox disabled");
    tap_ok(is(v, DRUMBEAT_FAILED, DRUMBEAT_SCOPE_RECIPIENT), "5.2.1 at RCPT: FAILED, RECIPIENT");
    bad = 0;
    for (int s = 0; s <= 7; s++)
        for (int d = 0; d <= 9; d++) {
            if (s == 1 || (s == 2 && d == 1))
                continue;
            v = cls(SMTP_STAGE_RCPT, 550, 5, s, d, "User unknown");
            if (!is(v, DRUMBEAT_FAILED, DRUMBEAT_SCOPE_MAILBOX)) {
                tap_diag("5.%d.%d at RCPT: outcome %d scope %d", s, d, v.outcome, v.scope);
                bad++;
            }
        }
    tap_is_int(bad, 0, "every other 5.x.x at RCPT: MAILBOX, even with \"User unknown\" text");
    v = cls(SMTP_STAGE_RCPT, 550, 5, 7, 1, "Relaying denied");
    tap_ok(is(v, DRUMBEAT_FAILED, DRUMBEAT_SCOPE_MAILBOX), "550 5.7.1 at RCPT: FAILED, MAILBOX");
    tap_is_str(v.why, "rejected by policy", "... as a policy rejection");
    v = cls(SMTP_STAGE_RCPT, 554, 5, 4, 4, "Unable to route");
    tap_is_str(v.why, "relay trouble", "5.4.4: relay trouble, MAILBOX");
    v = cls(SMTP_STAGE_RCPT, 552, 5, 3, 4, "Message too big");
    tap_ok(is(v, DRUMBEAT_FAILED, DRUMBEAT_SCOPE_MAILBOX), "5.3.4: FAILED, MAILBOX");
    v = cls(SMTP_STAGE_RCPT, 552, 5, 2, 2, "Mailbox full");
    tap_ok(is(v, DRUMBEAT_FAILED, DRUMBEAT_SCOPE_MAILBOX), "5.2.2 (not 5.2.1): MAILBOX");

    /* 5.1.x outside RCPT is about us. */
    bad = 0;
    for (int st = SMTP_STAGE_MAIL; st <= SMTP_STAGE_DATA_END; st++) {
        if (st == SMTP_STAGE_RCPT)
            continue;
        v = cls((enum smtp_stage)st, 550, 5, 1, 1, "User unknown");
        if (!is(v, DRUMBEAT_FAILED, DRUMBEAT_SCOPE_MAILBOX))
            bad++;
        v = cls((enum smtp_stage)st, 550, 0, 0, 0, "User unknown");
        if (!is(v, DRUMBEAT_FAILED, DRUMBEAT_SCOPE_MAILBOX))
            bad++;
    }
    tap_is_int(bad, 0, "5.1.1 or \"User unknown\" at MAIL/DATA: MAILBOX, never RECIPIENT");

    /* Bare codes at RCPT. */
    const char *unknown[] = { "User unknown in local recipient table", "<x@y>: unknown user",
                              "No such user here", "Mailbox unknown", "no such mailbox",
                              "Recipient address rejected: User unknown in virtual table",
                              "mailbox does not exist", "USER NOT FOUND" };
    bad = 0;
    for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++)
        for (int code = 550; code <= 553; code++) {
            if (code == 552)
                continue;
            v = cls(SMTP_STAGE_RCPT, code, 0, 0, 0, unknown[i]);
            if (!is(v, DRUMBEAT_FAILED, DRUMBEAT_SCOPE_RECIPIENT)) {
                tap_diag("bare %d \"%s\": scope %d", code, unknown[i], v.scope);
                bad++;
            }
        }
    tap_is_int(bad, 0, "bare 550/551/553 at RCPT saying the user is unknown: RECIPIENT");
    const char *other[] = { "Requested action not taken: mailbox unavailable",
                            "Relay access denied", "Sender address rejected", "Rejected",
                            "Message refused by policy", "", NULL };
    bad = 0;
    for (size_t i = 0; i < sizeof(other) / sizeof(other[0]); i++)
        for (int code = 550; code <= 559; code++) {
            v = cls(SMTP_STAGE_RCPT, code, 0, 0, 0, other[i]);
            if (!is(v, DRUMBEAT_FAILED, DRUMBEAT_SCOPE_MAILBOX))
                bad++;
        }
    tap_is_int(bad, 0, "bare 55x at RCPT without such text (or none): MAILBOX");
    v = cls(SMTP_STAGE_RCPT, 552, 0, 0, 0, "User unknown");
    tap_is_int(v.scope, DRUMBEAT_SCOPE_MAILBOX, "bare 552 \"User unknown\": MAILBOX (only 550/551/553)");
    v = cls(SMTP_STAGE_RCPT, 554, 0, 0, 0, "no such user");
    tap_is_int(v.scope, DRUMBEAT_SCOPE_MAILBOX, "bare 554 \"no such user\": MAILBOX");

    /* Enhanced codes in the text of a server that did not advertise them. */
    v = cls(SMTP_STAGE_RCPT, 550, 0, 0, 0, "5.1.1 <a@b>: Recipient address rejected");
    tap_ok(is(v, DRUMBEAT_FAILED, DRUMBEAT_SCOPE_RECIPIENT) && strcmp(v.enhanced, "5.1.1") == 0,
           "\"550 5.1.1 ...\" unadvertised: RECIPIENT, 5.1.1");
    v = cls(SMTP_STAGE_RCPT, 550, 0, 0, 0, "5.7.1 User unknown here");
    tap_ok(is(v, DRUMBEAT_FAILED, DRUMBEAT_SCOPE_MAILBOX), "\"550 5.7.1 User unknown\": the code wins, MAILBOX");
    v = cls(SMTP_STAGE_RCPT, 550, 0, 0, 0, "4.1.1 User unknown");
    tap_ok(v.enhanced[0] == '\0' && v.scope == DRUMBEAT_SCOPE_RECIPIENT,
           "a text code of another class is not an enhanced code");
    v = cls(SMTP_STAGE_RCPT, 550, 0, 0, 0, "5.1.1234 x");
    tap_is_str(v.enhanced, "", "a malformed text code is ignored");
    int c, s, d;
    const char *rest;
    tap_ok(smtp_enhanced_from_text("  5.7.26 Unauthenticated", 550, &c, &s, &d, &rest) &&
           c == 5 && s == 7 && d == 26 && strcmp(rest, "Unauthenticated") == 0,
           "smtp_enhanced_from_text reads 5.7.26 and points past it");
    tap_ok(!smtp_enhanced_from_text("5.7", 550, &c, &s, &d, NULL) &&
           !smtp_enhanced_from_text("5.7.1x", 550, &c, &s, &d, NULL) &&
           !smtp_enhanced_from_text(NULL, 550, &c, &s, &d, NULL) &&
           !smtp_enhanced_from_text("3.0.0 x", 354, &c, &s, &d, NULL),
           "... and refuses partial, glued, NULL and non-2/4/5 codes");

    /* 5xx at MAIL, DATA, after the data, AUTH. */
    v = cls(SMTP_STAGE_MAIL, 553, 5, 7, 1, "Sender not allowed");
    tap_ok(is(v, DRUMBEAT_FAILED, DRUMBEAT_SCOPE_MAILBOX), "553 5.7.1 at MAIL: FAILED, MAILBOX");
    v = cls(SMTP_STAGE_MAIL, 530, 5, 7, 0, "Authentication required");
    tap_ok(is(v, DRUMBEAT_FAILED, DRUMBEAT_SCOPE_MAILBOX), "530 5.7.0 at MAIL: FAILED, MAILBOX");
    v = cls(SMTP_STAGE_DATA, 554, 5, 5, 1, "No valid recipients");
    tap_ok(is(v, DRUMBEAT_FAILED, DRUMBEAT_SCOPE_MAILBOX), "554 at DATA: FAILED, MAILBOX");
    v = cls(SMTP_STAGE_DATA_END, 554, 5, 7, 1, "Spam detected");
    tap_ok(is(v, DRUMBEAT_FAILED, DRUMBEAT_SCOPE_MAILBOX), "554 5.7.1 after the data: FAILED, MAILBOX");
    v = cls(SMTP_STAGE_DATA_END, 550, 5, 1, 1, "user unknown");
    tap_ok(is(v, DRUMBEAT_FAILED, DRUMBEAT_SCOPE_MAILBOX), "5.1.1 after the data: MAILBOX");
    v = cls(SMTP_STAGE_AUTH, 535, 5, 7, 8, "Authentication credentials invalid");
    tap_ok(is(v, DRUMBEAT_FAILED, DRUMBEAT_SCOPE_MAILBOX), "535 5.7.8 at AUTH: FAILED, MAILBOX");
    v = cls(SMTP_STAGE_AUTH, 535, 0, 0, 0, "5.7.8 Username and Password not accepted");
    tap_is_str(v.enhanced, "5.7.8", "... its enhanced code read from the text");
    v = cls(SMTP_STAGE_AUTH, 534, 0, 0, 0, "Please log in via your web browser");
    tap_ok(is(v, DRUMBEAT_FAILED, DRUMBEAT_SCOPE_MAILBOX), "bare 534 at AUTH: FAILED, MAILBOX");

    /* Replies SMTP does not allow. */
    v = cls(SMTP_STAGE_DATA_END, 354, 0, 0, 0, "go ahead");
    tap_is_int(v.outcome, DRUMBEAT_IN_DOUBT, "a 3xx after the data: IN_DOUBT");
    v = cls(SMTP_STAGE_DATA_END, 600, 0, 0, 0, "??");
    tap_is_int(v.outcome, DRUMBEAT_IN_DOUBT, "a 6xx after the data: IN_DOUBT");
    v = cls(SMTP_STAGE_DATA, 354, 0, 0, 0, "go ahead");
    tap_is_int(v.outcome, DRUMBEAT_RETRY, "an odd reply before the data: RETRY");
    v = cls(SMTP_STAGE_RCPT, 199, 0, 0, 0, "??");
    tap_is_int(v.outcome, DRUMBEAT_RETRY, "a 1xx at RCPT: RETRY");

    /* Broken connections. */
    smtp_classify_break(true, &v);
    tap_ok(is(v, DRUMBEAT_IN_DOUBT, DRUMBEAT_SCOPE_MESSAGE), "a break after the data: IN_DOUBT");
    smtp_classify_break(false, &v);
    tap_ok(is(v, DRUMBEAT_RETRY, DRUMBEAT_SCOPE_MESSAGE), "a break before the data: RETRY");

    /* The text matcher. */
    tap_ok(smtp_text_says_unknown("550 5.1.1 <x@y.z>: Recipient address rejected: User unknown"),
           "Postfix's text is recognised");
    tap_ok(!smtp_text_says_unknown(NULL) && !smtp_text_says_unknown("") &&
           !smtp_text_says_unknown("mailbox unavailable") &&
           !smtp_text_says_unknown("Service unavailable; Client host blocked"),
           "NULL, empty, RFC 5321's stock text and a block list text are not");
    return tap_done();
}
