/* SPDX-License-Identifier: MIT */
/* daemon/draft.c: from a stored draft to the MIME bytes a channel sends. */
#include <errno.h>
#include <stdio.h>

#include "compose.h"
#include "config.h"
#include "draft.h"

json_t *draft_new(const char *subject, const char *text, const char *to_name)
{
    return json_pack("{s:s, s:s, s:s*}", "subject", subject != NULL ? subject : "",
                     "text", text != NULL ? text : "", "to_name", to_name);
}

int draft_compose(const char *payload, size_t len, const struct config_mailbox *mb,
                  const char *recipient, const char *idempotency_key, int64_t now_ms,
                  char **out, size_t *out_len, struct errbuf *err)
{
    return draft_compose_from(payload, len, mb != NULL ? mb->display_name : NULL,
                              mb != NULL ? mb->address : NULL, recipient, idempotency_key,
                              now_ms, out, out_len, err);
}

int draft_compose_from(const char *payload, size_t len, const char *from_name,
                       const char *from_addr, const char *recipient,
                       const char *idempotency_key, int64_t now_ms, char **out,
                       size_t *out_len, struct errbuf *err)
{
    json_error_t jerr;
    const char *subject = NULL, *text = NULL, *to_name = NULL;
    char message_id[512];

    if (from_addr == NULL)
        return errbuf_at(err, -EINVAL, NULL, "mailbox", "an email touch needs a configured mailbox");
    json_t *draft = json_loadb(payload, len, 0, &jerr);
    if (draft == NULL)
        return errbuf_at(err, -EINVAL, NULL, "payload", "expected a JSON draft: %s", jerr.text);
    if (json_unpack_ex(draft, &jerr, 0, "{s:s, s:s, s?s}", "subject", &subject, "text", &text,
                       "to_name", &to_name) < 0) {
        json_decref(draft);
        return errbuf_at(err, -EINVAL, NULL, "payload", "expected subject and text strings: %s",
                         jerr.text);
    }
    const char *domain = compose_domain(from_addr);
    snprintf(message_id, sizeof(message_id), "%s@%s", idempotency_key,
             domain != NULL ? domain : "localhost");
    struct compose_in in = {
        .from_name = from_name, .from_addr = from_addr,
        .to_name = to_name, .to_addr = recipient,
        .subject = subject, .text = text,
        .message_id = message_id, .date_ms = now_ms,
    };
    int rc = compose_message(&in, out, out_len, err);
    json_decref(draft);
    return rc;
}
