/* SPDX-License-Identifier: MIT */
/* plugins/channel_smtp/smtp_classify.h: turns what an SMTP relay said about
 * one message (the stage it reached, the reply code, the enhanced status and
 * the text) into a drumbeat outcome and scope, following DESIGN.md, "SMTP
 * reply codes from a relay": we submit to a relay, so a 5xx is often about
 * us, and only a clear "this address is bad" at RCPT suppresses a lead.
 * Pure functions: no I/O, no globals, safe on any thread.
 *
 * Ownership: every pointer passed in is borrowed for the call; a verdict's
 * strings point into static text or into the verdict itself.
 */
#ifndef DRUMBEAT_SMTP_CLASSIFY_H
#define DRUMBEAT_SMTP_CLASSIFY_H

#include <stdbool.h>

#include <drumbeat/plugin.h>

/* Where in the conversation a reply was given. */
enum smtp_stage {
    SMTP_STAGE_AUTH = 1,     /* the reply to AUTH (the whole session) */
    SMTP_STAGE_MAIL = 2,     /* MAIL FROM */
    SMTP_STAGE_RCPT = 3,     /* RCPT TO */
    SMTP_STAGE_DATA = 4,     /* the reply to the DATA command, before any content */
    SMTP_STAGE_DATA_END = 5, /* the reply after the content's final dot */
};

/* One reply as the server gave it. enh_class 0 means "no enhanced status". */
struct smtp_reply {
    int code;
    int enh_class, enh_subject, enh_detail;
    const char *text;        /* may be NULL */
};

struct smtp_verdict {
    enum drumbeat_outcome outcome;
    enum drumbeat_scope scope;
    char enhanced[24];       /* "5.1.1", or "" when there is none */
    const char *why;         /* a short fixed phrase for logs: "recipient unknown", ... */
};

/* Classifies a reply given at stage. A reply without enhanced status whose
 * text starts with one of the same class ("550 5.1.1 ...") is read as if
 * the server had advertised ENHANCEDSTATUSCODES. */
void smtp_classify_reply(enum smtp_stage stage, const struct smtp_reply *reply,
                         struct smtp_verdict *out);

/* Classifies a message that got no final reply because the connection broke
 * (or never came up). content_sent: the whole message had been handed to the
 * connection, so the server may have accepted it: IN_DOUBT, never resent.
 * Otherwise nothing can have been delivered: RETRY. */
void smtp_classify_break(bool content_sent, struct smtp_verdict *out);

/* True when a reply text says the user or mailbox does not exist ("User
 * unknown", "no such mailbox", ...), case-insensitively. */
bool smtp_text_says_unknown(const char *text);

/* Reads a leading enhanced status "c.s.d" from text when c equals code's
 * class (code / 100); returns true and fills the three numbers, and *rest
 * (when not NULL) points past it and the blanks after it. */
bool smtp_enhanced_from_text(const char *text, int code, int *cls, int *subject,
                             int *detail, const char **rest);

#endif /* DRUMBEAT_SMTP_CLASSIFY_H */
