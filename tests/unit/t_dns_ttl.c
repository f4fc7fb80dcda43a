/* SPDX-License-Identifier: MIT */
/* tests/unit/t_dns_ttl.c: dns_answer_ttl() on DNS messages built by hand
 * byte by byte: the smallest answer TTL (owner names as compression
 * pointers), a TTL with the top bit set, the SOA negative TTL of NXDOMAIN and
 * no-data answers (min of the SOA's TTL and MINIMUM, compressed SOA names,
 * other authority records skipped), no TTL at all, every truncation of a
 * valid message, pointer loops, pointers out of bounds, reserved label
 * types, overlong names, short RDATA; and two answers dnsmasq really sent. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "dns_ttl.h"
#include "tap.h"

struct msg {
    unsigned char b[2048];
    size_t n;
};

static void put8(struct msg *m, unsigned v)
{
    m->b[m->n++] = (unsigned char)v;
}

static void put16(struct msg *m, unsigned v)
{
    put8(m, v >> 8);
    put8(m, v & 0xff);
}

static void put32(struct msg *m, uint32_t v)
{
    put16(m, v >> 16);
    put16(m, v & 0xffff);
}

/* "mx.example.com" as labels, ending with the root label. */
static void put_name(struct msg *m, const char *name)
{
    while (*name != '\0') {
        const char *dot = strchr(name, '.');
        size_t len = dot != NULL ? (size_t)(dot - name) : strlen(name);
        put8(m, (unsigned)len);
        memcpy(m->b + m->n, name, len);
        m->n += len;
        name += len + (dot != NULL);
    }
    put8(m, 0);
}

static void put_ptr(struct msg *m, unsigned off)
{
    put16(m, 0xc000 | off);
}

static void header(struct msg *m, unsigned rcode, unsigned qd, unsigned an, unsigned ns)
{
    m->n = 0;
    put16(m, 0x1234);
    put16(m, 0x8180 | rcode);
    put16(m, qd);
    put16(m, an);
    put16(m, ns);
    put16(m, 0);
}

/* The question "example.com MX" at offset 12. */
static void question(struct msg *m)
{
    put_name(m, "example.com");
    put16(m, 15);
    put16(m, 1);
}

/* An MX record owned by the question's name (pointer to offset 12). */
static void mx_rr(struct msg *m, uint32_t ttl, unsigned pref, const char *host)
{
    put_ptr(m, 12);
    put16(m, 15);
    put16(m, 1);
    put32(m, ttl);
    size_t len_at = m->n;
    put16(m, 0);
    size_t start = m->n;
    put16(m, pref);
    put_name(m, host);
    m->b[len_at] = (unsigned char)((m->n - start) >> 8);
    m->b[len_at + 1] = (unsigned char)((m->n - start) & 0xff);
}

/* An SOA for the zone at offset 20 ("com" of the question), MNAME written
 * out, RNAME a pointer back to it. */
static void soa_rr(struct msg *m, uint32_t ttl, uint32_t minimum)
{
    put_ptr(m, 20);
    put16(m, 6);
    put16(m, 1);
    put32(m, ttl);
    size_t len_at = m->n;
    put16(m, 0);
    size_t start = m->n;
    size_t mname = m->n;
    put_name(m, "ns.example.com");
    put8(m, 10);
    memcpy(m->b + m->n, "hostmaster", 10);
    m->n += 10;
    put_ptr(m, (unsigned)mname + 3);   /* "example.com" inside MNAME */
    put32(m, 2024010101);
    put32(m, 7200);
    put32(m, 900);
    put32(m, 1209600);
    put32(m, minimum);
    m->b[len_at] = (unsigned char)((m->n - start) >> 8);
    m->b[len_at + 1] = (unsigned char)((m->n - start) & 0xff);
}

static void ns_rr(struct msg *m, uint32_t ttl)
{
    put_ptr(m, 20);
    put16(m, 2);
    put16(m, 1);
    put32(m, ttl);
    put16(m, 5);
    put8(m, 2);
    put8(m, 'n');
    put8(m, 's');
    put_ptr(m, 12);
}

static int ttl_of(const struct msg *m, uint32_t *ttl)
{
    *ttl = 4242;
    return dns_answer_ttl(m->b, m->n, ttl);
}

static size_t unhex(const char *hex, unsigned char *out, size_t cap)
{
    size_t n = 0;
    unsigned v;

    while (n < cap && sscanf(hex + 2 * n, "%2x", &v) == 1)
        out[n++] = (unsigned char)v;
    return n;
}

int main(void)
{
    struct msg m;
    uint32_t ttl;

    tap_plan(25);

    /* Answers: the smallest TTL wins, owners compressed. */
    header(&m, 0, 1, 3, 0);
    question(&m);
    mx_rr(&m, 300, 10, "mx1.example.com");
    mx_rr(&m, 120, 20, "mx2.example.com");
    mx_rr(&m, 86400, 30, "mx3.example.com");
    tap_is_int(ttl_of(&m, &ttl), 0, "three MX answers parse");
    tap_is_int(ttl, 120, "the smallest answer TTL");

    /* Every truncation of that message is malformed. */
    int bad = 0;
    struct msg cut = m;
    for (size_t len = 0; len < m.n; len++) {
        cut.n = len;
        if (ttl_of(&cut, &ttl) != -EBADMSG)
            bad++;
    }
    tap_ok(bad == 0, "each of the %zu shorter prefixes is -EBADMSG (%d are not)", m.n, bad);

    header(&m, 0, 1, 2, 0);
    question(&m);
    mx_rr(&m, 0x80000010u, 10, "mx1.example.com");
    mx_rr(&m, 300, 10, "mx2.example.com");
    tap_ok(ttl_of(&m, &ttl) == 0 && ttl == 0, "a TTL with the top bit set counts as 0 (RFC 2181)");

    /* NXDOMAIN with an SOA: min(SOA TTL, MINIMUM) both ways round. */
    header(&m, 3, 1, 0, 1);
    question(&m);
    soa_rr(&m, 3600, 900);
    tap_is_int(ttl_of(&m, &ttl), 0, "NXDOMAIN with an SOA parses");
    tap_is_int(ttl, 900, "negative TTL: the SOA MINIMUM when smaller");
    header(&m, 3, 1, 0, 1);
    question(&m);
    soa_rr(&m, 60, 900);
    tap_ok(ttl_of(&m, &ttl) == 0 && ttl == 60, "negative TTL: the SOA's own TTL when smaller");
    bad = 0;
    cut = m;
    for (size_t len = 0; len < m.n; len++) {
        cut.n = len;
        if (ttl_of(&cut, &ttl) != -EBADMSG)
            bad++;
    }
    tap_is_int(bad, 0, "each truncation of the SOA answer is -EBADMSG");

    /* No data: an NS before the SOA is skipped. */
    header(&m, 0, 1, 0, 2);
    question(&m);
    ns_rr(&m, 5);
    soa_rr(&m, 7200, 300);
    int rc = ttl_of(&m, &ttl);
    tap_ok(rc == 0 && ttl == 300, "no-data: the SOA counts, the NS does not (%u)", ttl);

    header(&m, 3, 1, 0, 1);
    question(&m);
    ns_rr(&m, 5);
    tap_is_int(ttl_of(&m, &ttl), -ENODATA, "no answers and no SOA: -ENODATA");
    header(&m, 3, 1, 0, 0);
    question(&m);
    tap_is_int(ttl_of(&m, &ttl), -ENODATA, "an empty NXDOMAIN: -ENODATA");
    tap_is_int(ttl, 4242, "... and *ttl_s is left alone");

    /* An SOA whose RDATA ends before the five numbers. */
    {
        /* RDLENGTH 4 bytes short, and the message cut to match. */
        struct msg s;
        header(&s, 3, 1, 0, 1);
        question(&s);
        soa_rr(&s, 60, 900);
        size_t rdlen_at = 12 + 17 + 2 + 2 + 2 + 4;   /* header, question, SOA's fixed part */
        unsigned rdlen = (unsigned)(s.b[rdlen_at] << 8 | s.b[rdlen_at + 1]);
        s.b[rdlen_at] = (unsigned char)((rdlen - 4) >> 8);
        s.b[rdlen_at + 1] = (unsigned char)((rdlen - 4) & 0xff);
        s.n -= 4;
        tap_is_int(ttl_of(&s, &ttl), -EBADMSG, "an SOA RDATA too short for MINIMUM: -EBADMSG");
        /* RDLENGTH beyond the end. */
        s.b[rdlen_at] = 0x0f;
        tap_is_int(ttl_of(&s, &ttl), -EBADMSG, "an RDLENGTH past the end: -EBADMSG");
    }

    /* Compression pointer loops and bad pointers. */
    header(&m, 0, 1, 0, 0);
    put_ptr(&m, 12);   /* points at itself */
    put16(&m, 15);
    put16(&m, 1);
    tap_is_int(ttl_of(&m, &ttl), -EBADMSG, "a pointer to itself: -EBADMSG");
    header(&m, 0, 1, 0, 0);
    put_ptr(&m, 14);
    put_ptr(&m, 12);   /* 12 -> 14 -> 12 -> ... */
    put16(&m, 15);
    put16(&m, 1);
    tap_is_int(ttl_of(&m, &ttl), -EBADMSG, "two pointers in a loop: -EBADMSG");
    header(&m, 0, 1, 0, 0);
    put8(&m, 1);
    put8(&m, 'a');
    put_ptr(&m, 12);   /* "a" then back to itself: grows without end */
    put16(&m, 15);
    put16(&m, 1);
    tap_is_int(ttl_of(&m, &ttl), -EBADMSG, "a label then a pointer back to it: -EBADMSG");
    header(&m, 0, 1, 0, 0);
    put_ptr(&m, 0x3fff);
    put16(&m, 15);
    put16(&m, 1);
    tap_is_int(ttl_of(&m, &ttl), -EBADMSG, "a pointer past the end: -EBADMSG");
    header(&m, 0, 1, 0, 0);
    put8(&m, 0x41);
    put8(&m, 0);
    put16(&m, 15);
    put16(&m, 1);
    tap_is_int(ttl_of(&m, &ttl), -EBADMSG, "a reserved label type (0x40): -EBADMSG");
    header(&m, 0, 1, 0, 0);
    for (int i = 0; i < 5; i++) {
        put8(&m, 63);
        memset(m.b + m.n, 'x', 63);
        m.n += 63;
    }
    put8(&m, 0);
    put16(&m, 15);
    put16(&m, 1);
    tap_is_int(ttl_of(&m, &ttl), -EBADMSG, "a name longer than 255 bytes: -EBADMSG");

    /* A pointer chain that is long but ends (backwards, each one valid). */
    header(&m, 0, 2, 1, 0);
    question(&m);                     /* at 12 */
    size_t second = m.n;
    put8(&m, 3);
    memcpy(m.b + m.n, "www", 3);
    m.n += 3;
    put_ptr(&m, 12);
    put16(&m, 1);
    put16(&m, 1);
    put_ptr(&m, (unsigned)second);    /* www.example.com */
    put16(&m, 1);
    put16(&m, 1);
    put32(&m, 77);
    put16(&m, 4);
    put32(&m, 0xc0000201);
    tap_ok(ttl_of(&m, &ttl) == 0 && ttl == 77, "a pointer to a name ending in a pointer: fine");

    tap_is_int(dns_answer_ttl(NULL, 0, &ttl), -EBADMSG, "NULL: -EBADMSG");
    tap_is_int(dns_answer_ttl(m.b, 11, &ttl), -EBADMSG, "shorter than a header: -EBADMSG");

    /* What dnsmasq 2.90 sent (auth zone "test", --auth-ttl=120). */
    static const char mx_hex[] =
        "123485000001000100010000026d78047465737400000f0001c00c000f0001000000780010000a046d"
        "61696c026d7804746573740004746573740000020001000000780009026e73047465737400";
    static const char nx_hex[] =
        "123485030001000000010000076e6f7468696e67047465737400000f0001047465737400000600010000"
        "00780031026e730474657374000a686f73746d6173746572026e730474657374006b0bb6cc000004b000"
        "0000b40012750000000078";
    unsigned char raw[512];
    size_t n = unhex(mx_hex, raw, sizeof(raw));
    tap_ok(dns_answer_ttl(raw, n, &ttl) == 0 && ttl == 120, "dnsmasq's MX answer: 120");
    n = unhex(nx_hex, raw, sizeof(raw));
    tap_ok(dns_answer_ttl(raw, n, &ttl) == 0 && ttl == 120, "dnsmasq's NXDOMAIN with SOA: 120");
    return tap_done();
}
