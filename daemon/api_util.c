/* SPDX-License-Identifier: MIT */
/* daemon/api_util.c: helpers shared by the API route files. */
#include <stddef.h>
#include <stdlib.h>

#include "api_util.h"
#include "http.h"

static void api_forget(void *arg)
{
    struct http_request **slot = arg;
    *slot = NULL;
}

void api_hold(struct http_request *req, struct http_request **slot)
{
    http_request_on_cancel(req, api_forget, slot);
}

bool api_parse_id(const char *text, int64_t *out)
{
    char *end;
    long long v = text != NULL ? strtoll(text, &end, 10) : 0;
    if (text == NULL || *text == '\0' || *end != '\0' || v <= 0)
        return false;
    *out = v;
    return true;
}

bool api_param_id(struct http_request *req, int64_t *out)
{
    if (api_parse_id(http_request_param(req, "id"), out))
        return true;
    http_reply_error(req, 400, "id: expected a positive integer");
    return false;
}
