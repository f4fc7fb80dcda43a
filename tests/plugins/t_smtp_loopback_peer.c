/* SPDX-License-Identifier: MIT */
/* tests/plugins/t_smtp_loopback_peer.c: smtp_loopback_peer_is_ours() on
 * real sockets: a loopback connection made by this process is ours; one made
 * by a child process (a socket it opened after fork, so not in our fd
 * table) is refused with -EPERM. This is the check that keeps other local
 * processes off the implicit TLS relay's plaintext leg. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../plugins/channel_smtp/smtp_loopback_peer.h"
#include "tap.h"

static int listen_loopback(struct sockaddr_in *sa)
{
    socklen_t len = sizeof(*sa);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    *sa = (struct sockaddr_in){ .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    if (fd < 0 || bind(fd, (struct sockaddr *)sa, sizeof(*sa)) < 0 || listen(fd, 4) < 0 ||
        getsockname(fd, (struct sockaddr *)sa, &len) < 0)
        return -1;
    return fd;
}

static int dial(const struct sockaddr_in *sa)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd >= 0 && connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

int main(void)
{
    struct sockaddr_in sa;
    int lfd, cfd, afd, gate[2];
    char c;

    if (access("/proc/net/tcp", R_OK) != 0)
        tap_skip_all("needs Linux /proc/net/tcp");
    tap_plan(4);
    lfd = listen_loopback(&sa);
    tap_ok(lfd >= 0, "listening on 127.0.0.1");

    cfd = dial(&sa);
    afd = accept(lfd, NULL, NULL);
    tap_is_int(smtp_loopback_peer_is_ours(afd), 0, "a connection from this process is ours");
    close(afd);
    close(cfd);

    /* A child dials and holds its socket until we have looked. */
    if (pipe(gate) < 0)
        return 1;
    pid_t pid = fork();
    if (pid == 0) {
        close(lfd);
        close(gate[1]);
        int fd = dial(&sa);
        if (read(gate[0], &c, 1) < 0)
            _exit(2);
        _exit(fd >= 0 ? 0 : 1);
    }
    close(gate[0]);
    afd = accept(lfd, NULL, NULL);
    tap_is_int(smtp_loopback_peer_is_ours(afd), -EPERM,
               "a connection from another process is refused (-EPERM)");
    close(gate[1]);
    int status = 0;
    waitpid(pid, &status, 0);
    tap_ok(WIFEXITED(status) && WEXITSTATUS(status) == 0, "(the child did connect)");
    close(afd);
    close(lfd);
    return tap_done();
}
