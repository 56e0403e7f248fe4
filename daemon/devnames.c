/* SPDX-License-Identifier: Apache-2.0 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cstatd/devnames.h"

#define MAX_DEVICES 256
#define RETRY_SECONDS 60

struct devname {
	uint32_t major, minor;
	char name[128];
	bool resolved;
	time_t retry_at;
};

static struct devname devices[MAX_DEVICES];
static unsigned n_devices;
static char sys_root[1024] = "/sys";
static char overflow_name[32];

void cstatd_devnames_init(const char *root)
{
	snprintf(sys_root, sizeof(sys_root), "%s", root);
	n_devices = 0;
}

static void resolve(struct devname *d)
{
	char path[1200], line[256];
	snprintf(path, sizeof(path), "%s/dev/block/%u:%u/uevent", sys_root, d->major, d->minor);
	snprintf(d->name, sizeof(d->name), "%u:%u", d->major, d->minor);
	d->resolved = false;
	d->retry_at = time(NULL) + RETRY_SECONDS;
	FILE *f = fopen(path, "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "DEVNAME=", 8) == 0) {
			line[strcspn(line, "\n")] = '\0';
			if (line[8]) {
				snprintf(d->name, sizeof(d->name), "/dev/%.100s", line + 8);
				d->resolved = true;
			}
			break;
		}
	}
	fclose(f);
}

const char *cstatd_devname(uint32_t major, uint32_t minor)
{
	for (unsigned i = 0; i < n_devices; i++) {
		struct devname *d = &devices[i];
		if (d->major == major && d->minor == minor) {
			if (!d->resolved && time(NULL) >= d->retry_at)
				resolve(d);
			return d->name;
		}
	}
	if (n_devices == MAX_DEVICES) {
		snprintf(overflow_name, sizeof(overflow_name), "%u:%u", major, minor);
		return overflow_name;
	}
	struct devname *d = &devices[n_devices++];
	d->major = major;
	d->minor = minor;
	resolve(d);
	return d->name;
}

void cstatd_devnames_free(void)
{
	n_devices = 0;
}
