/* SPDX-License-Identifier: MIT */
/* plugins/channel_smtp/smtp_loopback_peer.h: tells whether the other end of
 * an accepted IPv4 loopback TCP connection is a socket of this very process
 * (Linux, from /proc/net/tcp{,6} and /proc/self/fd). The implicit TLS relay
 * (smtp_tls_relay.c) uses it so that only our own libesmtp session, never
 * another local user, can speak on its plaintext leg.
 *
 * Ownership: nothing is kept; fd is borrowed for the call.
 * Threads: safe on any thread.
 */
#ifndef DRUMBEAT_SMTP_LOOPBACK_PEER_H
#define DRUMBEAT_SMTP_LOOPBACK_PEER_H

/* Returns 0 when fd's peer is a socket open in this process, -EPERM when
 * it is not, or another negative errno when it cannot be told (refuse the
 * connection then too). */
int smtp_loopback_peer_is_ours(int fd);

#endif /* DRUMBEAT_SMTP_LOOPBACK_PEER_H */
