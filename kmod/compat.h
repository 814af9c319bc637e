/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The one place for kernel-version differences.  vdifs supports Debian's
 * 6.12 LTS; code for another kernel goes here behind LINUX_VERSION_CODE so
 * that the rest of kmod/ is written against a single API.
 */
#ifndef _VDIFS_COMPAT_H
#define _VDIFS_COMPAT_H

#include <linux/version.h>

#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 12, 0)
#error "vdifs needs Linux 6.12 or newer"
#endif

#endif /* _VDIFS_COMPAT_H */
