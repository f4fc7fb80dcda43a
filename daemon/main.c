/* SPDX-License-Identifier: MIT */
/* daemon/main.c: drumbeatd's command line; the work is in lifecycle.c. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "build-aux/config.h"
#include "clock.h"
#include "lifecycle.h"
#include <drumbeat/version.h>

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: drumbeatd [OPTIONS]\n"
            "Runs the drumbeat outreach daemon in the foreground (systemd style).\n\n"
            "  -c, --config FILE      configuration (default config/drumbeat.json)\n"
            "  -p, --pidfile FILE     write the process id to FILE (overrides daemon.pidfile)\n"
            "  -l, --log-level LEVEL  error, warn, info or debug (overrides daemon.log_level)\n"
            "      --api-port N       listen for the API on port N (0 picks a free one)\n"
            "      --public-port N    listen for the public pages on port N\n"
            "      --test-clock[=ISO] run on a test clock starting at ISO (UTC, e.g.\n"
            "                         2026-01-05T08:00:00Z; default: now). Time then moves\n"
            "                         only through drumbeat clock set|advance (POST /api/clock).\n"
            "                         For tests, demos, simulate and outbox.\n"
            "  -V, --version          print the version and the plugin ABI, then exit\n"
            "  -h, --help             print this help, then exit\n\n"
            "Signals: SIGTERM/SIGINT stop gracefully (in-flight sends finish or are parked\n"
            "durably); SIGHUP reloads the configuration (an invalid one is rejected and the\n"
            "old one stays in force). Logs go to stderr as key=value lines.\n"
            "Exit status: 0 clean stop, 1 could not start, 2 invalid configuration.\n");
}

int main(int argc, char **argv)
{
    enum { OPT_TEST_CLOCK = 256, OPT_API_PORT, OPT_PUBLIC_PORT };
    static const struct option longopts[] = {
        { "config", required_argument, NULL, 'c' },
        { "pidfile", required_argument, NULL, 'p' },
        { "log-level", required_argument, NULL, 'l' },
        { "test-clock", optional_argument, NULL, OPT_TEST_CLOCK },
        { "api-port", required_argument, NULL, OPT_API_PORT },
        { "public-port", required_argument, NULL, OPT_PUBLIC_PORT },
        { "version", no_argument, NULL, 'V' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct lifecycle_options opts = { .api_port = -1, .public_port = -1 };
    int c;
    char *end;

    while ((c = getopt_long(argc, argv, "c:p:l:Vh", longopts, NULL)) != -1) {
        switch (c) {
        case 'c':
            opts.config_path = optarg;
            break;
        case 'p':
            opts.pidfile = optarg;
            break;
        case 'l':
            opts.log_level = optarg;
            break;
        case OPT_TEST_CLOCK:
            opts.test_clock = true;
            if (clock_parse_iso(optarg != NULL ? optarg : "now", &opts.test_clock_start_ms) < 0) {
                fprintf(stderr, "drumbeatd: --test-clock: expected a UTC time like "
                                "2026-01-05T08:00:00Z, got \"%s\"\n", optarg);
                return 64;
            }
            break;
        case OPT_API_PORT:
        case OPT_PUBLIC_PORT: {
            long port = strtol(optarg, &end, 10);
            if (*optarg == '\0' || *end != '\0' || port < 0 || port > 65535) {
                fprintf(stderr, "drumbeatd: --%s: expected a port 0..65535, got \"%s\"\n",
                        c == OPT_API_PORT ? "api-port" : "public-port", optarg);
                return 64;
            }
            if (c == OPT_API_PORT)
                opts.api_port = (int)port;
            else
                opts.public_port = (int)port;
            break;
        }
        case 'V':
            printf("drumbeatd %s (plugin ABI %d.%d)\n", PACKAGE_VERSION, DRUMBEAT_ABI_MAJOR,
                   DRUMBEAT_ABI_MINOR);
            return 0;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 64;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "drumbeatd: unexpected argument \"%s\"\n", argv[optind]);
        usage(stderr);
        return 64;
    }
    return lifecycle_run(&opts);
}
