/* SPDX-License-Identifier: MIT */
/* include/drumbeat/version.h: the plugin ABI version a plugin is built against. */
#ifndef DRUMBEAT_VERSION_H
#define DRUMBEAT_VERSION_H

#define DRUMBEAT_ABI_MAJOR 1
#define DRUMBEAT_ABI_MINOR 2

#endif /* DRUMBEAT_VERSION_H */
