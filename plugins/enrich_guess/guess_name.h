/* SPDX-License-Identifier: MIT */
/* plugins/enrich_guess/guess_name.h: turning a person's name and a company
 * domain into the pieces of a guessed address: a name becomes plain ASCII
 * fit for an email local part ("Zoë" -> "zoe", "Weiß" -> "weiss", "van der
 * Berg" -> "vanderberg", "Jean-Luc" -> "jean-luc"), and the candidate
 * patterns (first.last, flast, ...) are built from those pieces.
 *
 * Threads: pure functions; any thread.
 * Ownership: all output goes to caller-provided buffers; pattern names are
 * static strings.
 */
#ifndef DRUMBEAT_GUESS_NAME_H
#define DRUMBEAT_GUESS_NAME_H

#include <stddef.h>

/* The patterns, in the order of their default weight. */
enum guess_pattern {
    GUESS_FIRST_DOT_LAST,   /* ada.lovelace */
    GUESS_FLAST,            /* alovelace */
    GUESS_FIRST,            /* ada */
    GUESS_FIRSTLAST,        /* adalovelace */
    GUESS_F_DOT_LAST,       /* a.lovelace */
    GUESS_LAST,             /* lovelace */
    GUESS_NPATTERNS,
};

/* "first.last", "flast", ...; NULL when out of range. */
const char *guess_pattern_name(int pattern);
/* The pattern called name, or -1. */
int guess_pattern_by_name(const char *name, size_t len);

/* Writes the UTF-8 name as a local-part piece into buf: lower case, common
 * Latin letters stripped of accents (é->e, ü->u, ß->ss, ø->o, æ->ae, ł->l),
 * letters, digits and inner hyphens kept, everything else (blanks,
 * apostrophes, dots, other scripts) dropped. Returns its length, 0 when
 * nothing is left (or the input is NULL), -ENAMETOOLONG when cap is short. */
int guess_name_part(const char *name, char *buf, size_t cap);

/* Writes the domain, trimmed, lower-cased, without a leading "www." or a
 * trailing dot, into buf. Returns its length, or 0 when it is not a plain
 * ASCII host name with a dot (nothing to guess at). */
int guess_domain(const char *domain, char *buf, size_t cap);

/* Builds the local part of pattern from the name parts (as made by
 * guess_name_part) into buf. Returns its length, or 0 when it would be
 * empty or longer than 64 bytes (RFC 5321's limit). */
int guess_local_part(int pattern, const char *first, const char *last, char *buf, size_t cap);

#endif /* DRUMBEAT_GUESS_NAME_H */
