/* SPDX-License-Identifier: MIT */
/* daemon/clock_step.h: advancing the test clock in order (clock_step.c).
 * Ownership: the stepper owns itself and frees itself after done ran.
 * Threads: loop thread. */
#ifndef DRUMBEAT_CLOCK_STEP_H
#define DRUMBEAT_CLOCK_STEP_H

#include <stdint.h>

struct daemon;

/* Moves the test clock to target, stopping at every due instant on the way
 * until the daemon is idle there; done(status, arg) runs at the end (0,
 * -ESHUTDOWN when the daemon stops meanwhile). Returns 0, -EPERM without
 * --test-clock, -EINVAL for a target in the past, -ENOMEM. */
int clock_step_to(struct daemon *d, int64_t target, void (*done)(int status, void *arg),
                  void *arg);

#endif /* DRUMBEAT_CLOCK_STEP_H */
