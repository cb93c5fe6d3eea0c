/*
 * lethe: keep web server access logs useful for security while full client
 * addresses are kept only for a window.  Shared structs and prototypes,
 * grouped by the file that defines them.
 */
#ifndef LETHE_H
#define LETHE_H

#include <sys/types.h>
#include <sys/stat.h>

#include <dirent.h>
#include <stddef.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdio.h>

#define LETHE_VERSION	"0.1.0"
#ifndef LETHE_CONF
#define LETHE_CONF	"/etc/lethe/lethe.conf"
#endif

#define UNUSED		__attribute__((__unused__))
#define PRINTFLIKE(a, b) __attribute__((__format__(__printf__, a, b)))
#define NORETURN	__attribute__((__noreturn__))

#define TIME_NONE	INT64_MIN	/* no time known */

/* log.c */
void		 log_init(int verbose);
void		 log_warn(const char *, ...) PRINTFLIKE(1, 2);
void		 log_warnx(const char *, ...) PRINTFLIKE(1, 2);
void		 log_info(const char *, ...) PRINTFLIKE(1, 2);
void		 log_debug(const char *, ...) PRINTFLIKE(1, 2);
void		 fatal(const char *, ...) PRINTFLIKE(1, 2) NORETURN;
void		 fatalx(const char *, ...) PRINTFLIKE(1, 2) NORETURN;
/*
 * Escape untrusted bytes (file names, config text) for our log: printable
 * ASCII stays, everything else becomes \ooo.  Returns one of a few static
 * buffers, valid until the fourth next call.
 */
const char	*log_esc(const char *);

/* xmalloc.c */
void		*xmalloc(size_t);
void		*xcalloc(size_t, size_t);
void		*xreallocarray(void *, size_t, size_t);
char		*xstrdup(const char *);
char		*xstrndup(const char *, size_t);
int		 xasprintf(char **, const char *, ...) PRINTFLIKE(2, 3);

/* compat.c */
#if !defined(__GLIBC__) || !__GLIBC_PREREQ(2, 38)
size_t		 strlcpy(char *, const char *, size_t);
size_t		 strlcat(char *, const char *, size_t);
#endif
long long	 strtonum(const char *, long long, long long, const char **);

/* tz.c: time zones, pure (no filesystem, no clock) */
struct tz;

/* A static UTC zone, never freed. */
const struct tz	*tz_utc(void);
/*
 * Parse TZif bytes (RFC 8536, versions 1 to 4; the 64-bit data of
 * version 2 and later, and its footer TZ string for the times after the
 * last transition).  name is copied, for messages and tz_name.  Returns
 * the zone (tz_free), or NULL and *errstr (valid until the next call in
 * this thread).
 */
struct tz	*tz_from_tzif(const char *name, const unsigned char *buf,
		    size_t len, const char **errstr);
/*
 * Parse a POSIX TZ string: "UTC0", "EST5EDT" (US rules when none given),
 * "CET-1CEST,M3.5.0,M10.5.0/3", "<+0530>-5:30", Jn and n dates, rule
 * hours -167..167 (RFC 8536).  NULL and *errstr as tz_from_tzif.
 */
struct tz	*tz_from_posix(const char *spec, const char **errstr);
/* tz_free(NULL) and tz_free(tz_utc()) do nothing. */
void		 tz_free(struct tz *);
const char	*tz_name(const struct tz *);
/* Seconds east of UTC in force at UTC time t (years 1..9999). */
int		 tz_offset(const struct tz *, int64_t t);
/*
 * A wall-clock time of the zone, as seconds since 1970-01-01T00:00 of that
 * clock, to UTC.  In a gap (spring forward) the offset before the gap
 * applies, so the result lies after it; in an overlap (fall back), the
 * earlier instant: Python zoneinfo's fold=0, and glibc mktime's with
 * tm_isdst -1 but in a gap that leaves DST for standard time (negative
 * DST, Europe/Dublin), where glibc takes the offset after the gap.
 */
int64_t		 tz_local_to_utc(const struct tz *, int64_t local);
/* Days since 1970-01-01 of a proleptic Gregorian date. */
int64_t		 tz_days_from_civil(int64_t y, int m, int d);
/* The Gregorian year of UTC time t. */
int64_t		 tz_year_of(int64_t t);

/* tzload.c */
/*
 * "UTC", "Etc/UTC", "Z": tz_utc().  "local": $TZ when set (":PATH", a
 * zone name or a POSIX string), else /etc/localtime, else UTC.  Else a
 * zone name under /usr/share/zoneinfo (no "..", no absolute path, no
 * empty component; at most 1 MiB).  NULL and *errstr on failure.
 */
struct tz	*tz_load(const char *name, const char **errstr);

/* time.c: timestamps, pure */
enum time_form {
	TIME_AUTO,
	TIME_CLF,		/* 10/Oct/2000:13:55:36 -0700 */
	TIME_CLF_MS,		/* 06/Feb/2009:12:14:14.655, zone optional */
	TIME_ISO8601,		/* 2026-11-29T04:00:00Z */
	TIME_EPOCH,		/* 1764388800[.123] */
	TIME_EPOCH_MS,
	TIME_EPOCH_US,
	TIME_EPOCH_NS,
	TIME_SYSLOG,		/* Nov 29 05:47:57 */
	TIME_CTIME,		/* Sun Nov 29 05:47:57 2026 */
	TIME_STRPTIME,		/* a pattern */
};

struct timefmt;

/*
 * Compile a time format: spec NULL or "auto" (every form), "clf",
 * "clf_ms", "iso8601", "epoch", "epoch_ms", "epoch_us", "epoch_ns",
 * "syslog", "ctime", or a strptime pattern (any spec with a '%').  zone
 * (never NULL; tz_utc() or a loaded zone) applies to times that carry no
 * offset; the format keeps the pointer and does not own it.  NULL and
 * *errstr (valid until the next call in this thread) on error.
 */
struct timefmt	*time_new(const char *spec, const struct tz *zone,
		    const char **errstr);
void		 time_free(struct timefmt *);
/*
 * Parse s[0..len): returns 0 and *t (UTC seconds, fraction dropped
 * toward minus infinity), or -1.  ref (UTC) gives the year of forms
 * without one: the latest year that puts the result no more than 31 days
 * after ref.  Blanks around, and one pair of [ ] around, are ignored.
 * Allocation-free; many threads may share one format.
 */
int		 time_parse(const struct timefmt *, const char *s, size_t len,
		    int64_t ref, int64_t *t);
/* The same, auto-detecting, with offset-less times in zone. */
int		 time_parse_auto(const char *s, size_t len,
		    const struct tz *zone, int64_t ref, int64_t *t);

/* addr.c */
#define ADDR_OUT_MAX	128	/* enough for any masked span addr_mask writes */
#define ADDR_ZONE_MAX	32	/* longest zone id (after '%') accepted */

struct addr_prefix {
	int		 v4;	/* bits kept of an IPv4 address, 0..32 */
	int		 v6;	/* bits kept of an IPv6 address, 0..128 */
};

/*
 * Parse s[0..len) as exactly one address: IPv4 dotted quad; IPv6 in any
 * textual form (compressed, full, leading zeros, upper case, embedded
 * IPv4, zone "%eth0"); either optionally with a port ("192.0.2.7:5678",
 * "[2001:db8::1]:443") or in brackets without one ("[2001:db8::1]").
 * On success writes the masked form to out (outsz >= ADDR_OUT_MAX): host
 * bits zero, IPv6 in RFC 5952 form, IPv4-mapped (::ffff:a.b.c.d) masked
 * with the IPv4 prefix and written ::ffff:a.b.c.d, brackets, zone and
 * port kept as they were.  Sets *outlen, sets *full to 1 when the address
 * had host bits set past the prefix (0 when it was already masked), and
 * returns 0.  Returns -1, out untouched, when s is not an address ("-",
 * "unknown", a host name, a version string).  Idempotent: masking its own
 * output gives the same output with *full == 0.
 */
int		 addr_mask(const char *s, size_t len, const struct addr_prefix *,
		    char *out, size_t outsz, size_t *outlen, int *full);
/*
 * The value of the address s[0..len) (any form addr_mask takes; port,
 * zone and brackets dropped) as 16 bytes, IPv4 as ::ffff:a.b.c.d so
 * that both spellings of one address are one value.  0, or -1.
 */
int		 addr_value(const char *s, size_t len, uint8_t v[16]);
int		 addr_is_v4(const uint8_t v[16]);
#define ADDR_TEXT_MAX	48	/* addr_text's output, NUL included */
/*
 * The text of the 16-byte form v as draft-denis-ipcrypt (3.2) writes
 * it: a dotted quad when v is IPv4-mapped (::ffff:a.b.c.d), else RFC
 * 5952.  NUL terminated in out (ADDR_TEXT_MAX bytes); returns its length.
 */
size_t		 addr_text(const uint8_t v[16], char *out);
/*
 * s[0..len) (any form addr_mask takes) with its address replaced by the
 * one of v, written as addr_text does: the port kept; brackets and zone
 * kept when v is IPv6 (brackets added when there is a port), dropped
 * when v is IPv4.  Into out (outsz >= ADDR_OUT_MAX, not NUL terminated),
 * *outlen; 0, or -1 when s is not an address.
 */
int		 addr_replace(const char *s, size_t len, const uint8_t v[16],
		    char *out, size_t outsz, size_t *outlen);

/* A network of the 16-byte form: v with bits past `bits` zero. */
struct addr_net {
	uint8_t		 v[16];
	int		 bits;		/* 0..128; IPv4 /N is 96 + N */
};

/* "ADDR" (a /128, or /32 for IPv4) or "ADDR/N"; 0, or -1. */
int		 addr_net_parse(const char *, struct addr_net *);
int		 addr_net_has(const struct addr_net *, const uint8_t v[16]);
/* The bits a set keeps of v (its prefix, in the 16-byte form). */
int		 addr_prefix_bits(const struct addr_prefix *,
		    const uint8_t v[16]);
void		 addr_net_clear(uint8_t v[16], int bits);

/* pseudo.c: ipcrypt pseudonyms of addresses (draft-denis-ipcrypt, pure) */
#define PSEUDO_KEY_LEN	32	/* a day key: ipcrypt-pfx's two AES-128
				   keys; ipcrypt-deterministic takes the
				   first 16 bytes */
#define PSEUDO_DAY	86400

struct pseudo;

/* The UTC day (days since 1970-01-01) of time t. */
int64_t		 pseudo_day(int64_t t);
/*
 * The expanded key (wiped by pseudo_free): prefix, ipcrypt-pfx (all 32
 * bytes); else ipcrypt-deterministic (the first 16).  NULL when the two
 * halves of a pfx key are equal (the pseudonym would be the address).
 */
struct pseudo	*pseudo_new(int prefix, const uint8_t key[PSEUDO_KEY_LEN]);
void		 pseudo_free(struct pseudo *);
/* The pseudonym of the 16-byte form in (in and out may be one buffer);
   addr_text writes it as the spec does. */
void		 pseudo_encrypt(const struct pseudo *, const uint8_t in[16],
		    uint8_t out[16]);
/* The address a pseudonym stands for. */
void		 pseudo_decrypt(const struct pseudo *, const uint8_t in[16],
		    uint8_t out[16]);

/* field.c: the addresses in a field's value, and in free text (pure) */
#define FIELDS_MAX	32	/* address fields of a format, a bit each */
#define FIELD_FREE	255	/* a span the free scan found */

enum span_flags {
	SPAN_FULL	= 1 << 0,	/* host bits set past the prefix */
};

/* line[off, off + len) is an address, masked: text[moff, moff + mlen). */
struct span {
	uint32_t	 off;
	uint32_t	 len;
	uint32_t	 moff;
	uint16_t	 mlen;
	uint8_t		 field;		/* address field, or FIELD_FREE */
	uint8_t		 flags;		/* enum span_flags */
};

/* The spans of one line, in increasing offset order, never overlapping,
   and their masked forms; reused from line to line. */
struct spans {
	struct span	*v;
	size_t		 n;
	size_t		 cap;
	char		*text;
	size_t		 tlen;
	size_t		 tcap;
};

struct field_opts {
	struct addr_prefix prefix;
	int		 mask_hostnames;
};

/* What a field's value held. */
struct field_tally {
	uint32_t	 addrs;		/* addresses */
	uint32_t	 bad;		/* elements of no kind it may hold */
};

void		 spans_reset(struct spans *);
void		 spans_release(struct spans *);
/* Append a span (masked form m); -1 when it overlaps the one before. */
int		 spans_add(struct spans *, uint32_t off, uint32_t len,
		    const char *m, size_t mlen, unsigned field, int flags);
/*
 * The addresses of a field's value s[0..len), whose byte i is at line
 * offset map[i] (map NULL: base + i; with a map, map[len] is the offset
 * past its end).  list: elements split on ',', ';' and blanks; else the
 * value is one element.  Decorations around an address are kept (quotes,
 * \x22, \", parentheses, brackets, for=/by=, /N, port, zone, CR).  An
 * element that is not an address, "-", "unknown", empty, "_obfuscated"
 * or a host name counts in t->bad.  With mask_hostnames, an address
 * inside a host name (ec2-203-0-113-7.example.com) is a span too.
 */
void		 field_value(const struct field_opts *, const char *s,
		    size_t len, const uint32_t *map, uint32_t base,
		    unsigned field, int list, struct spans *,
		    struct field_tally *t);
/* Every address-like token of line[off, end) whose neighbours allow it
   (not a product/version token); returns how many spans it added. */
size_t		 field_free(const struct field_opts *, const char *line,
		    size_t off, size_t end, struct spans *);
/* The same, with line[lo, off) as what stands before (a window's
   context). */
size_t		 field_free_ctx(const struct field_opts *, const char *line,
		    size_t lo, size_t off, size_t end, struct spans *);

/* logfmt.c: the server's own format string, compiled (pure) */
enum tpl_class {
	TC_TOKEN,		/* no blank, no quote */
	TC_FREE,		/* anything but a raw quote (client text) */
	TC_CLF,			/* 10/Oct/2000:13:55:36 -0700, 26 bytes */
	TC_ISO,			/* 2026-11-29T04:00:00+00:00, 25 bytes */
	TC_TIMEPAT,		/* a strftime pattern's output */
};

enum tpl_role {
	TR_OTHER,
	TR_ADDR,		/* one address (or host name) */
	TR_LIST,		/* a list of them (X-Forwarded-For) */
	TR_TIME,
};

enum tpl_esc {
	TE_NGINX,		/* escape=default: " \ and others as \xHH */
	TE_JSON,		/* escape=json: \" \\ */
	TE_NONE,		/* escape=none: anything goes */
	TE_APACHE,		/* \" \\ and \xhh */
};

enum tpl_syntax {
	TS_GUESS,
	TS_NGINX,
	TS_APACHE,
};

struct tpl_item {
	int		 lit;		/* 1: literal text */
	char		*text;		/* the text, or the field's name */
	size_t		 len;
	char		*orig;		/* as written: $remote_addr, %>s */
	int		 col;		/* its column in the string */
	int		 cls;		/* enum tpl_class */
	int		 role;		/* enum tpl_role */
	int		 quoted;	/* between two literal quotes */
	int		 unknown;	/* a variable lethe does not know */
	int		 named;		/* named by "addresses" */
	char		*time;		/* TR_TIME: its time_format */
};

struct tpl {
	struct tpl_item	*v;
	size_t		 n;
	int		 esc;		/* enum tpl_esc */
	int		 syntax;	/* enum tpl_syntax */
};

/* Compile a log_format value; -1 with *errstr and *col (1-based, 0:
   none) on what it cannot use. */
int		 logfmt_parse(const char *, struct tpl *, const char **errstr,
		    int *col);
void		 logfmt_release(struct tpl *);

/* format.c, format_*.c: log formats behind one ops table */
enum scan_bad {
	SCAN_OK,
	SCAN_NOMATCH,		/* the line does not fit the format */
	SCAN_BADADDR,		/* an address field holds something else */
	SCAN_NOTIME,		/* it has no time (or one that does not parse) */
	SCAN_LONG,		/* longer than a line is read whole */
};

/* One line as a format reads it. */
struct scan {
	struct spans	 spans;
	int64_t		 time;		/* TIME_NONE: none */
	int		 bad;		/* enum scan_bad */
	uint32_t	 fields;	/* a bit per field that held an address */
};

/* How a set's lines are written: the config's keys. */
struct format_spec {
	char		*kind;		/* a format name; NULL with log_format */
	char		*log_format;	/* the server's own format string */
	char		*regex;
	char	       **fields;	/* "addresses" */
	size_t		 nfields;
	char		*time_key;
	char		*time_format;
	const struct tz	*zone;		/* times without an offset; not owned */
	struct addr_prefix prefix;
	int		 mask_hostnames;
	int		 pseudonyms;	/* the addresses are pseudonyms (a
					   mirror's): none counts as full */
};

struct format;

struct format_ops {
	const char	*name;
	/* Compile f->spec into f->priv; -1 with *errstr (and f->errcol). */
	int		(*compile)(struct format *, const char **errstr);
	/* One line (no newline); sc reset by the caller.  ref: a time near
	   the line's, for forms without a year. */
	void		(*scan)(struct format *, void *state, const char *line,
			    size_t len, int64_t ref, struct scan *sc);
	/* Per-file state (w3c's #Fields:), or NULL where there is none. */
	void	       *(*state_new)(const struct format *);
	void		(*state_free)(void *);
	void		(*release)(struct format *);
	/* A state copied into another of the same format (where the
	   lines that change it start with mark), or NULL: not copied. */
	void		(*state_copy)(void *dst, const void *src);
	char		 state_mark;
};

#define FORMAT_WARN_MAX	4

struct format {
	const struct format_ops *ops;
	struct format_spec spec;	/* a copy, owned */
	struct field_opts fo;
	struct timefmt	*tf;		/* time_format, or auto */
	char		*names[FIELDS_MAX]; /* the address fields, by bit */
	size_t		 nnames;
	int		 errcol;	/* of a compile error in log_format */
	struct {
		char	*text;		/* for check: what the format cannot
					   know (an unknown variable) */
		int	 col;		/* in log_format, 0: none */
	}		 warn[FORMAT_WARN_MAX];
	size_t		 nwarn;
	void		*priv;		/* the family's own */
};
/* For the families: a warning for check (at most FORMAT_WARN_MAX). */
void		 format_warn(struct format *, int col, const char *, ...)
		    PRINTFLIKE(3, 4);

/* The log_format string of a named access format, or NULL. */
const char	*format_builtin(const char *name);
/* The format names (combined, ..., w3c) as "a, b or c", for messages. */
const char	*format_names(void);
int		 format_known(const char *name);
/* The i-th format name, or NULL past the last. */
const char	*format_kind(size_t i);
const char	*format_zone_default(const char *kind);
/* Compile; NULL with *errstr (static, until the next call) and *col. */
struct format	*format_new(const struct format_spec *, const char **errstr,
		    int *col);
void		 format_free(struct format *);
/* A fresh copy, with its own scratch (for another thread). */
struct format	*format_clone(const struct format *);
void		*format_state_new(const struct format *);
void		 format_state_free(const struct format *, void *);
/* Lines change how later ones read (w3c's #Fields): one reader only,
   unless the state can be copied to where a chunk starts. */
int		 format_has_state(const struct format *);
int		 format_state_copyable(const struct format *);
/* The mark that starts every line that may change the state. */
char		 format_state_mark(const struct format *);
void		 format_state_copy(const struct format *, void *dst,
		    const void *src);
/* One line: sc's spans, time and verdict. */
void		 format_scan(struct format *, void *state, const char *line,
		    size_t len, int64_t ref, struct scan *sc);
/* For the families: a field's value into sc (an address field, bit i). */
void		 format_field(struct format *, struct scan *, const char *line,
		    size_t off, size_t end, unsigned field, int list);
void		 format_field_mapped(struct format *, struct scan *,
		    const char *s, size_t len, const uint32_t *map,
		    unsigned field, int list);
/* A time in the set's time_format (or any form); 0, or -1. */
int		 format_time(const struct format *, const char *s, size_t len,
		    int64_t ref, int64_t *t);
/* Register an address field name; its bit, or -1 when there are many. */
int		 format_add_name(struct format *, const char *name);
/*
 * Parse a timestamp in any form lethe knows, offset-less ones as UTC:
 * for --now and such.  0 and *t, or -1.
 */
int		 format_parse_time(const char *s, size_t len, int64_t *t);
void		 scan_release(struct scan *);

extern const struct format_ops format_clf_ops;	/* log_format, combined,
						   common, main, vhost_combined */
extern const struct format_ops format_json_ops;
extern const struct format_ops format_regex_ops;
extern const struct format_ops format_error_ops; /* nginx_error,
						   apache_error */
extern const struct format_ops format_w3c_ops;

/* config.c */
enum rotate_kind {
	ROTATE_UNSET = -1,	/* while parsing: the default is decided last */
	ROTATE_OFF,
	ROTATE_INTERVAL,	/* rotate_every seconds, aligned to the clock */
	ROTATE_DAILY,		/* local midnight */
	ROTATE_SIZE,		/* rotate_size bytes */
};

enum forward_kind {
	FORWARD_NONE,
	FORWARD_RELP,		/* relp://HOST:PORT, acknowledged (librelp) */
	FORWARD_TCP,		/* tcp://HOST:PORT, RFC 6587 octet counting */
	FORWARD_UNIX,		/* unix:PATH, a stream socket, the same framing */
};

enum transform_kind {
	TRANSFORM_TRUNCATE,	/* the set's prefixes, at once */
	TRANSFORM_PSEUDONYM,	/* ipcrypt under the day's key */
};

enum reopen_kind {
	REOPEN_NONE,
	REOPEN_SIGNAL,		/* reopen_signal to the pid in reopen_pidfile */
	REOPEN_COMMAND,		/* run reopen_argv, no shell */
};

struct logset {
	char		*name;		/* the section name */
	int		 line;		/* line of the section header */
	char	       **globs;
	size_t		 nglobs;
	struct format_spec spec;	/* format, log_format, addresses, ... */
	char		*timezone;	/* as given ("local" when not) */
	struct tz	*zone;		/* loaded by config's zone callback */
	struct format	*format;	/* compiled */
	int64_t		 window;	/* seconds */
	struct addr_prefix prefix;
	enum rotate_kind rotate;
	int64_t		 rotate_every;	/* ROTATE_INTERVAL: seconds */
	int64_t		 rotate_size;	/* ROTATE_SIZE: bytes */
	enum reopen_kind reopen;
	int		 reopen_signal;
	char		*reopen_pidfile;
	char	       **reopen_argv;	/* NULL terminated */
	int64_t		 compress_after; /* seconds, -1 off */
	int64_t		 mask_early;	/* seconds */
	int64_t		 retain;	/* seconds */
	int64_t		 settle;	/* seconds */
	int64_t		 hold_max;	/* the longest hold, seconds */
	char		*mirror;	/* a path template with %n, or NULL */
	int64_t		 mirror_retain;	/* seconds (default: retain) */
	enum transform_kind transform;	/* of the mirror and the stream */
	int		 pseudonym_prefix; /* ipcrypt-pfx: prefixes survive */
	char		*forward;	/* as given, or NULL */
	enum forward_kind forward_kind;
	char		*forward_host;	/* relp, tcp */
	char		*forward_port;
	char		*forward_path;	/* unix */
	int64_t		 forward_max_lag; /* seconds: older is dropped */
	char		*forward_tls_ca;	/* relp over TLS, or NULL */
	char		*forward_tls_cert;
	char		*forward_tls_key;
	struct logset	*mirror_set;	/* the set of this one's mirrors */
	struct logset	*mirror_of;	/* a mirror set: whose it is */
	const struct holds *holds;	/* not the config's: the holds in
					   force, attached by the command */
	uint32_t	 facts_key;	/* a hash of what decides how lines are
					   read: facts read under another key
					   are read again */
};

struct config {
	char		*path;
	char		*state_dir;
	int64_t		 sweep;		/* seconds */
	char		*metrics_file;	/* Prometheus textfile, or NULL */
	int		 threads;	/* of a rewrite; 0: auto, the cores */
	struct logset	*sets;
	size_t		 nsets;
};

/* Messages of a config parse: every "file:line: message", in order. */
struct config_msgs {
	char	       **v;
	size_t		 n;
	size_t		 nerrors;
	size_t		 nwarnings;
};

/*
 * Parse and validate config text (the file's contents, read by the
 * caller; path is used in messages).  Every error and warning goes to
 * msgs as "path:line: message" ("path:line: warning: message").  Returns
 * the config, or NULL when there was any error.
 */
/* Load a time zone by name ("local", "UTC", "Europe/Berlin"): the zone
   (owned by the config from then on), or NULL and *err. */
typedef struct tz *(*config_zone_fn)(const char *name, const char **err);

struct config	*config_parse(const char *path, const char *text, size_t len,
		    struct config_msgs *msgs, config_zone_fn zone_fn);
void		 config_free(struct config *);
void		 config_msgs_release(struct config_msgs *);
/* "90d", "1h30m", "45" (seconds): returns 0 and *v in seconds, or -1. */
int		 config_parse_duration(const char *, int64_t *v);
/* 604800 as "7d", 5400 as "1h30m", as the config writes durations. */
const char	*config_fmt_duration(int64_t, char *buf, size_t sz);
/* "500M", "1G", "4096": returns 0 and *v in bytes, or -1. */
int		 config_parse_size(const char *, int64_t *v);

/* policy.c */
enum policy_action {
	ACT_MASK	= 1 << 0,	/* rewrite with lines masked */
	ACT_COMPRESS	= 1 << 1,	/* write as gzip */
	ACT_DELETE	= 1 << 2,
	ACT_ROTATE	= 1 << 3,	/* live file: rotate it early */
	ACT_WARN_LIVE	= 1 << 4,	/* live file past the window, may not rotate */
};

/* What we know of one file, from a scan (or the catalog). */
struct file_facts {
	int		 live;		/* the file a server writes to */
	int		 gzip;		/* content is gzip */
	int64_t		 first_time;	/* TIME_NONE when no line has a time */
	int64_t		 last_time;
	int64_t		 oldest_full;	/* time of the oldest line with a
					   full address; TIME_NONE: none */
	int		 damaged;	/* could not be read whole: left */
};

struct policy_plan {
	int		 actions;	/* enum policy_action */
	int64_t		 mask_before;	/* ACT_MASK: mask lines older */
	int64_t		 next_due;	/* next time something is due,
					   INT64_MAX: never */
};

/*
 * lead: how long before a line's full address reaches the window its
 * mask may start (at most mask_early; lifecycle_lead).
 */
void		 policy_plan(const struct logset *, const struct file_facts *,
		    int64_t now, int64_t lead, struct policy_plan *);
/* "mask compress" and so on, for messages; static buffer. */
const char	*policy_actions_str(int actions);

/* fault.c: the test seam (make fault); FAULT(op) is 0 in a normal build */
enum fault_op {
	FOP_OPEN,
	FOP_READ,
	FOP_WRITE,
	FOP_FSYNC,
	FOP_RENAME,
	FOP_UNLINK,
	FOP_LINK,
	FOP_CLOSE,
	FOP_STAT,
	FOP_DIR,
	FOP_ATTR,
	FOP_LOCK,
	FOP_ANY,		/* not a call: all of them counted together */
};

#ifdef LETHE_FAULT_SEAM
/* Count a call of op; 1 (errno set) when it is to fail.  May pause. */
int		 fault_hit(int op);
/* The writer check's answer forced by LETHE_FAULT_WRITER, or -2. */
int		 fault_writer(void);
#define FAULT(op)	fault_hit(op)
#else
#define FAULT(op)	0
#define fault_writer()	(-2)
#endif

/* fsio.c: every filesystem call of lethe goes through here */
#define FSIO_TMP_TAG	".lethe-"	/* temp files: ".NAME.lethe-XXXXXX" */

struct statfs;

ssize_t		 fsio_read(int fd, void *, size_t);
ssize_t		 fsio_pread(int fd, void *, size_t, off_t);
int		 fsio_write_all(int fd, const void *, size_t);
int		 fsio_fsync(int fd);
int		 fsio_close(int fd);
int		 fsio_fstat(int fd, struct stat *);
/* lstat of dfd/name: never follows a symbolic link */
int		 fsio_fstatat(int dfd, const char *name, struct stat *);
/* stat of dfd/name, following links (/proc/PID/fd/N only) */
int		 fsio_statat(int dfd, const char *name, struct stat *);
int		 fsio_fstatfs(int fd, struct statfs *);
/* openat with O_CLOEXEC | O_NOCTTY added */
int		 fsio_openat(int dfd, const char *name, int flags, mode_t);
int		 fsio_mkdir(const char *path, mode_t);
int		 fsio_mkdirat(int dfd, const char *name, mode_t);
int		 fsio_fchmod(int fd, mode_t);
int		 fsio_unlinkat(int dfd, const char *name);
int		 fsio_renameat(int dfd, const char *from, const char *to);
/* renameat2(RENAME_NOREPLACE): fails with EEXIST rather than replace. */
int		 fsio_rename_noreplace(int dfd, const char *from, const char *to);
/*
 * Open an absolute directory path with no symbolic link in any of its
 * components, and check that nobody but root and its owner may write to
 * it.  Returns the fd, or -1 with *why set (and errno where it applies).
 */
int		 fsio_opendir(const char *path, const char **why);
/* One directory component under dfd, never a symbolic link. */
int		 fsio_opendirat(int dfd, const char *name, const char **why);
/* Read dfd's entries from the start ("." and ".." skipped); next gives
   NULL at the end (errno 0) or on an error (errno set). */
DIR		*fsio_dir_open(int dfd);
struct dirent	*fsio_dir_next(DIR *);
void		 fsio_dir_close(DIR *);
/*
 * Open dfd/name for reading without following a link and without
 * blocking on a FIFO; refuse what is not a regular file with one link.
 * Fills *st.  Returns the fd, or -1 with *why set.
 */
int		 fsio_openat_file(int dfd, const char *name, struct stat *st,
		    const char **why);
/* Create ".TARGET.lethe-XXXXXX" in dfd, mode 0600; name to tmp. */
int		 fsio_tmp_create(int dfd, const char *target, char *tmp,
		    size_t tmpsz);
/* Owner, group, mode and times of orig onto the temp file; fsync; close
   (tmpfd closed in every case). */
int		 fsio_tmp_finish(int tmpfd, const struct stat *orig);
/*
 * For files lethe owns (catalog, metrics): finish tmp as orig says and
 * rename it over target (noreplace: only if target does not exist, else
 * EEXIST); fsync the directory.  On failure the temp file is removed.
 */
int		 fsio_replace(int dfd, int tmpfd, const char *tmp,
		    const char *target, int noreplace, const struct stat *orig);
/*
 * Replace the managed file dfd/name by the finished temp file tmp under
 * target (name itself, or a new name such as name.gz, never over another
 * file): name is claimed (renamed to a private name), checked to be
 * *expect (device, inode) with size bytes (-1: any), then tmp takes
 * target and the claimed original is removed.  Returns 0, or -1 with
 * *why and errno (ESTALE: another file had the name; EAGAIN: it grew);
 * then the original is back under its name and tmp is removed.
 */
int		 fsio_commit(int dfd, const char *name, const struct stat *expect,
		    int64_t size, const char *tmp, const char *target,
		    const char **why);
/* Remove dfd/name if, claimed, it is *expect; else put it back. */
int		 fsio_unlink_checked(int dfd, const char *name,
		    const struct stat *expect, const char **why);
/* Rename from to (never over a file) and check that what moved is
   *expect; else move it back and fail with ESTALE. */
int		 fsio_rename_checked(int dfd, const char *from, const char *to,
		    const struct stat *expect, const char **why);
/* A claim's name: its original NAME into base and the inode of its
   replacement (0: none) into *ino; -1 when name is not a claim. */
int		 fsio_claim_parse(const char *name, char *base, size_t basesz,
		    unsigned long long *ino);
/* Finish or undo every act a crash left behind (claims whose NAME
   is_ours says is managed here; is_ours NULL: all).  Returns how many
   claims there were, or -1 when one could not be handled. */
int		 fsio_recover_claims(int dfd, int (*is_ours)(const char *, void *),
		    void *arg);
/* Remove every stale ".NAME.lethe-XXXXXX" whose NAME is_ours says. */
int		 fsio_clean_tmp(int dfd, int (*is_ours)(const char *, void *),
		    void *arg);
int		 fsio_read_file(const char *path, size_t max, char **buf,
		    size_t *len);
/*
 * Create dfd/name, which must not exist (EEXIST), with the owner, group
 * and mode of *like (a rotated file's successor).  Returns 0, or -1 with
 * errno and *why naming the step that failed ("create", "chown",
 * "chmod", "close"); after "create" the file exists all the same.
 */
int		 fsio_create_like(int dfd, const char *name,
		    const struct stat *like, const char **why);
/*
 * Take the exclusive lock in state_dir (the file "lock", which then
 * holds "PID COMMAND"), held until the process exits.  Returns 0; 1 when
 * another process holds it (its "PID COMMAND" in holder); -1 on error.
 */
int		 fsio_lock(int state_dfd, const char *cmd, char *holder,
		    size_t hsz);
/* Who holds the lock, without taking it: 1 and holder, 0: nobody, -1. */
int		 fsio_lock_holder(int state_dfd, char *holder, size_t hsz);
/* An exclusive lock of fd (a directory of lethe's own), waited for;
   it goes with the descriptor's close. */
int		 fsio_flock(int fd);

/* requests.c: the people's requests, kept in state_dir */
#define REQUEST_KEY_LEN	32
#define REQUEST_HASH_LEN 16		/* hex digits of a request's name */
#define REQUEST_TEXT_MAX 1024		/* a reason's bytes at most */

struct request_file {
	char		*path;
	uint64_t	 lines;		/* erased in it */
};

struct request {
	char		 id[40];	/* 20261203T174500Z-1a2b3c4d */
	int64_t		 time;		/* made: lines before it are erased */
	int64_t		 until;		/* a hold: when it ends (else 0) */
	char		 hash[REQUEST_HASH_LEN + 1];
	char		*reason;
	char		*set;		/* NULL: every set */
	struct addr_net	*nets;
	size_t		 nnets;
	struct request_file *files;
	size_t		 nfiles;
};

/* What a find after an erase saw. */
struct request_verify {
	size_t		 files;
	uint64_t	 lines;		/* holding it full: 0 when done */
	uint64_t	 full;		/* the same */
	uint64_t	 masked;	/* masked inside a network asked for */
	uint64_t	 in_prefix;
	size_t		 moved;		/* gone from their names meanwhile */
};

/* The key of request hashes (state_dir/request.key, made at first use). */
int		 request_key(int state_dfd, uint8_t key[REQUEST_KEY_LEN],
		    const char **why);
/* The keyed hash that names a request (nets sorted in place). */
void		 request_hash(const uint8_t key[REQUEST_KEY_LEN],
		    struct addr_net *, size_t, char out[REQUEST_HASH_LEN + 1]);
/* Arguments ADDR or ADDR/BITS into nets; -1 (said, not echoed). */
int		 request_args(char **args, size_t nargs, struct addr_net **,
		    size_t *);
#define REQUEST_DIR	"requests"	/* erase requests, receipts */
#define HOLD_DIR	"holds"		/* incident holds */
/* state_dir/name, made when missing: its fd, or -1 and *why. */
int		 request_dir(int state_dfd, const char *name, const char **why);
struct request	*request_new(const char *reason, const char *set,
		    struct addr_net *, size_t, const char *hash, int64_t now);
void		 request_free(struct request *);
void		 request_add_lines(struct request *, const char *path,
		    uint64_t lines);
int		 request_save(int rdfd, const struct request *);
/* Every pending request of the directory; -1 when one is unreadable
   (said and left; the others are loaded all the same). */
int		 request_load_all(int rdfd, struct request ***, size_t *);
/* The receipt's JSON (malloc'd). */
char		*request_receipt(const struct request *, const char *status,
		    const char *pending, int blocked,
		    const struct request_verify *, int64_t finished,
		    size_t *len);
/* A JSON string of s, quoted and escaped. */
void		 json_str(FILE *, const char *);
/* "2026-11-29T04:00:00Z", or "null" for TIME_NONE. */
const char	*iso_time(int64_t, char *buf, size_t sz);

/* erase.c: one erase request over a list of files */
struct etarget {
	int		 dfd;		/* not owned */
	char		*name;		/* not owned (the job's: owned) */
	char		*path;
	struct format	*format;
	struct addr_prefix prefix;
	int		 live;		/* a server writes to it: read only */
	int		 rotates;	/* ... and lethe may rotate it */
	int		 busy;		/* a writer may still append: ditto */
	/* what the pass did */
	uint64_t	 erased;	/* lines rewritten */
	uint64_t	 held;		/* full lines of the request left */
	const char	*why;		/* a failure */
	int		 retry;		/* ... that a later pass may not meet */
};

/*
 * Mask the request's full addresses in every target that holds any and
 * may be rewritten; each file done joins r's files (saved in rdfd, -1:
 * not saved).  Returns 0, or -1 when a file could not be searched or
 * rewritten (its why).
 */
int		 erase_pass(struct request *, struct etarget *, size_t,
		    int64_t now, const volatile int *cancel, int rdfd);
/* The verifying search: what is left in each target (held), in vf. */
int		 erase_verify(const struct request *, struct etarget *, size_t,
		    int64_t now, const volatile int *cancel,
		    struct request_verify *vf);
/*
 * After a pass: done (vf says nothing
 * is left): the receipt ID.json replaces the request file, 0.  Else the
 * request is saved with its progress and ID.pending.json says why
 * (also in why), 1.  -1: the receipt could not be written.
 */
int		 erase_finish(int rdfd, struct request *, const struct etarget *,
		    size_t, int failed, const struct request_verify *,
		    int64_t now, char *why, size_t whysz);

/* holds.c: incident holds */
/* The holds of state_dir/holds attached to every set of conf (an array
   of conf->nsets); prune: remove the ended ones (the lock held). */
struct holds	*holds_attach(int state_dfd, struct config *, int64_t now,
		    int prune);
void		 holds_free(struct holds *, size_t nsets);
void		 holds_copy(struct holds *dst, const struct holds *src);
/* The latest until of old's holds that new ends earlier (released), or
   TIME_NONE. */
int64_t		 holds_shrunk(const struct holds *old, const struct holds *new);
void		 holds_wake_daemon(int state_dfd);
/* Why a hold of these nets would keep more than one person's lines (a
   network wider than a set masks to), or NULL. */
const char	*holds_too_wide(const struct config *, const char *set,
		    const struct addr_net *, size_t);

/* digest.c: SHA-256 and HMAC-SHA256 (nettle) */
#define DIGEST_HEX	65		/* 64 hex digits and a NUL */

struct digest;
struct digest	*digest_new(void);
void		 digest_update(struct digest *, const void *, size_t);
/* The digest in hex; d is spent (free it). */
void		 digest_hex(struct digest *, char out[DIGEST_HEX]);
void		 digest_free(struct digest *);
void		 digest_hmac_hex(const uint8_t *key, size_t klen,
		    const void *msg, size_t n, char out[DIGEST_HEX]);
#define DIGEST_LEN	32		/* SHA-256's bytes */
void		 digest_hmac(const uint8_t *key, size_t klen,
		    const void *msg, size_t n, uint8_t out[DIGEST_LEN]);

/* xform.c: what is done to the addresses of a line (pure) */
struct xform_ops {
	const char	*name;
	/* Is a line of time t (TIME_NONE: unknown) to be rewritten? */
	int		(*line)(void *arg, int64_t t);
	/*
	 * An address of such a line: write its replacement to out (at
	 * least ADDR_OUT_MAX bytes), set *outlen and *full (whether the
	 * replacement still holds a full address), return 0; or -1 to
	 * leave it as it is.  masked: its truncation at the set's prefix.
	 */
	int		(*addr)(void *arg, const char *line, const struct span *,
			    const char *masked, char *out, size_t *outlen,
			    int *full);
	/*
	 * After every line (rewritten or not; NULL: not wanted): the line
	 * as read, its spans (masked forms in sp->text), its time.  more:
	 * a window of a long line, whose next part follows.  -1 stops the
	 * pass (with errno).
	 */
	int		(*end)(void *arg, const char *line, size_t len,
			    const struct spans *, int64_t t, int more);
};

struct xform {
	const struct xform_ops *ops;
	void		*arg;
};

/*
 * Incident holds (lethe hold): a held address keeps its full form past
 * the window until the hold ends.  Its lines count as if they were made
 * at until - window (never earlier than they were): so the facts say
 * when the hold lets them be masked, and no clock of its own is needed.
 */
struct hold {
	struct addr_net	 net;
	int64_t		 until;
};

struct holds {
	struct hold	*v;
	size_t		 n;
	int64_t		 window;	/* the set's */
};

/* The time a full address (16-byte value v) on a line of time t counts
   at: t, or later while a hold keeps it. */
int64_t		 holds_time(const struct holds *, const uint8_t v[16],
		    int64_t t);

/* Truncation (the set's prefixes) of lines with a time < before. */
struct xform_truncate {
	int64_t		 before;	/* INT64_MAX: every line */
	const struct holds *holds;	/* NULL: none */
	int64_t		 t;		/* the line's (line() is called
					   before its addr()s) */
};

extern const struct xform_ops xform_truncate_ops;

/* find and erase: the addresses of one request, and what a pass saw. */
struct xform_match {
	const struct addr_net *nets;
	size_t		 nnets;
	struct addr_prefix prefix;	/* the set's: what masked means */
	int64_t		 since;		/* find: lines outside [since, */
	int64_t		 until;		/* until] are passed over */
	int		 untimed;	/* lines of no known time are in */
	/* find: a matched line for the export (other addresses masked) */
	int		(*export)(void *arg, const char *line, size_t len);
	void		*export_arg;

	uint64_t	 lines;		/* find: lines matched, */
	uint64_t	 full;		/* ... holding the address full */
	uint64_t	 masked;	/* ... masked inside the query */
	uint64_t	 in_prefix;	/* masked, in a prefix that holds it */
	uint64_t	 long_lines;	/* matched, too long to export */
	int64_t		 first;		/* times of the matched lines */
	int64_t		 last;
	uint64_t	 changed;	/* erase: lines rewritten */

	int		 line_changed;
	int		 in_long;
	int		 long_class;
	char		*buf;
	size_t		 cap;
};

void		 xform_match_init(struct xform_match *,
		    const struct addr_net *, size_t,
		    const struct addr_prefix *);
void		 xform_match_release(struct xform_match *);
/* 0: no match; 1: in a masked prefix holding a net; 2: masked inside
   a net; 3: full inside a net. */
int		 xform_match_class(const struct xform_match *, const char *line,
		    const struct span *);

extern const struct xform_ops xform_find_ops;	/* arg: xform_match */
extern const struct xform_ops xform_erase_ops;	/* arg: xform_match */

/*
 * Pseudonyms (transform = pseudonym, the mirror and the stream): every
 * address of every line becomes its ipcrypt pseudonym (pfx when prefix)
 * under the key of the line's UTC day when its time is within [now -
 * window, now + 1 day], else of now's day.  Where no key can be had, or
 * the span is no plain address (one inside a host name), it is
 * truncated instead: never left full.  The key of a day comes from key:
 * 1 and the key, 0 none, -1 an error (keyring_xform: the set's keys).
 */
typedef int	(*xform_key_fn)(void *arg, int64_t day, int64_t now,
		    uint8_t key[PSEUDO_KEY_LEN]);

struct xform	*xform_pseudonym_new(xform_key_fn key, void *arg,
		    int64_t window, int prefix, int64_t now);
/* The current time (a long-lived stream): an expanded key of a day
   past the window is wiped. */
void		 xform_pseudonym_set_now(struct xform *, int64_t now);
/* Addresses truncated since the start for want of a key. */
uint64_t	 xform_pseudonym_failed(const struct xform *);
void		 xform_pseudonym_free(struct xform *);

/* sink.c: where rewritten bytes go */
struct sink;
/* Lines in memory, each cut at line_max bytes (its newline kept);
   SIZE_MAX: nothing cut, the bytes copied once. */
struct sink	*sink_mem_new(size_t line_max);
/* What was written: whole lines (all of it when all), valid until the
   next call; taken, they are gone from the sink. */
void		 sink_mem_take(struct sink *, int all, const char **p,
		    size_t *len);
void		 sink_mem_reset(struct sink *);
/* Buffered writes to fd, plain or gzip (level 6, header comment
   "lethe"); line_flush: every line out as soon as it is complete. */
struct sink	*sink_fd_new(int fd, int gzip, int line_flush);
/* Right after sink_fd_new: gzip deflated on n threads (pgzip.c), the
   same bytes whatever n >= 2; n <= 1 or plain: nothing changes. */
void		 sink_set_threads(struct sink *, int n);
int		 sink_write(struct sink *, const char *, size_t);
/* A complete line was written (line_flush sinks write it out now). */
int		 sink_line_end(struct sink *);
/* Flush and end the stream (the gzip trailer). */
int		 sink_finish(struct sink *);
void		 sink_free(struct sink *);
const char	*sink_error(const struct sink *);

/* pgzip.c: one gzip member deflated on threads (level 6, no MTIME, OS
   3, the header comment given); what fails, fails every later call. */
#define PGZIP_BLOCK	(256 * 1024)	/* input per block: see pgzip.c */
struct pgzip;
struct pgzip	*pgzip_new(int fd, int threads, const char *comment);
int		 pgzip_write(struct pgzip *, const char *, size_t);
/* The last block and the trailer out. */
int		 pgzip_finish(struct pgzip *);
/* Joins the threads, whatever state the stream is in. */
void		 pgzip_free(struct pgzip *);
const char	*pgzip_error(const struct pgzip *);

/* source.c: plain or gzip bytes from a descriptor */
struct source;
/* detect: look for the gzip magic (else every byte is taken as is). */
struct source	*source_new(int fd, int detect);
/* The next bytes: their number, 0 at the end, -1 (source_error). */
ssize_t		 source_next(struct source *, const char **buf);
int		 source_gzip(const struct source *);
uint64_t	 source_raw(const struct source *);	/* bytes read */
/* Every byte read from the descriptor, as stored, also to fn. */
void		 source_tap(struct source *, void (*fn)(void *, const void *,
		    size_t), void *arg);
const char	*source_error(const struct source *);
/* A gzip regular file inflated ahead on a thread of its own (not with a
   tap: the tap runs on the caller's thread). */
void		 source_set_ahead(struct source *, int on);
/* No more bytes wanted: the thread joined; source_raw is final. */
void		 source_stop(struct source *);
void		 source_free(struct source *);

/* syslog.c: RFC 5424 messages of the forwarded stream (pure) */
#define SYSLOG_LOCAL0		16
#define SYSLOG_INFO		6
#define SYSLOG_APP_NAME		"lethe"
#define SYSLOG_SD_ID		"lethe@32473"	/* RFC 5612's example PEN */
#define SYSLOG_HOSTNAME_MAX	255		/* RFC 5424 6.2.4 to 6.2.7 */
#define SYSLOG_APP_NAME_MAX	48
#define SYSLOG_PROCID_MAX	128
#define SYSLOG_MSGID_MAX	32
#define SYSLOG_TIME_MIN		INT64_C(-62167219200)	/* 0000-01-01 */
#define SYSLOG_TIME_MAX		INT64_C(253402300799)	/* 9999-12-31 */
/*
 * What a receiver accepts by default: rsyslog's maxMessageSize (8 KiB;
 * RFC 5424 6.1 asks receivers for 2048 octets at least).  A longer
 * message is cut by the receiver or breaks its RELP session.
 */
#define SYSLOG_MSG_MAX		8192

struct syslog_rec {
	int		 facility;	/* 0..23 */
	int		 severity;	/* 0..7 */
	int64_t		 sec;		/* the line's time (UTC); TIME_NONE */
	int		 usec;		/* 0..999999, or -1: no fraction */
	const char	*hostname;	/* the host's name; NULL: "-" */
	const char	*procid;	/* NULL: "-" */
	const char	*msgid;		/* the set's name */
	const char	*file;		/* SD-PARAM file, or NULL: none */
	uint64_t	 seq;		/* SD-PARAM seq */
	const char	*msg;		/* the transformed line */
	size_t		 msglen;	/* a trailing "\n" or "\r\n" is cut */
};

/* local0.info, no time, every string NULL, seq 0. */
void		 syslog_rec_init(struct syslog_rec *);
/*
 * The message into out[0..cap), no NUL.  Returns the length of the whole
 * message, as snprintf does: when it exceeds cap, out holds its first cap
 * bytes (the end of MSG is cut; cap >= 1024 always keeps the header whole
 * unless the file name is longer than about 300 bytes).
 */
size_t		 syslog_msg(char *out, size_t cap, const struct syslog_rec *);

/* sender.c: the forwarded stream's transport (relp, tcp, unix) */
#define SENDER_TIMEOUT		5	/* seconds: connect, send, each wait */
#define SENDER_RELP_WINDOW	128	/* RELP frames in flight */
/* Taken by sender.c: it interrupts librelp's TLS handshake. */
#define SENDER_WAKE_SIGNAL	(SIGRTMIN + 5)

struct sender;

/*
 * A sender to the set's forward (relp://, tcp:// or unix:), not yet
 * connected.  Copies what it needs of the set.  For one thread at a time;
 * every call below returns within a few SENDER_TIMEOUTs.
 */
struct sender	*sender_new(const struct logset *);
/* 0, or -1 and *err (valid until the next call on this sender). */
int		 sender_connect(struct sender *, const char **err);
/*
 * One message (syslog_msg's).  -1 and *err: the connection broke and
 * this message was not sent; sender_unacked() says how many of the ones
 * sent before it may be lost with it.  The caller calls sender_close,
 * backs off, sender_connect, and sends those again, and this one.  (An
 * empty message is refused with -1 and the connection left as it is.)
 * tcp, unix: the message may wait in a buffer until sender_flush, which
 * the caller calls whenever it has nothing more to send right now.
 */
int		 sender_send(struct sender *, const char *msg, size_t len,
		    const char **err);
/*
 * relp: wait until every message sent is acknowledged (this ends the RELP
 * session; the next sender_send opens a new one), then sender_unacked()
 * is 0.  tcp, unix: write everything out to the kernel and wait a moment
 * for the receiver to take it.  -1 and *err as sender_send.
 */
int		 sender_flush(struct sender *, const char **err);
/*
 * Of the messages sent on this connection, how many (the latest) may not
 * have reached the receiver: what a caller that saves its position saves
 * that many messages back, and what it sends again after a break.  After
 * a break it stays what it was at the break, until sender_connect.
 */
unsigned	 sender_unacked(const struct sender *);
/*
 * Ends the connection; acknowledgements are not waited for, but a relp
 * session still healthy is ended with RELP's close (bounded, as above).
 */
void		 sender_close(struct sender *);
void		 sender_free(struct sender *);
/* "relp://host:port", "tcp://host:port" or "unix:/path", for messages. */
const char	*sender_name(const struct sender *);

/* line.c: THE line engine; every reader drives it */
#define LINE_HEAD	(1024 * 1024)	/* bytes of a line read whole */

struct line_opts {
	struct format	*format;
	void		*fstate;	/* format_state_new's, or NULL */
	const struct xform *xform;	/* NULL: nothing is rewritten */
	struct sink	*sink;		/* NULL: nothing is written */
	int64_t		 now;		/* lines after now + 1d take the line
					   before's time; TIME_NONE: no rule */
	int64_t		 start_time;	/* of lines before the first time */
	int64_t		 audit_before;	/* count lines older than this */
	int64_t		 ref;		/* for times without a year */
	const volatile int *cancel;	/* stop (fail) when it is set */
	const struct holds *holds;	/* held addresses count later */
};

/* What one pass learnt of its lines. */
struct line_stats {
	uint64_t	 lines;
	uint64_t	 bytes_in;
	uint64_t	 bytes_out;
	uint64_t	 timed;		/* lines with a time of their own */
	uint64_t	 future;	/* dated after now + 1d: not believed */
	uint64_t	 disorder;	/* a day before the line before */
	uint64_t	 bad;		/* lines not understood */
	uint64_t	 bad_first;	/* line number of the first */
	uint64_t	 bad_past;	/* ... older than audit_before */
	uint64_t	 bad_past_first;
	uint64_t	 stray;		/* full addresses outside the address
					   fields of lines not understood */
	uint64_t	 stray_first;
	uint64_t	 long_lines;	/* longer than LINE_HEAD */
	uint64_t	 addrs_masked;
	uint64_t	 full_past;	/* full addresses older than
					   audit_before, after this pass */
	uint64_t	 full_past_first;
	uint64_t	 held;		/* lines older than audit_before whose
					   full address a hold keeps */
	uint64_t	 field_lines[FIELDS_MAX]; /* lines with an address in
					   each address field */
	int64_t		 first_time;	/* TIME_NONE: no line had one */
	int64_t		 last_time;
	int64_t		 oldest_full;	/* after this pass; TIME_NONE: none */
	int		 pending_full;	/* full addresses before any time */
};

struct line_engine;

struct line_engine *line_new(const struct line_opts *, struct line_stats *);
/* Lines of p[0..n): the complete ones now, the rest when it is. */
int		 line_feed(struct line_engine *, const char *p, size_t n);
/* The end: the last line, with or without its newline. */
int		 line_finish(struct line_engine *);
/* Bytes fed through the last newline. */
uint64_t	 line_boundary(const struct line_engine *);
/* Set the time lines before the first time take (a rewrite knows it). */
void		 line_set_prev(struct line_engine *, int64_t);
/* Where the stats go (their owner moved). */
void		 line_set_stats(struct line_engine *, struct line_stats *);
/* The format, an equal one from a new config (a reload). */
void		 line_set_format(struct line_engine *, struct format *);
/* The current time, for a long-lived engine (the daemon's tail). */
void		 line_set_now(struct line_engine *, int64_t);
void		 line_set_holds(struct line_engine *, const struct holds *);
const char	*line_error(const struct line_engine *);
void		 line_free(struct line_engine *);
void		 line_stats_init(struct line_stats *);
/* st and then later's lines, as if one pass (later's numbers follow). */
void		 line_stats_add(struct line_stats *st,
		    const struct line_stats *later);

/* rewrite.c: a whole file through the engine */
/* Options of one pass over a file. */
struct rewrite_opts {
	struct format	*format;
	int64_t		 mask_before;	/* mask lines with time < this;
					   TIME_NONE: none, INT64_MAX: all */
	int64_t		 start_time;	/* time of lines before the first
					   line with a time */
	int64_t		 audit_before;	/* count full addresses on lines
					   older than this (audit) */
	int64_t		 now;		/* see line_opts */
	int		 compress;	/* write gzip (else as the input) */
	const volatile int *cancel;	/* when it becomes non-zero, stop,
					   remove the temp file, fail */
	const struct xform *xform;	/* instead of truncation at
					   mask_before (find, erase) */
	void		(*tap)(void *, const void *, size_t);
	void		*tap_arg;	/* the bytes as stored, to tap */
	const struct holds *holds;	/* kept full, counted later */
	int		 threads;	/* > 1: gzip deflated on this many */
};

struct rewrite_stats {
	int		 gzip_in;	/* the input was gzip */
	uint64_t	 bytes_raw;	/* read from the file, as stored */
	struct line_stats l;
};

/*
 * Read fd (plain or gzip, by its magic bytes) and gather stats as if it
 * were rewritten with opts (nothing is written).  Returns 0, or -1 with
 * *errstr ("truncated gzip", "read: ..."): the stats then say what
 * could be read.
 */
int		 rewrite_scan(int fd, const struct rewrite_opts *,
		    struct rewrite_stats *, const char **errstr);
/*
 * Rewrite dfd/name through a temp file: lines older than mask_before
 * masked, compressed when opts->compress.  The result replaces name, or
 * takes newname (name + ".gz" when compressing a plain file): the act is
 * fsio_commit's, checked to replace the file read (*expect) with no byte
 * more than was read.  Returns 0, or -1 with *errstr and errno (ESTALE,
 * EAGAIN: a later run may succeed); then nothing is changed.
 */
int		 rewrite_file(int dfd, const char *name, const char *newname,
		    const struct stat *expect, const struct rewrite_opts *,
		    struct rewrite_stats *, const char **errstr);
/*
 * Filter infd to outfd, masking every address at once (lethe mask).  When
 * line_flush, every line is written out as soon as it is complete.
 */
int		 rewrite_stream(int infd, int outfd, struct format *,
		    int line_flush, struct line_stats *, const char **errstr);
/* The same with opts' format, start_time, audit_before, now (the
   engine's), tap (the bytes as read, before the engine has them) and
   xform (NULL: every address truncated at once). */
int		 rewrite_stream_opts(int infd, int outfd,
		    const struct rewrite_opts *, int line_flush,
		    struct line_stats *, const char **errstr);

#define THREADS_MAX	64
/* The cores online (1 .. THREADS_MAX): what --threads defaults to. */
int		 threads_default(void);
/* A config's threads (0: auto) as a count. */
int		 threads_of(int conf_threads);
/* chunks.c: lethe mask of a regular file on nthreads workers, worker i
   reading with fmts[i] (equal formats), and fmts[nthreads] for this
   thread; the output is the same bytes. */
int		 rewrite_stream_threads(int infd, int outfd,
		    struct format **fmts, int nthreads, struct line_stats *,
		    const char **errstr);

/* tail.c: following a file as it grows */
#define TAIL_HEAD	1024	/* bytes hashed to know a file again */

/* How far a followed file was read, and what its lines hold. */
struct tailpos {
	uint64_t	 offset;	/* scanned through, a line boundary */
	uint64_t	 scan_pos;	/* bytes fed to the engine */
	uint64_t	 base;		/* the offset the engine started at */
	uint64_t	 size;		/* at the last read */
	uint32_t	 head_hash;	/* crc32 of the first head_len bytes */
	uint32_t	 head_len;
	struct line_engine *eng;	/* while followed */
	void		*fstate;
	struct line_stats ls;		/* what the engine learnt */
	int64_t		 prev_time;	/* time of the last line read */
	uint64_t	 lines;		/* lines read (metrics) */
	int		 pending_full;	/* full address before any time */
	struct file_facts ff;
};

void		 tail_facts_reset(struct tailpos *, int live);
void		 tail_release(struct tailpos *);
int		 tail_same_head(int fd, const struct tailpos *);
int		 tail_read(int fd, struct tailpos *, const struct logset *,
		    int64_t now, size_t budget, int *truncated);
int		 tail_finish(int fd, struct tailpos *, const struct logset *,
		    int64_t now);

/* mirror.c: the masked mirror of live files */
struct mirror;
struct daemon;
struct mfile;
struct srecord;
/* Create the set's mirror directory when it is missing: 0, or -1. */
int		 mirror_dir_ready(const struct logset *);
/* After a rescan: mirrors of rotated files take segment names, new
   live files get theirs (reconciled with what a restart left). */
void		 mirror_sync(struct daemon *, int64_t now);
/* follow.c: is the saved record r about f itself (not a reused inode)? */
int		 follow_record_same(const struct mfile *, const struct srecord *);
/* At start, while the saved catalog is loaded: mirrors back to their
   sources (found by device and inode), then mirror_sync. */
void		 mirror_start(struct daemon *, int64_t now);
uint64_t	 mirror_step(struct daemon *, struct mfile *, int64_t now,
		    size_t budget);
/* 0 done (closed), 1 more to read first, 2 failing: try later. */
int		 mirror_seal(struct daemon *, struct mfile *, int64_t now);
void		 mirror_sync_disk(struct mfile *);
/* The catalog that names f's mirror is saved: 1 when the mirror was
   waiting for that to write its first line (f->more is set). */
int		 mirror_saved(struct mfile *);
void		 mirror_record(const struct mfile *, struct srecord *);
int		 mirror_writing(struct daemon *, const struct stat *);
void		 mirror_free(struct mirror *);
/* f leaves the catalog with its mirror open. */
void		 mirror_gone(struct daemon *, struct mfile *);
/* After a reload's carry_files: open mirrors take the new config. */
void		 mirror_reload(struct daemon *);

/* forward.c: the forwarded stream, a thread per set */
struct forward;
struct fwd_file;
struct fwd_stats {
	uint64_t	 sent;		/* messages sent (resent ones too) */
	uint64_t	 acked;		/* known acknowledged (or written) */
	uint64_t	 resent;	/* sent again after a break */
	uint64_t	 dropped;	/* left unsent: forward_max_lag */
	uint64_t	 cut;		/* lines cut to the message size */
	uint64_t	 breaks;	/* connections lost */
	uint64_t	 connects;
	int		 connected;
	int64_t		 lag;		/* seconds: the oldest line not
					   acknowledged */
};
struct forward	*forward_new(const struct logset *, int state_dfd,
		    int64_t now);
/* Stops the thread: what is in flight is flushed first (bounded). */
void		 forward_free(struct forward *);
void		 forward_set_now(struct forward *, int64_t now);
void		 forward_kick(struct forward *);
struct fwd_file	*forward_track(struct forward *, int fd, const struct stat *,
		    const char *name, uint32_t id, uint64_t off, uint64_t seq);
void		 forward_untrack(struct forward *, struct fwd_file *, int gone);
void		 forward_sealed(struct forward *, struct fwd_file *);
void		 forward_drop(struct forward *, struct fwd_file *);
/* The daemon saw the file cut short (copytruncate): new lines follow. */
void		 forward_truncated(struct forward *, struct fwd_file *);
int		 forward_position(struct forward *, struct fwd_file *,
		    uint64_t *off, uint64_t *seq);
void		 forward_stats(struct forward *, struct fwd_stats *,
		    int64_t now);
/* The daemon's side: a thread per set with forward (d->fwd). */
void		 forward_start_all(struct daemon *, int64_t now);
void		 forward_stop_all(struct daemon *);
void		 forward_sync(struct daemon *, int64_t now);
void		 forward_load_positions(struct daemon *);
struct config;
void		 forward_reload(struct daemon *, struct config *nc);
void		 forward_start_missing(struct daemon *, int64_t now);
void		 forward_kick_all(struct daemon *);
int		 forward_holds_file(struct daemon *, struct mfile *, int64_t now);
void		 forward_file_gone(struct mfile *);
void		 forward_record(struct mfile *, struct srecord *);
struct set_metrics;
void		 forward_metrics(struct forward *, struct set_metrics *,
		    int64_t now);

/* names.c: the rotated-name grammar (pure) */
/*
 * When name looks rotated (BASE.N, BASE.N.gz, BASE-YYYYMMDD[HH][.gz],
 * BASE-YYYYMMDDTHHMMZ[.gz], BASE.gz), return the length of BASE; else 0.
 */
size_t		 names_rotated_base(const char *name);
/* Is name one of lethe's own segments (BASE-YYYYMMDDTHHMMZ[.gz])? */
int		 names_is_segment(const char *name);
/*
 * The name a compressed copy of name takes: name + ".gz" in buf, or NULL
 * when name already ends in ".gz" (plain text under a gzip name is
 * compressed in place, so it keeps its place in the set); "" when it
 * does not fit.
 */
const char	*names_gz(const char *name, char *buf, size_t bufsz);
/* "LIVE-YYYYMMDDTHHMMZ" for time t (UTC); -1 when it does not fit. */
int		 names_segment(const char *live, int64_t t, char *out,
		    size_t outsz);

/* catalog.c */
enum mfile_state {
	MF_LIVE,		/* a server writes to it */
	MF_SETTLING,		/* rotated; a writer may still append */
	MF_SEALED,		/* the writer left: policy applies */
};

/* A directory holding managed files, opened once (fsio_opendir). */
struct mdir {
	char		*path;
	int		 fd;		/* -1 when refused */
	char	       **patterns;	/* base name globs looked up here */
	size_t		 npatterns;
};

/* One managed file (or a refused entry that looked like one). */
struct mfile {
	struct logset	*set;
	struct mdir	*dir;
	char		*name;		/* within dir */
	char		*path;		/* dir/name, for messages */
	int		 live;		/* matched as the file a server writes */
	struct stat	 st;		/* lstat at discovery */
	const char	*refused;	/* why it is skipped, or NULL */

	/* kept by the daemon, carried across rescans */
	int		 state;		/* enum mfile_state: follow_set_state */
	int		 fd;		/* followed (live, settling), or -1 */
	struct tailpos	 tp;		/* where we read; tp.ff: the facts */
	uint32_t	 facts_key;	/* the set's facts_key they were read by */
	int		 have_facts;	/* tp.ff describes the whole file */
	int		 hook_wait;	/* settling until our reopen hook ran */
	int		 more;		/* followed, with more to read */
	int		 warned_unknown; /* "cannot tell" said for it */
	int64_t		 growth_at;	/* when it last grew (daemon clock) */
	int64_t		 retry_at;	/* after a failure, not before */
	int64_t		 backoff;
	uint64_t	 job;		/* the job working on it, or 0 */
	uint64_t	 held;		/* lines held past the window, as the
					   last whole read found */
	struct mirror	*mir;		/* its mirror, while written */
	int		 mir_failed;	/* it could not be opened */
	int		 tp_truncated;	/* the follow found it cut short */
	struct fwd_file	*fwf;		/* forwarded by its set's thread */
	struct forward	*fw;		/* ... that one */
	int		 fwd;		/* fwd_*: where forwarding stands */
	uint32_t	 fwd_id;
	uint64_t	 fwd_off;
	uint64_t	 fwd_seq;
	int		 fwd_done;	/* all of it forwarded (or dropped) */
};

struct catalog {
	struct mdir    **dirs;
	size_t		 ndirs;
	struct mfile   **files;		/* sorted by path */
	size_t		 nfiles;
	size_t		 nerrors;	/* refused directories, overlaps */
};

/*
 * Find every file of every set: the live files the globs match and their
 * rotated siblings.  Refused entries are kept with ->refused set and
 * logged; errors (a refused or missing directory, a file claimed by two
 * sets) are logged and counted.  Returns 0, or -1 when nerrors > 0.
 */
int		 catalog_discover(struct catalog *, struct config *);
/*
 * Finish or undo the acts a crash left (claims), then remove stale temp
 * files of managed names.  Returns the number of claims handled (then
 * discover again).
 */
int		 catalog_recover(struct catalog *);
/*
 * After a crash between compressing X into X.gz and removing X (or a
 * tool that does the same), both exist: remove X when X.gz is our gzip
 * whose trailer (CRC-32 and size) says it holds X's bytes exactly.
 * Returns the number of files removed.
 */
int		 catalog_recover_pairs(struct catalog *);
void		 catalog_release(struct catalog *);
void		 mfile_free(struct mfile *);

/* walk.c: the directories a pattern names, without following links */
typedef void	(*walk_fn)(const char *path, void *arg);
/*
 * Call fn for every directory pattern (absolute, wildcards allowed in any
 * component) names: never through a symbolic link, never into /proc,
 * /sys, /dev or another pseudo file system by a wildcard, 4096
 * directories at most.  *links: the symbolic links it met (and named in
 * a message) instead of following.  Returns 0, or -1 with *why.
 */
int		 walk_dirs(const char *pattern, walk_fn fn, void *arg,
		    size_t *links, const char **why);

/* lifecycle.c: the decisions and acts that once and run share */
struct lc_out {
	int		 print;		/* once: stdout, "rotate A -> B" */
	int		 dry_run;	/* only say ("would ...") */
};

/* How long before the window a mask starts: once, or the daemon. */
int64_t		 lifecycle_lead(const struct logset *, int daemon,
		    int64_t sweep);
/* Facts of a file without a single time: its mtime stands for all. */
void		 lifecycle_untimed(struct file_facts *, int64_t mtime,
		    int pending_full);
/*
 * Read a managed file whole for its facts (and audit's counts, lines
 * older than now - window).  Returns 0; 1 when it is damaged (corrupt
 * gzip, a read error: the facts say what could be read and ff->damaged
 * is set); -1 when it cannot be opened (logged, but not ENOENT).  threads
 * > 1: a gzip file is inflated on a thread of its own.
 */
int		 lifecycle_scan(const struct mfile *, int64_t now, int threads,
		    struct stat *, struct file_facts *, struct rewrite_stats *);
/* Is a rotation of a live file (size bytes, facts ff) due?  *stamp:
   the time its segment is named for. */
int		 lifecycle_rotation_due(const struct logset *,
		    const struct file_facts *, uint64_t size, int64_t now,
		    int64_t lead, int64_t *stamp);
/* Rotate a live file (identity live_st) to a segment named for stamp. */
int		 lifecycle_rotate(const struct mfile *, const struct stat *live_st,
		    int64_t stamp, char *seg, size_t segsz, const struct lc_out *);
int		 lifecycle_delete(const struct mfile *, const struct stat *,
		    const struct lc_out *);
int		 lifecycle_rewrite_opts(const struct mfile *,
		    const struct policy_plan *, const struct file_facts *,
		    int64_t now, struct rewrite_opts *, char *buf, size_t bufsz,
		    const char **newname);
void		 lifecycle_said_rewrite(const struct mfile *, int actions,
		    const char *newname, uint64_t masked, const struct lc_out *);
int		 lifecycle_writer(const struct mfile *, const struct stat *);
int64_t		 lifecycle_seal_wait(const struct mfile *, const struct stat *,
		    int64_t quiet_for, int *warned);
void		 lifecycle_recreate_live(const struct mfile *seg);
void		 lifecycle_said_lines(const char *path, const struct line_stats *);

/* keys.c: the day keys of pseudonyms, state_dir/keys/SET */
#define KEYS_DIR	"keys"

/* "2026-11-20" as a UTC day; 0, or -1. */
int		 keys_parse_day(const char *, int64_t *day);
/*
 * The key of day for set: 1 and key; 0 when there is none (destroyed,
 * past the window at now, passed over, or not made yet when !create);
 * -1 and *err.  create: make it when it is missing and day lies between
 * the first day the window at now still needs and the day after now's
 * (the ratchet then moves past it; the file is replaced).  Never makes a
 * file or a directory when !create.
 */
int		 keys_day(int state_dfd, const struct logset *, int64_t day,
		    int create, int64_t now, uint8_t key[PSEUDO_KEY_LEN],
		    const char **err);
/* When set's key of day was destroyed, as its file remembers (a year),
   or TIME_NONE. */
int64_t		 keys_destroyed(int state_dfd, const struct logset *,
		    int64_t day);
/*
 * Destroy set's keys whose whole day is older than now - window, each
 * said as o says (print: stdout; else the log; dry_run: only said).
 * Returns how many, or -1 and *err.
 */
int		 keys_prune(int state_dfd, const struct logset *, int64_t now,
		    const struct lc_out *o, const char **err);
/*
 * The same for every key file in state_dir/keys: a configured set's by
 * its window, a file of a set no longer configured by the window it was
 * made under; stale temp files are removed.  Returns how many were
 * destroyed, or -1 (logged) when a file could not be pruned; *next: when
 * to look again: when the next key dies, a sweep from now at the latest
 * (another lethe may make keys meanwhile).
 */
int		 keys_prune_all(int state_dfd, const struct config *,
		    int64_t now, const struct lc_out *o, int64_t *next);
/* The set a pseudonym command is for: the one named, or the only one
   with transform = pseudonym; NULL (said) when there is none or more. */
const struct logset *keys_pick_set(const struct config *, const char *name);

/*
 * A set's keys for a long-lived reader (the daemon's mirror and stream,
 * lethe mask --pseudonym): the name and window are copied, state_dfd is
 * not owned.  A day's key is read or made on the disk once, then kept
 * (a few days) until its day passes the window; keyring_free wipes them.
 * One thread at a time.
 */
struct keyring;
struct keyring	*keyring_new(int state_dfd, const struct logset *);
void		 keyring_free(struct keyring *);
/* keys_day(create), through the cache; -1: keyring_error says why. */
int		 keyring_get(struct keyring *, int64_t day, int64_t now,
		    uint8_t key[PSEUDO_KEY_LEN]);
/* Wipe the kept keys of days past the window at now. */
void		 keyring_forget(struct keyring *, int64_t now);
const char	*keyring_error(const struct keyring *);
/* The pseudonym transform of the ring's set (xform_pseudonym_free). */
struct xform	*keyring_xform(struct keyring *, int prefix, int64_t now);

/* notify.c: sd_notify (NOTIFY_SOCKET; no-ops without it) */
int		 notify_ready(void);
int		 notify_reloading(void);
int		 notify_stopping(void);
int		 notify_watchdog(void);
int		 notify_status(const char *, ...) PRINTFLIKE(1, 2);
uint64_t	 notify_watchdog_usec(void);

/* store.c: the saved catalog */
enum srecord_flags {
	SR_LIVE		= 1 << 0,
	SR_GZIP		= 1 << 1,
	SR_SEALED	= 1 << 2,
	SR_FACTS	= 1 << 3,	/* the times describe the file */
};

struct srecord {
	char		*set;		/* set name */
	char		*path;
	uint64_t	 dev;
	uint64_t	 ino;
	uint64_t	 size;
	int64_t		 mtime_ns;
	uint32_t	 head_hash;	/* crc32 of the first head_len bytes */
	uint32_t	 head_len;
	uint64_t	 offset;	/* scanned through, a line boundary */
	int		 flags;		/* enum srecord_flags */
	int64_t		 first_time;
	int64_t		 last_time;
	int64_t		 oldest_full;
	uint32_t	 facts_key;	/* the set's facts_key at the time */
	char		*mirror;	/* its mirror's name, or NULL */
	uint64_t	 m_off;		/* mirrored through (a line boundary) */
	uint64_t	 m_size;	/* the mirror's size then */
	uint64_t	 m_dev;		/* the mirror file itself, found by */
	uint64_t	 m_ino;		/* these when renamed (0: unknown) */
	int		 fwd;		/* forwarded: the three below */
	uint32_t	 fwd_id;	/* the stream's identity */
	uint64_t	 fwd_off;	/* acknowledged through */
	uint64_t	 fwd_seq;	/* the sequence number there */
};

void		 store_encode(const struct srecord *, size_t, char **, size_t *);
int		 store_decode(const char *, size_t, struct srecord **, size_t *,
		    const char **errstr);
void		 store_records_free(struct srecord *, size_t);
int		 store_save(int dfd, const struct srecord *, size_t);
/* dfd/name (mode 0600) holds buf, whole, or is as it was: temp file,
   fsync, rename, fsync of the directory. */
int		 store_write(int dfd, const char *name, const void *buf,
		    size_t len);
/* Open (creating it, 0700) the config's state_dir: its fd, or -1 and
   *why. */
int		 store_open(const struct config *, const char **why);
int		 store_load(int dfd, struct srecord **, size_t *,
		    const char **errstr);
/*
 * Open (creating it, mode 0700) the config's state_dir and take its lock
 * for cmd.  Exits 75 (EX_TEMPFAIL) when another lethe holds it, saying
 * which.  Returns the directory's descriptor.
 */
int		 store_lock(const struct config *, const char *cmd);

/* rotation.c */
int64_t		 rotate_next(const struct logset *, int64_t after);
int64_t		 rotate_prev(const struct logset *, int64_t now);
int		 rotate_segment_name(int dfd, const char *live, int64_t t,
		    char *out, size_t outsz);
int		 rotate_file(int dfd, const char *live, const char *segment,
		    const struct stat *live_st, const char **why);
int		 rotate_hook_signal(const struct logset *, const char **why);
pid_t		 rotate_hook_command(const struct logset *, const char **why);
int		 rotate_has_writer(int dfd, const char *name, dev_t, ino_t);

/* metrics.c: Prometheus textfile */
enum metric_action {
	MA_ROTATE,
	MA_COMPRESS,
	MA_MASK,
	MA_DELETE,
	MA_MAX
};

enum metric_error {
	ME_READ,
	ME_SCAN,
	ME_REWRITE,
	ME_DELETE,
	ME_ROTATE,
	ME_HOOK,
	ME_CATALOG,
	ME_MIRROR,
	ME_MAX
};

struct set_metrics {
	uint64_t	 lines_read;
	uint64_t	 mirror_lines;	/* written to the mirror */
	uint64_t	 mirror_dropped; /* left out: the mirror failed */
	uint64_t	 fwd_sent;	/* forwarded stream (forward.c) */
	uint64_t	 fwd_acked;
	uint64_t	 fwd_resent;
	uint64_t	 fwd_dropped;
	uint64_t	 fwd_cut;
	uint64_t	 fwd_breaks;
	uint64_t	 fwd_lag;	/* gauges, filled in when written */
	uint64_t	 fwd_connected;
	uint64_t	 not_understood;	/* of lines_read */
	uint64_t	 time_refused;	/* dated in the future, or disorder */
	uint64_t	 long_lines;
	uint64_t	 addrs_masked;
	uint64_t	 rotated;
	uint64_t	 compressed;
	uint64_t	 masked;
	uint64_t	 deleted;
	uint64_t	 bytes_in;
	uint64_t	 bytes_out;
	uint64_t	 files;		/* filled in when written */
	uint64_t	 held;		/* filled in when written */
	int64_t		 oldest_full;	/* filled in when written */
};

struct metrics {
	uint64_t	 errors[ME_MAX];
	int64_t		 last_success[MA_MAX];
};

void		 metrics_render(const struct config *,
		    const struct set_metrics *, const struct metrics *,
		    int64_t now, char **, size_t *);
int		 metrics_write(const char *path, const struct config *,
		    const struct set_metrics *, const struct metrics *,
		    int64_t now);

/* load.c: read and parse a config; messages to stderr (plain) or log */
struct config	*load_config(const char *path, int plain);

/* main.c, cmd_*.c: the commands */
enum cmd_flags {
	CMD_DRY_RUN	= 1 << 0,
	CMD_MASK_OPTS	= 1 << 1,
	CMD_ARGS	= 1 << 2,	/* ADDR|CIDR... */
	CMD_FIND_OPTS	= 1 << 3,
	CMD_ERASE_OPTS	= 1 << 4,
	CMD_SET_OPT	= 1 << 5,
	CMD_HOLD_OPTS	= 1 << 6,
	CMD_REPORT_OPTS	= 1 << 7,
	CMD_ONE_ARG	= 1 << 8,	/* exactly one argument */
	CMD_REVEAL_OPTS	= 1 << 9,
	CMD_THREADS	= 1 << 10,	/* --threads N */
};

struct cmd_opts {
	const char	*conf;
	int		 verbose;
	int64_t		 now;
	int		 have_now;
	int		 dry_run;
	int		 v4_prefix;
	int		 v6_prefix;
	const char	*format;
	const char	*log_format;
	const char	*addresses;
	const char	*regex;
	const char	*time_key;
	const char	*time_format;
	const char	*timezone;
	int		 mask_hostnames;
	const char	*output;
	int64_t		 since;		/* find: TIME_NONE when not given */
	int64_t		 until;
	const char	*since_arg;
	const char	*until_arg;	/* hold: its own reading */
	int		 list;		/* hold --list */
	const char	*release;	/* hold --release ID|ADDR */
	const char	*html;		/* report --html FILE */
	const char	*date;		/* reveal --date DAY */
	int		 pseudonym;	/* mask --pseudonym */
	const char	*set;
	int		 json;
	const char	*export;
	const char	*reason;	/* erase */
	const char	*receipt;
	int64_t		 wait;		/* seconds */
	const char	*wait_arg;
	int		 threads;	/* --threads; 0: not given */
	char	       **args;
	size_t		 nargs;
};

int		 cmd_check(const struct cmd_opts *);
int		 cmd_once(const struct cmd_opts *);
/* Every action due now and every pending erase request, with the lock
   held (state_dfd; -1: a dry run).  0, or 1 when something failed. */
int		 once_run(const struct cmd_opts *, struct config *,
		    int state_dfd);
int		 cmd_audit(const struct cmd_opts *);
int		 cmd_mask(const struct cmd_opts *);
int		 cmd_find(const struct cmd_opts *);
int		 cmd_erase(const struct cmd_opts *);
int		 cmd_hold(const struct cmd_opts *);
int		 cmd_report(const struct cmd_opts *);
int		 cmd_reveal(const struct cmd_opts *);

/* daemon.c: lethe run */
struct event;
struct event_base;

/* What the daemon keeps per set, beside the config. */
struct setrt {
	int64_t		 next_rotate;	/* aligned rotation, daemon clock */
	int		 rotate_now;	/* USR1, size, early, or restart */
	int64_t		 rotate_stamp;	/* the segments' time, 0: now */
	pid_t		 hook_pid;	/* a reopen command running */
	int64_t		 hook_deadline;
	int		 hook_due;	/* segments wait for a hook run */
	int64_t		 hook_retry_at;
	int64_t		 hook_backoff;
	int		 warned_noreopen;
	int		 warned_live;
	struct set_metrics m;		/* counters, kept across reloads */
};

struct watch {
	int		 wd;
	char		*path;
};

struct daemon {
	struct event_base *base;
	const char	*conf_path;
	struct config	*conf;
	struct setrt	*rt;
	struct catalog	 cat;
	struct srecord	*records;	/* the saved catalog, at start */
	const struct srecord **rsorted;	/* records by path (record_find) */
	size_t		 nrecords;
	int		 state_dfd;

	int		 fake_clock;	/* --now given */
	int64_t		 now_base;
	struct timespec	 mono_base;
	double		 rate;		/* test clock rate */

	struct event	*ev_timer;
	struct event	*ev_work;
	struct event	*ev_inotify;
	struct event	*ev_sig[7];
	int		 ifd;
	struct watch	*watches;
	size_t		 nwatches;

	int		 rescan;
	uint64_t	 next_job;
	int		 dirty;		/* offsets moved: save within a sweep */
	int		 urgent;	/* a file changed state: save now */
	int64_t		 saved_at;
	uint64_t	 wd_usec;
	struct timespec	 wd_next;
	int		 stopping;
	int		 recover;	/* an act may have left a claim */
	int64_t		 rescan_at;	/* a failed rescan is retried then */
	int		 save_failing;	/* the catalog could not be saved */
	struct metrics	 metrics;
	int		 req_dfd;	/* state_dir/requests */
	struct forward	**fwd;		/* per set of conf: its thread */
	struct holds	*holds;		/* per set of conf */
	size_t		 nholds;
	int		 requests_due;	/* look at them now (USR2, start) */
	uint64_t	 requests_gen;	/* follow_sealed_gen when looked */
	int64_t		 requests_retry_at;
	int64_t		 requests_backoff;
	uint64_t	 holds_gen;	/* daemon_holds calls */
	int64_t		 holds_next;	/* the first hold ends then */
	int64_t		 keys_next;	/* a pseudonym key dies then */
};

#define BACKOFF_MIN	5
#define BACKOFF_MAX	600		/* as syslogd caps its retries */

int		 daemon_run(const char *conf_path, int have_now, int64_t now);
/* The saved record of f, while the daemon starts; NULL: none. */
const struct srecord *daemon_record(const struct daemon *,
		    const struct mfile *);
int64_t		 daemon_now(const struct daemon *);
/* Read the holds again; files whose facts a released hold delayed are
   read again.  old_conf: the config the holds were attached to. */
void		 daemon_holds(struct daemon *, const struct config *old_conf);
double		 daemon_now_f(const struct daemon *);
/* Run the tick again as soon as the loop is free. */
void		 daemon_kick(struct daemon *);
/* Save the catalog (and the metrics) now. */
void		 daemon_flush(struct daemon *, int64_t now);
struct setrt	*daemon_setrt(struct daemon *, const struct logset *);
/* "2026-11-29T04:00:00Z", or "never"; two static buffers in turn. */
const char	*daemon_iso(int64_t);
/* Capped exponential backoff after a failure of f. */
void		 daemon_backoff(struct mfile *, int64_t now);

/* follow.c: files followed and sealed, inotify, rescans */
extern uint64_t	 follow_sealed_gen;	/* files sealed so far */
void		 follow_set_state(struct mfile *, int state);
void		 follow_adopt(struct daemon *, struct mfile *, int64_t now);
void		 follow_open(struct mfile *);
void		 follow_step(struct daemon *, struct mfile *, int64_t now,
		    size_t budget);
/* A settling file: sealed when it may be; returns when to look again. */
int64_t		 follow_seal(struct daemon *, struct mfile *, int64_t now);
void		 follow_rescan(struct daemon *, int64_t now);
void		 follow_watch(struct daemon *);
int		 follow_start(struct daemon *);
void		 follow_stop(struct daemon *);
/* A file's facts no longer describe it (a reload changed how to read). */
void		 follow_forget(struct mfile *);

/* jobs.c: one worker thread for whole-file jobs */
void		 jobs_start(struct daemon *);
void		 jobs_stop(void);
int		 jobs_busy(void);
/* Pending erase requests: one at a time on the worker; the next due. */
int64_t		 jobs_requests(struct daemon *, int64_t now);
/* A sealed file: start what policy says is due; returns the next due. */
int64_t		 jobs_step(struct daemon *, struct mfile *, int64_t now);

/* rotation.c, in the daemon: per-set rotation and reopen hooks */
int64_t		 rotation_step(struct daemon *, size_t set, int64_t now);
int64_t		 rotation_live_step(struct daemon *, struct mfile *,
		    int64_t now);
void		 rotation_recover(struct daemon *);
void		 rotation_reap(struct daemon *);
void		 rotation_timeouts(struct daemon *, int64_t now);

#endif /* LETHE_H */
