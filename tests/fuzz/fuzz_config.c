/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The JSON configuration file (daemon/config.h): options through the option
 * table, windows, alert rules (daemon/rules.c), Alertmanager, the window
 * layout, and the position scanner that turns a failure into file:line:col.
 *
 * cstatd_config_load() reads a path, so each input is written to one memfd
 * (created once per process) and loaded as /proc/self/fd/<n>: the parser
 * code runs exactly as for a real file, without touching the disk.
 *
 * Checks: on failure `out` is untouched and `err` holds one non-empty
 * NUL-terminated line that names the file; on success windows, Alertmanager
 * URLs and the layout stay within their declared sizes, URLs are
 * NUL-terminated without a trailing '/', and a configuration compared with
 * itself needs no restart.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "daemon/config.h"
#include "tests/fuzz/fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int fd = -1;
	static char path[64];
	static struct cstatd_config cfg;
	char err[512];
	char restart[256];
	int rc;

	if (size > CSTATD_CONFIG_MAX_BYTES)
		return 0;
	if (fd < 0) {
		fd = memfd_create("cstatd-fuzz-config", MFD_CLOEXEC);
		FUZZ_CHECK(fd >= 0);
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	}
	FUZZ_CHECK(ftruncate(fd, 0) == 0);
	FUZZ_CHECK(size == 0 || pwrite(fd, data, size, 0) == (ssize_t)size);

	memset(&cfg, FUZZ_POISON, sizeof(cfg));
	memset(err, FUZZ_POISON, sizeof(err));
	rc = cstatd_config_load(path, 0, NULL, &cfg, err, sizeof(err));
	FUZZ_CHECK(rc == 0 || rc == -EINVAL || rc == -ENOMEM || rc == -EIO);
	if (rc < 0) {
		FUZZ_CHECK(fuzz_is_poison(&cfg, sizeof(cfg)));
		FUZZ_CHECK(fuzz_terminated(err, sizeof(err)) && err[0] != '\0');
		FUZZ_CHECK(strncmp(err, path, strlen(path)) == 0);
		return 0;
	}
	FUZZ_CHECK(strcmp(cfg.path, path) == 0);
	FUZZ_CHECK(cfg.n_windows >= 1 && cfg.n_windows <= CSTATD_WINDOWS_MAX);
	for (unsigned i = 0; i < cfg.n_windows; i++)
		FUZZ_CHECK(cfg.windows_ms[i] > 0 && cfg.windows_ms[i] <= CSTATD_WINDOW_MAX_MS);
	FUZZ_CHECK(cfg.alertmanager.n_urls <= CSTATD_AM_MAX_URLS);
	for (unsigned i = 0; i < cfg.alertmanager.n_urls; i++) {
		const char *u = cfg.alertmanager.urls[i];
		size_t n;

		FUZZ_CHECK(fuzz_terminated(u, CSTATD_AM_URL_LEN));
		n = strlen(u);
		FUZZ_CHECK(n > 0 && u[n - 1] != '/');
	}
	FUZZ_CHECK(cfg.alertmanager.resend_ms > 0 && cfg.alertmanager.timeout_ms > 0);
	FUZZ_CHECK(cstatd_config_restart_needed(&cfg, &cfg, restart, sizeof(restart)) == 0);
	FUZZ_CHECK(restart[0] == '\0');
	cstatd_config_free(&cfg);
	return 0;
}
