/* SPDX-License-Identifier: MIT */
/* daemon/dns_ttl.c: reads TTLs out of a raw DNS message (RFC 1035 section 4):
 * the header's counts, then the question names, then each resource record's
 * owner name, type, class, TTL and RDATA length. Everything is outside input,
 * so every read is bounds-checked, and a name's compression pointers are
 * followed with a hop limit so that a pointer loop ends as -EBADMSG. */
#include <errno.h>
#include <stdbool.h>

#include "dns_ttl.h"

#define HEADER_LEN 12
#define TYPE_SOA 6
#define NAME_MAX_WIRE 255   /* RFC 1035 2.3.4: a name's encoded length */
#define MAX_HOPS 127        /* a name has at most 127 labels */

static uint16_t get16(const unsigned char *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* RFC 2181 8: a TTL with the most significant bit set is read as zero. */
static uint32_t ttl_value(uint32_t raw)
{
    return raw > 0x7fffffffu ? 0 : raw;
}

/* Checks the name at *off and moves *off past it (past the first
 * compression pointer, which ends the name in place). Pointers are followed
 * only to check that the name they lead to is well formed. */
static int skip_name(const unsigned char *msg, size_t len, size_t *off)
{
    size_t pos = *off, wire = 0, end = 0;
    bool jumped = false;
    int hops = 0;

    for (;;) {
        if (pos >= len)
            return -EBADMSG;
        unsigned char c = msg[pos];
        if (c == 0) {
            if (!jumped)
                end = pos + 1;
            break;
        }
        if ((c & 0xc0) == 0xc0) {
            if (pos + 1 >= len || ++hops > MAX_HOPS)
                return -EBADMSG;
            if (!jumped)
                end = pos + 2;
            jumped = true;
            pos = (size_t)(c & 0x3f) << 8 | msg[pos + 1];
            continue;
        }
        if ((c & 0xc0) != 0)
            return -EBADMSG;   /* 0x40 and 0x80: extended/reserved label types */
        wire += (size_t)c + 1;
        if (wire + 1 > NAME_MAX_WIRE || pos + 1 + c > len)
            return -EBADMSG;
        pos += (size_t)c + 1;
    }
    *off = end;
    return 0;
}

/* One resource record's fixed part, read at *off; *off moves past it. */
struct rr {
    uint16_t type;
    uint32_t ttl;
    size_t rdata;       /* offset of the RDATA */
    uint16_t rdlen;
};

static int read_rr(const unsigned char *msg, size_t len, size_t *off, struct rr *rr)
{
    int rc = skip_name(msg, len, off);
    if (rc < 0)
        return rc;
    if (len - *off < 10)
        return -EBADMSG;
    const unsigned char *p = msg + *off;
    rr->type = get16(p);
    rr->ttl = ttl_value(get32(p + 4));
    rr->rdlen = get16(p + 8);
    rr->rdata = *off + 10;
    if (len - rr->rdata < rr->rdlen)
        return -EBADMSG;
    *off = rr->rdata + rr->rdlen;
    return 0;
}

/* An SOA's MINIMUM field: after MNAME and RNAME (which must end inside the
 * RDATA) come SERIAL, REFRESH, RETRY, EXPIRE and MINIMUM, 32 bits each. */
static int soa_minimum(const unsigned char *msg, size_t len, const struct rr *rr,
                       uint32_t *minimum)
{
    size_t off = rr->rdata, end = rr->rdata + rr->rdlen;
    int rc;

    /* Each name's own bytes must lie inside the RDATA; its pointers may
     * lead anywhere in the message. */
    for (int i = 0; i < 2; i++)
        if ((rc = skip_name(msg, len, &off)) < 0 || off > end)
            return rc < 0 ? rc : -EBADMSG;
    if (end - off < 20)
        return -EBADMSG;
    *minimum = ttl_value(get32(msg + off + 16));
    return 0;
}

int dns_answer_ttl(const unsigned char *msg, size_t len, uint32_t *ttl_s)
{
    size_t off = HEADER_LEN;
    uint32_t best = UINT32_MAX;
    bool found = false;
    struct rr rr;
    int rc;

    if (msg == NULL || len < HEADER_LEN)
        return -EBADMSG;
    unsigned qd = get16(msg + 4), an = get16(msg + 6), ns = get16(msg + 8);

    for (unsigned i = 0; i < qd; i++) {
        if ((rc = skip_name(msg, len, &off)) < 0)
            return rc;
        if (len - off < 4)
            return -EBADMSG;
        off += 4;
    }
    for (unsigned i = 0; i < an; i++) {
        if ((rc = read_rr(msg, len, &off, &rr)) < 0)
            return rc;
        if (rr.ttl < best)
            best = rr.ttl;
        found = true;
    }
    if (found) {
        *ttl_s = best;
        return 0;
    }
    for (unsigned i = 0; i < ns; i++) {
        if ((rc = read_rr(msg, len, &off, &rr)) < 0)
            return rc;
        if (rr.type != TYPE_SOA)
            continue;
        uint32_t minimum;
        if ((rc = soa_minimum(msg, len, &rr, &minimum)) < 0)
            return rc;
        uint32_t neg = rr.ttl < minimum ? rr.ttl : minimum;
        if (neg < best)
            best = neg;
        found = true;
    }
    if (!found)
        return -ENODATA;
    *ttl_s = best;
    return 0;
}
