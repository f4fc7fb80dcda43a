/* SPDX-License-Identifier: MIT */
/* daemon/compose.c: one plain-text email per touch, composed with GMime so
 * that encoding and folding are a well-kept library's job, not ours. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <gmime/gmime.h>

#include "compose.h"

void compose_init(void)
{
    g_mime_init();
}

const char *compose_domain(const char *addr)
{
    const char *at = addr != NULL ? strrchr(addr, '@') : NULL;
    return at != NULL && at[1] != '\0' ? at + 1 : NULL;
}

/* Lead data is data: control characters in a display name or subject are
 * folded to spaces before encoding, so nothing can smuggle a line break. */
static char *compose_one_line(const char *s)
{
    char *copy = g_strdup(s != NULL ? s : "");
    for (char *p = copy; *p != '\0'; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = ' ';
    return copy;
}

/* An address must be a bare addr-spec with no spaces, controls or brackets. */
static bool compose_addr_ok(const char *addr)
{
    if (addr == NULL || *addr == '\0' || strchr(addr, '@') == NULL)
        return false;
    for (const unsigned char *p = (const unsigned char *)addr; *p != '\0'; p++)
        if (*p <= 0x20 || *p == 0x7f || *p == '<' || *p == '>' || *p == ',' || *p == ';' ||
            *p == '"' || *p == '(' || *p == ')')
            return false;
    return true;
}

static InternetAddress *compose_mailbox(const char *name, const char *addr)
{
    char *clean = compose_one_line(name);
    InternetAddress *ia = internet_address_mailbox_new(clean, addr);
    /* Force UTF-8 so non-ASCII names are RFC 2047-encoded, never raw 8-bit. */
    internet_address_set_charset(ia, "utf-8");
    g_free(clean);
    return ia;
}

int compose_message(const struct compose_in *in, char **out, size_t *len, struct errbuf *err)
{
    if (!compose_addr_ok(in->from_addr))
        return errbuf_at(err, -EINVAL, NULL, "from", "expected an address like name@example.com");
    if (!compose_addr_ok(in->to_addr))
        return errbuf_at(err, -EINVAL, NULL, "to", "expected an address like name@example.com");
    if (in->text == NULL || !g_utf8_validate(in->text, -1, NULL))
        return errbuf_at(err, -EINVAL, NULL, "text", "expected UTF-8 text");
    if (in->subject != NULL && !g_utf8_validate(in->subject, -1, NULL))
        return errbuf_at(err, -EINVAL, NULL, "subject", "expected UTF-8 text");

    GMimeMessage *msg = g_mime_message_new(TRUE);
    InternetAddressList *list;

    InternetAddress *ia;

    /* The list takes its own reference; drop ours. */
    list = g_mime_message_get_addresses(msg, GMIME_ADDRESS_TYPE_FROM);
    ia = compose_mailbox(in->from_name, in->from_addr);
    internet_address_list_add(list, ia);
    g_object_unref(ia);
    list = g_mime_message_get_addresses(msg, GMIME_ADDRESS_TYPE_TO);
    ia = compose_mailbox(in->to_name, in->to_addr);
    internet_address_list_add(list, ia);
    g_object_unref(ia);

    char *subject = compose_one_line(in->subject);
    g_mime_message_set_subject(msg, subject, "utf-8");
    g_free(subject);
    if (in->message_id != NULL)
        g_mime_message_set_message_id(msg, in->message_id);
    GDateTime *date = g_date_time_new_from_unix_utc(in->date_ms / 1000);
    g_mime_message_set_date(msg, date);
    g_date_time_unref(date);

    /* The body stays UTF-8 (never re-encoded to a legacy charset) and goes
     * out 7-bit clean: quoted-printable or base64 as GMime judges best, so no
     * relay needs 8BITMIME and no line exceeds 998 octets. */
    GMimeTextPart *body = g_mime_text_part_new_with_subtype("plain");
    GMimeStream *content = g_mime_stream_mem_new_with_buffer(in->text, strlen(in->text));
    GMimeDataWrapper *wrapper = g_mime_data_wrapper_new_with_stream(content,
                                                                    GMIME_CONTENT_ENCODING_DEFAULT);
    g_mime_part_set_content(GMIME_PART(body), wrapper);
    g_object_unref(wrapper);
    g_object_unref(content);
    g_mime_object_set_content_type_parameter(GMIME_OBJECT(body), "charset", "utf-8");
    g_mime_part_set_content_encoding(
        GMIME_PART(body), g_mime_part_get_best_content_encoding(GMIME_PART(body),
                                                                GMIME_ENCODING_CONSTRAINT_7BIT));
    g_mime_message_set_mime_part(msg, GMIME_OBJECT(body));
    g_object_unref(body);

    GMimeFormatOptions *fmt = g_mime_format_options_new();
    g_mime_format_options_set_newline_format(fmt, GMIME_NEWLINE_FORMAT_DOS);
    GMimeStream *mem = g_mime_stream_mem_new();
    g_mime_object_write_to_stream(GMIME_OBJECT(msg), fmt, mem);
    GByteArray *bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));

    int rc = 0;
    char *buf = malloc(bytes->len + 1);
    if (buf == NULL) {
        rc = errbuf_set(err, -ENOMEM, "out of memory composing a message");
    } else {
        memcpy(buf, bytes->data, bytes->len);
        buf[bytes->len] = '\0';
        *out = buf;
        *len = bytes->len;
    }
    g_object_unref(mem);
    g_mime_format_options_free(fmt);
    g_object_unref(msg);
    return rc;
}
