/* SPDX-License-Identifier: MIT */
/* daemon/dns_ttl.h: the TTL of a raw DNS answer. c-ares 1.18 (Debian 12)
 * parses MX and TXT answers without their TTLs, so dns.c reads them from the
 * message itself: the smallest TTL of the answer records or, for a negative
 * answer, the zone's negative-caching TTL (RFC 2308 section 5: the SOA in the
 * authority section, min(its TTL, its MINIMUM field)).
 *
 * Ownership: msg is borrowed for the call; nothing is allocated.
 * Threads: any (no state).
 */
#ifndef DRUMBEAT_DNS_TTL_H
#define DRUMBEAT_DNS_TTL_H

#include <stddef.h>
#include <stdint.h>

/* Reads msg (a whole DNS message of len bytes, as received). Returns 0 with
 * *ttl_s the smallest answer TTL, or, when the answer section is empty, the
 * SOA negative TTL; -ENODATA when neither is there; -EBADMSG when the
 * message is malformed (truncated, a bad label, a compression pointer out
 * of bounds or in a loop). TTLs with the top bit set count as 0 (RFC 2181
 * section 8). */
int dns_answer_ttl(const unsigned char *msg, size_t len, uint32_t *ttl_s);

#endif /* DRUMBEAT_DNS_TTL_H */
