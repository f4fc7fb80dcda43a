/* SPDX-License-Identifier: MIT */
/* tests/fuzz/fuzz_dns_answer.c: libFuzzer entry for dns_answer_ttl(), which
 * dns.c runs on every DNS answer a server sends (daemon/dns_ttl.c). Each
 * input is one raw DNS message. Beyond crashes and out-of-bounds reads
 * (ASan), it checks the function's promises: only 0, -EBADMSG or -ENODATA
 * come back, a TTL is never above 2^31-1 (RFC 2181), and *ttl_s is written
 * only on success. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "dns_ttl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint32_t ttl = 0xdeadbeefu;
    int rc = dns_answer_ttl(data, size, &ttl);

    if (rc != 0 && rc != -EBADMSG && rc != -ENODATA)
        abort();
    if (rc == 0 && ttl > 0x7fffffffu)
        abort();
    if (rc != 0 && ttl != 0xdeadbeefu)
        abort();
    return 0;
}
