/*
 * Transforms: what the engine does to the addresses of a line it
 * rewrites, behind an ops table (a new one, such as a pseudonym or one
 * person's erasure, is one more table here).  Pure.
 *
 * truncate: lines with a time before `before` have every address
 * replaced by its truncation at the set's prefixes (which the format
 * computed with the span); later lines are left as they are.
 *
 * pseudonym: every address of every line becomes its ipcrypt pseudonym
 * under its day's key (pseudo.c; the keys come through a callback, the
 * set's keyring in lethe), at once: the mirror and the stream leave the
 * host as lines arrive.
 */
#include <stdlib.h>
#include <string.h>

#include "lethe.h"

int64_t
holds_time(const struct holds *h, const uint8_t v[16], int64_t t)
{
	int64_t u;
	size_t i;

	for (i = 0; h != NULL && i < h->n; i++) {
		if (!addr_net_has(&h->v[i].net, v))
			continue;
		u = h->v[i].until - h->window;
		if (t == TIME_NONE || u > t)
			t = u;
	}
	return t;
}

static int
truncate_line(void *arg, int64_t t)
{
	struct xform_truncate *x = arg;

	x->t = t;
	return x->before == INT64_MAX || t < x->before;
}

static int
truncate_addr(void *arg, const char *line, const struct span *sp,
    const char *masked, char *out, size_t *outlen, int *full)
{
	const struct xform_truncate *x = arg;
	uint8_t v[16];

	/* A hold keeps it full until the hold lets it go. */
	if (x->holds != NULL && x->holds->n > 0 && x->before != INT64_MAX &&
	    (sp->flags & SPAN_FULL) &&
	    addr_value(line + sp->off, sp->len, v) == 0 &&
	    holds_time(x->holds, v, x->t) >= x->before)
		return -1;
	memcpy(out, masked, sp->mlen);
	*outlen = sp->mlen;
	*full = 0;
	return 0;
}

const struct xform_ops xform_truncate_ops = {
	"truncate", truncate_line, truncate_addr, NULL,
};

/*
 * find and erase: the addresses of one request (nets), compared as
 * values.  A full address matches when a net holds it.  A masked one
 * (no host bits past the set's prefix) matches only when the whole
 * prefix it stands for lies in a net (a query as wide as the prefix or
 * wider); when instead its prefix holds a queried address, the line may
 * be that person's but can no longer be told from its neighbours': it
 * is counted apart (in_prefix), never as a match.
 */
enum {
	MC_NONE,
	MC_PREFIX,		/* masked, in a prefix holding a net */
	MC_MASKED,		/* masked, inside a net */
	MC_FULL,		/* full, inside a net */
};

int
xform_match_class(const struct xform_match *x, const char *line,
    const struct span *s)
{
	uint8_t v[16], t[16];
	size_t i;
	int pb, best = MC_NONE;

	if (addr_value(line + s->off, s->len, v) == -1)
		return MC_NONE;
	pb = addr_prefix_bits(&x->prefix, v);
	for (i = 0; i < x->nnets; i++) {
		if (s->flags & SPAN_FULL) {
			if (addr_net_has(&x->nets[i], v))
				return MC_FULL;
			continue;
		}
		if (x->nets[i].bits <= pb) {
			if (addr_net_has(&x->nets[i], v))
				best = MC_MASKED;
			continue;
		}
		memcpy(t, x->nets[i].v, 16);
		addr_net_clear(t, pb);
		if (best < MC_PREFIX && memcmp(t, v, 16) == 0)
			best = MC_PREFIX;
	}
	return best;
}

static int
match_line(void *arg UNUSED, int64_t t UNUSED)
{
	return 0;		/* find rewrites nothing */
}

static int
match_addr(void *arg UNUSED, const char *line UNUSED,
    const struct span *sp UNUSED, const char *masked UNUSED,
    char *out UNUSED, size_t *outlen UNUSED, int *full UNUSED)
{
	return -1;
}

static int
in_range(const struct xform_match *x, int64_t t)
{
	if (x->since != TIME_NONE && (t == TIME_NONE || t < x->since))
		return 0;
	/* An erase's lines before the request: untimed ones are of them. */
	if (x->until != TIME_NONE && (t == TIME_NONE ? !x->untimed :
	    t > x->until))
		return 0;
	return 1;
}

/* The line for an export: every other address masked, the request's
   own kept as written. */
static int
match_export(struct xform_match *x, const char *line, size_t len,
    const struct spans *sp)
{
	const struct span *s;
	size_t i, pos = 0, n = 0, need;

	need = len + sp->n * ADDR_OUT_MAX + 1;
	if (need > x->cap) {
		x->buf = xreallocarray(x->buf, need, 1);
		x->cap = need;
	}
	for (i = 0; i < sp->n; i++) {
		s = &sp->v[i];
		if (s->off < pos || s->off + s->len > len ||
		    xform_match_class(x, line, s) >= MC_MASKED)
			continue;
		memcpy(x->buf + n, line + pos, s->off - pos);
		n += s->off - pos;
		memcpy(x->buf + n, sp->text + s->moff, s->mlen);
		n += s->mlen;
		pos = s->off + s->len;
	}
	memcpy(x->buf + n, line + pos, len - pos);
	n += len - pos;
	x->buf[n++] = '\n';
	return x->export(x->export_arg, x->buf, n);
}

static int
match_end(void *arg, const char *line, size_t len, const struct spans *sp,
    int64_t t, int more)
{
	struct xform_match *x = arg;
	size_t i;
	int c, best = x->long_class, was_long = more || x->in_long;

	for (i = 0; i < sp->n && best < MC_FULL; i++)
		if ((c = xform_match_class(x, line, &sp->v[i])) > best)
			best = c;
	if (was_long) {
		/* a long line: one verdict at its end, never exported */
		x->in_long = more;
		x->long_class = more ? best : MC_NONE;
		if (more)
			return 0;
		if (best >= MC_MASKED)
			x->long_lines++;
	}
	if (best == MC_NONE || !in_range(x, t))
		return 0;
	if (best == MC_PREFIX) {
		x->in_prefix++;
		return 0;
	}
	x->lines++;
	if (best == MC_FULL)
		x->full++;
	else
		x->masked++;
	if (t != TIME_NONE) {
		if (x->first == TIME_NONE || t < x->first)
			x->first = t;
		if (x->last == TIME_NONE || t > x->last)
			x->last = t;
	}
	/* The export is the person's own lines: full matches only. */
	if (x->export == NULL || len == 0 || was_long || best != MC_FULL)
		return 0;
	return match_export(x, line, len, sp);
}

const struct xform_ops xform_find_ops = {
	"find", match_line, match_addr, match_end,
};

static int
erase_line(void *arg UNUSED, int64_t t UNUSED)
{
	return 1;
}

static int
erase_addr(void *arg, const char *line, const struct span *sp,
    const char *masked, char *out, size_t *outlen, int *full)
{
	struct xform_match *x = arg;

	if (!(sp->flags & SPAN_FULL) ||
	    xform_match_class(x, line, sp) != MC_FULL)
		return -1;
	memcpy(out, masked, sp->mlen);
	*outlen = sp->mlen;
	*full = 0;
	x->line_changed = 1;
	return 0;
}

static int
erase_end(void *arg, const char *line UNUSED, size_t len UNUSED,
    const struct spans *sp UNUSED, int64_t t UNUSED, int more)
{
	struct xform_match *x = arg;

	if (!more && x->line_changed) {
		x->changed++;
		x->line_changed = 0;
	}
	return 0;
}

const struct xform_ops xform_erase_ops = {
	"erase", erase_line, erase_addr, erase_end,
};

void
xform_match_init(struct xform_match *x, const struct addr_net *nets,
    size_t nnets, const struct addr_prefix *prefix)
{
	memset(x, 0, sizeof(*x));
	x->nets = nets;
	x->nnets = nnets;
	x->prefix = *prefix;
	x->since = x->until = TIME_NONE;
	x->first = x->last = TIME_NONE;
}

void
xform_match_release(struct xform_match *x)
{
	free(x->buf);
	x->buf = NULL;
	x->cap = 0;
}

struct xform_pseudonym {
	struct xform	 xf;
	xform_key_fn	 key;
	void		*arg;
	int64_t		 window;
	int		 prefix;
	int64_t		 now;
	int64_t		 t;		/* the line's (line() comes first) */
	struct pseudo	*ps;		/* the key of day, expanded */
	int64_t		 day;
	int64_t		 bad_day[2];	/* no key came for them (the line's
					   day and now's) ... */
	int64_t		 bad_until[2];	/* ... asked again from then on */
	uint64_t	 failed;
};

#define KEY_RETRY	60	/* seconds before a day's key is asked again */

/* The expanded key of day, or NULL. */
static const struct pseudo *
pseudonym_key(struct xform_pseudonym *x, int64_t day)
{
	uint8_t key[PSEUDO_KEY_LEN];
	int rc, i;

	if (x->ps != NULL && x->day == day)
		return x->ps;
	for (i = 0; i < 2; i++)
		if (day == x->bad_day[i] && x->now < x->bad_until[i])
			return NULL;
	rc = x->key(x->arg, day, x->now, key);
	if (rc == 1) {
		pseudo_free(x->ps);
		if ((x->ps = pseudo_new(x->prefix, key)) != NULL)
			x->day = day;
	}
	explicit_bzero(key, sizeof(key));
	if (rc != 1 || x->ps == NULL) {
		/* the older of the two */
		i = x->bad_until[0] > x->bad_until[1];
		x->bad_day[i] = day;
		x->bad_until[i] = x->now + KEY_RETRY;
		return NULL;
	}
	return x->ps;
}

static int
pseudonym_line(void *arg, int64_t t)
{
	struct xform_pseudonym *x = arg;

	x->t = t;
	return 1;
}

static int
pseudonym_addr(void *arg, const char *line, const struct span *sp,
    const char *masked, char *out, size_t *outlen, int *full)
{
	struct xform_pseudonym *x = arg;
	const struct pseudo *ps;
	int64_t today = pseudo_day(x->now), day = today;
	uint8_t v[16];

	if (x->t != TIME_NONE && x->t >= x->now - x->window &&
	    x->t <= x->now + PSEUDO_DAY)
		day = pseudo_day(x->t);
	if ((ps = pseudonym_key(x, day)) == NULL && day != today)
		ps = pseudonym_key(x, today);
	*full = 0;
	if (ps == NULL)
		x->failed++;
	else if (addr_value(line + sp->off, sp->len, v) == 0) {
		pseudo_encrypt(ps, v, v);
		if (addr_replace(line + sp->off, sp->len, v, out, ADDR_OUT_MAX,
		    outlen) == 0)
			return 0;
	}
	/* No key, or no plain address (inside a host name): truncated. */
	memcpy(out, masked, sp->mlen);
	*outlen = sp->mlen;
	return 0;
}

static const struct xform_ops xform_pseudonym_ops = {
	"pseudonym", pseudonym_line, pseudonym_addr, NULL,
};

struct xform *
xform_pseudonym_new(xform_key_fn key, void *arg, int64_t window, int prefix,
    int64_t now)
{
	struct xform_pseudonym *x = xcalloc(1, sizeof(*x));

	x->xf.ops = &xform_pseudonym_ops;
	x->xf.arg = x;
	x->key = key;
	x->arg = arg;
	x->window = window;
	x->prefix = prefix;
	x->now = now;
	x->t = TIME_NONE;
	x->bad_day[0] = x->bad_day[1] = TIME_NONE;
	x->bad_until[0] = x->bad_until[1] = INT64_MIN;
	return &x->xf;
}

void
xform_pseudonym_set_now(struct xform *xf, int64_t now)
{
	struct xform_pseudonym *x = xf->arg;

	x->now = now;
	if (x->ps != NULL && x->day < pseudo_day(now - x->window)) {
		pseudo_free(x->ps);
		x->ps = NULL;
	}
}

uint64_t
xform_pseudonym_failed(const struct xform *xf)
{
	const struct xform_pseudonym *x = xf->arg;

	return x->failed;
}

void
xform_pseudonym_free(struct xform *xf)
{
	struct xform_pseudonym *x;

	if (xf == NULL)
		return;
	x = xf->arg;
	pseudo_free(x->ps);
	explicit_bzero(x, sizeof(*x));
	free(x);
}
