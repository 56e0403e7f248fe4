/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Basic auth: bcrypt checks on a worker thread, successes cached by HMAC.
 * See auth.h for why. Threads: http__auth_check / _finish and the cache
 * belong to the MHD thread; the queue and the jobs' verdicts are shared
 * with the worker under `lock`.
 */
#include <crypt.h>
#include <errno.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "cstatd/log.h"
#include "exporters/http/auth.h"

/* Checks waiting for the worker; more get 503 at once, so a flood of wrong
 * passwords costs at most this many bcrypt runs of latency, not memory. */
#define QUEUE_MAX 16
/* Remembered successes: a handful of scrapers, each with one password. */
#define CACHE_SLOTS 64
#define DIGEST_LEN 32

/* bcrypt of "fakepassword" at cost 10: checked for unknown users so that the
 * answer takes as long as for a known one (no user enumeration by timing). */
static const char dummy_hash[] = "$2y$10$M5c774u3V83soY.u7.JuPeFV7eEv6kJjmKNUXSgQQPCK9pGHftU3K";

enum job_state { JOB_QUEUED, JOB_DONE, JOB_CANCELLED };

struct http_auth_job {
	struct MHD_Connection *conn;
	char *password;
	size_t password_len;
	const char *hash; /* borrowed: the web config's, or dummy_hash */
	bool known_user;
	unsigned char digest[DIGEST_LEN];
	enum job_state state; /* under a->lock */
	bool match;           /* under a->lock */
};

struct cache_slot {
	bool used;
	unsigned char digest[DIGEST_LEN];
};

struct http_auth {
	const struct cstatd_webconfig *wc;
	unsigned char hmac_key[32];
	struct cache_slot cache[CACHE_SLOTS];
	unsigned cache_next;

	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct http_auth_job *queue[QUEUE_MAX];
	unsigned q_head, q_len;
	bool stopping, worker_running;
	pthread_t worker;
};

/* Compares without an early exit, so the time taken does not tell how many
 * leading bytes matched. */
static bool equal_ct(const void *a, const void *b, size_t n)
{
	const volatile unsigned char *x = a, *y = b;
	unsigned char d = 0;
	for (size_t i = 0; i < n; i++)
		d |= x[i] ^ y[i];
	return d == 0;
}

/* bcrypt(password, hash) == hash, compared in constant time. */
static bool bcrypt_matches(struct crypt_data *cd, const char *password, const char *hash)
{
	memset(cd, 0, sizeof(*cd));
	const char *out = crypt_rn(password, hash, cd, (int)sizeof(*cd));
	size_t hl = strlen(hash);
	bool ok = out && strlen(out) == hl && equal_ct(out, hash, hl);
	explicit_bzero(cd, sizeof(*cd));
	return ok;
}

static void *worker_main(void *arg)
{
	struct http_auth *a = arg;
	struct crypt_data *cd = malloc(sizeof(*cd)); /* 32 KiB: not on the stack */

	pthread_mutex_lock(&a->lock);
	for (;;) {
		while (!a->stopping && a->q_len == 0)
			pthread_cond_wait(&a->wake, &a->lock);
		if (a->stopping)
			break;
		struct http_auth_job *job = a->queue[a->q_head];
		a->q_head = (a->q_head + 1) % QUEUE_MAX;
		a->q_len--;
		pthread_mutex_unlock(&a->lock);

		bool match = cd && bcrypt_matches(cd, job->password, job->hash);
		explicit_bzero(job->password, job->password_len);
		struct MHD_Connection *conn = job->conn;

		pthread_mutex_lock(&a->lock);
		job->match = match;
		job->state = JOB_DONE;
		pthread_mutex_unlock(&a->lock);
		/* From here on the MHD thread owns the job again. */
		MHD_resume_connection(conn);
		pthread_mutex_lock(&a->lock);
	}
	while (a->q_len > 0) {
		struct http_auth_job *job = a->queue[a->q_head];
		a->q_head = (a->q_head + 1) % QUEUE_MAX;
		a->q_len--;
		job->state = JOB_CANCELLED;
		MHD_resume_connection(job->conn);
	}
	pthread_mutex_unlock(&a->lock);
	free(cd);
	return NULL;
}

int http__auth_new(const struct cstatd_webconfig *wc, struct http_auth **out)
{
	struct http_auth *a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	a->wc = wc;
	if (gnutls_rnd(GNUTLS_RND_KEY, a->hmac_key, sizeof(a->hmac_key)) != 0) {
		free(a);
		return -EIO;
	}
	pthread_mutex_init(&a->lock, NULL);
	pthread_cond_init(&a->wake, NULL);
	int rc = pthread_create(&a->worker, NULL, worker_main, a);
	if (rc != 0) {
		pthread_cond_destroy(&a->wake);
		pthread_mutex_destroy(&a->lock);
		free(a);
		return -rc;
	}
	a->worker_running = true;
	*out = a;
	return 0;
}

void http__auth_stop(struct http_auth *a)
{
	if (!a || !a->worker_running)
		return;
	pthread_mutex_lock(&a->lock);
	a->stopping = true;
	pthread_cond_signal(&a->wake);
	pthread_mutex_unlock(&a->lock);
	pthread_join(a->worker, NULL);
	a->worker_running = false;
}

void http__auth_free(struct http_auth *a)
{
	if (!a)
		return;
	http__auth_stop(a);
	pthread_cond_destroy(&a->wake);
	pthread_mutex_destroy(&a->lock);
	explicit_bzero(a, sizeof(*a));
	free(a);
}

void http__auth_job_free(struct http_auth_job *job)
{
	if (!job)
		return;
	if (job->password) {
		explicit_bzero(job->password, job->password_len);
		free(job->password);
	}
	free(job);
}

/* HMAC-SHA-256(key, user NUL password NUL hash). */
static int credential_digest(const struct http_auth *a, const char *user, const char *password,
                             const char *hash, unsigned char out[DIGEST_LEN])
{
	gnutls_hmac_hd_t h;
	if (gnutls_hmac_init(&h, GNUTLS_MAC_SHA256, a->hmac_key, sizeof(a->hmac_key)) < 0)
		return -EIO;
	gnutls_hmac(h, user, strlen(user) + 1);
	gnutls_hmac(h, password, strlen(password) + 1);
	gnutls_hmac(h, hash, strlen(hash));
	gnutls_hmac_deinit(h, out);
	return 0;
}

static bool cache_has(const struct http_auth *a, const unsigned char digest[DIGEST_LEN])
{
	bool found = false;
	for (size_t i = 0; i < CACHE_SLOTS; i++)
		found |= a->cache[i].used & equal_ct(a->cache[i].digest, digest, DIGEST_LEN);
	return found;
}

static void cache_put(struct http_auth *a, const unsigned char digest[DIGEST_LEN])
{
	if (cache_has(a, digest))
		return;
	/* Round robin: the oldest success goes first; it costs one bcrypt to
	 * come back. */
	struct cache_slot *s = &a->cache[a->cache_next];
	a->cache_next = (a->cache_next + 1) % CACHE_SLOTS;
	s->used = true;
	memcpy(s->digest, digest, DIGEST_LEN);
}

static void free_credentials(char *user, char *password)
{
	if (password) {
		explicit_bzero(password, strlen(password));
		MHD_free(password);
	}
	if (user)
		MHD_free(user);
}

enum http_auth_verdict http__auth_check(struct http_auth *a, struct MHD_Connection *conn,
                                        struct http_auth_job **job_out)
{
	char *password = NULL;
	char *user = MHD_basic_auth_get_username_password(conn, &password);
	enum http_auth_verdict v = HTTP_AUTH_DENIED;
	struct http_auth_job *job = NULL;

	if (!user || !password)
		goto out;
	const char *hash = dummy_hash;
	bool known = false;
	for (size_t i = 0; i < a->wc->n_users; i++) {
		if (strcmp(a->wc->users[i].name, user) == 0) {
			hash = a->wc->users[i].hash;
			known = true;
			break;
		}
	}
	unsigned char digest[DIGEST_LEN];
	if (credential_digest(a, user, password, hash, digest) != 0)
		goto out;
	if (known && cache_has(a, digest)) {
		v = HTTP_AUTH_OK;
		goto out;
	}
	job = calloc(1, sizeof(*job));
	if (!job || !(job->password = strdup(password))) {
		v = HTTP_AUTH_BUSY;
		goto out;
	}
	job->password_len = strlen(password);
	job->conn = conn;
	job->hash = hash;
	job->known_user = known;
	memcpy(job->digest, digest, DIGEST_LEN);
	job->state = JOB_QUEUED;

	pthread_mutex_lock(&a->lock);
	if (a->stopping || a->q_len == QUEUE_MAX) {
		pthread_mutex_unlock(&a->lock);
		v = HTTP_AUTH_BUSY;
		goto out;
	}
	/* Suspended before the worker can see it, so its resume never comes
	 * first. */
	MHD_suspend_connection(conn);
	a->queue[(a->q_head + a->q_len) % QUEUE_MAX] = job;
	a->q_len++;
	pthread_cond_signal(&a->wake);
	pthread_mutex_unlock(&a->lock);
	*job_out = job;
	job = NULL;
	v = HTTP_AUTH_PENDING;
out:
	http__auth_job_free(job);
	free_credentials(user, password);
	return v;
}

enum http_auth_verdict http__auth_finish(struct http_auth *a, struct http_auth_job *job)
{
	pthread_mutex_lock(&a->lock);
	enum job_state st = job->state;
	bool match = job->match;
	pthread_mutex_unlock(&a->lock);

	enum http_auth_verdict v;
	if (st == JOB_DONE && match && job->known_user) {
		cache_put(a, job->digest);
		v = HTTP_AUTH_OK;
	} else if (st == JOB_DONE) {
		v = HTTP_AUTH_DENIED;
	} else {
		v = HTTP_AUTH_BUSY; /* cancelled: the server is stopping */
	}
	http__auth_job_free(job);
	return v;
}
