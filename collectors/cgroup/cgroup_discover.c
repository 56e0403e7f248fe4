/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Finding container cgroups: a walk of the cgroup2 tree at start and every
 * RESCAN_SECONDS, and inotify watches on every non-container directory in
 * between (IN_CREATE/IN_DELETE of child directories). inotify is not
 * recursive and misses cgroups made through another mount, hence the
 * periodic walk as a safety net. Container directories themselves are not
 * descended into (their children belong to the container), except with
 * --all-cgroups.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "collectors/cgroup/cgroup_parse.h"
#include "collectors/cgroup/cgroup_priv.h"
#include "cstatd/stats.h"

#define RESCAN_SECONDS 30.0
#define MAX_DEPTH 16

/* ------------------------------------------------------------------ */
/* Identity of a path                                                  */
/* ------------------------------------------------------------------ */

bool cg__key_for_path(const char *rel, bool all_cgroups, char *key, char *runtime,
                      bool *is_container)
{
	char id[CSTATD_ID_LEN + 1];
	if (cg_match_container_path(rel, id, runtime)) {
		strcpy(key, id);
		*is_container = true;
		return true;
	}
	if (!all_cgroups)
		return false;
	/* Raw cgroups are keyed by a hash of their path: paths can be longer
	 * than a key, and the path stays the `id` label. */
	uint64_t h = 1469598103934665603ULL;
	for (const char *p = rel; *p; p++) {
		h ^= (unsigned char)*p;
		h *= 1099511628211ULL;
	}
	snprintf(key, CSTATD_ID_LEN + 1, "cg:%016llx", (unsigned long long)h);
	strcpy(runtime, "");
	*is_container = false;
	return true;
}

/* ------------------------------------------------------------------ */
/* inotify watches                                                     */
/* ------------------------------------------------------------------ */

/* Makes room for watch descriptor wd in cg->watches; false on ENOMEM. */
static bool watch_slot(struct cg_collector *cg, int wd)
{
	if ((size_t)wd >= cg->n_watch) {
		size_t n = cg->n_watch ? cg->n_watch : 64;
		while (n <= (size_t)wd)
			n *= 2;
		struct cg_watch *p = realloc(cg->watches, n * sizeof(*p));
		if (!p)
			return false;
		memset(p + cg->n_watch, 0, (n - cg->n_watch) * sizeof(*p));
		cg->watches = p;
		cg->n_watch = n;
	}
	return true;
}

int cg__add_watch(struct cg_collector *cg, const char *rel, const char *file, uint32_t mask,
                  const char *unwatched)
{
	if (cg->inotify_fd < 0)
		return -1;
	char path[PATH_MAX + sizeof(cg->fs->cgroup_root)];
	int n = file ? snprintf(path, sizeof(path), "%s/%s/%s", cg->fs->cgroup_root, rel, file)
	             : snprintf(path, sizeof(path), "%s/%s", cg->fs->cgroup_root, rel);
	if (n < 0 || (size_t)n >= sizeof(path))
		return -1;
	int wd = inotify_add_watch(cg->inotify_fd, path, mask);
	if (wd < 0) {
		/* ENOSPC: out of watches. ENOENT: the cgroup went meanwhile. */
		if (errno != ENOENT)
			cstatd_complain(&cg->watch_complaint, CSTATD_LOG_WARN, unwatched,
			                "path=%s err=\"%s\"", path, strerror(errno));
		return -1;
	}
	if (!watch_slot(cg, wd)) {
		inotify_rm_watch(cg->inotify_fd, wd);
		return -1;
	}
	return wd;
}

static void add_watch(struct cg_collector *cg, const char *rel)
{
	/* Without the watch the periodic rescan still finds new cgroups. */
	int wd = cg__add_watch(cg, rel, NULL, IN_CREATE | IN_DELETE | IN_ONLYDIR,
	                       "cannot watch cgroup directory; relying on rescans");
	if (wd < 0)
		return;
	struct cg_watch *w = &cg->watches[wd];
	if (!w->dir || strcmp(w->dir, rel) != 0) {
		free(w->dir);
		w->dir = strdup(rel);
	}
}

/* ------------------------------------------------------------------ */
/* Tree walk                                                           */
/* ------------------------------------------------------------------ */

/* Makes sure a record exists for a container directory and is attached to
 * this path. */
static void track(struct cg_collector *cg, struct cstatd_store *st, const char *rel)
{
	char key[CSTATD_ID_LEN + 1], runtime[16];
	bool is_container;

	if (!cg__key_for_path(rel, cg->all_cgroups, key, runtime, &is_container))
		return;
	struct cstatd_container *c = cstatd_store_get(st, key);
	if (!c) {
		c = cstatd_store_add(st, key);
		if (!c)
			return;
		c->is_container = is_container;
		snprintf(c->runtime, sizeof(c->runtime), "%s", runtime);
		if (is_container)
			cstatd_container_setf(&c->name, "%.12s", key);
		else
			cstatd_container_setf(&c->name, "/%s", rel);
		cstatd_label_cut(c->name, cstatd_store_label_max(st));
	}
	if (!c->cgroup_path || strcmp(c->cgroup_path, rel) != 0) {
		if (cg__attach(cg, c, rel) != 0)
			return;
		/* The `id` label is the path: cut once, here, not per sweep. */
		cstatd_label_cut(c->id_label, cstatd_store_label_max(st));
	}
	((struct cg_priv *)c->cg_priv)->gen = cg->gen;
}

static void walk(struct cg_collector *cg, struct cstatd_store *st, const char *rel, int depth)
{
	if (depth > MAX_DEPTH)
		return;
	int fd = cstatd_fs_open_cgroup(cg->fs, rel, O_RDONLY | O_DIRECTORY);
	if (fd < 0)
		return;
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return;
	}
	add_watch(cg, rel);

	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN)
			continue;
		char child[PATH_MAX];
		int n = rel[0] ? snprintf(child, sizeof(child), "%s/%s", rel, de->d_name)
		               : snprintf(child, sizeof(child), "%s", de->d_name);
		if (n < 0 || (size_t)n >= sizeof(child))
			continue;
		if (de->d_type == DT_UNKNOWN) {
			struct stat sb;
			if (fstatat(dirfd(d), de->d_name, &sb, AT_SYMLINK_NOFOLLOW) ||
			    !S_ISDIR(sb.st_mode))
				continue;
		}
		char key[CSTATD_ID_LEN + 1], runtime[16];
		bool is_container = false;
		bool tracked =
		    cg__key_for_path(child, cg->all_cgroups, key, runtime, &is_container);
		if (tracked)
			track(cg, st, child);
		if (!is_container || cg->all_cgroups)
			walk(cg, st, child, depth + 1);
	}
	closedir(d);
}

/* Full walk; records that the walk did not find lose their cgroup. */
static void rescan(struct cg_collector *cg, struct cstatd_store *st)
{
	cg->gen++;
	/* The walk offers every container directory again: containers dropped
	 * by --max-containers that were not offered since the last rescan are
	 * gone, and are counted again should they come back. */
	cstatd_store_new_round(st);
	if (cg->all_cgroups)
		track(cg, st, "");
	walk(cg, st, "", 0);
	for (size_t i = 0; i < cstatd_store_count(st); i++) {
		struct cstatd_container *c = cstatd_store_at(st, i);
		struct cg_priv *pv = c->cg_priv;
		if (pv && pv->gen != cg->gen)
			cg__detach(c);
	}
}

/* Applies queued inotify events. A notified file (IN_MODIFY) is marked to
 * be read at this sweep. New directories are walked at once; removals are
 * noticed by the read itself (ENODEV), so they need nothing here beyond
 * forgetting the watch. Returns false on queue overflow. */
static bool drain_inotify(struct cg_collector *cg, struct cstatd_store *st)
{
	char buf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));
	bool ok = true;

	for (;;) {
		ssize_t n = read(cg->inotify_fd, buf, sizeof(buf));
		if (n <= 0)
			break;
		for (char *p = buf; p < buf + n;) {
			struct inotify_event *ev = (struct inotify_event *)p;
			p += sizeof(*ev) + ev->len;
			if (ev->mask & IN_Q_OVERFLOW) {
				ok = false;
				continue;
			}
			if (ev->wd < 0 || (size_t)ev->wd >= cg->n_watch)
				continue;
			struct cg_watch *w = &cg->watches[ev->wd];
			if (ev->mask & IN_IGNORED) {
				/* The watched file or directory is gone (or the
				 * watch was removed with its container). */
				if (w->owner)
					for (int k = 0; k < CG_NOTIFY_COUNT; k++)
						if (w->owner->wd[k] == ev->wd)
							w->owner->wd[k] = -1;
				free(w->dir);
				memset(w, 0, sizeof(*w));
				continue;
			}
			if (ev->mask & IN_MODIFY) {
				if (w->owner)
					w->owner->stale |= 1u << w->file;
				continue;
			}
			if (!w->dir || !(ev->mask & (IN_CREATE | IN_DELETE)) ||
			    !(ev->mask & IN_ISDIR) || ev->len == 0)
				continue;
			const char *parent = w->dir;
			char child[PATH_MAX];
			int m = parent[0]
			            ? snprintf(child, sizeof(child), "%s/%s", parent, ev->name)
			            : snprintf(child, sizeof(child), "%s", ev->name);
			if (m < 0 || (size_t)m >= sizeof(child))
				continue;
			char key[CSTATD_ID_LEN + 1], runtime[16];
			bool is_container = false;
			bool known =
			    cg__key_for_path(child, cg->all_cgroups, key, runtime, &is_container);
			if (ev->mask & IN_DELETE) {
				/* On cgroupfs a kept fd fails with ENODEV anyway; on
				 * other trees (fixtures) the fds stay readable, so the
				 * removal is applied here. A removed parent may have
				 * held containers: rescan. */
				struct cstatd_container *c =
				    known ? cstatd_store_get(st, key) : NULL;
				if (c && c->cgroup_path && strcmp(c->cgroup_path, child) == 0)
					cg__detach(c);
				if (!is_container || cg->all_cgroups)
					cg->rescan_now = true;
				continue;
			}
			if (known)
				track(cg, st, child);
			if (!is_container || cg->all_cgroups)
				walk(cg, st, child, 1);
		}
	}
	return ok;
}

/* ------------------------------------------------------------------ */
/* Collector                                                           */
/* ------------------------------------------------------------------ */

int cg_collector_new(const struct cstatd_fsroot *fs, bool all_cgroups, struct cg_collector **out)
{
	struct cg_collector *cg = calloc(1, sizeof(*cg));
	if (!cg)
		return -ENOMEM;
	cg->fs = fs;
	cg->all_cgroups = all_cgroups;
	cg->buf_cap = 1 << 20; /* cgroup.procs of a big raw cgroup; memory.stat is ~2 KiB */
	cg->buf = malloc(cg->buf_cap);
	if (!cg->buf) {
		free(cg);
		return -ENOMEM;
	}
	cg->inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (cg->inotify_fd < 0)
		log_warn("inotify unavailable; new cgroups are found by rescans only", "err=\"%s\"",
		         strerror(errno));
	cg->rescan_now = true;
	*out = cg;
	return 0;
}

void cg_collector_free(struct cg_collector *cg)
{
	if (!cg)
		return;
	if (cg->inotify_fd >= 0)
		close(cg->inotify_fd);
	for (size_t i = 0; i < cg->n_watch; i++) {
		free(cg->watches[i].dir);
		/* Records may outlive the collector (the store is freed
		 * after it): their watches die with the inotify fd. */
		if (cg->watches[i].owner)
			cg->watches[i].owner->cg = NULL;
	}
	free(cg->watches);
	free(cg->buf);
	free(cg);
}

/* Adopts a cgroup path that another source (Docker: /proc/<pid>/cgroup)
 * found for a record the path patterns missed. */
static void adopt_hint(struct cg_collector *cg, size_t label_max, struct cstatd_container *c)
{
	const char *rel = c->cgroup_hint;
	while (*rel == '/')
		rel++;
	/* On a hybrid host a container without a v2 cgroup of its own shows
	 * "/" or some unrelated path on its 0:: line: that is never the
	 * container's cgroup. Adopt only a directory named after the id. */
	const char *last = strrchr(rel, '/');
	last = last ? last + 1 : rel;
	if (!*rel || !c->is_container || !strstr(last, c->key)) {
		cstatd_container_set_hint(c, NULL);
		return;
	}
	if (cg__attach(cg, c, rel) == 0) {
		((struct cg_priv *)c->cg_priv)->gen = cg->gen;
		cstatd_label_cut(c->id_label, label_max);
		add_watch(cg, rel);
	}
	cstatd_container_set_hint(c, NULL);
}

void cg_collector_sweep(struct cg_collector *cg, struct cstatd_store *st, double now)
{
	bool retry_absent = false;

	if (cg->inotify_fd >= 0 && !drain_inotify(cg, st))
		cg->rescan_now = true;
	/* Containers were dropped (--max-containers) and records went since:
	 * walk now, so that the dropped ones take the free places at once
	 * rather than at the next periodic rescan. */
	if (cstatd_store_refused(st) > 0 && !cstatd_store_full(st))
		cg->rescan_now = true;
	if (cg->rescan_now || now >= cg->next_rescan) {
		rescan(cg, st);
		cg->rescan_now = false;
		cg->next_rescan = now + RESCAN_SECONDS;
		/* Controllers may have been enabled since: try absent files again. */
		retry_absent = true;
	}

	for (size_t i = 0; i < cstatd_store_count(st); i++) {
		struct cstatd_container *c = cstatd_store_at(st, i);
		if (!c->cg_priv && c->cgroup_hint)
			adopt_hint(cg, cstatd_store_label_max(st), c);
		if (!c->cg_priv) {
			c->sources &= ~CSTATD_SRC_CGROUP;
			continue;
		}
		if (cg__read(cg, c, retry_absent, now)) {
			c->sources |= CSTATD_SRC_CGROUP;
			c->last_seen = now;
		} else {
			cg__detach(c);
		}
	}
}
