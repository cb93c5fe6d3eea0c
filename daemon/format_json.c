/*
 * format = json: one JSON object per line.  Address keys are paths
 * ("request.remote_ip"; array elements stand at their key's level, so
 * Caddy's header arrays are lists); the time is time_key's value (a path
 * too), or the first of a few usual top-level keys.  Keys and string
 * values are compared and read with their escapes decoded
 * ("remote\u005faddr" is remote_addr, "\u0031\u0039\u0032.0.2.114" an
 * address): a decoded value keeps a map to the line's bytes, so a masked
 * address replaces exactly the escaped text it was.  A walker that never
 * reads past the line, nests JSON_NEST deep and stops at the first
 * malformed byte: such a line, or a text line in a json set, is not
 * understood.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lethe.h"

#define JSON_NEST	512		/* nesting the walker follows */
#define JSON_PATH	128		/* components of a key path */
#define KEY_MAX		256		/* a decoded key compared */
#define DECODE_MAX	4096		/* a decoded value read for addresses */

/* Top-level json keys that hold the time, best first. */
static const char *const json_time_keys[] = {
	"time_local", "time_iso8601", "time", "ts", "@timestamp", "timestamp",
	"start_time", "StartUTC", "EdgeStartTimestamp", "date",
};
#define NTIMEKEYS	(sizeof(json_time_keys) / sizeof(json_time_keys[0]))

/* A key path, "request.remote_ip": its components. */
struct jpath {
	char		*name;
	int		 bit;		/* address field, or -1: the time */
	size_t		 ncomp;
	const char     **comp;
	size_t		*len;
};

struct json {
	struct jpath	*p;		/* address keys, then time_key */
	size_t		 np;
	int		 has_tkey;	/* p[np - 1] is time_key */
	/* scratch: a decoded string and its map to the line */
	char		 dec[DECODE_MAX];
	uint32_t	 map[DECODE_MAX + 1];
	char		 key[KEY_MAX];
};

struct jwalk {
	struct format	*f;
	struct json	*j;
	const char	*s;
	size_t		 len;
	size_t		 i;
	struct scan	*sc;
	int64_t		 ref;
	size_t		 tprio;		/* default time keys: the best seen */
};

static char	json_err[256];

static int	json_value(struct jwalk *, int, size_t, const uint64_t *);

static inline void
ws(struct jwalk *w)
{
	char c;

	while (w->i < w->len) {
		c = w->s[w->i];
		if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
			break;
		w->i++;
	}
}

/* At a '"': the raw content is [*off, *off + *n); *esc: it has '\\'. */
static int
string(struct jwalk *w, size_t *off, size_t *n, int *esc)
{
	size_t k = w->i + 1;

	*esc = 0;
	for (; k < w->len; k++) {
		if (w->s[k] == '\\') {
			*esc = 1;
			k++;
			continue;
		}
		if (w->s[k] == '"')
			break;
	}
	if (k >= w->len)
		return -1;
	*off = w->i + 1;
	*n = k - *off;
	w->i = k + 1;
	return 0;
}

static int
hex4(const char *s, unsigned *v)
{
	unsigned x = 0;
	int i, c;

	for (i = 0; i < 4; i++) {
		c = (unsigned char)s[i];
		x <<= 4;
		if (c >= '0' && c <= '9')
			x |= (unsigned)(c - '0');
		else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
			x |= (unsigned)((c | 0x20) - 'a' + 10);
		else
			return -1;
	}
	*v = x;
	return 0;
}

/*
 * Decode s[0..n) (a string's raw content at line offset base) into out
 * (at most max bytes), map[i] the line offset of out[i]'s escape;
 * map[len] the offset past the end.  Returns the length, or -1.
 */
static ssize_t
decode(const char *s, size_t n, uint32_t base, char *out, uint32_t *map,
    size_t max)
{
	size_t i = 0, o = 0, start;
	unsigned v;

	while (i < n) {
		if (o + 4 > max)
			return -1;
		start = i;
		if (s[i] != '\\') {
			map[o] = base + (uint32_t)i;
			out[o++] = s[i++];
			continue;
		}
		if (i + 1 >= n)
			return -1;
		switch (s[i + 1]) {
		case 'u':
			if (i + 6 > n || hex4(s + i + 2, &v) == -1)
				return -1;
			i += 6;
			/* addresses are ASCII; anything else stands as '?' */
			v = v < 0x80 ? v : '?';
			break;
		case 'n': v = '\n'; i += 2; break;
		case 't': v = '\t'; i += 2; break;
		case 'r': v = '\r'; i += 2; break;
		case 'b': v = '\b'; i += 2; break;
		case 'f': v = '\f'; i += 2; break;
		case '"': case '\\': case '/':
			v = (unsigned char)s[i + 1];
			i += 2;
			break;
		default:
			return -1;
		}
		map[o] = base + (uint32_t)start;
		out[o++] = (char)v;
	}
	map[o] = base + (uint32_t)n;
	return (ssize_t)o;
}

/* A number, true, false or null: up to the next delimiter. */
static int
scalar(struct jwalk *w, size_t *off, size_t *n)
{
	size_t i = w->i;
	char c;

	while (i < w->len) {
		c = w->s[i];
		if (c == ',' || c == '}' || c == ']' || c == ' ' ||
		    c == '\t' || c == '\r' || c == '\n' || c == '"' ||
		    c == '{' || c == '[' || c == ':')
			break;
		i++;
	}
	if (i == w->i)
		return -1;
	*off = w->i;
	*n = i - w->i;
	w->i = i;
	return 0;
}

/* The paths of live whose component at level is the key k. */
static void
match_key(const struct json *j, size_t level, const uint64_t *live,
    const char *k, size_t klen, uint64_t *m)
{
	const struct jpath *p;
	size_t x;

	m[0] = m[1] = 0;
	for (x = 0; x < j->np; x++) {
		if (!(live[x / 64] & (1ULL << (x % 64))))
			continue;
		p = &j->p[x];
		if (p->ncomp > level && p->len[level] == klen &&
		    memcmp(p->comp[level], k, klen) == 0)
			m[x / 64] |= 1ULL << (x % 64);
	}
}

/* A key as compared: decoded when it has escapes. */
static const char *
key_text(struct jwalk *w, size_t off, size_t n, int esc, size_t *klen)
{
	ssize_t d;

	*klen = n;
	if (!esc)
		return w->s + off;
	if ((d = decode(w->s + off, n, (uint32_t)off, w->j->key, w->j->map,
	    KEY_MAX)) == -1)
		return NULL;
	*klen = (size_t)d;
	return w->j->key;
}

/* A default time key of the top level: remember the best one's value. */
static void
default_time(struct jwalk *w, const char *k, size_t klen)
{
	struct jwalk peek = *w;
	size_t p, off, n;
	int64_t t;
	int esc;

	for (p = 0; p < w->tprio; p++)
		if (strlen(json_time_keys[p]) == klen &&
		    memcmp(json_time_keys[p], k, klen) == 0)
			break;
	if (p >= w->tprio)
		return;
	ws(&peek);
	if (peek.i < peek.len && peek.s[peek.i] == '"') {
		if (string(&peek, &off, &n, &esc) == -1 || esc)
			return;
	} else if (scalar(&peek, &off, &n) == -1)
		return;
	if (format_time(w->f, w->s + off, n, w->ref, &t) == 0) {
		w->sc->time = t;
		w->tprio = p;
	}
}

static int
object(struct jwalk *w, int nest, size_t level, const uint64_t *live)
{
	const char *k;
	size_t koff, klen, n;
	uint64_t m[2];
	int esc;

	w->i++;
	ws(w);
	if (w->i < w->len && w->s[w->i] == '}') {
		w->i++;
		return 0;
	}
	for (;;) {
		ws(w);
		if (w->i >= w->len || w->s[w->i] != '"' ||
		    string(w, &koff, &n, &esc) == -1 ||
		    (k = key_text(w, koff, n, esc, &klen)) == NULL)
			return -1;
		ws(w);
		if (w->i >= w->len || w->s[w->i] != ':')
			return -1;
		w->i++;
		match_key(w->j, level, live, k, klen, m);
		if (nest == 1 && !w->j->has_tkey)
			default_time(w, k, klen);
		if (json_value(w, nest, level + 1, m) == -1)
			return -1;
		ws(w);
		if (w->i >= w->len)
			return -1;
		if (w->s[w->i] == '}') {
			w->i++;
			return 0;
		}
		if (w->s[w->i++] != ',')
			return -1;
	}
}

/* Elements of an array stand at the level of the array's key. */
static int
array(struct jwalk *w, int nest, size_t level, const uint64_t *live)
{
	char c;

	w->i++;
	ws(w);
	if (w->i < w->len && w->s[w->i] == ']') {
		w->i++;
		return 0;
	}
	for (;;) {
		if (json_value(w, nest, level, live) == -1)
			return -1;
		ws(w);
		if (w->i >= w->len)
			return -1;
		c = w->s[w->i++];
		if (c == ']')
			return 0;
		if (c != ',')
			return -1;
	}
}

/* A value where path x ends: an address list, or the time. */
static void
target(struct jwalk *w, size_t x, size_t off, size_t n, int esc)
{
	struct json *j = w->j;
	const struct jpath *p = &j->p[x];
	ssize_t d;

	if (esc && (d = decode(w->s + off, n, (uint32_t)off, j->dec, j->map,
	    DECODE_MAX)) != -1) {
		if (p->bit >= 0)
			format_field_mapped(w->f, w->sc, j->dec, (size_t)d,
			    j->map, (unsigned)p->bit, 1);
		else if (format_time(w->f, j->dec, (size_t)d, w->ref,
		    &w->sc->time) == -1)
			w->sc->time = TIME_NONE;
		return;
	}
	if (p->bit >= 0)
		format_field(w->f, w->sc, w->s, off, off + n, (unsigned)p->bit, 1);
	else if (format_time(w->f, w->s + off, n, w->ref, &w->sc->time) == -1)
		w->sc->time = TIME_NONE;
}

/* The paths of live that end at level. */
static void
targets(struct jwalk *w, size_t level, const uint64_t *live, size_t off,
    size_t n, int esc, int str)
{
	size_t x;

	for (x = 0; x < w->j->np; x++)
		if ((live[x / 64] & (1ULL << (x % 64))) &&
		    w->j->p[x].ncomp == level &&
		    (str || w->j->p[x].bit < 0))	/* numbers: times only */
			target(w, x, off, n, esc);
}

static int
json_value(struct jwalk *w, int nest, size_t level, const uint64_t *live)
{
	size_t off, n;
	int esc;

	ws(w);
	if (w->i >= w->len)
		return -1;
	switch (w->s[w->i]) {
	case '{':
		if (nest >= JSON_NEST)
			return -1;
		return object(w, nest + 1, level, live);
	case '[':
		if (nest >= JSON_NEST)
			return -1;
		return array(w, nest + 1, level, live);
	case '"':
		if (string(w, &off, &n, &esc) == -1)
			return -1;
		if (live[0] | live[1])
			targets(w, level, live, off, n, esc, 1);
		return 0;
	default:
		if (scalar(w, &off, &n) == -1)
			return -1;
		if (live[0] | live[1])
			targets(w, level, live, off, n, 0, 0);
		return 0;
	}
}

static void
json_scan(struct format *f, void *state UNUSED, const char *s, size_t len,
    int64_t ref, struct scan *sc)
{
	struct json *j = f->priv;
	struct jwalk w;
	uint64_t all[2] = { 0, 0 };
	size_t x;

	memset(&w, 0, sizeof(w));
	w.f = f;
	w.j = j;
	w.s = s;
	w.len = len;
	w.sc = sc;
	w.ref = ref;
	w.tprio = NTIMEKEYS;
	for (x = 0; x < j->np; x++)
		all[x / 64] |= 1ULL << (x % 64);
	ws(&w);
	if (w.i >= len || s[w.i] != '{' || object(&w, 1, 0, all) == -1) {
		sc->bad = SCAN_NOMATCH;
		return;
	}
	ws(&w);
	if (w.i != len)
		sc->bad = SCAN_NOMATCH;	/* something after the object */
	else if (sc->time == TIME_NONE && sc->bad == SCAN_OK)
		sc->bad = SCAN_NOTIME;
}

/* "a.b.c" into p's components; -1 when a component is empty. */
static int
path_new(struct jpath *p, const char *name, int bit)
{
	const char *c;
	size_t o;

	p->name = xstrdup(name);
	p->bit = bit;
	p->comp = xcalloc(JSON_PATH, sizeof(*p->comp));
	p->len = xcalloc(JSON_PATH, sizeof(*p->len));
	for (o = 0;; o = (size_t)(c - p->name) + 1) {
		c = p->name + o + strcspn(p->name + o, ".");
		if (c == p->name + o || p->ncomp == JSON_PATH)
			return -1;
		p->comp[p->ncomp] = p->name + o;
		p->len[p->ncomp++] = (size_t)(c - p->name) - o;
		if (*c == '\0')
			return 0;
	}
}

static int
json_compile(struct format *f, const char **errstr)
{
	struct json *j;
	size_t i, n = f->spec.nfields;
	int bit;

	*errstr = json_err;
	if (n == 0 || n > FIELDS_MAX) {
		snprintf(json_err, sizeof(json_err), "format json needs 1 to "
		    "%d key names in \"addresses\"", FIELDS_MAX);
		return -1;
	}
	j = f->priv = xcalloc(1, sizeof(*j));
	j->p = xcalloc(n + 1, sizeof(*j->p));
	for (i = 0; i < n; i++) {
		if ((bit = format_add_name(f, f->spec.fields[i])) == -1 ||
		    path_new(&j->p[j->np++], f->spec.fields[i], bit) == -1) {
			snprintf(json_err, sizeof(json_err), "bad json key "
			    "\"%s\"", log_esc(f->spec.fields[i]));
			return -1;
		}
	}
	if (f->spec.time_key != NULL) {
		j->has_tkey = 1;
		if (path_new(&j->p[j->np++], f->spec.time_key, -1) == -1) {
			snprintf(json_err, sizeof(json_err), "bad time_key "
			    "\"%s\"", log_esc(f->spec.time_key));
			return -1;
		}
	}
	return 0;
}

static void
json_release(struct format *f)
{
	struct json *j = f->priv;
	size_t i;

	if (j == NULL)
		return;
	for (i = 0; i < j->np; i++) {
		free(j->p[i].name);
		free(j->p[i].comp);
		free(j->p[i].len);
	}
	free(j->p);
	free(j);
	f->priv = NULL;
}

const struct format_ops format_json_ops = {
	"json", json_compile, json_scan, NULL, NULL, json_release, NULL, 0,
};
