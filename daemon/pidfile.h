/* SPDX-License-Identifier: MIT */
/* daemon/pidfile.h: the --pidfile, written once the daemon listens and removed
 * at a clean stop. A pidfile naming a live process means another drumbeatd is
 * running: we refuse rather than overwrite it.
 * Ownership: path is borrowed for the call. */
#ifndef DRUMBEAT_PIDFILE_H
#define DRUMBEAT_PIDFILE_H

#include "errors.h"

/* Returns 0, -EEXIST when a live process holds it, or another negative errno. */
int pidfile_write(const char *path, struct errbuf *err);
void pidfile_remove(const char *path);

#endif /* DRUMBEAT_PIDFILE_H */
