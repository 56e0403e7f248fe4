/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Reading a container's cgroup files. Each file is opened once and re-read
 * with pread(fd, buf, n, 0): kernfs regenerates seq_file content at offset 0,
 * so a sweep costs one syscall per file and no path walk. A file that does
 * not exist (controller not enabled, older kernel) is "not supported here":
 * its CSTATD_HAVE_* bit stays clear and it is retried only on a rescan.
 * ENODEV/ENOENT on a kept fd means the cgroup was removed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "collectors/cgroup/cgroup_parse.h"
#include "collectors/cgroup/cgroup_priv.h"
#include "cstatd/stats.h"

static const char *const cg_file_names[] = {
#define X(id, name, when, have) name,
    CG_FILES(X)
#undef X
};

static const enum cg_read_when cg_file_when[] = {
#define X(id, name, when, have) when,
    CG_FILES(X)
#undef X
};

static const uint32_t cg_file_have[] = {
#define X(id, name, when, have) have,
    CG_FILES(X)
#undef X
};

/* The watch slot of a notified file, or -1. */
static int notify_slot(enum cg_file f)
{
	switch (f) {
	case CG_FILE_CG_EVENTS:
		return CG_NOTIFY_CG_EVENTS;
	case CG_FILE_MEM_EVENTS:
		return CG_NOTIFY_MEM_EVENTS;
	default:
		return -1;
	}
}

/* Asks the kernel to say when a notified file changes. Without a watch
 * the file is read at every sweep, as any other. */
static void watch_file(struct cg_collector *cg, struct cg_priv *pv, const char *rel, enum cg_file f)
{
	int k = notify_slot(f);
	if (k < 0 || pv->wd[k] >= 0)
		return;
	int wd = cg__add_watch(cg, rel, cg_file_names[f], IN_MODIFY,
	                       "cannot watch cgroup file; reading it at every sweep");
	if (wd < 0)
		return;
	cg->watches[wd].owner = pv;
	cg->watches[wd].file = f;
	pv->wd[k] = wd;
}

static void unwatch_files(struct cg_priv *pv)
{
	for (int k = 0; k < CG_NOTIFY_COUNT; k++) {
		int wd = pv->wd[k];
		pv->wd[k] = -1;
		if (wd < 0 || !pv->cg)
			continue;
		struct cg_collector *cg = pv->cg;
		if ((size_t)wd < cg->n_watch && cg->watches[wd].owner == pv)
			cg->watches[wd].owner = NULL;
		/* EINVAL when the file went with its cgroup: nothing to do. */
		inotify_rm_watch(cg->inotify_fd, wd);
	}
}

static void priv_free(void *p)
{
	struct cg_priv *pv = p;
	unwatch_files(pv);
	for (int i = 0; i < CG_FILE_COUNT; i++) {
		if (pv->fds[i] >= 0) {
			close(pv->fds[i]);
			cstatd_fd_give();
		}
	}
	if (pv->dirfd >= 0) {
		close(pv->dirfd);
		cstatd_fd_give();
	}
	free(pv);
}

/* Takes a cgroup's directory fd from the process-wide budget (fsroot.h);
 * when it is spent the cgroup cannot be read at all: says so once and
 * counts the error. */
static bool take_fd(struct cg_collector *cg)
{
	if (cstatd_fd_take())
		return true;
	cstatd_count_error(CSTATD_ERR_CGROUP);
	cstatd_complain(&cg->fd_complaint, CSTATD_LOG_ERROR,
	                "open-files limit reached: some cgroups are not read at all; raise the limit "
	                "(LimitNOFILE= in the unit, ulimit -n), about 10 per container",
	                "open=%zu budget=%zu", cstatd_fd_open_count(), cstatd_fd_budget());
	return false;
}

static void note_transient(struct cg_collector *cg)
{
	cstatd_complain(&cg->keep_complaint, CSTATD_LOG_WARN,
	                "open-files limit nearly reached: some cgroup files are opened and closed "
	                "at every sweep instead of kept open (more CPU); raise the limit "
	                "(LimitNOFILE= in the unit, ulimit -n), about 10 per container",
	                "open=%zu budget=%zu", cstatd_fd_open_count(), cstatd_fd_budget());
}

int cg__attach(struct cg_collector *cg, struct cstatd_container *c, const char *rel)
{
	char *path = strdup(rel);
	struct cg_priv *pv = calloc(1, sizeof(*pv));
	int rc = -ENOMEM;

	if (!path || !pv)
		goto fail;
	if (!take_fd(cg)) {
		rc = -EMFILE;
		goto fail;
	}
	pv->dirfd = cstatd_fs_open_cgroup(cg->fs, rel, O_RDONLY | O_DIRECTORY);
	if (pv->dirfd < 0) {
		cstatd_fd_give();
		rc = pv->dirfd;
		goto fail;
	}
	for (int i = 0; i < CG_FILE_COUNT; i++)
		pv->fds[i] = -1;
	for (int k = 0; k < CG_NOTIFY_COUNT; k++)
		pv->wd[k] = -1;
	pv->cg = cg;
	pv->stale = ~0u; /* everything is read at the first sweep */

	struct stat st;
	if (fstat(pv->dirfd, &st) == 0 && c->start_time == 0)
		c->start_time = (double)st.st_ctim.tv_sec + (double)st.st_ctim.tv_nsec / 1e9;

	cg__detach(c);
	c->cgroup_path = path;
	c->cg_priv = pv;
	c->cg_priv_free = priv_free;
	/* -ENOMEM keeps the old label: the record is attached all the same. */
	(void)cstatd_container_setf(&c->id_label, "/%s", rel);
	return 0;
fail:
	free(path);
	free(pv);
	return rc;
}

void cg__detach(struct cstatd_container *c)
{
	if (c->cg_priv && c->cg_priv_free)
		c->cg_priv_free(c->cg_priv);
	c->cg_priv = NULL;
	c->cg_priv_free = NULL;
	free(c->cgroup_path);
	c->cgroup_path = NULL;
	/* Numbers read from the files are no longer true; keep only what
	 * another source (the Docker stats stream) may fill again. */
	c->s.have = 0;
	c->sources &= ~CSTATD_SRC_CGROUP;
}

/* Parses one file's content into the sample. Returns the parser's result. */
static int parse_into(struct cg_collector *cg, enum cg_file f, const char *buf, size_t len,
                      struct cstatd_sample *s)
{
	int rc;
	switch (f) {
	case CG_FILE_CPU_STAT:
		rc = cg_parse_cpu_stat(buf, len, &s->cpu);
		if (rc == 0) {
			s->have |= CSTATD_HAVE_CPU_STAT;
			if (s->cpu.has_bandwidth)
				s->have |= CSTATD_HAVE_CPU_BANDWIDTH;
		}
		return rc;
	case CG_FILE_CPU_MAX:
		rc = cg_parse_cpu_max(buf, len, &s->cpu_max);
		s->have |= rc == 0 ? CSTATD_HAVE_CPU_MAX : 0;
		return rc;
	case CG_FILE_CPU_WEIGHT:
		rc = cg_parse_u64_or_max(buf, len, &s->cpu_weight);
		s->have |= rc == 0 ? CSTATD_HAVE_CPU_WEIGHT : 0;
		return rc;
	case CG_FILE_MEM_CURRENT:
		rc = cg_parse_u64_or_max(buf, len, &s->mem_current);
		s->have |= rc == 0 ? CSTATD_HAVE_MEM_CURRENT : 0;
		return rc;
	case CG_FILE_MEM_MAX:
		rc = cg_parse_u64_or_max(buf, len, &s->mem_max);
		s->have |= rc == 0 ? CSTATD_HAVE_MEM_MAX : 0;
		return rc;
	case CG_FILE_MEM_HIGH:
		rc = cg_parse_u64_or_max(buf, len, &s->mem_high);
		s->have |= rc == 0 ? CSTATD_HAVE_MEM_HIGH : 0;
		return rc;
	case CG_FILE_MEM_PEAK:
		rc = cg_parse_u64_or_max(buf, len, &s->mem_peak);
		s->have |= rc == 0 ? CSTATD_HAVE_MEM_PEAK : 0;
		return rc;
	case CG_FILE_MEM_STAT:
		rc = cg_parse_memory_stat(buf, len, &s->mem);
		s->have |= rc == 0 ? CSTATD_HAVE_MEM_STAT : 0;
		return rc;
	case CG_FILE_MEM_EVENTS:
		rc = cg_parse_memory_events(buf, len, &s->mem_events);
		s->have |= rc == 0 ? CSTATD_HAVE_MEM_EVENTS : 0;
		return rc;
	case CG_FILE_SWAP_CURRENT:
		rc = cg_parse_u64_or_max(buf, len, &s->swap_current);
		s->have |= rc == 0 ? CSTATD_HAVE_SWAP_CURRENT : 0;
		return rc;
	case CG_FILE_SWAP_MAX:
		rc = cg_parse_u64_or_max(buf, len, &s->swap_max);
		s->have |= rc == 0 ? CSTATD_HAVE_SWAP_MAX : 0;
		return rc;
	case CG_FILE_IO_STAT:
		rc = cg_parse_io_stat(buf, len, &cg->io);
		if (rc == 0 && cstatd_sample_set_io(s, &cg->io) == 0)
			s->have |= CSTATD_HAVE_IO_STAT; /* (-ENOMEM: the series pause) */
		return rc;
	case CG_FILE_PIDS_CURRENT:
		rc = cg_parse_u64_or_max(buf, len, &s->pids_current);
		s->have |= rc == 0 ? CSTATD_HAVE_PIDS_CURRENT : 0;
		return rc;
	case CG_FILE_PIDS_MAX:
		rc = cg_parse_u64_or_max(buf, len, &s->pids_max);
		s->have |= rc == 0 ? CSTATD_HAVE_PIDS_MAX : 0;
		return rc;
	case CG_FILE_PSI_CPU:
		rc = cg_parse_psi(buf, len, &s->psi_cpu);
		s->have |= rc == 0 ? CSTATD_HAVE_PSI_CPU : 0;
		return rc;
	case CG_FILE_PSI_MEM:
		rc = cg_parse_psi(buf, len, &s->psi_mem);
		s->have |= rc == 0 ? CSTATD_HAVE_PSI_MEM : 0;
		return rc;
	case CG_FILE_PSI_IO:
		rc = cg_parse_psi(buf, len, &s->psi_io);
		s->have |= rc == 0 ? CSTATD_HAVE_PSI_IO : 0;
		return rc;
	case CG_FILE_CG_EVENTS:
		rc = cg_parse_cgroup_events(buf, len, &s->events);
		s->have |= rc == 0 ? CSTATD_HAVE_CG_EVENTS : 0;
		return rc;
	case CG_FILE_PROCS:
		rc = cg_parse_procs(buf, len, &s->processes, &s->first_pid);
		s->have |= rc == 0 ? CSTATD_HAVE_PROCS : 0;
		return rc;
	case CG_FILE_COUNT:
		break;
	}
	return -EINVAL;
}

static bool gone(int err)
{
	return err == -ENODEV || err == -ENOENT;
}

/* Whether file f is read at this sweep (CG_FILES says when). */
static bool due(const struct cg_priv *pv, enum cg_file f, bool cpu_moved, bool events_read,
                double now)
{
	if (pv->stale & (1u << f))
		return true;
	switch (cg_file_when[f]) {
	case CG_READ_NOTIFY: {
		/* No watch slot or no watch: nothing says when it changes. */
		int k = notify_slot(f);
		return k < 0 || pv->wd[k] < 0;
	}
	case CG_READ_ON_CPU:
		return cpu_moved || events_read || pv->procs_read_at == 0 ||
		       now - pv->procs_read_at >= CG_PROCS_MAX_AGE;
	case CG_READ_EVERY:
		break;
	}
	return true;
}

bool cg__read(struct cg_collector *cg, struct cstatd_container *c, bool retry_absent, double now)
{
	struct cg_priv *pv = c->cg_priv;
	if (!pv)
		return false;

	/* A file that fails to parse exports nothing this sweep: its series
	 * pause (Prometheus' rate() bridges the gap) rather than repeat a
	 * stale value as if it were fresh. The error is counted and logged.
	 * A file not due keeps what its last read gave, `have` bits included. */
	uint32_t had = c->s.have;
	bool cpu_moved = true, events_read = false;
	c->s.have = 0;
	if (retry_absent)
		pv->stale = ~0u; /* a rescan reads everything: the safety net */
	/* Controllers are enabled when a container is created and seldom
	 * later, and each retry costs an openat and a faccessat per absent
	 * file (10 % of a sweep at 1000 cgroups when done every rescan): try
	 * absent files again at the first few rescans of a cgroup's life, then
	 * at every tenth (5 minutes). */
	if (retry_absent) {
		if (pv->rescans < 4 || pv->rescans % 10 == 0)
			pv->absent = 0;
		pv->rescans++;
	}

	for (int f = 0; f < CG_FILE_COUNT; f++) {
		int fd = pv->fds[f];
		bool transient = false;
		if (!due(pv, (enum cg_file)f, cpu_moved, events_read, now)) {
			c->s.have |= had & cg_file_have[f];
			continue;
		}
		pv->stale &= ~(1u << f);
		if (fd < 0) {
			if (pv->absent & (1u << f))
				continue;
			/* Past the keep-open part of the fd budget the file is
			 * opened, read and closed at every sweep: slower, but the
			 * container is still read in full. */
			transient = !cstatd_fd_take_keep();
			if (transient)
				note_transient(cg);
			fd = openat(pv->dirfd, cg_file_names[f], O_RDONLY | O_CLOEXEC);
			if (fd < 0) {
				int e = errno;
				if (!transient)
					cstatd_fd_give();
				if (e == ENOENT) {
					/* Either the file is not supported here, or the
					 * whole cgroup is gone: cgroup.procs tells. */
					if (f == CG_FILE_PROCS ||
					    faccessat(pv->dirfd, "cgroup.procs", F_OK, 0) != 0)
						return false;
					pv->absent |= 1u << f;
				} else if (e == ENODEV) {
					return false;
				} else if (e != EOPNOTSUPP) {
					cstatd_count_error(CSTATD_ERR_CGROUP);
					cstatd_complain(&cg->read_complaint, CSTATD_LOG_WARN,
					                "cannot open cgroup file",
					                "path=%s/%s err=\"%s\"", c->cgroup_path,
					                cg_file_names[f], strerror(e));
				} else {
					pv->absent |= 1u << f; /* PSI disabled */
				}
				continue;
			}
			if (!transient)
				pv->fds[f] = fd;
			watch_file(cg, pv, c->cgroup_path, (enum cg_file)f);
		}

		ssize_t n = cstatd_pread_all(fd, cg->buf, cg->buf_cap);
		if (transient)
			close(fd);
		if (n < 0) {
			if (gone((int)n))
				return false;
			if (n == -EOPNOTSUPP) { /* PSI off, threaded cgroup.procs */
				if (!transient) {
					close(pv->fds[f]);
					cstatd_fd_give();
					pv->fds[f] = -1;
				}
				pv->absent |= 1u << f;
				continue;
			}
			cstatd_count_error(CSTATD_ERR_CGROUP);
			cstatd_complain(&cg->read_complaint, CSTATD_LOG_WARN,
			                "cannot read cgroup file", "path=%s/%s err=\"%s\"",
			                c->cgroup_path, cg_file_names[f], strerror((int)-n));
			pv->stale |= 1u << f; /* retried at the next sweep */
			continue;
		}
		/* The same bytes as at the last good parse, and no other source
		 * wrote over what that parse gave: the values stand. */
		uint64_t sig = cstatd_content_sig(cg->buf, (size_t)n);
		if (sig == pv->sig[f] && (had & cg_file_have[f]) &&
		    !(c->s.foreign & cg_file_have[f])) {
			c->s.have |= had & cg_file_have[f];
		} else if (parse_into(cg, (enum cg_file)f, cg->buf, (size_t)n, &c->s) != 0) {
			pv->sig[f] = 0;
			cstatd_count_error(CSTATD_ERR_CGROUP);
			if (!pv->parse_failed[f])
				cstatd_complain(&cg->parse_complaint, CSTATD_LOG_WARN,
				                "cgroup file has unexpected content; value skipped",
				                "path=%s/%s bytes=%zd", c->cgroup_path,
				                cg_file_names[f], n);
			pv->parse_failed[f] = true;
			pv->stale |= 1u << f; /* retried at the next sweep */
		} else {
			pv->parse_failed[f] = false;
			pv->sig[f] = sig;
			c->s.foreign &= ~cg_file_have[f];
		}
		if (f == CG_FILE_CPU_STAT && (c->s.have & CSTATD_HAVE_CPU_STAT)) {
			cpu_moved = c->s.cpu.usage_usec != pv->last_usage_usec;
			pv->last_usage_usec = c->s.cpu.usage_usec;
		} else if (f == CG_FILE_CG_EVENTS) {
			events_read = true;
		} else if (f == CG_FILE_PROCS) {
			pv->procs_read_at = now;
		}
	}
	return true;
}
