/* SPDX-License-Identifier: MIT */
/* plugins/channel_maildir/maildir_write.c: delivers one payload into a
 * Maildir the way the format asks (cr.yp.to/proto/maildir.html): the bytes
 * go to tmp/ under a name no other writer can pick, are fsync()ed, and the
 * file is then hard-linked into new/ (link never replaces a file) and new/
 * is fsync()ed, so a mail reader never sees half a message and a crash never
 * loses one that was reported delivered. Payloads that are not mail go to
 * <dir>/other/ with an extension, staged through <dir>/tmp/ the same way.
 * Runs on the threadpool: nothing here calls the host. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "maildir_write.h"

/* Process-wide on purpose: two instances writing into one folder in the
 * same second and microsecond must still pick different names. */
static unsigned long md_seq;

void md_host_init(struct md_config *cfg)
{
    char raw[256];
    size_t at = 0;

    if (gethostname(raw, sizeof(raw)) < 0 || raw[0] == '\0')
        snprintf(raw, sizeof(raw), "localhost");
    raw[sizeof(raw) - 1] = '\0';
    for (const char *p = raw; *p != '\0' && at + 5 < sizeof(cfg->host); p++) {
        if (*p == '/' || *p == ':') {
            /* '/' would make a path and ':' starts Maildir's info part. */
            at += (size_t)snprintf(cfg->host + at, sizeof(cfg->host) - at, "\\%03o",
                                   (unsigned)(unsigned char)*p);
        } else {
            cfg->host[at++] = *p;
        }
    }
    cfg->host[at] = '\0';
}

static bool md_is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int md_mkdirs(const char *path)
{
    char parent[4096];
    char *slash;
    int rc;

    if (mkdir(path, 0750) == 0)
        return 0;
    if (errno == EEXIST)
        return md_is_dir(path) ? 0 : -ENOTDIR;
    if (errno != ENOENT)
        return -errno;
    /* Only a missing parent is created: existing ones are never touched. */
    if ((size_t)snprintf(parent, sizeof(parent), "%s", path) >= sizeof(parent))
        return -ENAMETOOLONG;
    for (size_t len = strlen(parent); len > 1 && parent[len - 1] == '/'; len--)
        parent[len - 1] = '\0';
    slash = strrchr(parent, '/');
    if (slash == NULL || slash == parent)
        return -ENOENT;
    *slash = '\0';
    rc = md_mkdirs(parent);
    if (rc < 0)
        return rc;
    if (mkdir(path, 0750) == 0 || (errno == EEXIST && md_is_dir(path)))
        return 0;
    return errno == EEXIST ? -ENOTDIR : -errno;
}

static int md_where(char *where, size_t cap, const char *path, int rc)
{
    snprintf(where, cap, "%s", path);
    return rc;
}

int md_maildir_ready(const char *path, bool create, char *where, size_t cap)
{
    static const char *const subs[] = { "tmp", "new", "cur" };
    char sub[4096];
    int rc;

    if (create && (rc = md_mkdirs(path)) < 0)
        return md_where(where, cap, path, rc);
    for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
        if ((size_t)snprintf(sub, sizeof(sub), "%s/%s", path, subs[i]) >= sizeof(sub))
            return md_where(where, cap, path, -ENAMETOOLONG);
        if (create) {
            if (mkdir(sub, 0750) < 0 && errno != EEXIST)
                return md_where(where, cap, sub, -errno);
        }
        if (!md_is_dir(sub))
            return md_where(where, cap, sub, access(sub, F_OK) == 0 ? -ENOTDIR : -ENOENT);
    }
    return 0;
}

/* "Ada@Example.com" -> "ada@example.com": one folder per address whatever
 * its case; characters unsafe in a file name become %XX, and so does a
 * leading '.' (hidden, and Maildir++'s subfolder mark) or the first letter of
 * a name the layout already uses (tmp, new, cur, other). */
static int md_mailbox_name(const char *sender, char *out, size_t cap)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t at = 0;

    for (const unsigned char *p = (const unsigned char *)sender; *p != '\0'; p++) {
        unsigned char c = (unsigned char)tolower(*p);
        bool safe = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || strchr("@._+=-", c) != NULL;
        if (at + 4 >= cap)
            return -ENAMETOOLONG;
        if (safe && !(at == 0 && c == '.')) {
            out[at++] = (char)c;
        } else {
            out[at++] = '%';
            out[at++] = hex[c >> 4];
            out[at++] = hex[c & 15];
        }
    }
    out[at] = '\0';
    if (strcmp(out, "tmp") == 0 || strcmp(out, "new") == 0 || strcmp(out, "cur") == 0 ||
        strcmp(out, MD_OTHER) == 0) {
        char first = out[0];
        memmove(out + 3, out + 1, at);
        out[0] = '%';
        out[1] = hex[(unsigned char)first >> 4];
        out[2] = hex[first & 15];
    }
    return 0;
}

/* NULL for mail (it goes to a Maildir); else the extension its file gets in
 * other/, so a person can open it with the right program. */
static const char *md_other_ext(const char *content_type)
{
    size_t len;

    if (content_type == NULL || *content_type == '\0')
        return NULL;
    len = strcspn(content_type, "; \t");
    if (len == 14 && strncasecmp(content_type, "message/rfc822", len) == 0)
        return NULL;
    if (len == 16 && strncasecmp(content_type, "application/json", len) == 0)
        return ".json";
    if (len == 10 && strncasecmp(content_type, "text/plain", len) == 0)
        return ".txt";
    if (len == 9 && strncasecmp(content_type, "text/html", len) == 0)
        return ".html";
    return ".bin";
}

/* <seconds>.M<microseconds>P<pid>Q<counter>.<host><ext> */
static void md_unique(const struct md_config *cfg, const char *ext, char *out, size_t cap)
{
    struct timespec ts;
    unsigned long q = __atomic_add_fetch(&md_seq, 1, __ATOMIC_RELAXED);

    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(out, cap, "%lld.M%ldP%ldQ%lu.%s%s", (long long)ts.tv_sec, ts.tv_nsec / 1000L,
             (long)getpid(), q, cfg->host, ext != NULL ? ext : "");
}

static int md_write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t w = write(fd, buf, len);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        buf += w;
        len -= (size_t)w;
    }
    return 0;
}

static int md_sync_dir(const char *path)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rc = 0;

    if (fd < 0)
        return -errno;
    if (fsync(fd) < 0)
        rc = -errno;
    close(fd);
    return rc;
}

/* Makes what a delivery needs when a folder turned out to be missing. */
static int md_create_for(const char *folder, const char *dstdir, bool other, char *where,
                         size_t cap)
{
    int rc = md_maildir_ready(folder, true, where, cap);

    if (rc == 0 && other && (rc = md_mkdirs(dstdir)) < 0)
        md_where(where, cap, dstdir, rc);
    return rc;
}

/* Writes the payload to a new file in folder/tmp/; *tmp_out is its path. */
static int md_stage(const struct md_config *cfg, const struct drumbeat_message *m,
                    const char *folder, const char *dstdir, const char *ext,
                    char *name, size_t name_cap, char *tmp, size_t tmp_cap,
                    char *where, size_t where_cap)
{
    bool created = false;
    int fd = -1, rc;

    for (int attempt = 0; attempt < 4 && fd < 0; attempt++) {
        md_unique(cfg, ext, name, name_cap);
        if ((size_t)snprintf(tmp, tmp_cap, "%s/tmp/%s", folder, name) >= tmp_cap)
            return md_where(where, where_cap, folder, -ENAMETOOLONG);
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
        if (fd >= 0)
            break;
        rc = -errno;
        if (rc == -ENOENT && cfg->create && !created) {
            /* The folder went away (or a new sender): make it, once. */
            created = true;
            rc = md_create_for(folder, dstdir, ext != NULL, where, where_cap);
            if (rc < 0)
                return rc;
            continue;
        }
        if (rc != -EEXIST) {
            /* Name the folder a person has to fix: the Maildir itself when
             * it is missing or a file, else its tmp/. */
            if (md_is_dir(folder))
                snprintf(where, where_cap, "%s/tmp", folder);
            else
                snprintf(where, where_cap, "%s", folder);
            return rc;
        }
    }
    if (fd < 0) {
        snprintf(where, where_cap, "%s/tmp", folder);
        return -EEXIST;
    }
    rc = m->payload_len > 0 ? md_write_all(fd, m->payload, m->payload_len) : 0;
    if (rc == 0 && cfg->fsync && fsync(fd) < 0)
        rc = -errno;
    if (close(fd) < 0 && rc == 0)
        rc = -errno;
    if (rc < 0) {
        unlink(tmp);
        snprintf(where, where_cap, "%s/tmp", folder);
    }
    return rc;
}

int md_deliver(const struct md_config *cfg, const struct drumbeat_message *m,
               char *rel, size_t rel_cap, char *where, size_t where_cap)
{
    const char *ext = md_other_ext(m->content_type);
    char sub[512] = "", dstsub[600], folder[4096], dstdir[4096];
    char name[512], tmp[4096], dst[4096];
    bool created = false;
    int rc;

    if (ext == NULL && cfg->per_mailbox && m->sender != NULL && *m->sender != '\0' &&
        md_mailbox_name(m->sender, sub, sizeof(sub)) < 0)
        return md_where(where, where_cap, m->sender, -ENAMETOOLONG);
    if (ext != NULL)
        snprintf(dstsub, sizeof(dstsub), "%s", MD_OTHER);
    else
        snprintf(dstsub, sizeof(dstsub), "%s%snew", sub, sub[0] != '\0' ? "/" : "");
    if ((size_t)snprintf(folder, sizeof(folder), "%s%s%s", cfg->dir, sub[0] != '\0' ? "/" : "",
                         sub) >= sizeof(folder) ||
        (size_t)snprintf(dstdir, sizeof(dstdir), "%s/%s", cfg->dir, dstsub) >= sizeof(dstdir))
        return md_where(where, where_cap, cfg->dir, -ENAMETOOLONG);

    rc = md_stage(cfg, m, folder, dstdir, ext, name, sizeof(name), tmp, sizeof(tmp),
                  where, where_cap);
    if (rc < 0)
        return rc;
    for (int attempt = 0;; attempt++) {
        if ((size_t)snprintf(dst, sizeof(dst), "%s/%s", dstdir, name) >= sizeof(dst)) {
            rc = md_where(where, where_cap, dstdir, -ENAMETOOLONG);
            break;
        }
        if (link(tmp, dst) == 0) {
            rc = 0;
            break;
        }
        rc = -errno;
        if (rc == -EEXIST && attempt < 3) {
            md_unique(cfg, ext, name, sizeof(name));
            continue;
        }
        if (rc == -ENOENT && cfg->create && !created) {
            created = true;
            if ((rc = md_create_for(folder, dstdir, ext != NULL, where, where_cap)) < 0)
                break;
            continue;
        }
        if (rc == -EPERM || rc == -EOPNOTSUPP) {
            /* A file system without hard links: rename, whose name is
             * unique anyway, only loses the never-replace guarantee. */
            if (rename(tmp, dst) == 0) {
                rc = 0;
                break;
            }
            rc = -errno;
        }
        md_where(where, where_cap, dstdir, rc);
        break;
    }
    unlink(tmp);
    if (rc < 0)
        return rc;
    snprintf(rel, rel_cap, "%s/%s", dstsub, name);
    /* The file is in new/ now, whatever happens next: a failed folder sync
     * is reported (as a positive errno) but is no reason to write it again. */
    if (cfg->fsync && (rc = md_sync_dir(dstdir)) < 0) {
        md_where(where, where_cap, dstdir, rc);
        return -rc;
    }
    return 0;
}

static int md_purge_dir(const char *tmpdir, time_t now)
{
    DIR *d = opendir(tmpdir);
    struct dirent *e;
    struct stat st;
    int removed = 0;

    if (d == NULL)
        return 0;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.' || fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
            continue;
        if (S_ISREG(st.st_mode) && now - st.st_mtime > 36 * 3600 &&
            unlinkat(dirfd(d), e->d_name, 0) == 0)
            removed++;
    }
    closedir(d);
    return removed;
}

int md_purge_tmp(const struct md_config *cfg, time_t now)
{
    char path[4096];
    DIR *d;
    struct dirent *e;
    int removed;

    snprintf(path, sizeof(path), "%s/tmp", cfg->dir);
    removed = md_purge_dir(path, now);
    if (!cfg->per_mailbox || (d = opendir(cfg->dir)) == NULL)
        return removed;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.' || strcmp(e->d_name, "tmp") == 0 ||
            strcmp(e->d_name, "new") == 0 || strcmp(e->d_name, "cur") == 0 ||
            strcmp(e->d_name, MD_OTHER) == 0)
            continue;
        if ((size_t)snprintf(path, sizeof(path), "%s/%s/tmp", cfg->dir, e->d_name) < sizeof(path))
            removed += md_purge_dir(path, now);
    }
    closedir(d);
    return removed;
}
