/* SPDX-License-Identifier: MIT */
/* daemon/email_addr.c: envelope-address syntax (RFC 5321 section 4.1.2 and
 * 4.1.3), length limits (RFC 5321 4.5.3.1, as is_email applies them), the
 * address status names and the role / free-mail tests.
 *
 * The grammar accepted:
 *   local   = dot-atom / quoted-string      (a whole quoted local part only;
 *                                            "a".b is obsolete, refused)
 *   qtext   = printable ASCII but '"' and '\'; quoted-pair = '\' printable
 *   domain  = labels of letters, digits and '-' (not first or last), 1..63
 *             each, or UTF-8 (IDN in its Unicode form); or an address
 *             literal "[1.2.3.4]" / "[IPv6:...]"
 *   limits  = local part 64, domain 255, whole address 254 octets
 * Comments, folding white space, control characters and obsolete forms are
 * refused: they are legal in a header but never needed in an envelope.
 */
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "email_addr.h"

static const char *const status_names[EMAIL_STATUS_COUNT] = {
    "unknown", "syntax_ok", "verified", "catch_all", "undeliverable", "guessed",
};

const char *email_status_format(enum email_status s)
{
    return (unsigned)s < EMAIL_STATUS_COUNT ? status_names[s] : NULL;
}

int email_status_parse(const char *text, enum email_status *out)
{
    for (int i = 0; text != NULL && i < EMAIL_STATUS_COUNT; i++) {
        if (strcmp(text, status_names[i]) == 0) {
            *out = (enum email_status)i;
            return 0;
        }
    }
    return -EINVAL;
}

static bool is_atext(unsigned char c)
{
    return isalnum(c) || (c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

/* Length of one well-formed UTF-8 sequence (2..4 bytes) at s, or 0. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    size_t len;
    uint32_t cp;

    if (s[0] >= 0xc2 && s[0] <= 0xdf) {
        len = 2;
        cp = s[0] & 0x1f;
    } else if (s[0] >= 0xe0 && s[0] <= 0xef) {
        len = 3;
        cp = s[0] & 0x0f;
    } else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
        len = 4;
        cp = s[0] & 0x07;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
        (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
        return 0;
    return len;
}

#define FAIL(text) do { if (why != NULL) *why = (text); return -EINVAL; } while (0)

/* The local part up to '@'; sets *at to the '@'. */
static int check_local(const unsigned char *s, size_t n, size_t *at, const char **why)
{
    size_t i = 0;

    if (n == 0 || s[0] == '@')
        FAIL("no local part");
    if (s[0] == '"') {
        for (i = 1; i < n && s[i] != '"'; i++) {
            if (s[i] == '\\') {
                if (i + 1 >= n || s[i + 1] < 0x20 || s[i + 1] > 0x7e)
                    FAIL("a backslash in the quoted local part escapes nothing printable");
                i++;
            } else if (s[i] < 0x20 || s[i] > 0x7e) {
                FAIL("a control or non-ASCII character in the quoted local part");
            }
        }
        if (i >= n)
            FAIL("unclosed quoted local part");
        i++;
        if (i >= n || s[i] != '@')
            FAIL(i < n && s[i] == '.' ? "a quoted string mixed with atoms (obsolete)"
                                      : "text after the quoted local part");
    } else {
        bool dot = true;
        for (; i < n && s[i] != '@'; i++) {
            if (s[i] == '.') {
                if (i == 0)
                    FAIL("the local part starts with a dot");
                if (dot)
                    FAIL("consecutive dots in the local part");
                dot = true;
                continue;
            }
            if (s[i] >= 0x80) {
                size_t k = utf8_seq(s + i, n - i);
                if (k == 0)
                    FAIL("invalid UTF-8 in the local part");
                i += k - 1;
            } else if (s[i] == '"' || s[i] == '(' || s[i] == ')') {
                FAIL("quotes or comments mixed into the local part (obsolete)");
            } else if (!is_atext(s[i])) {
                FAIL(s[i] <= 0x20 ? "white space or a control character in the address"
                                  : "a character not allowed in the local part");
            }
            dot = false;
        }
        if (i >= n)
            FAIL("no '@' and domain");
        if (dot)
            FAIL("the local part ends with a dot");
    }
    if (i > EMAIL_LOCAL_MAX)
        FAIL("the local part is longer than 64 octets");
    *at = i;
    return 0;
}

/* A dotted quad of decimal octets 0..255 without leading zeros. */
static bool is_ipv4(const char *s, size_t n)
{
    int parts = 0;
    size_t i = 0;

    while (i < n) {
        size_t start = i;
        unsigned v = 0;
        while (i < n && isdigit((unsigned char)s[i]) && i - start < 3)
            v = v * 10 + (unsigned)(s[i++] - '0');
        size_t len = i - start;
        if (len == 0 || v > 255 || (len > 1 && s[start] == '0'))
            return false;
        parts++;
        if (i == n)
            break;
        if (s[i] != '.' || parts == 4)
            return false;
        i++;
        if (i == n)
            return false;
    }
    return parts == 4;
}

static bool is_word(unsigned char c)
{
    return isalnum(c) || c == '_';
}

/* is_email's IPv6 rules (revision 2.7): a trailing dotted quad stands for
 * two groups; without "::" there must be exactly 8 groups; one "::" may
 * stand for the rest (one more group is allowed when it is at either end);
 * no lone leading or trailing colon; every group is 0..4 hex digits. A "::"
 * that elides a single group is deprecated by RFC 5952 but still RFC 5321
 * syntax, so it is accepted (see t_email_addr.c for the one corpus row that
 * says otherwise). */
static bool is_ipv6(const char *s, size_t n)
{
    char buf[300];
    size_t len = n;

    if (n + 4 > sizeof(buf))
        return false;
    memcpy(buf, s, n);
    for (size_t p = 0; p < n; p++) {
        if ((p == 0 || !is_word((unsigned char)s[p - 1])) && is_ipv4(s + p, n - p)) {
            memcpy(buf + p, "0:0", 3);
            len = p + 3;
            break;
        }
    }
    buf[len] = '\0';
    size_t groups = 1;
    for (size_t i = 0; i < len; i++)
        groups += buf[i] == ':';
    const char *first = strstr(buf, "::");
    if (first == NULL) {
        if (groups != 8)
            return false;
    } else {
        if (strstr(first + 1, "::") != NULL)
            return false;
        size_t max = 8;
        if (first == buf || first == buf + len - 2)
            max++;
        if (groups > max)
            return false;
    }
    if (len > 0 && buf[0] == ':' && (len < 2 || buf[1] != ':'))
        return false;
    if (len > 0 && buf[len - 1] == ':' && (len < 2 || buf[len - 2] != ':'))
        return false;
    size_t run = 0;
    for (size_t i = 0; i < len; i++) {
        if (buf[i] == ':')
            run = 0;
        else if (!isxdigit((unsigned char)buf[i]) || ++run > 4)
            return false;
    }
    return true;
}

static int check_domain(const unsigned char *s, size_t n, const char **why)
{
    if (n == 0)
        FAIL("no domain");
    if (s[0] == '[') {
        if (s[n - 1] != ']')
            FAIL("unclosed or trailing text after the address literal");
        const char *lit = (const char *)s + 1;
        size_t len = n - 2;
        if (memchr(lit, ']', len) != NULL || memchr(lit, '[', len) != NULL)
            FAIL("text after the address literal");
        if (is_ipv4(lit, len))
            return 0;
        if (len >= 5 && strncasecmp(lit, "IPv6:", 5) == 0 && is_ipv6(lit + 5, len - 5))
            return 0;
        FAIL("an address literal that is neither IPv4 nor a valid IPv6");
    }
    if (n > 255)
        FAIL("the domain is longer than 255 octets");
    size_t label = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = s[i];
        if (c == '.') {
            if (label == 0)
                FAIL(i == 0 ? "the domain starts with a dot" : "consecutive dots in the domain");
            if (s[i - 1] == '-')
                FAIL("a domain label ends with a hyphen");
            label = 0;
            continue;
        }
        if (c >= 0x80) {
            size_t k = utf8_seq(s + i, n - i);
            if (k == 0)
                FAIL("invalid UTF-8 in the domain");
            i += k - 1;
            label += k;
        } else if (c == '-') {
            if (label == 0)
                FAIL("a domain label starts with a hyphen");
            label++;
        } else if (isalnum(c)) {
            label++;
        } else {
            FAIL(c <= 0x20 || c == '(' ? "white space, a comment or a control character in "
                                         "the domain"
                                       : "a character not allowed in a host name");
        }
        if (label > 63)
            FAIL("a domain label is longer than 63 octets");
    }
    if (label == 0)
        FAIL("the domain ends with a dot");
    if (s[n - 1] == '-')
        FAIL("a domain label ends with a hyphen");
    return 0;
}

int email_addr_check(const char *addr, size_t len, const char **why)
{
    const unsigned char *s = (const unsigned char *)addr;
    size_t at = 0;

    if (addr == NULL || len == 0)
        FAIL("empty address");
    int rc = check_local(s, len, &at, why);
    if (rc < 0)
        return rc;
    rc = check_domain(s + at + 1, len - at - 1, why);
    if (rc < 0)
        return rc;
    if (len > EMAIL_ADDR_MAX)
        FAIL("the address is longer than 254 octets");
    return 0;
}

int email_addr_normalize(const char *addr, size_t len, char *out, size_t outlen,
                         const char **why)
{
    int rc = email_addr_check(addr, len, why);
    if (rc < 0)
        return rc;
    if (len + 1 > outlen)
        return -ENAMETOOLONG;
    memcpy(out, addr, len);
    out[len] = '\0';
    char *domain = strrchr(out, '@') + 1;
    for (char *p = domain; *p != '\0'; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    return 0;
}

const char *email_addr_domain(const char *addr)
{
    const char *at = strrchr(addr, '@');
    return at != NULL ? at + 1 : "";
}

bool email_addr_is_literal(const char *addr)
{
    return email_addr_domain(addr)[0] == '[';
}

bool email_addr_is_role(const char *addr, const char *const *locals)
{
    const char *at = strrchr(addr, '@');
    if (at == NULL || locals == NULL)
        return false;
    size_t n = (size_t)(at - addr);
    const char *plus = memchr(addr, '+', n);
    if (plus != NULL)
        n = (size_t)(plus - addr);
    for (const char *const *l = locals; *l != NULL; l++)
        if (strlen(*l) == n && strncasecmp(*l, addr, n) == 0)
            return true;
    return false;
}

bool email_domain_in(const char *domain, const char *const *domains)
{
    for (const char *const *d = domains; domain != NULL && d != NULL && *d != NULL; d++)
        if (strcasecmp(*d, domain) == 0)
            return true;
    return false;
}
