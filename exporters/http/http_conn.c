/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Connection slots and what a request line may look like.
 *
 * Why eviction: libmicrohttpd refuses (or leaves in the backlog) every new
 * connection once its connection limit is reached, and its timeout counts
 * from the last byte received. A slowloris client that opens many
 * connections and sends one header byte every few seconds therefore keeps
 * every slot forever, and a real scrape never gets in. So libmicrohttpd's
 * own limit is set a little above --web.max-connections, and cstatd keeps
 * the count itself: when a new connection would exceed the limit, the
 * connection that has waited longest without a request being answered on
 * it (still sending headers, or idle between keep-alive requests) is shut
 * down to make room. A client that completes its request in one go — every
 * scraper — is never the longest waiting, so it always gets a slot, however
 * many idle connections there are. Only when every slot is busy answering
 * a request is the new connection itself refused.
 *
 * shutdown(2), not close(2): libmicrohttpd still owns the descriptor; the
 * shut-down socket reads end-of-file, so libmicrohttpd closes it in its
 * next round like any connection its client closed.
 */
#include <errno.h>
#include <microhttpd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "cstatd/log.h"
#include "exporters/http/auth.h"
#include "exporters/http/http_internal.h"

static void idle_unlink(struct http_conn *c)
{
	if (c->prev) {
		c->prev->next = c->next;
		c->next->prev = c->prev;
	}
	c->prev = c->next = NULL;
}

/* Appends at the tail: the one that waited least. */
static void idle_append(struct http_server *srv, struct http_conn *c)
{
	struct http_conn *head = &srv->idle;
	c->prev = head->prev;
	c->next = head;
	head->prev->next = c;
	head->prev = c;
}

static void evict(struct http_conn *c)
{
	c->evicted = true;
	idle_unlink(c);
	if (c->fd >= 0)
		shutdown(c->fd, SHUT_RDWR);
}

struct http_conn *http__conn_of(struct MHD_Connection *connection)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(connection, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	return ci ? ci->socket_context : NULL;
}

void http__notify_connection(void *cls, struct MHD_Connection *connection, void **socket_context,
                             enum MHD_ConnectionNotificationCode toe)
{
	struct http_server *srv = cls;

	if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
		struct http_conn *c = *socket_context;
		if (!c)
			return;
		if (!c->evicted)
			srv->n_live--;
		idle_unlink(c);
		free(c);
		*socket_context = NULL;
		return;
	}
	/* MHD_CONNECTION_NOTIFY_STARTED */
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CONNECTION_FD);
	int fd = ci ? ci->connect_fd : -1;
	struct http_conn *c = calloc(1, sizeof(*c));
	if (!c) {
		/* Cannot account for it: do not serve it. */
		if (fd >= 0)
			shutdown(fd, SHUT_RDWR);
		return;
	}
	c->srv = srv;
	c->mhd = connection;
	c->fd = fd;
	*socket_context = c;
	srv->n_live++;
	idle_append(srv, c);
	if (srv->have_webconfig && srv->wc.tls)
		http__tls_connection_setup(srv, connection);

	if (srv->n_live <= srv->max_connections)
		return;
	struct http_conn *victim = srv->idle.next;
	srv->n_live--;
	evict(victim);
	if (victim == c) {
		/* Every other slot answers a request right now. */
		srv->n_refused++;
		log_debug("HTTP connection refused: every slot is busy", "max_connections=%u",
		          srv->max_connections);
	} else {
		srv->n_evicted++;
	}
}

static bool is_hex(char ch)
{
	return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F');
}

/* The raw request target, before libmicrohttpd decodes %XX in place. */
void *http__uri_logger(void *cls, const char *uri, struct MHD_Connection *connection)
{
	(void)cls;
	struct http_conn *c = http__conn_of(connection);
	if (!c || !uri)
		return NULL;
	size_t path_len = strcspn(uri, "?#");
	c->raw_uri_len = strlen(uri);
	c->bad_escape = false;
	for (size_t i = 0; i < path_len; i++) {
		if (uri[i] != '%')
			continue;
		if (i + 2 >= path_len || !is_hex(uri[i + 1]) || !is_hex(uri[i + 2]) ||
		    (uri[i + 1] == '0' && uri[i + 2] == '0')) {
			c->bad_escape = true;
			break;
		}
		i += 2;
	}
	return NULL;
}

void http__conn_request_begins(struct http_server *srv, struct http_conn *c)
{
	(void)srv;
	c->in_request = true;
	idle_unlink(c);
}

void http__request_completed(void *cls, struct MHD_Connection *connection, void **con_cls,
                             enum MHD_RequestTerminationCode toe)
{
	struct http_server *srv = cls;
	(void)toe;
	(void)con_cls;
	struct http_conn *c = http__conn_of(connection);
	if (!c)
		return;
	if (c->auth_job) {
		/* Only reached once the bcrypt worker has let go of it
		 * (http__auth_stop runs before MHD_stop_daemon). */
		http__auth_job_free(c->auth_job);
		c->auth_job = NULL;
	}
	if (c->in_request) {
		c->in_request = false;
		if (!c->evicted)
			idle_append(srv, c);
	}
}

struct header_sum {
	size_t bytes;
	bool nul;
};

static enum MHD_Result add_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                  size_t key_size, const char *value, size_t value_size)
{
	struct header_sum *s = cls;
	(void)kind;
	/* "Key: value\r\n". A NUL inside would cut the C string the handlers
	 * see; libmicrohttpd 0.9.75 measures values with strlen, so there the
	 * value just ends at the NUL (nothing after it is used), later
	 * versions report the size received and it is refused here. */
	s->bytes += key_size + 2 + value_size + 2;
	if (memchr(key, '\0', key_size) || (value && memchr(value, '\0', value_size)))
		s->nul = true;
	return MHD_YES;
}

size_t http__request_header_bytes(struct MHD_Connection *connection, const char *method,
                                  const char *version, const struct http_conn *c, bool *has_nul)
{
	struct header_sum s = {0};
	MHD_get_connection_values_n(connection, MHD_HEADER_KIND, add_header, &s);
	*has_nul = s.nul;
	/* "METHOD target HTTP/1.1\r\n" ... "\r\n" */
	return strlen(method) + 1 + c->raw_uri_len + 1 + strlen(version) + 2 + s.bytes + 2;
}
