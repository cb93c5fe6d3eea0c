/*
 * lethe: keep web server access logs useful for security while full client
 * addresses are kept only for a window.  Shared structs and prototypes,
 * grouped by the file that defines them.
 */
#ifndef LETHE_H
#define LETHE_H

#include <sys/types.h>
#include <sys/stat.h>

#include <stddef.h>
#include <stdint.h>
#include <stdarg.h>

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

/* format.c */
enum format_kind {
	FORMAT_COMBINED,
	FORMAT_COMMON,
	FORMAT_MAIN,
	FORMAT_VHOST_COMBINED,
	FORMAT_NGINX_ERROR,
	FORMAT_APACHE_ERROR,
	FORMAT_JSON,
	FORMAT_REGEX,
};

struct span {
	uint32_t	 off;
	uint32_t	 len;
};

/* A growable array of spans, reused from line to line. */
struct spans {
	struct span	*v;
	size_t		 n;
	size_t		 cap;
};

struct format;

int		 format_kind_parse(const char *, enum format_kind *);
const char	*format_kind_name(enum format_kind);
/*
 * The default address fields of a format ("remote_addr" and so on), as
 * one comma separated string; NULL for json and regex, which need
 * "addresses" set.
 */
const char	*format_default_fields(enum format_kind);
/*
 * Compile a format.  fields are the address fields named by "addresses"
 * (json: key names, nested as "request.remote_ip"; text formats:
 * remote_addr, http_x_forwarded_for, client, ...); regex is the PCRE2
 * pattern for FORMAT_REGEX (named groups "time" and "addr", "addr2", ...;
 * every group whose name starts with "addr").  On error returns NULL and
 * sets *errstr to a static or allocated-into-format-free message
 * (valid until the next call).
 */
struct format	*format_new(enum format_kind, const char *regex,
		    char *const *fields, size_t nfields, const char **errstr);
void		 format_free(struct format *);
/*
 * Scan one line (line[0..len), no newline; len < 2^32): sets *t to the
 * line's time (seconds since the epoch, UTC) or TIME_NONE (t may be NULL
 * when the time is not wanted: it is then not parsed), and fills sp
 * (sp->n reset to 0 first) with the spans of every candidate address
 * token in the configured fields, in increasing offset order, never
 * overlapping.  A field holding a list ("a, b, c") yields one span per
 * element.  Candidates are confirmed by addr_mask(); "-", "unknown" and
 * host names are candidates that it rejects.  Never fails: a line it
 * cannot parse yields no spans (or those it could find) and TIME_NONE.
 */
void		 format_scan(struct format *, const char *line, size_t len,
		    struct spans *sp, int64_t *t);
/*
 * Parse a timestamp: CLF "10/Oct/2000:13:55:36 -0700" (brackets
 * optional), ISO 8601 "2026-11-29T04:00:00Z", "...+01:00",
 * "...+0100", with optional fraction, or epoch seconds with optional
 * fraction.  Returns 0 and sets *t (seconds, UTC, fraction dropped), or -1.
 */
int		 format_parse_time(const char *s, size_t len, int64_t *t);
void		 spans_release(struct spans *);

/* config.c */
enum rotate_kind {
	ROTATE_OFF,
	ROTATE_INTERVAL,	/* rotate_every seconds, aligned to the clock */
	ROTATE_DAILY,		/* local midnight */
	ROTATE_SIZE,		/* rotate_size bytes */
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
	enum format_kind format_kind;
	char		*regex;
	char	       **fields;	/* "addresses" */
	size_t		 nfields;
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
};

struct config {
	char		*path;
	char		*state_dir;
	int64_t		 sweep;		/* seconds */
	char		*metrics_file;	/* Prometheus textfile, or NULL */
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
struct config	*config_parse(const char *path, const char *text, size_t len,
		    struct config_msgs *msgs);
void		 config_free(struct config *);
void		 config_msgs_release(struct config_msgs *);
/* "90d", "1h30m", "45" (seconds): returns 0 and *v in seconds, or -1. */
int		 config_parse_duration(const char *, int64_t *v);
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
};

struct policy_plan {
	int		 actions;	/* enum policy_action */
	int64_t		 mask_before;	/* ACT_MASK: mask lines older */
	int64_t		 next_due;	/* next time something is due,
					   INT64_MAX: never */
};

void		 policy_plan(const struct logset *, const struct file_facts *,
		    int64_t now, struct policy_plan *);
/* "mask compress" and so on, for messages; static buffer. */
const char	*policy_actions_str(int actions);

/* fsio.c: every filesystem call of lethe goes through here (fault seam) */
#define FSIO_TMP_TAG	".lethe-"	/* temp files: ".NAME.lethe-XXXXXX" */

/*
 * Open a directory (O_DIRECTORY, O_NOFOLLOW on the last component) and
 * check that nobody but root and its owner may write to it.  Returns the
 * fd, or -1 with *why set (and errno where it applies).
 */
int		 fsio_opendir(const char *path, const char **why);
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
/*
 * Finish a temp file: copy owner, group, mode and mtime of orig, fsync,
 * close, rename over target (noreplace: only if target does not exist,
 * else EEXIST), fsync the directory.  tmpfd is closed in
 * every case; on failure the temp file is removed.
 */
int		 fsio_replace(int dfd, int tmpfd, const char *tmp,
		    const char *target, int noreplace, const struct stat *orig);
/* Remove every stale ".NAME.lethe-XXXXXX" whose NAME matches keep_cb. */
int		 fsio_clean_tmp(int dfd, int (*is_ours)(const char *, void *),
		    void *arg);
ssize_t		 fsio_read(int fd, void *, size_t);
ssize_t		 fsio_pread(int fd, void *, size_t, off_t);
int		 fsio_write_all(int fd, const void *, size_t);
int		 fsio_fsync(int fd);
int		 fsio_close(int fd);
int		 fsio_unlinkat(int dfd, const char *name);
int		 fsio_renameat(int dfd, const char *from, const char *to);
int		 fsio_read_file(const char *path, size_t max, char **buf,
		    size_t *len);
/* renameat2(RENAME_NOREPLACE): fails with EEXIST rather than replace. */
int		 fsio_rename_noreplace(int dfd, const char *from, const char *to);
/*
 * Create dfd/name, which must not exist (EEXIST), with the owner, group
 * and mode of *like (a rotated file's successor).  Returns 0, or -1 with
 * errno and *why naming the step that failed ("create", "chown",
 * "chmod", "close"); after "create" the file exists all the same.
 */
int		 fsio_create_like(int dfd, const char *name,
		    const struct stat *like, const char **why);

/* rewrite.c */
/* Options of one pass over a file. */
struct rewrite_opts {
	struct format	*format;
	struct addr_prefix prefix;
	int64_t		 mask_before;	/* mask lines with time < this;
					   TIME_NONE: none, INT64_MAX: all */
	int64_t		 start_time;	/* time of lines before the first
					   line with a time */
	int64_t		 audit_before;	/* count full addresses on lines
					   older than this (audit) */
	int		 compress;	/* write gzip (else as the input) */
	const volatile int *cancel;	/* when it becomes non-zero, stop,
					   remove the temp file, fail */
};

struct rewrite_stats {
	int		 gzip_in;	/* the input was gzip */
	uint64_t	 lines;
	uint64_t	 bytes_in;	/* uncompressed */
	uint64_t	 bytes_out;	/* uncompressed */
	uint64_t	 addrs_masked;
	int64_t		 first_time;	/* TIME_NONE: no line had one */
	int64_t		 last_time;
	int64_t		 oldest_full;	/* after this pass; TIME_NONE: none */
	uint64_t	 full_past;	/* full addresses older than
					   audit_before, after this pass */
	uint64_t	 full_past_line; /* line number of the first */
};

/*
 * Read fd (plain or gzip, by its magic bytes) and gather stats as if it
 * were rewritten with opts (nothing is written).  Returns 0, or -1 with
 * *errstr ("truncated gzip", "read: ...").
 */
int		 rewrite_scan(int fd, const struct rewrite_opts *,
		    struct rewrite_stats *, const char **errstr);
/*
 * Rewrite dfd/name through a temp file: lines older than mask_before
 * masked, compressed when opts->compress.  The result replaces name, or
 * goes to newname (name + ".gz" when compressing a plain file), in which
 * case name is removed after the rename.  The input is opened safely
 * (fsio_openat_file) and must match *expect (dev, ino) when expect is not
 * NULL.  Returns 0, or -1 with *errstr; on failure nothing is changed.
 */
int		 rewrite_file(int dfd, const char *name, const char *newname,
		    const struct stat *expect, const struct rewrite_opts *,
		    struct rewrite_stats *, const char **errstr);
/*
 * Filter infd to outfd, masking every address at once (lethe mask).  When
 * line_flush, every line is written out as soon as it is complete.
 */
int		 rewrite_stream(int infd, int outfd, struct format *,
		    const struct addr_prefix *, int line_flush,
		    const char **errstr);

/* tail.c */
#define TAIL_HEAD	1024	/* bytes hashed to know a file again */

/* How far a followed file was read, and what its lines hold. */
struct tailpos {
	uint64_t	 offset;	/* scanned through, a line boundary */
	uint64_t	 scan_pos;	/* may be inside a long line */
	uint64_t	 size;		/* at the last read */
	uint32_t	 head_hash;	/* crc32 of the first head_len bytes */
	uint32_t	 head_len;
	int		 long_line;	/* skipping the rest of a long line */
	int		 pending_full;	/* full address before any time */
	uint64_t	 lines;		/* lines read (metrics) */
	int64_t		 prev_time;	/* time of the last line read */
	struct file_facts ff;
};

void		 tail_facts_reset(struct tailpos *, int live);
int		 tail_same_head(int fd, const struct tailpos *);
int		 tail_read(int fd, struct tailpos *, const struct logset *,
		    size_t budget, int *truncated);


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

	/* kept by the daemon (daemon.c), carried across rescans */
	int		 state;		/* enum mfile_state */
	int		 fd;		/* followed (live, settling), or -1 */
	struct tailpos	 tp;		/* where we read; tp.ff: the facts */
	int		 have_facts;	/* tp.ff describes the whole file */
	int		 hook_wait;	/* settling until our reopen hook ran */
	int		 more;		/* followed, with more to read */
	int64_t		 growth_at;	/* when it last grew (daemon clock) */
	int64_t		 retry_at;	/* after a failure, not before */
	int64_t		 backoff;
	int64_t		 next_due;	/* policy's next action */
	uint64_t	 job;		/* the job working on it, or 0 */
};

struct catalog {
	struct mdir    **dirs;
	size_t		 ndirs;
	struct mfile   **files;		/* sorted by path */
	size_t		 nfiles;
	size_t		 nerrors;	/* refused directories, overlaps */
};

/*
 * When name looks rotated (BASE.N, BASE.N.gz, BASE-YYYYMMDD[HH][.gz],
 * BASE-YYYYMMDDTHHMMZ[.gz], BASE.gz), return the length of BASE; else 0.
 */
size_t		 catalog_rotated_base(const char *name);
int		 catalog_is_segment(const char *name);
const char	*catalog_gz_name(const char *name, char *buf, size_t bufsz);
/*
 * Find every file of every set: the live files the globs match and their
 * rotated siblings.  Refused entries are kept with ->refused set and
 * logged; errors (a refused or missing directory, a file claimed by two
 * sets) are logged and counted.  Returns 0, or -1 when nerrors > 0.
 */
int		 catalog_discover(struct catalog *, struct config *);
/* Remove stale temp files of managed names left by a crash. */
void		 catalog_clean_tmp(struct catalog *);
/*
 * After a crash between compressing X into X.gz and removing X, both
 * exist: remove X when X.gz is our complete gzip (header comment "lethe")
 * with as many lines.  Returns the number of files removed.
 */
int		 catalog_recover_pairs(struct catalog *);
void		 catalog_release(struct catalog *);
void		 mfile_free(struct mfile *);

/* notify.c: sd_notify (NOTIFY_SOCKET; no-ops without it) */
int		 notify_ready(void);
int		 notify_reloading(void);
int		 notify_stopping(void);
int		 notify_watchdog(void);
int		 notify_status(const char *, ...) PRINTFLIKE(1, 2);
uint64_t	 notify_watchdog_usec(void);

/* state.c: the saved catalog */
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
};

void		 state_encode(const struct srecord *, size_t, char **, size_t *);
int		 state_decode(const char *, size_t, struct srecord **, size_t *,
		    const char **errstr);
void		 state_records_free(struct srecord *, size_t);
int		 state_save(int dfd, const struct srecord *, size_t);
int		 state_load(int dfd, struct srecord **, size_t *,
		    const char **errstr);

/* rotate.c */
int64_t		 rotate_next(const struct logset *, int64_t after);
int64_t		 rotate_prev(const struct logset *, int64_t now);
int		 rotate_segment_name(int dfd, const char *live, int64_t t,
		    char *out, size_t outsz);
int		 rotate_file(int dfd, const char *live, const char *segment,
		    const char **why);
int		 rotate_hook_signal(const struct logset *, const char **why);
pid_t		 rotate_hook_command(const struct logset *, const char **why);
int		 rotate_has_writer(int dfd, const char *name, dev_t, ino_t);

/* daemon.c */
struct config	*daemon_load_config(const char *path, int plain);
int		 daemon_run(const char *conf_path, int have_now, int64_t now);

/* worker.c: one thread for whole-file jobs */
enum job_kind {
	JOB_SCAN,		/* read a file for its facts */
	JOB_REWRITE,		/* mask and/or compress it */
};

struct job {
	uint64_t	 id;
	enum job_kind	 kind;
	int		 actions;	/* JOB_REWRITE: enum policy_action */
	int		 dfd;		/* a dup of the directory's */
	char		*name;
	char		*newname;	/* compressing: name.gz */
	char		*path;		/* for messages */
	struct stat	 expect;	/* the file must still be this one */
	enum format_kind fkind;		/* compiled in the worker */
	char		*regex;
	char	       **fields;
	size_t		 nfields;
	struct rewrite_opts opts;	/* format and cancel set by the worker */
	/* results */
	int		 rc;
	char		*err;
	struct rewrite_stats stats;
	struct stat	 after;		/* the file after the job */
};

struct event_base;
void		 worker_start(struct event_base *,
		    void (*)(struct job *, void *), void *);
int		 worker_busy(void);
int		 worker_submit(struct job *);
void		 worker_stop(void);
void		 job_free(struct job *);

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
	ME_MAX
};

struct set_metrics {
	uint64_t	 lines_read;
	uint64_t	 addrs_masked;
	uint64_t	 rotated;
	uint64_t	 compressed;
	uint64_t	 masked;
	uint64_t	 deleted;
	uint64_t	 bytes_in;
	uint64_t	 bytes_out;
	uint64_t	 files;		/* filled in when written */
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

#endif /* LETHE_H */
