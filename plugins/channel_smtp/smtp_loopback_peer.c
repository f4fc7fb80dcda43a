/* SPDX-License-Identifier: MIT */
/* plugins/channel_smtp/smtp_loopback_peer.c: is the peer of an accepted
 * loopback connection one of our own sockets? (see smtp_loopback_peer.h)
 *
 * How: the peer's socket is the /proc/net/tcp entry whose local end is the
 * peer's address and whose remote end is ours; that entry names its socket
 * inode, and the socket is ours exactly when /proc/self/fd holds a link
 * "socket:[INODE]". A client socket made AF_INET6 (v4-mapped) shows up in
 * /proc/net/tcp6 instead, so that file is read when tcp has no entry. */
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "smtp_loopback_peer.h"

/* "0100007F" (tcp) or "0000000000000000FFFF00000100007F" (tcp6, v4-mapped):
 * the kernel prints the address words as raw 32-bit values, so the last
 * eight digits read back with strtoul equal s_addr on any byte order. */
static bool hex_addr_is(const char *hex, const struct sockaddr_in *sa)
{
    size_t len = strlen(hex);

    if (len == 32) {
        if (strncmp(hex, "0000000000000000FFFF0000", 24) != 0)
            return false;
        hex += 24;
    } else if (len != 8) {
        return false;
    }
    return (uint32_t)strtoul(hex, NULL, 16) == sa->sin_addr.s_addr;
}

/* Finds, in one /proc/net file, the socket whose local end is local and
 * whose remote end is remote. Returns 0 with *inode set, or -ENOENT. */
static int find_socket_inode(const char *path, const struct sockaddr_in *local,
                             const struct sockaddr_in *remote, unsigned long *inode)
{
    char line[512], laddr[40], raddr[40];
    unsigned lport, rport;
    unsigned long ino;
    int rc = -ENOENT;
    FILE *f = fopen(path, "re");

    if (f == NULL)
        return -errno;
    if (fgets(line, sizeof(line), f) == NULL) {     /* the column titles */
        fclose(f);
        return -ENOENT;
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        /* sl local rem st tx:rx tr:when retrnsmt uid timeout inode */
        if (sscanf(line, " %*u: %39[0-9A-Fa-f]:%x %39[0-9A-Fa-f]:%x %*x %*x:%*x %*x:%*x %*x "
                   "%*u %*u %lu", laddr, &lport, raddr, &rport, &ino) != 5)
            continue;
        if (lport == ntohs(local->sin_port) && rport == ntohs(remote->sin_port) &&
            hex_addr_is(laddr, local) && hex_addr_is(raddr, remote) && ino != 0) {
            *inode = ino;
            rc = 0;
            break;
        }
    }
    fclose(f);
    return rc;
}

static int fd_table_has_socket(unsigned long inode)
{
    char want[48], link[64];
    struct dirent *de;
    int rc = -EPERM;
    DIR *d = opendir("/proc/self/fd");

    if (d == NULL)
        return -errno;
    snprintf(want, sizeof(want), "socket:[%lu]", inode);
    while ((de = readdir(d)) != NULL) {
        ssize_t n = readlinkat(dirfd(d), de->d_name, link, sizeof(link) - 1);
        if (n <= 0)
            continue;
        link[n] = '\0';
        if (strcmp(link, want) == 0) {
            rc = 0;
            break;
        }
    }
    closedir(d);
    return rc;
}

int smtp_loopback_peer_is_ours(int fd)
{
    struct sockaddr_in peer, self;
    socklen_t plen = sizeof(peer), slen = sizeof(self);
    unsigned long inode = 0;
    int rc;

    if (getpeername(fd, (struct sockaddr *)&peer, &plen) < 0 ||
        getsockname(fd, (struct sockaddr *)&self, &slen) < 0)
        return -errno;
    if (peer.sin_family != AF_INET || self.sin_family != AF_INET)
        return -EAFNOSUPPORT;
    /* The peer's own entry: local end = the peer, remote end = us. */
    rc = find_socket_inode("/proc/net/tcp", &peer, &self, &inode);
    if (rc == -ENOENT)
        rc = find_socket_inode("/proc/net/tcp6", &peer, &self, &inode);
    if (rc == -ENOENT)
        return -EPERM;        /* no such socket in our network namespace */
    if (rc < 0)
        return rc;
    return fd_table_has_socket(inode);
}
