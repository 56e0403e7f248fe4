/* SPDX-License-Identifier: Apache-2.0 */
#include <jansson.h>
#include <string.h>

#include "daemon/api.h"

static const char *const state_names[CSTATD_STATE_COUNT] = {
    "unknown", "created", "running", "paused", "restarting", "exited", "dead",
};

/* Dumps `j` into `b` (appending) and frees it. Returns bytes written. */
static size_t dump_into(struct cstatd_buf *b, json_t *j)
{
	size_t before = b->len;
	if (!j)
		return 0;
	size_t n = json_dumpb(j, NULL, 0, JSON_COMPACT);
	if (n > 0 && cstatd_buf_reserve(b, n) == 0)
		b->len += json_dumpb(j, b->data + b->len, n, JSON_COMPACT);
	json_decref(j);
	return b->len - before;
}

static json_t *container_json(const struct cstatd_container *c, const struct cstatd_windows *w,
                              const struct cstatd_host *host)
{
	json_t *o = w ? cstatd_windows_json(w, c, host) : json_object();
	if (!o)
		return NULL;
	json_object_set_new(o, "id", json_string(c->id_label[0] ? c->id_label : c->key));
	json_object_set_new(o, "key", json_string(c->key));
	json_object_set_new(o, "name", json_string(c->name));
	json_object_set_new(o, "image", json_string(c->image));
	json_object_set_new(o, "runtime", json_string(c->runtime));
	json_object_set_new(
	    o, "state", json_string(c->docker.known ? state_names[c->docker.state] : "running"));
	json_object_set_new(o, "last_seen", json_real(c->last_seen));
	return o;
}

void cstatd_api_render(struct cstatd_snapshot *snap, struct cstatd_store *st,
                       const struct cstatd_window_table *wt, const struct cstatd_alerts *eng,
                       const struct cstatd_host *host)
{
	struct cstatd_buf *b = &snap->body[CSTATD_BODY_ALERTS_JSON];
	if (dump_into(b, cstatd_alerts_json(eng)) > 0 && !b->overflow)
		snap->has[CSTATD_BODY_ALERTS_JSON] = true;

	b = &snap->body[CSTATD_BODY_RULES_JSON];
	if (dump_into(b, cstatd_rules_json(cstatd_alerts_rules(eng))) > 0 && !b->overflow)
		snap->has[CSTATD_BODY_RULES_JSON] = true;

	if (!cstatd_snapshot_wanted(CSTATD_BODY_CONTAINERS_JSON))
		return;
	b = &snap->body[CSTATD_BODY_CONTAINERS_JSON];
	cstatd_buf_append(b, "{\"containers\":[", 15);
	size_t n = cstatd_store_count(st);
	bool first = true;
	for (size_t i = 0; i < n; i++) {
		struct cstatd_container *c = cstatd_store_at(st, i);
		size_t mark = b->len;
		if (!first)
			cstatd_buf_append(b, ",", 1);
		size_t off = b->len;
		size_t len =
		    dump_into(b, container_json(c, cstatd_window_table_get(wt, c->key), host));
		if (len == 0) {
			b->len = mark; /* out of memory for this one: leave it out */
			continue;
		}
		first = false;
		cstatd_snapshot_add_entry(snap, c->key, c->name, off, len);
	}
	cstatd_buf_append(b, "]}\n", 3);
	if (!b->overflow)
		snap->has[CSTATD_BODY_CONTAINERS_JSON] = true;
}
