/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "collectors/netdev/netdev.h"
#include "collectors/netdev/netdev_parse.h"
#include "cstatd/log.h"
#include "cstatd/stats.h"

struct netdev_collector {
	const struct cstatd_fsroot *fs;
	ino_t host_netns; /* 0 when unknown: then every netns counts as "other" */
	char buf[64 * 1024];
	struct cstatd_netdev parsed; /* parsed here, then copied to the record's list */
	struct cstatd_complaint complaint;
	struct cstatd_complaint fd_complaint;
};

/* Per-container: the pid whose net/dev fd is kept open. */
struct netdev_priv {
	int pid;
	int fd;
	bool transient; /* fd is closed again after this sweep's read */
	uint64_t sig;   /* content signature of the last sweep's good parse, 0: none */
	bool own_netns;
};

static void priv_free(void *p)
{
	struct netdev_priv *np = p;
	if (np->fd >= 0) {
		close(np->fd);
		cstatd_fd_give();
	}
	free(np);
}

/* The network namespace of a pid, as an inode number that differs between
 * namespaces: /proc/<pid>/net/dev's, which anyone may stat (procfs gives
 * each namespace's net/ entries their own inodes), not /proc/<pid>/ns/net's,
 * which needs ptrace access to the process: an unprivileged cstatd could
 * not tell the namespaces apart and read no container network at all. */
static ino_t netns_of(const struct cstatd_fsroot *fs, const char *pid)
{
	char path[8192];
	struct stat st;
	snprintf(path, sizeof(path), "%s/%s/net/dev", fs->proc_root, pid);
	return stat(path, &st) == 0 ? st.st_ino : 0;
}

int netdev_collector_new(const struct cstatd_fsroot *fs, struct netdev_collector **out)
{
	struct netdev_collector *nd = calloc(1, sizeof(*nd));
	if (!nd)
		return -ENOMEM;
	nd->fs = fs;
	/* The host's network namespace is pid 1's in the proc view we read. */
	nd->host_netns = netns_of(fs, "1");
	*out = nd;
	return 0;
}

void netdev_collector_free(struct netdev_collector *nd)
{
	free(nd);
}

/* (Re)opens net/dev for `pid` when the container's first pid changed. */
static int open_for_pid(struct netdev_collector *nd, struct netdev_priv *np, int pid)
{
	char rel[64];

	/* The namespace is looked up once per pid, not per sweep: a container
	 * in the host's namespace, or one read open-read-close, would otherwise
	 * cost a stat at every sweep (12 % of a sweep at 5000 containers). */
	if (np->pid != pid) {
		if (np->fd >= 0) {
			close(np->fd);
			cstatd_fd_give();
		}
		np->fd = -1;
		np->pid = pid;
		snprintf(rel, sizeof(rel), "%d", pid);
		ino_t ns = netns_of(nd->fs, rel);
		np->own_netns = ns != 0 && ns != nd->host_netns;
	}
	if (!np->own_netns)
		return -ENOENT;
	if (np->fd >= 0)
		return 0;
	snprintf(rel, sizeof(rel), "%d/net/dev", pid);
	/* Past the keep-open part of the fd budget: opened, read and closed
	 * at every sweep (slower, still complete). */
	np->transient = !cstatd_fd_take_keep();
	if (np->transient)
		cstatd_complain(&nd->fd_complaint, CSTATD_LOG_WARN,
		                "open-files limit nearly reached: net/dev files are opened and closed "
		                "at every sweep instead of kept open (more CPU); raise the limit "
		                "(LimitNOFILE=, ulimit -n)",
		                NULL);
	int fd = cstatd_fs_open_proc(nd->fs, rel, O_RDONLY);
	if (fd < 0) {
		if (!np->transient)
			cstatd_fd_give();
		np->transient = false;
		return fd;
	}
	np->fd = fd;
	return 0;
}

void netdev_collector_sweep(struct netdev_collector *nd, struct cstatd_store *st)
{
	for (size_t i = 0; i < cstatd_store_count(st); i++) {
		struct cstatd_container *c = cstatd_store_at(st, i);
		/* Set again below only by this sweep's good read. */
		c->s.have &= ~CSTATD_HAVE_NETDEV;
		struct netdev_priv *np = c->net_priv;
		uint64_t last_sig = np ? np->sig : 0;
		if (np)
			np->sig = 0;
		if (!c->is_container || !(c->s.have & CSTATD_HAVE_PROCS) || c->s.first_pid <= 0)
			continue;

		if (!np) {
			np = calloc(1, sizeof(*np));
			if (!np)
				continue;
			np->fd = -1;
			c->net_priv = np;
			c->net_priv_free = priv_free;
		}
		if (open_for_pid(nd, np, c->s.first_pid) != 0)
			continue;

		ssize_t n = cstatd_pread_all(np->fd, nd->buf, sizeof(nd->buf));
		if (np->transient) {
			close(np->fd);
			np->fd = -1;
			np->transient = false;
		}
		if (n < 0) {
			/* The process exited between cgroup.procs and now: try
			 * again with the next sweep's first pid. */
			if (np->fd >= 0) {
				close(np->fd);
				cstatd_fd_give();
			}
			np->fd = -1;
			np->pid = 0;
			if (n != -ESRCH && n != -ENOENT)
				cstatd_count_error(CSTATD_ERR_NETDEV);
			continue;
		}
		/* The same bytes as the last sweep's good parse, and no other
		 * source wrote over it: the interfaces in the record stand. */
		uint64_t sig = cstatd_content_sig(nd->buf, (size_t)n);
		if (sig == last_sig && !(c->s.foreign & CSTATD_HAVE_NETDEV)) {
			np->sig = sig;
			c->s.have |= CSTATD_HAVE_NETDEV;
			continue;
		}
		if (netdev_parse(nd->buf, (size_t)n, &nd->parsed) != 0) {
			cstatd_count_error(CSTATD_ERR_NETDEV);
			cstatd_complain(&nd->complaint, CSTATD_LOG_WARN,
			                "net/dev has unexpected content; network skipped", "pid=%d",
			                c->s.first_pid);
			continue;
		}
		if (cstatd_sample_set_net(&c->s, &nd->parsed) != 0)
			continue; /* -ENOMEM: the series pause this sweep */
		np->sig = sig;
		c->s.foreign &= ~CSTATD_HAVE_NETDEV;
		c->s.have |= CSTATD_HAVE_NETDEV;
	}
}
