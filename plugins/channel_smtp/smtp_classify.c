/* SPDX-License-Identifier: MIT */
/* plugins/channel_smtp/smtp_classify.c: SMTP replies to outcomes and scopes
 * (see smtp_classify.h and DESIGN.md, "SMTP reply codes from a relay").
 *
 *   2xx                                  DONE
 *   4xx at any stage                     RETRY (the host's backoff)
 *   5.1.x or 5.2.1 at RCPT               FAILED, RECIPIENT (the lead is suppressed)
 *   bare 550/551/553 at RCPT whose text says the user/mailbox is unknown
 *                                        FAILED, RECIPIENT
 *   any other 5xx (5.7.x policy/auth, 5.3.x and 5.4.x relay trouble, bare
 *   codes, anything at MAIL, DATA or AUTH)
 *                                        FAILED, MAILBOX (pause the mailbox)
 *   no final reply after the content was sent
 *                                        IN_DOUBT (never resent automatically)
 *   no reply before that                 RETRY
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "smtp_classify.h"

/* Phrases relays use for a recipient that does not exist. "mailbox
 * unavailable" is deliberately absent: it is RFC 5321's stock 550 text and
 * relays use it for policy rejections too. */
static const char *const unknown_phrases[] = {
    "user unknown", "unknown user", "no such user", "user not found",
    "user does not exist", "user doesn't exist", "unknown recipient",
    "recipient unknown", "recipient not found", "no such recipient",
    "mailbox unknown", "unknown mailbox", "no such mailbox", "mailbox not found",
    "mailbox does not exist", "mailbox doesn't exist", "address unknown",
    "unknown address", "no such address", "address does not exist",
    "account does not exist", "no such account", "invalid recipient",
    "recipient address rejected: user unknown", NULL,
};

bool smtp_text_says_unknown(const char *text)
{
    if (text == NULL)
        return false;
    for (const char *const *p = unknown_phrases; *p != NULL; p++)
        if (strcasestr(text, *p) != NULL)
            return true;
    return false;
}

/* Reads 1 to 3 digits; returns the number or -1. */
static int read_num(const char **s)
{
    int n = 0, digits = 0;
    while (isdigit((unsigned char)**s) && digits < 3) {
        n = n * 10 + (**s - '0');
        (*s)++;
        digits++;
    }
    return digits == 0 || isdigit((unsigned char)**s) ? -1 : n;
}

bool smtp_enhanced_from_text(const char *text, int code, int *cls, int *subject,
                             int *detail, const char **rest)
{
    const char *p = text;
    int c, s, d;

    if (p == NULL)
        return false;
    while (*p == ' ' || *p == '\t')
        p++;
    if ((c = read_num(&p)) < 0 || *p++ != '.' || (s = read_num(&p)) < 0 || *p++ != '.' ||
        (d = read_num(&p)) < 0)
        return false;
    /* It must end there, and be of the reply's own class (RFC 3463). */
    if (*p != '\0' && *p != ' ' && *p != '\t' && *p != '\r' && *p != '\n')
        return false;
    if (c != code / 100 || (c != 2 && c != 4 && c != 5))
        return false;
    while (*p == ' ' || *p == '\t')
        p++;
    *cls = c;
    *subject = s;
    *detail = d;
    if (rest != NULL)
        *rest = p;
    return true;
}

static void verdict(struct smtp_verdict *out, enum drumbeat_outcome o, enum drumbeat_scope s,
                    const char *why)
{
    out->outcome = o;
    out->scope = s;
    out->why = why;
}

void smtp_classify_reply(enum smtp_stage stage, const struct smtp_reply *r,
                         struct smtp_verdict *out)
{
    int cls = r->enh_class, subject = r->enh_subject, detail = r->enh_detail;
    int klass = r->code / 100;

    memset(out, 0, sizeof(*out));
    if (cls == 0 && !smtp_enhanced_from_text(r->text, r->code, &cls, &subject, &detail, NULL))
        cls = 0;
    if (cls != 0)
        snprintf(out->enhanced, sizeof(out->enhanced), "%d.%d.%d", cls, subject, detail);

    if (klass == 2) {
        if (stage == SMTP_STAGE_DATA_END)
            verdict(out, DRUMBEAT_DONE, DRUMBEAT_SCOPE_MESSAGE, "accepted");
        else
            /* A 2xx at MAIL, RCPT or DATA is only a step: the caller asks again
             * at the next stage. Anything else would be a caller bug, and
             * "retry" never loses or doubles a message. */
            verdict(out, DRUMBEAT_RETRY, DRUMBEAT_SCOPE_MESSAGE, "incomplete transaction");
        return;
    }
    if (klass == 4) {
        verdict(out, DRUMBEAT_RETRY,
                stage == SMTP_STAGE_AUTH ? DRUMBEAT_SCOPE_MAILBOX : DRUMBEAT_SCOPE_MESSAGE,
                stage == SMTP_STAGE_AUTH ? "authentication temporarily failed"
                                         : "temporary failure");
        return;
    }
    if (klass != 5) {
        /* Not a reply SMTP allows here. After the content we cannot know
         * whether the server kept the message; before it, nothing went. */
        if (stage == SMTP_STAGE_DATA_END)
            verdict(out, DRUMBEAT_IN_DOUBT, DRUMBEAT_SCOPE_MESSAGE, "unexpected reply after data");
        else
            verdict(out, DRUMBEAT_RETRY, DRUMBEAT_SCOPE_MESSAGE, "unexpected reply");
        return;
    }

    /* 5xx from here on. */
    if (stage == SMTP_STAGE_AUTH) {
        verdict(out, DRUMBEAT_FAILED, DRUMBEAT_SCOPE_MAILBOX, "authentication failed");
        return;
    }
    if (stage == SMTP_STAGE_RCPT) {
        if (cls == 5 && (subject == 1 || (subject == 2 && detail == 1))) {
            verdict(out, DRUMBEAT_FAILED, DRUMBEAT_SCOPE_RECIPIENT,
                    subject == 1 ? "bad recipient address" : "recipient mailbox disabled");
            return;
        }
        if (cls == 0 && (r->code == 550 || r->code == 551 || r->code == 553) &&
            smtp_text_says_unknown(r->text)) {
            verdict(out, DRUMBEAT_FAILED, DRUMBEAT_SCOPE_RECIPIENT, "recipient unknown");
            return;
        }
    }
    if (cls == 5 && subject == 7)
        verdict(out, DRUMBEAT_FAILED, DRUMBEAT_SCOPE_MAILBOX, "rejected by policy");
    else if (cls == 5 && (subject == 3 || subject == 4))
        verdict(out, DRUMBEAT_FAILED, DRUMBEAT_SCOPE_MAILBOX, "relay trouble");
    else
        verdict(out, DRUMBEAT_FAILED, DRUMBEAT_SCOPE_MAILBOX, "permanent failure");
}

void smtp_classify_break(bool content_sent, struct smtp_verdict *out)
{
    memset(out, 0, sizeof(*out));
    if (content_sent)
        verdict(out, DRUMBEAT_IN_DOUBT, DRUMBEAT_SCOPE_MESSAGE,
                "connection lost after the message was sent, before the server's reply");
    else
        verdict(out, DRUMBEAT_RETRY, DRUMBEAT_SCOPE_MESSAGE,
                "connection lost before the message was sent");
}
