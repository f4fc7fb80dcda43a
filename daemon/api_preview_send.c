/* SPDX-License-Identifier: MIT */
/* daemon/api_preview_send.c: a test send of a cadence step to a person's own
 * address.
 *   POST /api/preview/send {"lead": ID|EMAIL, "cadence": NAME, "step": N, "to": ADDR}
 *        -> 201 {"touch_id", "lead_id", "to", "mailbox", "state": "scheduled"}
 * The message is the preview's (sequencer_preview: the very bytes the step
 * would send), with only what makes it a test changed: To is the given
 * address, the Subject gets "[TEST] " (re-encoded by GMime when it needs
 * RFC 2047), the Message-ID is its own (a test must never take the real
 * step's, or the real send would look like a duplicate and replies to the
 * test would thread into the lead's conversation), "X-Drumbeat-Test: preview"
 * is added and List-Unsubscribe (with its -Post companion, meaningless alone)
 * is removed. It is queued as a touch of kind "test" on the lead, with no
 * enrollment, through the preview's mailbox (the enrollment's, else the
 * cadence's first) and that mailbox's channel, due now: the dispatcher sends
 * it like any touch, so it counts toward the mailbox's caps, while the
 * touch-finish path ignores it for the cadence (no enrollment_id) and no
 * lead state changes; only the lead's events record it.
 * 400 names the bad field; 404 an unknown lead or cadence; 409 a step that
 * would be skipped (its reason) or a suppressed test address.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <gmime/gmime.h>

#include "api.h"
#include "api_util.h"
#include "clock.h"
#include "config.h"
#include "daemon.h"
#include "dispatch.h"
#include "email_addr.h"
#include "http.h"
#include "sequencer.h"
#include "store.h"

#define TEST_SUBJECT_PREFIX "[TEST] "

struct psend_call {
    struct http_request *req;    /* NULL once the listener closed */
    struct daemon *d;
    int64_t lead_id;
    char to[EMAIL_ADDR_MAX + 1];
    char mailbox[256];
};

/* "test.<16 hex>@domain": random, so two tests of one step differ too. */
static void test_message_id(const char *domain, char *buf, size_t len)
{
    unsigned char r[8] = { 0 };
    uint64_t v = 0;
    if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r)) {
        /* No entropy (unlikely): the clock keeps it unique enough for a test. */
        v = (uint64_t)clock_now_ms() ^ (uint64_t)(uintptr_t)buf;
    } else {
        for (size_t i = 0; i < sizeof(r); i++)
            v = v << 8 | r[i];
    }
    snprintf(buf, len, "test.%016llx@%s", (unsigned long long)v, domain);
}

/* raw (the preview) rewritten as a test to `to` (see the top of the file);
 * *out is malloc'd, CRLF line ends as compose writes them. 0, -EBADMSG
 * when raw does not parse, or -ENOMEM. */
static int make_test(const char *raw, size_t len, const char *to, const char *domain,
                     char **out, size_t *out_len)
{
    GMimeStream *in = g_mime_stream_mem_new_with_buffer(raw, len);
    GMimeParser *p = g_mime_parser_new_with_stream(in);
    GMimeMessage *m = g_mime_parser_construct_message(p, NULL);
    int rc = -EBADMSG;
    g_object_unref(p);
    g_object_unref(in);
    if (m == NULL || g_mime_message_get_mime_part(m) == NULL)
        goto out;

    const char *subject = g_mime_message_get_subject(m);   /* decoded UTF-8 */
    char *tagged = g_strconcat(TEST_SUBJECT_PREFIX, subject != NULL ? subject : "", NULL);
    g_mime_message_set_subject(m, tagged, "utf-8");
    g_free(tagged);

    InternetAddressList *list = g_mime_message_get_to(m);
    internet_address_list_clear(list);
    InternetAddress *addr = internet_address_mailbox_new(NULL, to);
    internet_address_list_add(list, addr);
    g_object_unref(addr);

    char mid[512];
    test_message_id(domain, mid, sizeof(mid));
    g_mime_message_set_message_id(m, mid);
    g_mime_object_remove_header(GMIME_OBJECT(m), "List-Unsubscribe");
    g_mime_object_remove_header(GMIME_OBJECT(m), "List-Unsubscribe-Post");
    g_mime_object_set_header(GMIME_OBJECT(m), "X-Drumbeat-Test", "preview", NULL);

    GMimeFormatOptions *fmt = g_mime_format_options_new();
    g_mime_format_options_set_newline_format(fmt, GMIME_NEWLINE_FORMAT_DOS);
    GMimeStream *mem = g_mime_stream_mem_new();
    g_mime_object_write_to_stream(GMIME_OBJECT(m), fmt, mem);
    GByteArray *bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));
    *out = malloc(bytes->len + 1);
    rc = -ENOMEM;
    if (*out != NULL) {
        memcpy(*out, bytes->data, bytes->len);
        (*out)[bytes->len] = '\0';
        *out_len = bytes->len;
        rc = 0;
    }
    g_object_unref(mem);
    g_mime_format_options_free(fmt);
out:
    if (m != NULL)
        g_object_unref(m);
    return rc;
}

static void on_created(int status, int64_t touch_id, void *arg)
{
    struct psend_call *c = arg;
    if (status == 0 && c->d->dispatch != NULL)
        dispatch_kick(c->d->dispatch);
    if (c->req == NULL)
        ;   /* the listener closed before we could answer */
    else if (status < 0)
        http_reply_error(c->req, 500, "cannot queue the test: %s", error_text(status));
    else
        http_reply_json(c->req, 201, json_pack("{s:I, s:I, s:s, s:s, s:s}", "touch_id",
                                               (json_int_t)touch_id, "lead_id",
                                               (json_int_t)c->lead_id, "to", c->to,
                                               "mailbox", c->mailbox, "state", "scheduled"));
    free(c);
}

/* The lead named by "lead" (an id, as a number or text, or an email);
 * false when a reply was made. */
static bool lead_of(struct http_request *req, struct daemon *d, const json_t *v, int64_t *id)
{
    char num[32];
    const char *text = json_string_value(v);
    if (json_is_integer(v)) {
        snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(v));
        text = num;
    }
    if (text == NULL) {
        http_reply_error(req, 400, "lead: expected a lead id or email");
        return false;
    }
    if (!api_parse_id(text, id) && store_lead_find_by_email(d->store, text, id) < 0) {
        http_reply_error(req, 404, "lead: no lead with that id or email");
        return false;
    }
    return true;
}

static void on_send(struct http_request *req, void *ctx)
{
    struct daemon *d = ctx;
    const json_t *body = http_request_json(req);
    int64_t lead_id = 0, step = 0;
    struct errbuf err = { 0 };
    json_t *pv = NULL;
    char *msg = NULL;
    size_t len = 0;
    const char *why = NULL;

    if (!json_is_object(body))
        return http_reply_error(req, 400, "expected a JSON object {\"lead\", \"cadence\", "
                                "\"step\", \"to\"}");
    const char *cadence = json_string_value(json_object_get(body, "cadence"));
    const char *to = json_string_value(json_object_get(body, "to"));
    const json_t *jstep = json_object_get(body, "step");
    if (to == NULL || email_addr_check(to, strlen(to), &why) < 0)
        return http_reply_error(req, 400, "to: expected an email address like me@example.com%s%s",
                                why != NULL ? ": " : "", why != NULL ? why : "");
    if (cadence == NULL)
        return http_reply_error(req, 400, "cadence: expected a cadence name");
    if (jstep != NULL && !json_is_null(jstep)) {
        step = json_is_integer(jstep) ? json_integer_value(jstep) : -1;
        if (step < 1 || step > 1000)
            return http_reply_error(req, 400, "step: expected a step number from 1");
    }
    if (!lead_of(req, d, json_object_get(body, "lead"), &lead_id))
        return;
    bool suppressed = false;
    if (store_is_suppressed(d->store, to, &suppressed) == 0 && suppressed)
        return http_reply_error(req, 409, "to: the address or its domain is suppressed");

    int rc = sequencer_preview(d->sequencer, cadence, lead_id, (int)step, &pv, &err);
    if (rc < 0)
        return http_reply_error(req, rc == -ENOENT ? 404 : rc == -EAGAIN ? 503
                                : rc == -EINVAL || rc == -ERANGE ? 400 : 500, "%s", err.what);
    const char *skipped = json_string_value(json_object_get(pv, "skipped"));
    const json_t *text = json_object_get(pv, "message");
    const char *mbname = json_string_value(json_object_get(pv, "mailbox"));
    const struct config_mailbox *mb = mbname != NULL ? config_mailbox_get(d->cfg, mbname) : NULL;
    if (skipped != NULL || !json_is_string(text)) {
        http_reply_error(req, 409, "the step would be skipped: %s",
                         skipped != NULL ? skipped : "no message");
        goto out;
    }
    if (mb == NULL || config_channel_get(d->cfg, mb->channel) == NULL) {
        http_reply_error(req, 409, "cadence \"%s\": no configured mailbox \"%s\" to send from",
                         cadence, mbname != NULL ? mbname : "");
        goto out;
    }
    const char *at = strrchr(mb->address, '@');
    rc = make_test(json_string_value(text), json_string_length(text), to,
                   at != NULL ? at + 1 : "localhost", &msg, &len);
    if (rc < 0) {
        http_reply_error(req, 500, "cannot rewrite the message as a test: %s", error_text(rc));
        goto out;
    }

    struct psend_call *c = calloc(1, sizeof(*c));
    if (c == NULL) {
        http_reply_error(req, 503, "out of memory");
        goto out;
    }
    c->req = req;
    c->d = d;
    c->lead_id = lead_id;
    snprintf(c->to, sizeof(c->to), "%s", to);
    snprintf(c->mailbox, sizeof(c->mailbox), "%s", mb->name);
    const struct config_person *who = http_request_actor(req);
    struct store_actor actor = { STORE_ACTOR_PERSON, who != NULL ? who->name : "api" };
    struct store_touch_in in = {
        .lead_id = lead_id, .kind = "test", .channel = mb->channel, .mailbox = mb->name,
        .recipient = to, .content_type = "message/rfc822", .payload = msg,
        .payload_len = len, .due_at = clock_now_ms(),
    };
    rc = store_touch_create(d->store, &in, &actor, on_created, c);
    if (rc < 0) {
        free(c);
        http_reply_error(req, 503, "cannot queue the test: %s", error_text(rc));
        goto out;
    }
    api_hold(req, &c->req);
out:
    free(msg);
    json_decref(pv);
}

int api_preview_send_register(struct daemon *d)
{
    return http_route(d->api, "POST", "/api/preview/send", 0, on_send, d);
}
