/* SPDX-License-Identifier: MIT */
/* daemon/notify.h: wires the config's "notifications" (subscribers of lead
 * events) into the running daemon: the rules go to the store, which creates
 * a notification touch in the same transaction as each matching event
 * (store_notify_configure), and each commit that created some kicks the
 * dispatcher, which sends them like any touch through the subscriber's
 * channel (a webhook).
 *
 * Ownership: d is borrowed; the store keeps a pointer to d for its hook,
 * so d must outlive the store (it does: struct daemon lives for the run).
 * Threads: loop thread.
 */
#ifndef DRUMBEAT_NOTIFY_H
#define DRUMBEAT_NOTIFY_H

struct daemon;

/* Applies d->cfg's notifications to d->store (at start and after each
 * reload). Returns 0, -ENOMEM or -ESHUTDOWN. */
int notify_configure(struct daemon *d);

#endif /* DRUMBEAT_NOTIFY_H */
