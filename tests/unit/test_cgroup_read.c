/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The cgroup collector's read policy (CG_FILES in cgroup_priv.h), driven
 * through cg_collector_sweep on a temporary tree in the cgroup v2 layout:
 * unchanged bytes are not parsed again (and a value another source wrote
 * over is), cgroup.events is read when inotify says it changed, cgroup.procs
 * when the cgroup used CPU or at least every CG_PROCS_MAX_AGE seconds.
 *
 * Some checks are white-box on purpose: a value planted in the record
 * survives a sweep only when the file was not parsed again, which is how
 * the skip is seen from outside.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "collectors/cgroup/cgroup.h"
#include "collectors/cgroup/cgroup_priv.h"
#include "cstatd/fsroot.h"
#include "cstatd/store.h"

#define ID "4c01db0b339c7a3f1c1a3e2e9b5f6d7e8a9b0c1d2e3f4a5b6c7d8e9f0a1b2c3d"

struct tree {
	char root[64];
	char dir[256];
	struct cstatd_fsroot fs;
	struct cg_collector *cg;
	struct cstatd_store *st;
};

static void put_file(struct tree *t, const char *name, const char *content)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", t->dir, name);
	FILE *f = fopen(path, "w"); /* in place: kept fds see it, inotify says so */
	assert_non_null(f);
	assert_int_equal(fputs(content, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

static const char *cpu_stat(unsigned usage)
{
	static char buf[128];
	snprintf(buf, sizeof(buf), "usage_usec %u\nuser_usec 10\nsystem_usec 20\n", usage);
	return buf;
}

static int setup(void **state)
{
	struct tree *t = calloc(1, sizeof(*t));
	assert_non_null(t);
	snprintf(t->root, sizeof(t->root), "/tmp/cstatd-cgread-XXXXXX");
	assert_non_null(mkdtemp(t->root));
	snprintf(t->dir, sizeof(t->dir), "%s/docker", t->root);
	assert_int_equal(mkdir(t->dir, 0755), 0);
	snprintf(t->dir, sizeof(t->dir), "%s/docker/%s", t->root, ID);
	assert_int_equal(mkdir(t->dir, 0755), 0);
	put_file(t, "cpu.stat", cpu_stat(1000));
	put_file(t, "cpu.pressure",
	         "some avg10=0.00 avg60=0.00 avg300=0.00 total=5\n"
	         "full avg10=0.00 avg60=0.00 avg300=0.00 total=3\n");
	put_file(t, "cgroup.events", "populated 1\nfrozen 0\n");
	put_file(t, "cgroup.procs", "42\n");

	char why[256];
	assert_int_equal(cstatd_fsroot_init(&t->fs, t->root, "/proc", false, why, sizeof(why)), 0);
	assert_int_equal(cg_collector_new(&t->fs, false, &t->cg), 0);
	t->st = cstatd_store_new();
	assert_non_null(t->st);
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct tree *t = *state;
	cstatd_store_free(t->st);
	cg_collector_free(t->cg);
	cstatd_fsroot_close(&t->fs);
	static const char *const names[] = {"cpu.stat", "cpu.pressure", "cgroup.events",
	                                    "cgroup.procs"};
	char path[512];
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", t->dir, names[i]);
		unlink(path);
	}
	rmdir(t->dir);
	snprintf(path, sizeof(path), "%s/docker", t->root);
	rmdir(path);
	rmdir(t->root);
	free(t);
	return 0;
}

static struct cstatd_container *sweep(struct tree *t, double now)
{
	cg_collector_sweep(t->cg, t->st, now);
	struct cstatd_container *c = cstatd_store_get(t->st, ID);
	assert_non_null(c);
	return c;
}

/* Unchanged bytes keep the values of their last parse; changed bytes (and
 * A -> B -> A) are parsed; garbage pauses the series and the next good
 * bytes are parsed even when they equal the last good ones. */
static void test_unchanged_bytes_not_parsed(void **state)
{
	struct tree *t = *state;
	struct cstatd_container *c = sweep(t, 1000.0);
	assert_true(c->s.have & CSTATD_HAVE_CPU_STAT);
	assert_int_equal(c->s.cpu.usage_usec, 1000);
	assert_int_equal(c->s.psi_cpu.some_total_usec, 5);

	/* Plant a value: it survives only if cpu.stat is not parsed again. */
	c->s.cpu.usage_usec = 777;
	c = sweep(t, 1001.0);
	assert_true(c->s.have & CSTATD_HAVE_CPU_STAT);
	assert_int_equal(c->s.cpu.usage_usec, 777);

	put_file(t, "cpu.stat", cpu_stat(2000)); /* B */
	c = sweep(t, 1002.0);
	assert_int_equal(c->s.cpu.usage_usec, 2000);
	put_file(t, "cpu.stat", cpu_stat(1000)); /* A again */
	c = sweep(t, 1003.0);
	assert_int_equal(c->s.cpu.usage_usec, 1000);

	put_file(t, "cpu.stat", "usage_usec banana\n");
	c = sweep(t, 1004.0);
	assert_false(c->s.have & CSTATD_HAVE_CPU_STAT);
	c->s.cpu.usage_usec = 777;
	put_file(t, "cpu.stat", cpu_stat(1000)); /* the last good bytes */
	c = sweep(t, 1005.0);
	assert_true(c->s.have & CSTATD_HAVE_CPU_STAT);
	assert_int_equal(c->s.cpu.usage_usec, 1000);
}

/* Another source wrote over the group (the Docker stream with
 * --docker-stats always): the same bytes are parsed again. */
static void test_foreign_write_parsed_again(void **state)
{
	struct tree *t = *state;
	struct cstatd_container *c = sweep(t, 1000.0);
	assert_int_equal(c->s.cpu.usage_usec, 1000);
	c->s.cpu.usage_usec = 555; /* as copy_group would */
	c->s.foreign |= CSTATD_HAVE_CPU_STAT;
	c = sweep(t, 1001.0);
	assert_int_equal(c->s.cpu.usage_usec, 1000);
	assert_false(c->s.foreign & CSTATD_HAVE_CPU_STAT);
}

/* cgroup.events is read when inotify says it changed, and only then. */
static void test_events_on_notification(void **state)
{
	struct tree *t = *state;
	struct cstatd_container *c = sweep(t, 1000.0);
	assert_true(c->s.have & CSTATD_HAVE_CG_EVENTS);
	assert_false(c->s.events.frozen);

	c->s.events.populated = false; /* planted: no notification, not read */
	c = sweep(t, 1001.0);
	assert_true(c->s.have & CSTATD_HAVE_CG_EVENTS);
	assert_false(c->s.events.populated);

	put_file(t, "cgroup.events", "populated 1\nfrozen 1\n");
	c = sweep(t, 1002.0);
	assert_true(c->s.events.frozen);
	assert_true(c->s.events.populated);
}

/* Without inotify (or out of watches) nothing would say cgroup.events
 * changed: it is read at every sweep instead, and changes still show. */
static void test_events_without_watch(void **state)
{
	struct tree *t = *state;
	close(t->cg->inotify_fd); /* as when inotify_init1 failed */
	t->cg->inotify_fd = -1;
	struct cstatd_container *c = sweep(t, 1000.0);
	assert_false(c->s.events.frozen);

	put_file(t, "cgroup.events", "populated 1\nfrozen 1\n");
	c = sweep(t, 1001.0);
	assert_true(c->s.have & CSTATD_HAVE_CG_EVENTS);
	assert_true(c->s.events.frozen);
	put_file(t, "cgroup.events", "populated 1\nfrozen 0\n");
	c = sweep(t, 1002.0);
	assert_false(c->s.events.frozen);
}

/* cgroup.procs: not read while the cgroup uses no CPU, read when it does,
 * and at least every 10 s (CG_PROCS_MAX_AGE) either way. */
static void test_procs_on_cpu(void **state)
{
	struct tree *t = *state;
	struct cstatd_container *c = sweep(t, 1000.0);
	assert_int_equal(c->s.processes, 1);
	assert_int_equal(c->s.first_pid, 42);

	put_file(t, "cgroup.procs", "42\n43\n");
	c = sweep(t, 1001.0); /* usage_usec unchanged: not read */
	assert_int_equal(c->s.processes, 1);
	assert_true(c->s.have & CSTATD_HAVE_PROCS);

	put_file(t, "cpu.stat", cpu_stat(1500)); /* the cgroup ran */
	c = sweep(t, 1002.0);
	assert_int_equal(c->s.processes, 2);

	put_file(t, "cgroup.procs", "43\n");
	c = sweep(t, 1003.0);
	assert_int_equal(c->s.processes, 2); /* idle again: not read */
	c = sweep(t, 1011.9);
	assert_int_equal(c->s.processes, 2); /* 9.9 s since the last read */
	c = sweep(t, 1012.0);
	assert_int_equal(c->s.processes, 1); /* 10 s: read */
	assert_int_equal(c->s.first_pid, 43);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_unchanged_bytes_not_parsed, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_foreign_write_parsed_again, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_events_on_notification, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_events_without_watch, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_procs_on_cpu, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
