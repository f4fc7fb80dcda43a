/* SPDX-License-Identifier: MIT */
/* daemon/api_util.h: helpers shared by the API route files.
 * Ownership: slot is borrowed and must stay valid until the request is
 * answered (it lives in the handler's own async context). */
#ifndef DRUMBEAT_API_UTIL_H
#define DRUMBEAT_API_UTIL_H

struct http_request;

/* For a handler that answers later: when the listener drops req before the
 * answer (shutdown), *slot is set to NULL, so the async code knows not to
 * reply. *slot must hold req when this is called. */
void api_hold(struct http_request *req, struct http_request **slot);

#include <stdbool.h>
#include <stdint.h>

/* Parses text as a positive integer id; false when it is not one. */
bool api_parse_id(const char *text, int64_t *out);
/* The route's :id as a positive integer, or a 400 naming it and false. */
bool api_param_id(struct http_request *req, int64_t *out);

#endif /* DRUMBEAT_API_UTIL_H */
