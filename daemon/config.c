/*
 * Config: INI text to a validated struct config.  Pure: the caller reads
 * the file and passes its text; every mistake becomes one
 * "path:line: message" in the caller's config_msgs, and parsing goes on
 * so that one run of "lethe check" shows them all.
 *
 * Keys are rows of one table (section kind, name, parser, field, range);
 * checks between keys run once the whole text has been read.
 */
#include <fnmatch.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "lethe.h"

#define MINUTE		60
#define HOUR		(60 * MINUTE)
#define DAY		(24 * HOUR)
#define DUR_MAX		((int64_t)36500 * DAY)	/* 100 years: no overflow
						   when added to a time */
#define MASK_EARLY_UNSET (-2)
#define MASK_SLACK	(5 * MINUTE)

enum sec_kind {
	SEC_GLOBAL,
	SEC_SET,
};

enum key_id {
	K_STATE_DIR,
	K_SWEEP,
	K_METRICS_FILE,
	K_THREADS,
	K_LOGS,
	K_FORMAT,
	K_LOG_FORMAT,
	K_ADDRESSES,
	K_REGEX,
	K_TIME_KEY,
	K_TIME_FORMAT,
	K_TIMEZONE,
	K_MASK_HOSTNAMES,
	K_WINDOW,
	K_IPV4_PREFIX,
	K_IPV6_PREFIX,
	K_ROTATE,
	K_REOPEN,
	K_COMPRESS_AFTER,
	K_MASK_EARLY,
	K_RETAIN,
	K_SETTLE,
	K_HOLD_MAX,
	K_MIRROR,
	K_MIRROR_RETAIN,
	K_TRANSFORM,
	K_PSEUDONYM_PREFIX,
	K_FORWARD,
	K_FORWARD_MAX_LAG,
	K_FORWARD_TLS_CA,
	K_FORWARD_TLS_CERT,
	K_FORWARD_TLS_KEY,
	K_MAX
};

struct parser;
struct keydef;

/*
 * Parse value into base (struct config or struct logset).  Returns 0, or
 * -1 with *why saying what a good value looks like (it starts as the
 * row's want).
 */
typedef int	(*key_parse_fn)(struct parser *, const struct keydef *,
		    void *base, const char *value, const char **why);

struct keydef {
	enum sec_kind	 sec;
	const char	*name;
	key_parse_fn	 parse;
	size_t		 off;		/* of the field in base */
	int64_t		 min;		/* range of numbers and durations */
	int64_t		 max;
	int		 repeat;	/* may be given again, and appends */
	const char	*want;		/* a good value, for messages */
};

/* What the parser knows of a section beyond its struct. */
struct secinfo {
	int		 keyline[K_MAX];	/* line of each key; 0: unset */
	uint64_t	 bad;		/* 1 << key_id: its value was bad */
	int		*globline;	/* line of each glob */
	size_t		 valoff[K_MAX];	/* where each value starts in its
					   (joined) line */
};

struct msg {
	int		 line;
	size_t		 seq;
	char		*text;
};

enum where {
	IN_NONE,	/* before the first section */
	IN_GLOBAL,
	IN_SET,
	IN_BAD,		/* after a bad or duplicate header: skip keys */
};

struct parser {
	const char	*path;
	struct config	*conf;
	int		 line;
	enum where	 where;
	int		 global_line;	/* line of [global], 0: none */
	struct secinfo	 global;
	struct secinfo	*info;		/* one per conf->sets */
	struct msg	*msgs;
	size_t		 nmsgs;
	size_t		 nerrors;
	size_t		 nwarnings;
	char		 kinds[256];	/* "combined, common, ..." */
	config_zone_fn	 zone_fn;	/* loads a timezone, or NULL */
	int		 cont;		/* the key of the line before may go
					   on (log_format) */
	const char	*text;		/* the whole file */
	size_t		 len;
	const char	*linebuf;	/* the line being parsed */
};

static int	p_abspath(struct parser *, const struct keydef *, void *,
		    const char *, const char **);
static int	p_duration(struct parser *, const struct keydef *, void *,
		    const char *, const char **);
static int	p_duration_off(struct parser *, const struct keydef *, void *,
		    const char *, const char **);
static int	p_int(struct parser *, const struct keydef *, void *,
		    const char *, const char **);
static int	p_string(struct parser *, const struct keydef *, void *,
		    const char *, const char **);
static int	p_globs(struct parser *, const struct keydef *, void *,
		    const char *, const char **);
static int	p_format(struct parser *, const struct keydef *, void *,
		    const char *, const char **);
static int	p_fields(struct parser *, const struct keydef *, void *,
		    const char *, const char **);
static int	p_rotate(struct parser *, const struct keydef *, void *,
		    const char *, const char **);
static int	p_bool(struct parser *, const struct keydef *, void *,
		    const char *, const char **);
static int	p_reopen(struct parser *, const struct keydef *, void *,
		    const char *, const char **);
static int	p_mirror(struct parser *, const struct keydef *, void *,
		    const char *, const char **);
static int	p_transform(struct parser *, const struct keydef *, void *,
		    const char *, const char **);
static int	p_forward(struct parser *, const struct keydef *, void *,
		    const char *, const char **);
static int	p_threads(struct parser *, const struct keydef *, void *,
		    const char *, const char **);

#define BIT(k)		((uint64_t)1 << (k))
#define CF(f)	offsetof(struct config, f)
#define LF(f)	offsetof(struct logset, f)
#define DUR	"a duration such as 90s, 30m, 12h, 7d or 1h30m"

static const struct keydef keys[K_MAX] = {
	[K_STATE_DIR] = { SEC_GLOBAL, "state_dir", p_abspath, CF(state_dir),
	    0, 0, 0, "an absolute path" },
	[K_SWEEP] = { SEC_GLOBAL, "sweep", p_duration, CF(sweep),
	    1, HOUR, 0, "a duration from 1s to 1h" },
	[K_METRICS_FILE] = { SEC_GLOBAL, "metrics_file", p_abspath,
	    CF(metrics_file), 0, 0, 0, "an absolute path" },
	[K_THREADS] = { SEC_GLOBAL, "threads", p_threads, CF(threads),
	    1, THREADS_MAX, 0, "auto or a number of threads from 1 to 64" },
	[K_LOGS] = { SEC_SET, "logs", p_globs, LF(globs),
	    0, 0, 1, "absolute paths or globs separated by spaces" },
	[K_FORMAT] = { SEC_SET, "format", p_format, LF(spec.kind),
	    0, 0, 0, "a format such as combined, json or regex" },
	[K_LOG_FORMAT] = { SEC_SET, "log_format", p_string,
	    LF(spec.log_format), 0, 0, 0, "the server's log_format or "
	    "LogFormat string" },
	[K_ADDRESSES] = { SEC_SET, "addresses", p_fields, LF(spec.fields),
	    0, 0, 0, "field names separated by commas or spaces" },
	[K_REGEX] = { SEC_SET, "regex", p_string, LF(spec.regex),
	    0, 0, 0, "a PCRE2 pattern" },
	[K_TIME_KEY] = { SEC_SET, "time_key", p_string, LF(spec.time_key),
	    0, 0, 0, "a json key (nested as a.b)" },
	[K_TIME_FORMAT] = { SEC_SET, "time_format", p_string,
	    LF(spec.time_format), 0, 0, 0, "clf, clf_ms, iso8601, epoch, "
	    "epoch_ms, epoch_us, epoch_ns, syslog, ctime or a strptime "
	    "pattern" },
	[K_TIMEZONE] = { SEC_SET, "timezone", p_string, LF(timezone),
	    0, 0, 0, "local, UTC or a zone name such as Europe/Berlin" },
	[K_MASK_HOSTNAMES] = { SEC_SET, "mask_hostnames", p_bool,
	    LF(spec.mask_hostnames), 0, 0, 0, "yes or no" },
	[K_WINDOW] = { SEC_SET, "window", p_duration, LF(window),
	    0, DUR_MAX, 0, DUR },
	[K_IPV4_PREFIX] = { SEC_SET, "ipv4_prefix", p_int, LF(prefix.v4),
	    0, 32, 0, "a number of bits from 0 to 32" },
	[K_IPV6_PREFIX] = { SEC_SET, "ipv6_prefix", p_int, LF(prefix.v6),
	    0, 128, 0, "a number of bits from 0 to 128" },
	[K_ROTATE] = { SEC_SET, "rotate", p_rotate, LF(rotate),
	    MINUTE, DUR_MAX, 0, "a duration of at least 1m (such as 1h), "
	    "daily, a size (such as 500M) or off" },
	[K_REOPEN] = { SEC_SET, "reopen", p_reopen, LF(reopen),
	    0, 0, 0, "\"signal NAME PIDFILE\" or \"command PATH [ARG...]\"" },
	[K_COMPRESS_AFTER] = { SEC_SET, "compress_after", p_duration_off,
	    LF(compress_after), 0, DUR_MAX, 0, DUR " or off" },
	[K_MASK_EARLY] = { SEC_SET, "mask_early", p_duration, LF(mask_early),
	    0, DUR_MAX, 0, DUR },
	[K_RETAIN] = { SEC_SET, "retain", p_duration, LF(retain),
	    0, DUR_MAX, 0, DUR },
	[K_SETTLE] = { SEC_SET, "settle", p_duration, LF(settle),
	    0, DUR_MAX, 0, DUR },
	[K_HOLD_MAX] = { SEC_SET, "hold_max", p_duration, LF(hold_max),
	    HOUR, DUR_MAX, 0, "a duration of at least 1h, such as 90d" },
	[K_MIRROR] = { SEC_SET, "mirror", p_mirror, LF(mirror), 0, 0, 0,
	    "an absolute path with %n (the live file's name), such as "
	    "/var/log/nginx/masked/%n" },
	[K_MIRROR_RETAIN] = { SEC_SET, "mirror_retain", p_duration,
	    LF(mirror_retain), 1, DUR_MAX, 0, DUR },
	[K_TRANSFORM] = { SEC_SET, "transform", p_transform, LF(transform),
	    0, 0, 0, "truncate or pseudonym" },
	[K_PSEUDONYM_PREFIX] = { SEC_SET, "pseudonym_prefix", p_bool,
	    LF(pseudonym_prefix), 0, 0, 0, "yes or no" },
	[K_FORWARD] = { SEC_SET, "forward", p_forward, LF(forward), 0, 0, 0,
	    "relp://HOST:PORT, tcp://HOST:PORT or unix:PATH" },
	[K_FORWARD_MAX_LAG] = { SEC_SET, "forward_max_lag", p_duration,
	    LF(forward_max_lag), MINUTE, DUR_MAX, 0,
	    "a duration of at least 1m, such as 1d" },
	[K_FORWARD_TLS_CA] = { SEC_SET, "forward_tls_ca", p_abspath,
	    LF(forward_tls_ca), 0, 0, 0, "an absolute path" },
	[K_FORWARD_TLS_CERT] = { SEC_SET, "forward_tls_cert", p_abspath,
	    LF(forward_tls_cert), 0, 0, 0, "an absolute path" },
	[K_FORWARD_TLS_KEY] = { SEC_SET, "forward_tls_key", p_abspath,
	    LF(forward_tls_key), 0, 0, 0, "an absolute path" },
};

static const struct {
	const char	*name;
	int		 signo;
} signals[] = {
	{ "HUP", SIGHUP },
	{ "USR1", SIGUSR1 },
	{ "USR2", SIGUSR2 },
	{ "TERM", SIGTERM },
	{ "INT", SIGINT },
};

#define FIELD(base, row, type)	((type *)(void *)((char *)(base) + (row)->off))

/* Messages. */

static void	emit(struct parser *, int, int, const char *, ...)
		    PRINTFLIKE(4, 5);
static void	emit_col(struct parser *, int, int, int, const char *, ...)
		    PRINTFLIKE(5, 6);

/*
 * kind: 0 an error, 1 a warning, 2 a note (what a default means); col:
 * the column in a key's value ("path:line:col: ..."), 0: none.
 */
static void __attribute__((format(printf, 5, 0)))
vemit(struct parser *p, int line, int col, int kind, const char *fmt,
    va_list ap)
{
	static const char *const prefix[] = { "", "warning: ", "note: " };
	char *body;
	struct msg *m;

	if (vasprintf(&body, fmt, ap) == -1)
		fatalx("config: cannot format a message");
	p->msgs = xreallocarray(p->msgs, p->nmsgs + 1, sizeof(*p->msgs));
	m = &p->msgs[p->nmsgs];
	m->line = line;
	m->seq = p->nmsgs++;
	if (col > 0)
		(void)xasprintf(&m->text, "%s:%d:%d: %s%s", p->path, line, col,
		    prefix[kind], body);
	else
		(void)xasprintf(&m->text, "%s:%d: %s%s", p->path, line,
		    prefix[kind], body);
	free(body);
	if (kind == 1)
		p->nwarnings++;
	else if (kind == 0)
		p->nerrors++;
}

static void
emit(struct parser *p, int line, int kind, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vemit(p, line, 0, kind, fmt, ap);
	va_end(ap);
}

static void
emit_col(struct parser *p, int line, int col, int kind, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vemit(p, line, col, kind, fmt, ap);
	va_end(ap);
}

static int
msg_cmp(const void *a, const void *b)
{
	const struct msg *x = a, *y = b;

	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Hand the messages over to msgs (or drop them), sorted by line. */
static void
msgs_flush(struct parser *p, struct config_msgs *msgs)
{
	size_t i;

	if (p->nmsgs > 0)
		qsort(p->msgs, p->nmsgs, sizeof(*p->msgs), msg_cmp);
	if (msgs != NULL && p->nmsgs > 0) {
		msgs->v = xreallocarray(msgs->v, msgs->n + p->nmsgs,
		    sizeof(*msgs->v));
		for (i = 0; i < p->nmsgs; i++)
			msgs->v[msgs->n++] = p->msgs[i].text;
		msgs->nerrors += p->nerrors;
		msgs->nwarnings += p->nwarnings;
	} else {
		for (i = 0; i < p->nmsgs; i++)
			free(p->msgs[i].text);
	}
	free(p->msgs);
	p->msgs = NULL;
	p->nmsgs = 0;
}

void
config_msgs_release(struct config_msgs *msgs)
{
	size_t i;

	if (msgs == NULL)
		return;
	for (i = 0; i < msgs->n; i++)
		free(msgs->v[i]);
	free(msgs->v);
	memset(msgs, 0, sizeof(*msgs));
}

/* "1d2h", "0s": durations in messages, into buf (at least 64 bytes). */
static const char *
fmt_duration(int64_t v, char *buf, size_t sz)
{
	static const struct {
		char	 c;
		int64_t	 mul;
	} u[] = { { 'd', DAY }, { 'h', HOUR }, { 'm', MINUTE }, { 's', 1 } };
	size_t i, n = 0;

	buf[0] = '\0';
	for (i = 0; i < sizeof(u) / sizeof(u[0]) && n < sz; i++) {
		if (v / u[i].mul == 0)
			continue;
		n += (size_t)snprintf(buf + n, sz - n, "%lld%c",
		    (long long)(v / u[i].mul), u[i].c);
		v %= u[i].mul;
	}
	if (buf[0] == '\0')
		(void)snprintf(buf, sz, "0s");
	return buf;
}

/* The value of "rotate" as it would be written, for messages. */
static const char *
fmt_rotate(const struct logset *ls, char *buf, size_t sz)
{
	static const char sfx[] = " KMG";
	int64_t v;
	int i;

	switch (ls->rotate) {
	case ROTATE_UNSET:
	case ROTATE_OFF:
		return "off";
	case ROTATE_DAILY:
		return "daily";
	case ROTATE_INTERVAL:
		return fmt_duration(ls->rotate_every, buf, sz);
	case ROTATE_SIZE:
		break;
	}
	v = ls->rotate_size;
	for (i = 0; i < 3 && v % 1024 == 0; i++)
		v /= 1024;
	(void)snprintf(buf, sz, "%lld%.*s", (long long)v, i > 0, sfx + i);
	return buf;
}

/* Numbers. */

int
config_parse_duration(const char *s, int64_t *v)
{
	static const struct {
		char	 c;
		int64_t	 mul;
	} u[] = { { 'd', DAY }, { 'h', HOUR }, { 'm', MINUTE }, { 's', 1 } };
	int64_t total = 0, n;
	size_t i, next = 0;

	if (s == NULL || *s == '\0')
		return -1;
	while (*s != '\0') {
		if (*s < '0' || *s > '9')
			return -1;
		for (n = 0; *s >= '0' && *s <= '9'; s++) {
			if (n > (INT64_MAX - (*s - '0')) / 10)
				return -1;
			n = n * 10 + (*s - '0');
		}
		if (*s == '\0' && next == 0) {
			total = n;	/* a bare number: seconds */
			break;
		}
		for (i = next; i < sizeof(u) / sizeof(u[0]); i++)
			if (*s == u[i].c)
				break;
		if (i == sizeof(u) / sizeof(u[0]) || n > INT64_MAX / u[i].mul ||
		    total > INT64_MAX - n * u[i].mul)
			return -1;
		total += n * u[i].mul;
		next = i + 1;	/* units only get smaller: "1h30m" */
		s++;
	}
	*v = total;
	return 0;
}

int
config_parse_size(const char *s, int64_t *v)
{
	int64_t n, mul = 1;

	if (s == NULL || *s < '0' || *s > '9')
		return -1;
	for (n = 0; *s >= '0' && *s <= '9'; s++) {
		if (n > (INT64_MAX - (*s - '0')) / 10)
			return -1;
		n = n * 10 + (*s - '0');
	}
	switch (*s) {
	case '\0':
		break;
	case 'K':
		mul = (int64_t)1 << 10;
		break;
	case 'M':
		mul = (int64_t)1 << 20;
		break;
	case 'G':
		mul = (int64_t)1 << 30;
		break;
	default:
		return -1;
	}
	if (*s != '\0' && s[1] != '\0')
		return -1;
	if (n > INT64_MAX / mul)
		return -1;
	*v = n * mul;
	return 0;
}

/* Key parsers: one per kind of value, shared through the table. */

static int
p_abspath(struct parser *p, const struct keydef *k, void *base,
    const char *v, const char **why)
{
	char **f = FIELD(base, k, char *);

	(void)p;
	(void)why;
	if (v[0] != '/')
		return -1;
	free(*f);
	*f = xstrdup(v);
	return 0;
}

static int
p_duration(struct parser *p, const struct keydef *k, void *base,
    const char *v, const char **why)
{
	int64_t d;

	(void)p;
	if (config_parse_duration(v, &d) == -1)
		return -1;
	if (d < k->min || d > k->max) {
		if (k->max == DUR_MAX)
			*why = "a duration of at most 36500d";
		return -1;
	}
	*FIELD(base, k, int64_t) = d;
	return 0;
}

static int
p_duration_off(struct parser *p, const struct keydef *k, void *base,
    const char *v, const char **why)
{
	if (strcmp(v, "off") == 0) {
		*FIELD(base, k, int64_t) = -1;
		return 0;
	}
	return p_duration(p, k, base, v, why);
}

static int
p_int(struct parser *p, const struct keydef *k, void *base, const char *v,
    const char **why)
{
	const char *errstr;
	long long n;

	(void)p;
	(void)why;
	n = strtonum(v, k->min, k->max, &errstr);
	if (errstr != NULL || v[0] == '+' || v[0] == ' ')
		return -1;
	*FIELD(base, k, int) = (int)n;
	return 0;
}

/* threads: auto (0: the cores online, counted when a rewrite starts). */
static int
p_threads(struct parser *p, const struct keydef *k, void *base,
    const char *v, const char **why)
{
	if (strcmp(v, "auto") == 0) {
		*FIELD(base, k, int) = 0;
		return 0;
	}
	return p_int(p, k, base, v, why);
}

static int
p_string(struct parser *p, const struct keydef *k, void *base,
    const char *v, const char **why)
{
	char **f = FIELD(base, k, char *);

	(void)p;
	(void)why;
	free(*f);
	*f = xstrdup(v);
	return 0;
}

/* Split s at any of the bytes in seps; returns how many words. */
static size_t
split_words(const char *s, const char *seps, char ***vp, size_t n)
{
	size_t len;

	for (;;) {
		s += strspn(s, seps);
		if (*s == '\0')
			return n;
		len = strcspn(s, seps);
		*vp = xreallocarray(*vp, n + 2, sizeof(**vp));
		(*vp)[n++] = xstrndup(s, len);
		(*vp)[n] = NULL;
		s += len;
	}
}

static int
p_globs(struct parser *p, const struct keydef *k, void *base, const char *v,
    const char **why)
{
	struct logset *ls = base;
	struct secinfo *si = &p->info[p->conf->nsets - 1];
	const char *s;
	size_t i, n;

	(void)k;
	(void)why;
	for (s = v; *s != '\0'; s += strcspn(s, " \t")) {
		s += strspn(s, " \t");
		if (*s != '\0' && *s != '/')
			return -1;
	}
	n = split_words(v, " \t", &ls->globs, ls->nglobs);
	si->globline = xreallocarray(si->globline, n, sizeof(*si->globline));
	for (i = ls->nglobs; i < n; i++)
		si->globline[i] = p->line;
	ls->nglobs = n;
	return 0;
}

static int
p_format(struct parser *p, const struct keydef *k, void *base,
    const char *v, const char **why)
{
	char **f = FIELD(base, k, char *);

	if (!format_known(v)) {
		(void)snprintf(p->kinds, sizeof(p->kinds), "one of %s",
		    format_names());
		*why = p->kinds;
		return -1;
	}
	free(*f);
	*f = xstrdup(v);
	return 0;
}

static int
p_fields(struct parser *p, const struct keydef *k, void *base,
    const char *v, const char **why)
{
	struct logset *ls = base;

	(void)p;
	(void)k;
	(void)why;
	if (v[strspn(v, ", \t")] == '\0')
		return -1;
	ls->spec.nfields = split_words(v, ", \t", &ls->spec.fields, 0);
	return 0;
}

static int
p_bool(struct parser *p, const struct keydef *k, void *base, const char *v,
    const char **why)
{
	(void)p;
	(void)why;
	if (strcmp(v, "yes") == 0 || strcmp(v, "true") == 0 ||
	    strcmp(v, "on") == 0)
		*FIELD(base, k, int) = 1;
	else if (strcmp(v, "no") == 0 || strcmp(v, "false") == 0 ||
	    strcmp(v, "off") == 0)
		*FIELD(base, k, int) = 0;
	else
		return -1;
	return 0;
}

static int
p_rotate(struct parser *p, const struct keydef *k, void *base,
    const char *v, const char **why)
{
	struct logset *ls = base;
	char last = v[strlen(v) - 1];
	int64_t n;

	(void)p;
	(void)why;
	if (strcmp(v, "off") == 0)
		ls->rotate = ROTATE_OFF;
	else if (strcmp(v, "daily") == 0)
		ls->rotate = ROTATE_DAILY;
	else if (strchr("KMG", last) != NULL) {
		if (config_parse_size(v, &n) == -1 || n == 0)
			return -1;
		ls->rotate = ROTATE_SIZE;
		ls->rotate_size = n;
	} else if (strchr("smhd", last) != NULL) {
		if (config_parse_duration(v, &n) == -1 || n < k->min ||
		    n > k->max)
			return -1;
		ls->rotate = ROTATE_INTERVAL;
		ls->rotate_every = n;
	} else
		return -1;	/* a bare number: seconds or bytes? */
	return 0;
}

static void
free_argv(char **v)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

/*
 * Split a command line on blanks; double quotes group blanks into one
 * word, and inside them \" and \\ stand for " and \.  Returns the number
 * of words (*vp NULL terminated, or NULL when there are none), or -1 on
 * an unterminated quote.
 */
static int
split_args(const char *s, char ***vp)
{
	char *buf, *w;
	int n = 0, inq;

	*vp = NULL;
	buf = xmalloc(strlen(s) + 1);
	for (;;) {
		s += strspn(s, " \t");
		if (*s == '\0')
			break;
		for (w = buf, inq = 0; *s != '\0'; s++) {
			if (!inq && (*s == ' ' || *s == '\t'))
				break;
			if (*s == '"') {
				inq = !inq;
				continue;
			}
			if (inq && *s == '\\' && (s[1] == '"' || s[1] == '\\'))
				s++;
			*w++ = *s;
		}
		if (inq) {
			free_argv(*vp);
			*vp = NULL;
			n = -1;
			break;
		}
		*vp = xreallocarray(*vp, (size_t)n + 2, sizeof(**vp));
		(*vp)[n++] = xstrndup(buf, (size_t)(w - buf));
		(*vp)[n] = NULL;
	}
	free(buf);
	return n;
}

static int
reopen_signal(struct logset *ls, char **av, int ac, const char **why)
{
	const char *name;
	size_t i;

	if (ac != 3)
		return -1;
	name = strncmp(av[1], "SIG", 3) == 0 ? av[1] + 3 : av[1];
	for (i = 0; i < sizeof(signals) / sizeof(signals[0]); i++)
		if (strcmp(name, signals[i].name) == 0)
			break;
	if (i == sizeof(signals) / sizeof(signals[0])) {
		*why = "a signal HUP, USR1, USR2, TERM or INT "
		    "(SIG prefix optional)";
		return -1;
	}
	if (av[2][0] != '/') {
		*why = "an absolute path for the pid file";
		return -1;
	}
	ls->reopen = REOPEN_SIGNAL;
	ls->reopen_signal = signals[i].signo;
	ls->reopen_pidfile = xstrdup(av[2]);
	return 0;
}

static int
p_reopen(struct parser *p, const struct keydef *k, void *base,
    const char *v, const char **why)
{
	struct logset *ls = base;
	char **av;
	int ac, rc = -1;

	(void)p;
	(void)k;
	if ((ac = split_args(v, &av)) == -1) {
		*why = "a closing double quote";
		return -1;
	}
	if (ac >= 1 && strcmp(av[0], "signal") == 0)
		rc = reopen_signal(ls, av, ac, why);
	else if (ac >= 2 && strcmp(av[0], "command") == 0) {
		if (av[1][0] != '/')
			*why = "an absolute path for the command";
		else {
			ls->reopen = REOPEN_COMMAND;
			ls->reopen_argv = xreallocarray(NULL, (size_t)ac,
			    sizeof(*ls->reopen_argv));
			memcpy(ls->reopen_argv, av + 1,
			    (size_t)ac * sizeof(*av));
			free(av[0]);
			free(av);
			return 0;
		}
	}
	free_argv(av);
	return rc;
}

/* A mirror: an absolute path whose last component holds %n once. */
static int
p_mirror(struct parser *p, const struct keydef *k, void *base,
    const char *v, const char **why)
{
	struct logset *ls = base;
	const char *last = strrchr(v, '/'), *c;
	int n = 0;

	(void)p;
	(void)k;
	if (v[0] != '/' || last == NULL)
		return -1;
	for (c = v; (c = strchr(c, '%')) != NULL; c += 2) {
		if (c[1] != 'n' || c < last) {
			*why = "%n (the live file's name) in the last part of "
			    "the path, and no other %";
			return -1;
		}
		n++;
	}
	if (n != 1)
		return -1;
	if (strstr(v, "/../") != NULL || strstr(v, "/./") != NULL ||
	    strstr(v, "//") != NULL) {
		*why = "a path without \".\", \"..\" or \"//\" in it";
		return -1;
	}
	free(ls->mirror);
	ls->mirror = xstrdup(v);
	return 0;
}

static int
p_transform(struct parser *p, const struct keydef *k, void *base,
    const char *v, const char **why)
{
	struct logset *ls = base;

	(void)p;
	(void)k;
	(void)why;
	if (strcmp(v, "truncate") == 0)
		ls->transform = TRANSFORM_TRUNCATE;
	else if (strcmp(v, "pseudonym") == 0)
		ls->transform = TRANSFORM_PSEUDONYM;
	else
		return -1;
	return 0;
}

/* "HOST:PORT" or "[V6]:PORT", the port 1..65535. */
static int
host_port(const char *s, char **host, char **port)
{
	const char *c, *h, *e;
	size_t hl;
	long n;
	char *end;

	if (*s == '[') {
		if ((e = strchr(s, ']')) == NULL || e[1] != ':')
			return -1;
		h = s + 1;
		hl = (size_t)(e - h);
		c = e + 1;
	} else {
		if ((c = strrchr(s, ':')) == NULL || memchr(s, ':',
		    (size_t)(c - s)) != NULL)
			return -1;
		h = s;
		hl = (size_t)(c - s);
	}
	if (hl == 0 || hl > 253 || memchr(h, '/', hl) != NULL ||
	    memchr(h, '@', hl) != NULL)
		return -1;
	if (c[1] < '0' || c[1] > '9')
		return -1;
	n = strtol(c + 1, &end, 10);
	if (*end != '\0' || n < 1 || n > 65535)
		return -1;
	*host = xstrndup(h, hl);
	*port = xstrdup(c + 1);
	return 0;
}

static int
p_forward(struct parser *p, const struct keydef *k, void *base,
    const char *v, const char **why)
{
	struct logset *ls = base;
	char *host = NULL, *port = NULL;

	(void)p;
	(void)k;
	(void)why;
	free(ls->forward_host);
	free(ls->forward_port);
	free(ls->forward_path);
	ls->forward_host = ls->forward_port = ls->forward_path = NULL;
	if (strncmp(v, "relp://", 7) == 0 && host_port(v + 7, &host,
	    &port) == 0)
		ls->forward_kind = FORWARD_RELP;
	else if (strncmp(v, "tcp://", 6) == 0 && host_port(v + 6, &host,
	    &port) == 0)
		ls->forward_kind = FORWARD_TCP;
	else if (strncmp(v, "unix:", 5) == 0 && v[5] == '/' &&
	    strlen(v + 5) < 108) {
		ls->forward_kind = FORWARD_UNIX;
		ls->forward_path = xstrdup(v + 5);
	} else
		return -1;
	ls->forward_host = host;
	ls->forward_port = port;
	free(ls->forward);
	ls->forward = xstrdup(v);
	return 0;
}

/* Lines. */

static char *
trim(char *s)
{
	char *e;

	s += strspn(s, " \t");
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
		*--e = '\0';
	return s;
}

static int
valid_name(const char *s)
{
	static const char ok[] = "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-";

	return *s != '\0' && s[strspn(s, ok)] == '\0';
}

static const char *
section_name(struct parser *p)
{
	if (p->where == IN_GLOBAL)
		return "global";
	return p->conf->sets[p->conf->nsets - 1].name;
}

static void
set_new(struct parser *p, const char *name)
{
	struct config *c = p->conf;
	struct logset *ls;

	c->sets = xreallocarray(c->sets, c->nsets + 1, sizeof(*c->sets));
	p->info = xreallocarray(p->info, c->nsets + 1, sizeof(*p->info));
	memset(&p->info[c->nsets], 0, sizeof(*p->info));
	ls = &c->sets[c->nsets++];
	memset(ls, 0, sizeof(*ls));
	ls->name = xstrdup(name);
	ls->line = p->line;
	ls->window = 7 * DAY;
	ls->prefix.v4 = 16;
	ls->prefix.v6 = 32;
	ls->rotate = ROTATE_UNSET;
	ls->rotate_every = HOUR;
	ls->reopen = REOPEN_NONE;
	ls->compress_after = HOUR;
	ls->mask_early = MASK_EARLY_UNSET;
	ls->retain = 90 * DAY;
	ls->settle = 5;
	ls->hold_max = 90 * DAY;
	ls->mirror_retain = -1;
	ls->transform = TRANSFORM_TRUNCATE;
	ls->forward_max_lag = DAY;
}

static void
parse_section(struct parser *p, char *s)
{
	char *end, *name, *rest;
	size_t i;

	p->where = IN_BAD;
	if ((end = strchr(s, ']')) == NULL) {
		emit(p, p->line, 0, "bad section header: expected \"[name]\"");
		return;
	}
	*end = '\0';
	rest = end + 1 + strspn(end + 1, " \t");
	if (*rest != '\0' && *rest != '#' && *rest != ';') {
		emit(p, p->line, 0, "bad section header: expected \"[name]\"");
		return;
	}
	name = trim(s + 1);
	if (!valid_name(name)) {
		emit(p, p->line, 0, "bad section name \"%s\": expected "
		    "letters, digits, \"_\", \".\" or \"-\"", log_esc(name));
		return;
	}
	if (strcmp(name, "global") == 0) {
		if (p->global_line != 0) {
			emit(p, p->line, 0, "duplicate section [global] "
			    "(first on line %d)", p->global_line);
			return;
		}
		p->global_line = p->line;
		p->where = IN_GLOBAL;
		return;
	}
	for (i = 0; i < p->conf->nsets; i++) {
		if (strcmp(p->conf->sets[i].name, name) == 0) {
			emit(p, p->line, 0, "duplicate section [%s] "
			    "(first on line %d)", name, p->conf->sets[i].line);
			return;
		}
	}
	set_new(p, name);
	p->where = IN_SET;
}

static const struct keydef *
key_find(const char *name)
{
	size_t i;

	for (i = 0; i < K_MAX; i++)
		if (strcmp(keys[i].name, name) == 0)
			return &keys[i];
	return NULL;
}

/* Whether the key may stand here; says why not. */
static int
key_allowed(struct parser *p, const struct keydef *k, const char *key)
{
	enum sec_kind sec = p->where == IN_GLOBAL ? SEC_GLOBAL : SEC_SET;

	if (p->where == IN_NONE) {
		emit(p, p->line, 0, "key \"%s\" before any section: put it "
		    "under [global] or a log set such as [nginx]",
		    log_esc(key));
		return 0;
	}
	if (k == NULL) {
		emit(p, p->line, 0, "unknown key \"%s\" in [%s]",
		    log_esc(key), section_name(p));
		return 0;
	}
	if (k->sec != sec) {
		emit(p, p->line, 0, "unknown key \"%s\" in [%s] (it belongs "
		    "in %s)", key, section_name(p),
		    k->sec == SEC_GLOBAL ? "[global]" : "a log set");
		return 0;
	}
	return 1;
}

static void
parse_key(struct parser *p, char *s, char *eq)
{
	const struct keydef *k;
	struct secinfo *si;
	const char *why;
	char *key, *val, *c;
	void *base;

	*eq = '\0';
	key = trim(s);
	val = eq + 1;
	for (c = val; (c = strchr(c, '#')) != NULL; c++) {
		if (c == val || c[-1] == ' ' || c[-1] == '\t') {
			*c = '\0';	/* a trailing comment */
			break;
		}
	}
	val = trim(val);
	if (*key == '\0') {
		emit(p, p->line, 0, "missing key before \"=\"");
		return;
	}
	if (p->where == IN_BAD)
		return;
	k = key_find(key);
	if (!key_allowed(p, k, key))
		return;
	if (p->where == IN_GLOBAL) {
		si = &p->global;
		base = p->conf;
	} else {
		si = &p->info[p->conf->nsets - 1];
		base = &p->conf->sets[p->conf->nsets - 1];
	}
	if (si->keyline[k - keys] != 0 && !k->repeat) {
		emit(p, p->line, 0, "duplicate key \"%s\" in [%s] (first on "
		    "line %d)", key, section_name(p), si->keyline[k - keys]);
		return;
	}
	if (si->keyline[k - keys] == 0)
		si->keyline[k - keys] = p->line;
	si->valoff[k - keys] = (size_t)(val - p->linebuf);
	why = k->want;
	if (*val == '\0') {
		emit(p, p->line, 0, "missing value for \"%s\": expected %s",
		    key, why);
		si->bad |= BIT(k - keys);
	} else if (k->parse(p, k, base, val, &why) == -1) {
		emit(p, p->line, 0, "bad %s \"%s\": expected %s", key,
		    log_esc(val), why);
		si->bad |= BIT(k - keys);
	}
}

static void
parse_line(struct parser *p, const char *text, size_t len)
{
	char *buf, *s, *eq;

	if (memchr(text, '\0', len) != NULL) {
		emit(p, p->line, 0, "NUL byte in line");
		return;
	}
	buf = xstrndup(text, len);
	if (len > 0 && buf[len - 1] == '\r')
		buf[len - 1] = '\0';
	s = trim(buf);
	if (*s == '\0' || *s == '#' || *s == ';')
		;
	else if (*s == '[')
		parse_section(p, s);
	else if ((eq = strchr(s, '=')) != NULL) {
		p->linebuf = buf;
		parse_key(p, s, eq);
	}
	else
		emit(p, p->line, 0, "expected \"key = value\" or "
		    "\"[section]\"");
	free(buf);
}

/* A "log_format =" line: its value may go on over indented lines. */
static int
is_log_format(const char *s, size_t n)
{
	size_t i = 0;

	while (i < n && (s[i] == ' ' || s[i] == '\t'))
		i++;
	if (n - i < 10 || memcmp(s + i, "log_format", 10) != 0)
		return 0;
	for (i += 10; i < n && (s[i] == ' ' || s[i] == '\t'); i++)
		;
	return i < n && s[i] == '=';
}

/* An indented line that goes on with a format: a quote, $ or % first. */
static int
goes_on(const char *s, size_t n)
{
	size_t i = 0;

	if (n == 0 || (s[0] != ' ' && s[0] != '\t'))
		return 0;
	while (i < n && (s[i] == ' ' || s[i] == '\t'))
		i++;
	return i < n && (s[i] == '\'' || s[i] == '"' || s[i] == '$' ||
	    s[i] == '%');
}

/*
 * A log_format pasted over several lines (nginx.conf's way): the lines
 * that go on are joined to it with a blank, and it counts as the line it
 * starts on.  Returns how much of text it took, from off.
 */
static size_t
continued(struct parser *p, const char *text, size_t len, size_t off,
    size_t n)
{
	const char *nl;
	char *joined = xstrndup(text + off, n);
	size_t at = off + n, m, jl = n;
	int first = p->line;

	while (at < len) {
		nl = memchr(text + at + 1, '\n', len - at - 1);
		m = nl != NULL ? (size_t)(nl - (text + at + 1)) : len - at - 1;
		if (!goes_on(text + at + 1, m))
			break;
		joined = xreallocarray(joined, jl + m + 2, 1);
		joined[jl++] = ' ';
		memcpy(joined + jl, text + at + 1, m);
		jl += m;
		at += m + 1;
		p->line++;
	}
	m = (size_t)p->line;
	p->line = first;
	parse_line(p, joined, jl);
	p->line = (int)m;
	free(joined);
	return at - off;
}

/* Checks once every line is read. */

/* The line of the first of keys a, b that was given, else the header. */
static int
keyline(const struct logset *ls, const struct secinfo *si, enum key_id a,
    enum key_id b)
{
	if (si->keyline[a] != 0)
		return si->keyline[a];
	if (si->keyline[b] != 0)
		return si->keyline[b];
	return ls->line;
}

#define GOOD(si, k)	((si)->keyline[k] != 0 && !((si)->bad & BIT(k)))

static void
check_required(struct parser *p, struct logset *ls, struct secinfo *si)
{
	const char *kind = ls->spec.kind;

	if (si->keyline[K_LOGS] == 0)
		emit(p, ls->line, 0, "missing required key \"logs\" in [%s]",
		    ls->name);
	if (si->keyline[K_FORMAT] == 0 && si->keyline[K_LOG_FORMAT] == 0)
		emit(p, ls->line, 0, "missing required key \"format\" (or "
		    "\"log_format\") in [%s]", ls->name);
	if (si->keyline[K_FORMAT] != 0 && si->keyline[K_LOG_FORMAT] != 0)
		emit(p, si->keyline[K_LOG_FORMAT], 0, "log_format and format "
		    "both in [%s]: keep one (log_format: the server's own "
		    "string)", ls->name);
	if (!GOOD(si, K_FORMAT) || kind == NULL)
		return;
	if (strcmp(kind, "regex") == 0 && si->keyline[K_REGEX] == 0)
		emit(p, ls->line, 0, "missing required key \"regex\" in [%s] "
		    "(format = regex)", ls->name);
	if (strcmp(kind, "regex") != 0 && GOOD(si, K_REGEX))
		emit(p, si->keyline[K_REGEX], 0, "regex is used only with "
		    "format = regex, not %s", kind);
	if (strcmp(kind, "json") == 0 && si->keyline[K_ADDRESSES] == 0)
		emit(p, ls->line, 0, "missing required key \"addresses\" in "
		    "[%s] (format = json has no default)", ls->name);
	if (strcmp(kind, "json") != 0 && GOOD(si, K_TIME_KEY))
		emit(p, si->keyline[K_TIME_KEY], 0, "time_key is used only "
		    "with format = json");
}

static void
check_times(struct parser *p, struct logset *ls, struct secinfo *si)
{
	char b1[64], b2[64];
	int wok, rok;

	if (GOOD(si, K_WINDOW) && ls->window == 0)
		emit(p, si->keyline[K_WINDOW], 0, "window must be longer "
		    "than zero");
	if (GOOD(si, K_RETAIN) && ls->retain == 0)
		emit(p, si->keyline[K_RETAIN], 0, "retain must be longer "
		    "than zero");
	wok = !(si->bad & (BIT(K_WINDOW))) && ls->window > 0;
	rok = !(si->bad & (BIT(K_RETAIN))) && ls->retain > 0;
	if (wok && rok && ls->window > ls->retain)
		emit(p, keyline(ls, si, K_WINDOW, K_RETAIN), 0, "window (%s) "
		    "is longer than retain (%s)",
		    fmt_duration(ls->window, b1, sizeof(b1)),
		    fmt_duration(ls->retain, b2, sizeof(b2)));
	else if (wok && (ls->window < DAY || ls->window > 30 * DAY))
		emit(p, keyline(ls, si, K_WINDOW, K_WINDOW), 1, "window = %s "
		    "is outside 1d..30d",
		    fmt_duration(ls->window, b1, sizeof(b1)));
	if (wok && !(si->bad & (BIT(K_MASK_EARLY) | BIT(K_ROTATE))) &&
	    ls->mask_early > ls->window)
		emit(p, keyline(ls, si, K_MASK_EARLY, K_ROTATE), 0,
		    "mask_early (%s%s) is longer than window (%s)",
		    fmt_duration(ls->mask_early, b1, sizeof(b1)),
		    si->keyline[K_MASK_EARLY] != 0 ? "" :
		    ", the default for this rotate",
		    fmt_duration(ls->window, b2, sizeof(b2)));
}

/*
 * rotate defaults to 1h where the set has a reopen hook and to off where
 * it has none (lethe then follows what others rotate, and says so).
 * mask_early defaults to the rotate interval plus a few minutes, so that
 * one rewrite started shortly before the window covers a whole segment;
 * at most half the window.
 */
static void
check_rotate(struct parser *p, struct logset *ls, struct secinfo *si)
{
	char buf[64];

	if (ls->rotate == ROTATE_UNSET) {
		ls->rotate = ls->reopen == REOPEN_NONE ? ROTATE_OFF :
		    ROTATE_INTERVAL;
		if (ls->reopen == REOPEN_NONE && !(si->bad & BIT(K_REOPEN)))
			emit(p, ls->line, 2, "[%s] has no reopen, so rotate = "
			    "off: lethe follows what others rotate", ls->name);
	}
	if (ls->mask_early == MASK_EARLY_UNSET) {
		if (ls->rotate == ROTATE_INTERVAL)
			ls->mask_early = ls->rotate_every + MASK_SLACK;
		else if (ls->rotate == ROTATE_DAILY)
			ls->mask_early = DAY + MASK_SLACK;
		else
			ls->mask_early = HOUR;
		if (ls->window > 0 && ls->mask_early > ls->window / 2)
			ls->mask_early = ls->window / 2;
	}
	if (si->bad & (BIT(K_ROTATE) | BIT(K_REOPEN)))
		return;
	if (ls->rotate != ROTATE_OFF && ls->reopen == REOPEN_NONE)
		emit(p, keyline(ls, si, K_ROTATE, K_ROTATE), 0,
		    "rotate = %s needs reopen, or set rotate = off",
		    fmt_rotate(ls, buf, sizeof(buf)));
	if (ls->rotate == ROTATE_OFF && ls->reopen != REOPEN_NONE &&
	    si->keyline[K_ROTATE] != 0)
		emit(p, si->keyline[K_REOPEN], 1, "with rotate = off, reopen "
		    "is used only by rotations asked for with SIGUSR1");
}

static int	globs_overlap(const char *, const char *);

/* The mirror and the forwarded stream. */
static void
check_stream(struct parser *p, struct logset *ls, struct secinfo *si)
{
	int tls = si->keyline[K_FORWARD_TLS_CA] != 0 ||
	    si->keyline[K_FORWARD_TLS_CERT] != 0 ||
	    si->keyline[K_FORWARD_TLS_KEY] != 0;

	if (ls->mirror_retain == -1)
		ls->mirror_retain = ls->retain;
	if (GOOD(si, K_MIRROR_RETAIN) && ls->mirror == NULL)
		emit(p, si->keyline[K_MIRROR_RETAIN], 1, "mirror_retain has "
		    "no effect without mirror");
	if (GOOD(si, K_TRANSFORM) && ls->mirror == NULL &&
	    ls->forward == NULL)
		emit(p, si->keyline[K_TRANSFORM], 1, "transform applies to "
		    "mirror and forward only (files on disk are truncated "
		    "after the window), and [%s] has neither", ls->name);
	if (GOOD(si, K_PSEUDONYM_PREFIX) && ls->pseudonym_prefix &&
	    ls->transform != TRANSFORM_PSEUDONYM)
		emit(p, si->keyline[K_PSEUDONYM_PREFIX], 1, "pseudonym_prefix "
		    "has no effect without transform = pseudonym");
	if (ls->forward != NULL && !(si->bad & (BIT(K_WINDOW) |
	    BIT(K_MASK_EARLY) | BIT(K_FORWARD_MAX_LAG))) &&
	    ls->forward_max_lag >= ls->window - ls->mask_early)
		emit(p, keyline(ls, si, K_FORWARD_MAX_LAG, K_FORWARD), 0,
		    "forward_max_lag must be shorter than window less "
		    "mask_early: a segment waits for its forwarding only "
		    "until masking is due");
	if (GOOD(si, K_FORWARD_MAX_LAG) && ls->forward == NULL)
		emit(p, si->keyline[K_FORWARD_MAX_LAG], 1, "forward_max_lag "
		    "has no effect without forward");
	if (tls && ls->forward_kind != FORWARD_RELP &&
	    !(si->bad & BIT(K_FORWARD)))
		emit(p, keyline(ls, si, K_FORWARD_TLS_CA, K_FORWARD_TLS_CERT),
		    0, "forward_tls_* need forward = relp://HOST:PORT (TLS "
		    "is offered over RELP only)");
	/*
	 * librelp's TLS without a certificate of its own is anonymous and
	 * checks no receiver (isAnonAuth, tcp.c), and with one but no CA no
	 * receiver passes: all three, or none.
	 */
	if (tls && (si->keyline[K_FORWARD_TLS_CA] == 0 ||
	    si->keyline[K_FORWARD_TLS_CERT] == 0 ||
	    si->keyline[K_FORWARD_TLS_KEY] == 0))
		emit(p, si->keyline[K_FORWARD_TLS_CA] != 0 ?
		    si->keyline[K_FORWARD_TLS_CA] :
		    keyline(ls, si, K_FORWARD_TLS_CERT, K_FORWARD_TLS_KEY),
		    0, "forward_tls_ca, forward_tls_cert and forward_tls_key "
		    "go together (librelp's TLS without a certificate of its "
		    "own checks no receiver)");
}

/* The glob of set s's mirror files for its glob g. */
static char *
mirror_glob(const struct logset *s, size_t g)
{
	const char *base = strrchr(s->globs[g], '/') + 1;
	const char *n = strstr(s->mirror, "%n");
	char *out;

	xasprintf(&out, "%.*s%s%s", (int)(n - s->mirror), s->mirror, base,
	    n + 2);
	return out;
}

static int
mirrors_overlap(const struct logset *a, size_t x, const struct logset *b,
    size_t y)
{
	char *ga = mirror_glob(a, x), *gb = mirror_glob(b, y);
	int r = globs_overlap(ga, gb);

	free(ga);
	free(gb);
	return r;
}

/* A mirror that some set's logs glob would take for a log of its own. */
static void
check_mirrors(struct parser *p)
{
	struct logset *a, *b;
	char *path, *n;
	size_t i, j, x, y;

	for (i = 0; i < p->conf->nsets; i++) {
		a = &p->conf->sets[i];
		if (a->mirror == NULL)
			continue;
		for (x = 0; x < a->nglobs; x++) {
			n = strrchr(a->globs[x], '/');
			if (strcspn(a->globs[x], "*?[") <
			    (size_t)(n - a->globs[x]) ||
			    (size_t)(n - a->globs[x]) != (size_t)(strrchr(
			    a->globs[0], '/') - a->globs[0]) ||
			    strncmp(a->globs[x], a->globs[0],
			    (size_t)(n - a->globs[x])) != 0) {
				emit(p, p->info[i].keyline[K_MIRROR], 0,
				    "mirror needs the logs of [%s] in one "
				    "directory (wildcards in names only), so "
				    "that %%n names one file: a set per "
				    "directory", a->name);
				break;
			}
		}
		for (j = 0; j < i; j++) {
			b = &p->conf->sets[j];
			if (b->mirror == NULL)
				continue;
			for (x = 0; x < a->nglobs; x++)
				for (y = 0; y < b->nglobs; y++)
					if (mirrors_overlap(a, x, b, y))
						emit(p, p->info[i].keyline[
						    K_MIRROR], 0, "mirror \"%s\" of "
						    "[%s] and mirror \"%s\" of [%s] "
						    "can name the same file",
						    log_esc(a->mirror), a->name,
						    log_esc(b->mirror), b->name);
		}
		path = xstrdup(a->mirror);
		n = strstr(path, "%n");
		n[0] = 'x';		/* a name any glob's * takes */
		memmove(n + 1, n + 2, strlen(n + 2) + 1);
		for (j = 0; j < p->conf->nsets; j++) {
			b = &p->conf->sets[j];
			for (x = 0; x < b->nglobs; x++) {
				if (!globs_overlap(b->globs[x], path) &&
				    !globs_overlap(b->globs[x],
				    a->mirror))
					continue;
				emit(p, p->info[i].keyline[K_MIRROR], 0,
				    "mirror \"%s\" would be matched by logs "
				    "\"%s\" in [%s]: put the mirror in a "
				    "directory of its own", log_esc(a->mirror),
				    log_esc(b->globs[x]), b->name);
			}
		}
		free(path);
	}
}

static uLong
hash_str(uLong h, const char *v)
{
	return crc32(h, (const Bytef *)(v != NULL ? v : ""),
	    v != NULL ? (uInt)strlen(v) + 1 : 1);
}

/* What decides how a line is read: facts read otherwise are stale. */
static void
facts_key(struct logset *ls)
{
	uLong h = crc32(0L, Z_NULL, 0);
	int v[3];
	size_t i;

	v[0] = ls->prefix.v4;
	v[1] = ls->prefix.v6;
	v[2] = ls->spec.mask_hostnames;
	h = crc32(h, (const Bytef *)v, sizeof(v));
	h = hash_str(h, ls->spec.kind);
	h = hash_str(h, ls->spec.log_format);
	h = hash_str(h, ls->spec.regex);
	h = hash_str(h, ls->spec.time_key);
	h = hash_str(h, ls->spec.time_format);
	h = hash_str(h, ls->timezone);
	for (i = 0; i < ls->spec.nfields; i++)
		h = hash_str(h, ls->spec.fields[i]);
	ls->facts_key = (uint32_t)h;
}

static void
check_prefixes(struct parser *p, struct logset *ls, struct secinfo *si)
{
	if (GOOD(si, K_IPV4_PREFIX) && ls->prefix.v4 > 24)
		emit(p, si->keyline[K_IPV4_PREFIX], 1, "ipv4_prefix = %d "
		    "keeps more than a /24 of each address", ls->prefix.v4);
	if (GOOD(si, K_IPV6_PREFIX) && ls->prefix.v6 > 48)
		emit(p, si->keyline[K_IPV6_PREFIX], 1, "ipv6_prefix = %d "
		    "keeps more than a /48 of each address, often one "
		    "subscriber's whole allocation", ls->prefix.v6);
}

/* The zone for times without an offset, through the caller's loader. */
static int
load_zone(struct parser *p, struct logset *ls, struct secinfo *si)
{
	const char *err = "unknown";
	const char *name = ls->timezone;

	if (name == NULL)
		name = format_zone_default(ls->spec.kind);
	if (p->zone_fn == NULL) {
		/* Pure: UTC stands for every zone (unit tests, fuzzing). */
		ls->spec.zone = tz_utc();
		return 0;
	}
	if ((ls->zone = p->zone_fn(name, &err)) == NULL) {
		emit(p, keyline(ls, si, K_TIMEZONE, K_TIMEZONE), 0,
		    "timezone \"%s\": %s", log_esc(name), err);
		return -1;
	}
	ls->spec.zone = ls->zone;
	return 0;
}

/*
 * Column vcol (1-based) of key k's value, as a line and column of the
 * file: a log_format may go on over indented lines, joined by a blank.
 */
static void
value_pos(const struct parser *p, const struct secinfo *si, enum key_id k,
    int vcol, int *line, int *col)
{
	const char *s = p->text, *end = p->text + p->len, *nl;
	size_t at, n;
	int l = 1;

	*line = si->keyline[k];
	*col = 0;
	for (; l < *line && s < end; l++) {
		if ((nl = memchr(s, '\n', (size_t)(end - s))) == NULL)
			return;
		s = nl + 1;
	}
	at = si->valoff[k] + (size_t)vcol - 1;
	for (;;) {
		nl = memchr(s, '\n', (size_t)(end - s));
		n = nl != NULL ? (size_t)(nl - s) : (size_t)(end - s);
		if (at <= n || nl == NULL) {
			*line = l;
			*col = (int)at + 1;
			return;
		}
		at -= n + 1;		/* the blank that joined them */
		s = nl + 1;
		l++;
	}
}

static void
compile_format(struct parser *p, struct logset *ls, struct secinfo *si)
{
	const char *errstr = NULL;
	size_t i;
	int col = 0, line;

	if ((si->keyline[K_FORMAT] == 0) == (si->keyline[K_LOG_FORMAT] == 0) ||
	    (si->bad & (BIT(K_FORMAT) | BIT(K_LOG_FORMAT) | BIT(K_REGEX) |
	    BIT(K_ADDRESSES) | BIT(K_TIME_FORMAT) | BIT(K_TIMEZONE))))
		return;
	if (ls->spec.kind != NULL && ((strcmp(ls->spec.kind, "regex") == 0) !=
	    (ls->spec.regex != NULL) || (strcmp(ls->spec.kind, "json") == 0 &&
	    ls->spec.nfields == 0)))
		return;
	if (load_zone(p, ls, si) == -1)
		return;
	ls->spec.prefix = ls->prefix;
	if ((ls->format = format_new(&ls->spec, &errstr, &col)) != NULL) {
		for (i = 0; i < ls->format->nwarn; i++) {
			line = si->keyline[K_LOG_FORMAT] != 0 ?
			    si->keyline[K_LOG_FORMAT] : keyline(ls, si,
			    K_ADDRESSES, K_FORMAT);
			col = 0;
			if (ls->format->warn[i].col > 0 &&
			    si->keyline[K_LOG_FORMAT] != 0)
				value_pos(p, si, K_LOG_FORMAT,
				    ls->format->warn[i].col, &line, &col);
			emit_col(p, line, col, 1, "%s",
			    ls->format->warn[i].text);
		}
		return;
	}
	if (errstr == NULL)
		errstr = "unknown error";
	/* The time settings' own mistakes are theirs, whatever the format. */
	if (strstr(errstr, "time format") != NULL &&
	    si->keyline[K_TIME_FORMAT] != 0) {
		emit(p, si->keyline[K_TIME_FORMAT], 0, "time_format: %s",
		    log_esc(errstr));
		return;
	}
	if (si->keyline[K_LOG_FORMAT] != 0)
		line = si->keyline[K_LOG_FORMAT];
	else if (strcmp(ls->spec.kind, "regex") == 0)
		line = si->keyline[K_REGEX];
	else if (strstr(errstr, "time") != NULL &&
	    si->keyline[K_TIME_FORMAT] != 0)
		line = si->keyline[K_TIME_FORMAT];
	else
		line = keyline(ls, si, K_ADDRESSES, K_FORMAT);
	if (col > 0) {
		value_pos(p, si, si->keyline[K_LOG_FORMAT] != 0 ?
		    K_LOG_FORMAT : K_REGEX, col, &line, &col);
		emit_col(p, line, col, 0, "%s: %s", si->keyline[K_LOG_FORMAT] ?
		    "log_format" : "bad regex", log_esc(errstr));
	}
	else if (si->keyline[K_LOG_FORMAT] != 0)
		emit(p, line, 0, "log_format: %s", log_esc(errstr));
	else if (strcmp(ls->spec.kind, "regex") == 0)
		emit(p, line, 0, "bad regex: %s", log_esc(errstr));
	else
		emit(p, line, 0, "format = %s: %s", ls->spec.kind,
		    log_esc(errstr));
}

static int
globs_overlap(const char *a, const char *b)
{
	int fl = FNM_PATHNAME | FNM_PERIOD;

	return strcmp(a, b) == 0 || fnmatch(a, b, fl) == 0 ||
	    fnmatch(b, a, fl) == 0;
}

static void
check_overlaps(struct parser *p)
{
	struct logset *a, *b;
	size_t i, j, x, y;

	for (j = 1; j < p->conf->nsets; j++) {
		b = &p->conf->sets[j];
		for (i = 0; i < j; i++) {
			a = &p->conf->sets[i];
			for (y = 0; y < b->nglobs; y++)
				for (x = 0; x < a->nglobs; x++) {
					if (!globs_overlap(a->globs[x],
					    b->globs[y]))
						continue;
					emit(p, p->info[j].globline[y], 0,
					    "logs \"%s\" in [%s] overlaps "
					    "\"%s\" in [%s] (line %d)",
					    log_esc(b->globs[y]), b->name,
					    log_esc(a->globs[x]), a->name,
					    p->info[i].globline[x]);
				}
		}
	}
}

static void
check_all(struct parser *p)
{
	struct logset *ls;
	size_t i;

	for (i = 0; i < p->conf->nsets; i++) {
		ls = &p->conf->sets[i];
		check_required(p, ls, &p->info[i]);
		check_rotate(p, ls, &p->info[i]);
		check_times(p, ls, &p->info[i]);
		check_prefixes(p, ls, &p->info[i]);
		check_stream(p, ls, &p->info[i]);
		compile_format(p, ls, &p->info[i]);
		facts_key(ls);
	}
	check_overlaps(p);
	check_mirrors(p);
	if (p->conf->nsets == 0)
		emit(p, 1, 0, "no log sets: add a section such as [nginx] "
		    "with logs and format");
}

/*
 * Each set with a mirror gets a set of its own for the mirror files,
 * named "NAME.mirror": its globs are the mirror template with %n the
 * live globs' names, its lines read as the set's, compressed as the
 * set's files are and deleted after mirror_retain.  lethe writes its
 * live files, so it never rotates or reopens them, and never masks them
 * (their addresses were transformed as they were written).
 */
static char *
dupstr(const char *s)
{
	return s != NULL ? xstrdup(s) : NULL;
}

static void
derive_mirror(struct parser *p, struct logset *src, struct logset *ms)
{
	const char *errstr = NULL, *err = "unknown", *base, *n;
	char name[256];
	size_t i;
	int col;

	memset(ms, 0, sizeof(*ms));
	snprintf(name, sizeof(name), "%s.mirror", src->name);
	ms->name = xstrdup(name);
	ms->line = src->line;
	ms->globs = xreallocarray(NULL, src->nglobs + 1, sizeof(*ms->globs));
	n = strstr(src->mirror, "%n");
	for (i = 0; i < src->nglobs; i++) {
		base = strrchr(src->globs[i], '/') + 1;
		xasprintf(&ms->globs[i], "%.*s%s%s", (int)(n - src->mirror),
		    src->mirror, base, n + 2);
	}
	ms->nglobs = src->nglobs;
	ms->spec.kind = dupstr(src->spec.kind);
	ms->spec.log_format = dupstr(src->spec.log_format);
	ms->spec.regex = dupstr(src->spec.regex);
	ms->spec.time_key = dupstr(src->spec.time_key);
	ms->spec.time_format = dupstr(src->spec.time_format);
	ms->spec.mask_hostnames = src->spec.mask_hostnames;
	ms->spec.pseudonyms = src->transform == TRANSFORM_PSEUDONYM;
	ms->spec.fields = xreallocarray(NULL, src->spec.nfields + 1,
	    sizeof(*ms->spec.fields));
	for (i = 0; i < src->spec.nfields; i++)
		ms->spec.fields[i] = xstrdup(src->spec.fields[i]);
	ms->spec.nfields = src->spec.nfields;
	ms->timezone = dupstr(src->timezone);
	ms->prefix = ms->spec.prefix = src->prefix;
	if (p->zone_fn == NULL)
		ms->spec.zone = tz_utc();
	else if ((ms->zone = p->zone_fn(ms->timezone != NULL ? ms->timezone :
	    format_zone_default(ms->spec.kind), &err)) != NULL)
		ms->spec.zone = ms->zone;
	if (ms->spec.zone == NULL || (ms->format = format_new(&ms->spec,
	    &errstr, &col)) == NULL)
		emit(p, src->line, 0, "[%s]: the mirror's format: %s",
		    src->name, ms->spec.zone == NULL ? err : errstr);
	ms->window = src->window;
	ms->rotate = ROTATE_OFF;
	ms->reopen = REOPEN_NONE;
	ms->compress_after = src->compress_after;
	ms->mask_early = src->mask_early;
	ms->retain = src->mirror_retain;
	ms->settle = src->settle;
	ms->hold_max = src->hold_max;
	ms->mirror_retain = src->mirror_retain;
	ms->transform = src->transform;
	ms->pseudonym_prefix = src->pseudonym_prefix;
	ms->mirror_of = src;
	src->mirror_set = ms;
	facts_key(ms);
	if (ms->spec.pseudonyms)
		ms->facts_key ^= 0x9e3779b9U;	/* read otherwise */
}

static void
derive_mirrors(struct parser *p)
{
	struct config *c = p->conf;
	size_t i, j, n = c->nsets, m = 0;
	char name[256];

	for (i = 0; i < n; i++) {
		if (c->sets[i].mirror == NULL)
			continue;
		snprintf(name, sizeof(name), "%s.mirror", c->sets[i].name);
		for (j = 0; j < n; j++)
			if (strcmp(c->sets[j].name, name) == 0)
				emit(p, c->sets[j].line, 0, "[%s] is the name of "
				    "[%s]'s mirror: name this set otherwise",
				    name, c->sets[i].name);
		m++;
	}
	if (m == 0 || p->nerrors > 0)
		return;
	/* Once, so that the sets' pointers to each other stay good. */
	c->sets = xreallocarray(c->sets, n + m, sizeof(*c->sets));
	for (i = 0; i < n; i++)
		if (c->sets[i].mirror != NULL)
			derive_mirror(p, &c->sets[i], &c->sets[c->nsets++]);
}

struct config *
config_parse(const char *path, const char *text, size_t len,
    struct config_msgs *msgs, config_zone_fn zone_fn)
{
	struct parser p;
	struct config *conf;
	const char *nl;
	size_t i, off, n;

	memset(&p, 0, sizeof(p));
	p.zone_fn = zone_fn;
	p.text = text;
	p.len = len;
	p.path = path != NULL ? path : "-";
	p.conf = conf = xcalloc(1, sizeof(*conf));
	conf->path = xstrdup(p.path);
	conf->state_dir = xstrdup("/var/lib/lethe");
	conf->sweep = MINUTE;
	for (off = 0; off < len; off += n + 1) {
		p.line++;
		nl = memchr(text + off, '\n', len - off);
		n = nl != NULL ? (size_t)(nl - (text + off)) : len - off;
		if (is_log_format(text + off, n))
			n = continued(&p, text, len, off, n);
		else
			parse_line(&p, text + off, n);
	}
	check_all(&p);
	n = conf->nsets;
	derive_mirrors(&p);
	for (i = 0; i < n; i++)
		free(p.info[i].globline);
	free(p.info);
	if (p.nerrors > 0) {
		config_free(conf);
		conf = NULL;
	}
	msgs_flush(&p, msgs);
	return conf;
}

static void
logset_release(struct logset *ls)
{
	size_t i;

	free(ls->name);
	for (i = 0; i < ls->nglobs; i++)
		free(ls->globs[i]);
	free(ls->globs);
	free(ls->spec.kind);
	free(ls->spec.log_format);
	free(ls->spec.regex);
	free(ls->spec.time_key);
	free(ls->spec.time_format);
	for (i = 0; i < ls->spec.nfields; i++)
		free(ls->spec.fields[i]);
	free(ls->spec.fields);
	free(ls->timezone);
	format_free(ls->format);
	tz_free(ls->zone);
	free(ls->reopen_pidfile);
	free(ls->mirror);
	free(ls->forward);
	free(ls->forward_host);
	free(ls->forward_port);
	free(ls->forward_path);
	free(ls->forward_tls_ca);
	free(ls->forward_tls_cert);
	free(ls->forward_tls_key);
	free_argv(ls->reopen_argv);
}

void
config_free(struct config *conf)
{
	size_t i;

	if (conf == NULL)
		return;
	for (i = 0; i < conf->nsets; i++)
		logset_release(&conf->sets[i]);
	free(conf->sets);
	free(conf->path);
	free(conf->state_dir);
	free(conf->metrics_file);
	free(conf);
}

const char *
config_fmt_duration(int64_t v, char *buf, size_t sz)
{
	static const struct {
		int64_t	 secs;
		char	 unit;
	} units[] = { { DAY, 'd' }, { HOUR, 'h' }, { MINUTE, 'm' }, { 1, 's' } };
	size_t i, n = 0;

	if (v <= 0) {
		(void)snprintf(buf, sz, "%llds", (long long)v);
		return buf;
	}
	buf[0] = '\0';
	for (i = 0; i < sizeof(units) / sizeof(units[0]) && v > 0; i++) {
		if (v < units[i].secs)
			continue;
		n += (size_t)snprintf(buf + n, n < sz ? sz - n : 0, "%lld%c",
		    (long long)(v / units[i].secs), units[i].unit);
		v %= units[i].secs;
	}
	return buf;
}
