/* SPDX-License-Identifier: GPL-2.0 */
/* One log format for every vdifs program: "time prog[pid]: level: text". */
#ifndef _VDIFS_LOG_H
#define _VDIFS_LOG_H

enum { LOG_ERR_L = 0, LOG_WARN_L, LOG_INFO_L, LOG_DEBUG_L };

void log_init(const char *prog, int level);
__attribute__((format(printf, 2, 3)))
void log_msg(int level, const char *fmt, ...);

#define log_err(...)	log_msg(LOG_ERR_L, __VA_ARGS__)
#define log_warn(...)	log_msg(LOG_WARN_L, __VA_ARGS__)
#define log_info(...)	log_msg(LOG_INFO_L, __VA_ARGS__)
#define log_debug(...)	log_msg(LOG_DEBUG_L, __VA_ARGS__)

#endif
