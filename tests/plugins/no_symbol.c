/* SPDX-License-Identifier: MIT */
/* tests/plugins/no_symbol.c: a shared object without the drumbeat_plugin
 * symbol (it exports only no_symbol_here). The loader must
 * refuse it and name the file. */
const int no_symbol_here = 1;
