/* SPDX-License-Identifier: Apache-2.0 */
#include "exporters/prometheus/families.h"

const struct fam_def cstatd_families[FAM_COUNT] = {
#define X(id, name, type, scope, labels, help, source) \
	[FAM_##id] = {name, FAM_##type, SCOPE_##scope, labels, help, source},
    CSTATD_FAMILIES(X)
#undef X
};

void cstatd_families_print_markdown(FILE *out)
{
	fprintf(out, "| metric | type | labels | meaning | source |\n|---|---|---|---|---|\n");
	for (int i = 0; i < FAM_COUNT; i++) {
		const struct fam_def *f = &cstatd_families[i];
		const char *base = f->scope == SCOPE_CONTAINER ? "id, name, image"
		                   : f->scope == SCOPE_NAME    ? "name"
		                                               : "";
		fprintf(out, "| `%s` | %s | %s%s%s | %s | %s |\n", f->name,
		        f->type == FAM_COUNTER     ? "counter"
		        : f->type == FAM_HISTOGRAM ? "histogram"
		                                   : "gauge",
		        base, base[0] && f->labels[0] ? ", " : "", f->labels, f->help, f->source);
	}
}
