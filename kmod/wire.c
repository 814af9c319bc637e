// SPDX-License-Identifier: GPL-2.0
/*
 * The protocol codec lives in ../wire/, one source shared by this module
 * and every userspace program (servers, tools, tests): the module builds
 * it from there rather than keep a copy that could drift.
 */
#include "../wire/wire.c"
