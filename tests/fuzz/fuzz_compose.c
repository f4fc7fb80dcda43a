/* SPDX-License-Identifier: MIT */
/* tests/fuzz/fuzz_compose.c: libFuzzer entry for composing a message from
 * lead data (compose.c), the path by which outside text reaches mail
 * headers. The input is split at NUL bytes into the display names, the
 * subject, the bodies, the preheader, the language, the threading ids, the
 * unsubscribe link and its mailto subject, and the recipient's address.
 * Whatever compose_message accepts must come out as a message where no
 * field could add or repeat a header:
 *   - every line ends in CRLF, and no CR or LF stands alone;
 *   - no line is longer than 998 octets;
 *   - in the header block, every line is a continuation (it starts with a
 *     space or a tab) or one of the headers compose writes, each at most
 *     once, and its bytes are printable US-ASCII (lead data is RFC 2047
 *     encoded), unless the address itself holds 8-bit bytes.
 * What compose_fast writes directly must be compose_message_tree's bytes.
 * And compose's own choice of a body's transfer encoding
 * (compose_best_encoding_7bit) must be GMime's for the raw input bytes.
 * A broken rule aborts, so libFuzzer reports the input. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <gmime/gmime.h>

#include "compose.h"
#include "compose_internal.h"
#include "gmime_oracle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { F_FROM_NAME, F_TO_NAME, F_SUBJECT, F_TEXT, F_HTML, F_PREHEADER, F_LANG, F_REPLY_TO,
       F_REF, F_UNSUB_URL, F_UNSUB_SUBJECT, F_TO_ADDR, F_N };

static const char *const header_names[] = {
    "Date", "From", "To", "Subject", "Message-Id", "In-Reply-To", "References",
    "List-Unsubscribe", "List-Unsubscribe-Post", "Content-Language", "MIME-Version",
    "Content-Type", "Content-Transfer-Encoding",
};
#define N_HEADERS (sizeof(header_names) / sizeof(header_names[0]))

static void broken(const char *rule, const char *msg, size_t len)
{
    fprintf(stderr, "compose broke a rule: %s\n%.*s\n", rule, (int)(len < 4000 ? len : 4000), msg);
    abort();
}

static void check_message(const char *msg, size_t len, bool eight_bit_addr)
{
    unsigned seen[N_HEADERS] = { 0 };
    bool in_headers = true;
    size_t start = 0;

    for (size_t i = 0; i < len; i++) {
        if (msg[i] == '\r' && (i + 1 >= len || msg[i + 1] != '\n'))
            broken("a CR without LF", msg, len);
        if (msg[i] == '\n' && (i == 0 || msg[i - 1] != '\r'))
            broken("an LF without CR", msg, len);
        if (msg[i] != '\n')
            continue;
        size_t line_len = i - 1 - start;            /* without the CRLF */
        const char *line = msg + start;
        start = i + 1;
        if (line_len > 998)
            broken("a line over 998 octets", msg, len);
        if (!in_headers)
            continue;
        if (line_len == 0) {
            in_headers = false;                     /* the body begins */
            continue;
        }
        for (size_t k = 0; k < line_len && !eight_bit_addr; k++) {
            unsigned char c = (unsigned char)line[k];
            if ((c < 0x20 && c != '\t') || c >= 0x7f)
                broken("a header byte that is not printable US-ASCII", msg, len);
        }
        if (line[0] == ' ' || line[0] == '\t')
            continue;                               /* a folded continuation */
        const char *colon = memchr(line, ':', line_len);
        size_t name_len = colon != NULL ? (size_t)(colon - line) : 0;
        size_t h = 0;
        while (h < N_HEADERS && !(strlen(header_names[h]) == name_len &&
                                  strncasecmp(header_names[h], line, name_len) == 0))
            h++;
        if (h == N_HEADERS)
            broken("a header compose never writes", msg, len);
        if (++seen[h] > 1)
            broken("a header written twice", msg, len);
    }
    if (start != len)
        broken("a last line without CRLF", msg, len);
    if (seen[1] != 1 || seen[2] != 1)
        broken("From or To missing", msg, len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool ready;
    char *f[F_N] = { 0 };
    char *copy = malloc(size + 1);

    if (!ready) {
        compose_init();
        ready = true;
    }
    if (copy == NULL)
        return 0;
    if (compose_best_encoding_7bit((const char *)data, size) !=
        gmime_best_encoding((const char *)data, size))
        broken("the transfer encoding differs from GMime's", (const char *)data, size);
    memcpy(copy, data, size);
    copy[size] = '\0';
    /* Fields at NUL bytes; the ones the input runs out before stay absent. */
    char *p = copy;
    for (int i = 0; i < F_N && p <= copy + size; i++) {
        f[i] = p;
        p += strlen(p) + 1;
    }

    const char *refs[] = { f[F_REF], "first.1@example.com", NULL };
    struct compose_in in = {
        .from_name = f[F_FROM_NAME], .from_addr = "ada@example.com",
        .to_name = f[F_TO_NAME],
        .to_addr = f[F_TO_ADDR] != NULL && f[F_TO_ADDR][0] != '\0' ? f[F_TO_ADDR]
                                                                   : "lead@example.org",
        .subject = f[F_SUBJECT], .text = f[F_TEXT] != NULL ? f[F_TEXT] : "",
        .message_id = "t1.key@example.com", .date_ms = 1893484800000LL,
        .html = f[F_HTML] != NULL && f[F_HTML][0] != '\0' ? f[F_HTML] : NULL,
        .preheader = f[F_PREHEADER], .lang = f[F_LANG] != NULL && f[F_LANG][0] != '\0'
                                             ? f[F_LANG] : NULL,
        .in_reply_to = f[F_REPLY_TO] != NULL && f[F_REPLY_TO][0] != '\0' ? f[F_REPLY_TO] : NULL,
        .references = f[F_REF] != NULL && f[F_REF][0] != '\0' ? refs : NULL,
        .unsub_url = f[F_UNSUB_URL] != NULL && f[F_UNSUB_URL][0] != '\0' ? f[F_UNSUB_URL]
                                                                          : NULL,
        .unsub_mailto = "unsubscribe@example.com",
        .unsub_mailto_subject = f[F_UNSUB_SUBJECT],
    };
    bool eight_bit_addr = false;
    for (const unsigned char *a = (const unsigned char *)in.to_addr; *a != '\0'; a++)
        eight_bit_addr = eight_bit_addr || *a >= 0x80;

    char *out = NULL;
    size_t len = 0;
    struct errbuf err = { 0 };
    char line[1400];
    if (compose_message(&in, &out, &len, &err) == 0) {
        check_message(out, len, eight_bit_addr);
        /* What is written directly must be GMime's own bytes. */
        char *direct = NULL, *tree = NULL;
        size_t direct_len = 0, tree_len = 0;
        if (compose_fast(&in, &direct, &direct_len) > 0 &&
            (compose_message_tree(&in, &tree, &tree_len, &err) != 0 || tree_len != direct_len ||
             memcmp(tree, direct, direct_len) != 0))
            broken("the direct writer differs from GMime's tree", direct, direct_len);
        free(direct);
        free(tree);
        free(out);
    } else {
        (void)errbuf_format(&err, line, sizeof line);
    }
    free(copy);
    return 0;
}
