/* SPDX-License-Identifier: MIT */
/* daemon/email_addr.h: email address syntax for an outreach daemon: what an
 * SMTP relay will take as an envelope address (RFC 5321: a dot-atom or a
 * quoted-string local part; a host name or an address literal), without the
 * comments, folding white space and obsolete forms RFC 5322 allows only in
 * headers. Also normalization (the domain lower-cased, the local part kept
 * as given: only the receiving host may interpret it), role and free-mail
 * tests, and the address status every lead carries.
 *
 * Threads: pure functions; any thread.
 * Ownership: reasons returned through *why are static strings; out buffers
 * are the caller's; list arguments are borrowed, NULL-terminated.
 */
#ifndef DRUMBEAT_EMAIL_ADDR_H
#define DRUMBEAT_EMAIL_ADDR_H

#include <stdbool.h>
#include <stddef.h>

/* RFC 5321's limits: path 256 octets less the angle brackets. */
#define EMAIL_ADDR_MAX 254
#define EMAIL_LOCAL_MAX 64

/* What is known about an address, set by import and by the enrichers; the
 * cadence's issue rule reads it (never `guessed` or `undeliverable` by
 * default). Stored as text in leads.email_status. */
enum email_status {
    EMAIL_STATUS_UNKNOWN = 0,     /* nothing checked */
    EMAIL_STATUS_SYNTAX_OK,       /* the syntax is valid (import) */
    EMAIL_STATUS_VERIFIED,        /* a verifier accepted the mailbox */
    EMAIL_STATUS_CATCH_ALL,       /* the domain accepts every mailbox */
    EMAIL_STATUS_UNDELIVERABLE,   /* no MX nor A, or the mailbox was refused */
    EMAIL_STATUS_GUESSED,         /* proposed from a name pattern; never verified */
    EMAIL_STATUS_COUNT
};
/* "unknown", "syntax_ok", ...; NULL for a value out of range. */
const char *email_status_format(enum email_status s);
/* 0 or -EINVAL. */
int email_status_parse(const char *text, enum email_status *out);

/* Checks addr (len bytes; it may hold NULs, which are invalid) as an
 * envelope address. Returns 0, or -EINVAL with *why (may be NULL) set to a
 * short static reason such as "consecutive dots in the local part". */
int email_addr_check(const char *addr, size_t len, const char **why);

/* Validates addr and writes it to out (outlen >= EMAIL_ADDR_MAX + 1) with
 * the domain lower-cased (ASCII letters only; the local part untouched).
 * Returns 0, -EINVAL (*why set) or -ENAMETOOLONG when out is too small. */
int email_addr_normalize(const char *addr, size_t len, char *out, size_t outlen,
                         const char **why);

/* The domain of a valid address: the text after its last '@' (borrowed). */
const char *email_addr_domain(const char *addr);
/* True when the address literal form "[...]" is used for the domain. */
bool email_addr_is_literal(const char *addr);

/* True when the local part (case-blind, ignoring a "+tag") is in locals,
 * e.g. "info", "sales", "support". */
bool email_addr_is_role(const char *addr, const char *const *locals);
/* True when domain (case-blind) is in domains, e.g. "gmail.com". */
bool email_domain_in(const char *domain, const char *const *domains);

#endif /* DRUMBEAT_EMAIL_ADDR_H */
