/* SPDX-License-Identifier: MIT */
/* daemon/api_util.c: helpers shared by the API route files. */
#include <stddef.h>

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
