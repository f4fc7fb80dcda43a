/* SPDX-License-Identifier: MIT */
/* plugins/enrich_guess/guess_name.c: names to ASCII local-part pieces and
 * the six address patterns. Accents are stripped with a table of the Latin-1
 * Supplement and Latin Extended-A letters (U+00C0..U+017F, where nearly all
 * European names live) plus the comma-below letters of Romanian; combining
 * accents (a name stored decomposed) are dropped, so "e" + U+0301 is "e".
 * Any other non-ASCII character is dropped rather than guessed at.
 */
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "guess_name.h"

static const char *const pattern_names[GUESS_NPATTERNS] = {
    "first.last", "flast", "first", "firstlast", "f.last", "last",
};

const char *guess_pattern_name(int pattern)
{
    return pattern >= 0 && pattern < GUESS_NPATTERNS ? pattern_names[pattern] : NULL;
}

int guess_pattern_by_name(const char *name, size_t len)
{
    for (int i = 0; i < GUESS_NPATTERNS; i++)
        if (strlen(pattern_names[i]) == len && strncasecmp(pattern_names[i], name, len) == 0)
            return i;
    return -1;
}

/* One ASCII letter per code point from U+00C0; '_' drops it (x and
 * division signs), '*' means two letters (see two_letters). */
static const char latin[] =
    "aaaaaa*ceeeeiiii" "dnooooo_ouuuuy**"      /* U+00C0 */
    "aaaaaa*ceeeeiiii" "dnooooo_ouuuuy*y"      /* U+00E0 */
    "aaaaaaccccccccdd" "ddeeeeeeeeeegggg"      /* U+0100 */
    "gggghhhhiiiiiiii" "ii**jjkkklllllll"      /* U+0120 */
    "lllnnnnnnnnnoooo" "oo**rrrrrrssssss"      /* U+0140 */
    "ssttttttuuuuuuuu" "uuuuwwyyyzzzzzzs";     /* U+0160 */

static const char *two_letters(uint32_t cp)
{
    switch (cp) {
    case 0xC6: case 0xE6: return "ae";
    case 0xDE: case 0xFE: return "th";
    case 0xDF: return "ss";
    case 0x132: case 0x133: return "ij";
    case 0x152: case 0x153: return "oe";
    default: return "";
    }
}

/* The ASCII for one code point: "" when it is dropped. */
static const char *ascii_for(uint32_t cp, char one[2])
{
    one[1] = '\0';
    if (cp < 0x80) {
        one[0] = (char)tolower((int)cp);
        return isalnum((int)cp) || cp == '-' ? one : "";
    }
    if (cp >= 0xC0 && cp < 0xC0 + sizeof(latin) - 1) {
        char c = latin[cp - 0xC0];
        if (c == '*')
            return two_letters(cp);
        one[0] = c;
        return c == '_' ? "" : one;
    }
    if (cp == 0x218 || cp == 0x219) /* Ș ș */
        return "s";
    if (cp == 0x21A || cp == 0x21B) /* Ț ț */
        return "t";
    return "";
}

/* Decodes one UTF-8 sequence at s; a malformed byte decodes as itself
 * (>= 0x80, so dropped) and is skipped alone. */
static uint32_t utf8_next(const unsigned char **s)
{
    const unsigned char *p = *s;
    uint32_t cp = p[0];
    int more = cp >= 0xF0 && cp < 0xF8 ? 3 : cp >= 0xE0 ? 2 : cp >= 0xC0 ? 1 : 0;

    if (cp < 0x80 || more == 0 || (cp >= 0x80 && cp < 0xC0)) {
        *s = p + 1;
        return cp;
    }
    cp &= 0x3Fu >> more;
    for (int i = 1; i <= more; i++) {
        if ((p[i] & 0xC0) != 0x80) {
            *s = p + 1;
            return 0x80;
        }
        cp = (cp << 6) | (p[i] & 0x3F);
    }
    *s = p + 1 + more;
    return cp;
}

int guess_name_part(const char *name, char *buf, size_t cap)
{
    const unsigned char *s = (const unsigned char *)name;
    size_t n = 0;
    char one[2];

    if (name == NULL || cap == 0)
        return 0;
    while (*s != '\0') {
        const char *a = ascii_for(utf8_next(&s), one);
        for (; *a != '\0'; a++) {
            /* No leading hyphen, no two in a row ("Smith - Jones"). */
            if (*a == '-' && (n == 0 || buf[n - 1] == '-'))
                continue;
            if (n + 1 >= cap)
                return -ENAMETOOLONG;
            buf[n++] = *a;
        }
    }
    while (n > 0 && buf[n - 1] == '-')
        n--;
    buf[n] = '\0';
    return (int)n;
}

int guess_domain(const char *domain, char *buf, size_t cap)
{
    const char *s = domain, *e;
    size_t n;

    if (domain == NULL)
        return 0;
    while (isspace((unsigned char)*s))
        s++;
    e = s + strlen(s);
    while (e > s && (isspace((unsigned char)e[-1]) || e[-1] == '.'))
        e--;
    if (e - s > 4 && strncasecmp(s, "www.", 4) == 0)
        s += 4;
    n = (size_t)(e - s);
    if (n == 0 || n >= cap || n > 253)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)tolower((unsigned char)s[i]);
        if (!isalnum(c) && c != '-' && c != '.')
            return 0;
        buf[i] = (char)c;
    }
    buf[n] = '\0';
    if (strchr(buf, '.') == NULL || buf[0] == '.' || strstr(buf, "..") != NULL)
        return 0;
    return (int)n;
}

int guess_local_part(int pattern, const char *first, const char *last, char *buf, size_t cap)
{
    char f[2] = { first[0], '\0' };
    int n;

    switch (pattern) {
    case GUESS_FIRST_DOT_LAST: n = snprintf(buf, cap, "%s.%s", first, last); break;
    case GUESS_FLAST:          n = snprintf(buf, cap, "%s%s", f, last); break;
    case GUESS_FIRST:          n = snprintf(buf, cap, "%s", first); break;
    case GUESS_FIRSTLAST:      n = snprintf(buf, cap, "%s%s", first, last); break;
    case GUESS_F_DOT_LAST:     n = snprintf(buf, cap, "%s.%s", f, last); break;
    case GUESS_LAST:           n = snprintf(buf, cap, "%s", last); break;
    default: return 0;
    }
    if (n <= 0 || (size_t)n >= cap || n > 64 || first[0] == '\0' || last[0] == '\0')
        return 0;
    return n;
}
