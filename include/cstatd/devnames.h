/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Block device names for io.stat's MAJ:MIN keys, from
 * /sys/dev/block/MAJ:MIN/uevent (DEVNAME=). Cached; a device that cannot be
 * resolved is named "MAJ:MIN" (never "", which would make two devices
 * collide as one series) and retried after a minute.
 */
#ifndef CSTATD_DEVNAMES_H
#define CSTATD_DEVNAMES_H

#include <stdbool.h>
#include <stdint.h>

/* Sets the sysfs root ("/sys"); call once before use. */
void cstatd_devnames_init(const char *sys_root);
/* Borrowed string, valid until cstatd_devnames_free(). Sweep thread only. */
const char *cstatd_devname(uint32_t major, uint32_t minor);
void cstatd_devnames_free(void);

#endif
