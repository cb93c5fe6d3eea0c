/*
 * Transforms: what the engine does to the addresses of a line it
 * rewrites, behind an ops table (a new one, such as a pseudonym or one
 * person's erasure, is one more table here).  Pure.
 *
 * truncate: lines with a time before `before` have every address
 * replaced by its truncation at the set's prefixes (which the format
 * computed with the span); later lines are left as they are.
 */
#include <string.h>

#include "lethe.h"

static int
truncate_line(void *arg, int64_t t)
{
	const struct xform_truncate *x = arg;

	return x->before == INT64_MAX || t < x->before;
}

static int
truncate_addr(void *arg UNUSED, const char *line UNUSED,
    const struct span *sp, const char *masked, char *out, size_t *outlen,
    int *full)
{
	memcpy(out, masked, sp->mlen);
	*outlen = sp->mlen;
	*full = 0;
	return 0;
}

const struct xform_ops xform_truncate_ops = {
	"truncate", truncate_line, truncate_addr,
};
