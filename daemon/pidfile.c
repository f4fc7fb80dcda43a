/* SPDX-License-Identifier: MIT */
/* daemon/pidfile.c: write (atomically, via rename) and remove the pidfile. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pidfile.h"

int pidfile_write(const char *path, struct errbuf *err)
{
    char tmp[4096];
    FILE *fp = fopen(path, "r");

    if (fp != NULL) {
        long pid = 0;
        int n = fscanf(fp, "%ld", &pid);
        fclose(fp);
        if (n == 1 && pid > 0 && pid != (long)getpid() && kill((pid_t)pid, 0) == 0)
            return errbuf_at(err, -EEXIST, path, NULL,
                             "process %ld is running with this pidfile", pid);
    }
    snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
    fp = fopen(tmp, "w");
    if (fp == NULL)
        return errbuf_at(err, -errno, path, NULL, "cannot write: %s", strerror(errno));
    fprintf(fp, "%ld\n", (long)getpid());
    if (fclose(fp) != 0 || rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        return errbuf_at(err, -e, path, NULL, "cannot write: %s", strerror(e));
    }
    return 0;
}

void pidfile_remove(const char *path)
{
    if (path != NULL)
        unlink(path);
}
