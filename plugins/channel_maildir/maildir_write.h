/* SPDX-License-Identifier: MIT */
/* plugins/channel_maildir/maildir_write.h: the file side of channel_maildir:
 * Maildir unique names, creating folders, and delivering one payload by the
 * Maildir rules (write into tmp/, fsync, link into new/, fsync new/). All of
 * it blocks, so it runs on the daemon's threadpool and never calls the host.
 *
 * Ownership: struct md_config is filled once in init and only read after
 * that, so any number of threadpool jobs may share it; its dir string is the
 * host's (valid until fini). Output buffers are the caller's. */
#ifndef DRUMBEAT_MAILDIR_WRITE_H
#define DRUMBEAT_MAILDIR_WRITE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <drumbeat/plugin.h>

/* The folder that receives payloads that are not mail (JSON notifications,
 * plain text): a mail reader opening a Maildir would choke on them. */
#define MD_OTHER "other"

struct md_config {
    const char *dir;        /* the root Maildir */
    bool create;            /* create missing folders */
    bool per_mailbox;       /* a Maildir per sender under dir */
    bool fsync;             /* fsync files and folders */
    char host[256];         /* this machine's name, '/' and ':' escaped */
};

/* Fills cfg->host from gethostname(), '/' written as \057 and ':' as \072
 * (the Maildir rule), "localhost" when it cannot be read. */
void md_host_init(struct md_config *cfg);

/* Creates path and any missing parents (mkdir -p), mode 0750. 0 or -errno. */
int md_mkdirs(const char *path);

/* Makes path a Maildir: creates it (with parents) and its tmp/, new/ and cur/
 * when create is true, else checks that they are there. 0 or -errno; on
 * error where (cap bytes) names the folder at fault. */
int md_maildir_ready(const char *path, bool create, char *where, size_t cap);

/* Delivers m. On success returns 0 and rel is the file's path relative to
 * cfg->dir ("new/1700000000.M123456P42Q7.host", "ada@example.com/new/...",
 * "other/1700000000.M123456P42Q8.host.json"). On failure returns -errno and
 * where names the folder (or file) that failed. Nothing is left in tmp/. */
int md_deliver(const struct md_config *cfg, const struct drumbeat_message *m,
               char *rel, size_t rel_cap, char *where, size_t where_cap);

/* Removes files older than 36 hours (Maildir's rule for what a crash left
 * behind) from the tmp/ of dir and, with per_mailbox, of each folder under
 * it. Returns how many it removed. */
int md_purge_tmp(const struct md_config *cfg, time_t now);

#endif /* DRUMBEAT_MAILDIR_WRITE_H */
