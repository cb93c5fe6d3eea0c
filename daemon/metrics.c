/*
 * Metrics for Prometheus, in node_exporter's textfile collector format:
 * written whole to a temp file beside metrics_file and renamed over it,
 * so the collector never reads half a file.  The gauge to alert on is
 * lethe_oldest_full_address_age_seconds: it must stay below the set's
 * lethe_window_seconds.
 */
#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lethe.h"

static const char *const action_names[MA_MAX] = {
	"rotate", "compress", "mask", "delete",
};

static const char *const error_names[ME_MAX] = {
	"read", "scan", "rewrite", "delete", "rotate", "hook", "catalog",
	"mirror",
};

struct mbuf {
	char	*p;
	size_t	 len;
	size_t	 cap;
};

static void PRINTFLIKE(2, 3)
mb_printf(struct mbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n >= 0 && (size_t)n < b->cap - b->len) {
			b->len += (size_t)n;
			return;
		}
		b->cap = b->cap ? b->cap * 2 : 8192;
		b->p = xreallocarray(b->p, 1, b->cap);
	}
}

/* A set name as a label value: escape backslash, quote and newline. */
static const char *
label(const char *s)
{
	static char buf[2][256];
	static int next;
	char *b = buf[next++ % 2], *p = b;

	for (; *s != '\0' && p < b + sizeof(buf[0]) - 3; s++) {
		if (*s == '\\' || *s == '"')
			*p++ = '\\';
		if (*s == '\n') {
			*p++ = '\\';
			*p++ = 'n';
			continue;
		}
		*p++ = *s;
	}
	*p = '\0';
	return b;
}

static void
head(struct mbuf *b, const char *name, const char *type, const char *help)
{
	mb_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* The per-set counters and gauges, one row each. */
static const struct {
	const char	*name;
	const char	*type;
	const char	*help;
	size_t		 off;		/* a uint64_t in struct set_metrics */
} set_rows[] = {
	{ "lethe_lines_read_total", "counter",
	    "Lines read from live files and segments.",
	    offsetof(struct set_metrics, lines_read) },
	{ "lethe_lines_not_understood_total", "counter",
	    "Lines read that the set's format does not describe: passed "
	    "through, their addresses found by the free scan.",
	    offsetof(struct set_metrics, not_understood) },
	{ "lethe_lines_time_refused_total", "counter",
	    "Lines read whose time was not believed (more than a day ahead "
	    "of the clock, or a day before the line before).",
	    offsetof(struct set_metrics, time_refused) },
	{ "lethe_lines_long_total", "counter",
	    "Lines read longer than 1 MiB (streamed, masked by free scan).",
	    offsetof(struct set_metrics, long_lines) },
	{ "lethe_addresses_masked_total", "counter",
	    "Full addresses truncated.",
	    offsetof(struct set_metrics, addrs_masked) },
	{ "lethe_mirror_lines_total", "counter",
	    "Lines written to the masked mirror (mirror = ...).",
	    offsetof(struct set_metrics, mirror_lines) },
	{ "lethe_mirror_lines_dropped_total", "counter",
	    "Lines left out of the mirror because it could not be written "
	    "(a full disk) by the time their segment was to be sealed.",
	    offsetof(struct set_metrics, mirror_dropped) },
	{ "lethe_forward_lines_sent_total", "counter",
	    "Lines sent to the forward receiver (sent again after a break "
	    "included).",
	    offsetof(struct set_metrics, fwd_sent) },
	{ "lethe_forward_lines_acked_total", "counter",
	    "Lines the receiver acknowledged (RELP), or took (tcp, unix).",
	    offsetof(struct set_metrics, fwd_acked) },
	{ "lethe_forward_lines_resent_total", "counter",
	    "Lines sent again after a connection broke, unacknowledged.",
	    offsetof(struct set_metrics, fwd_resent) },
	{ "lethe_forward_lines_dropped_total", "counter",
	    "Lines never forwarded: older than forward_max_lag.",
	    offsetof(struct set_metrics, fwd_dropped) },
	{ "lethe_forward_lines_cut_total", "counter",
	    "Lines cut to 64 KiB to fit a message.",
	    offsetof(struct set_metrics, fwd_cut) },
	{ "lethe_forward_breaks_total", "counter",
	    "Connections to the receiver lost.",
	    offsetof(struct set_metrics, fwd_breaks) },
	{ "lethe_forward_lag_seconds", "gauge",
	    "Age of the oldest line not yet acknowledged by the receiver.",
	    offsetof(struct set_metrics, fwd_lag) },
	{ "lethe_forward_connected", "gauge",
	    "1 while connected to the receiver.",
	    offsetof(struct set_metrics, fwd_connected) },
	{ "lethe_files_rotated_total", "counter", "Live files rotated.",
	    offsetof(struct set_metrics, rotated) },
	{ "lethe_files_compressed_total", "counter", "Files compressed.",
	    offsetof(struct set_metrics, compressed) },
	{ "lethe_files_masked_total", "counter",
	    "Files rewritten with addresses masked.",
	    offsetof(struct set_metrics, masked) },
	{ "lethe_files_deleted_total", "counter",
	    "Files deleted past retain.",
	    offsetof(struct set_metrics, deleted) },
	{ "lethe_rewrite_bytes_in_total", "counter",
	    "Bytes read by rewrites (uncompressed).",
	    offsetof(struct set_metrics, bytes_in) },
	{ "lethe_rewrite_bytes_out_total", "counter",
	    "Bytes written by rewrites (uncompressed).",
	    offsetof(struct set_metrics, bytes_out) },
	{ "lethe_files_managed", "gauge",
	    "Files in the set: live, rotated and compressed.",
	    offsetof(struct set_metrics, files) },
	{ "lethe_lines_held", "gauge",
	    "Lines past the window whose full address an incident hold "
	    "keeps (lethe hold), as the daemon last read them (files known "
	    "from the saved catalog at a start count once read again).",
	    offsetof(struct set_metrics, held) },
};

static void
per_set(struct mbuf *b, const struct config *conf,
    const struct set_metrics *sm, int64_t now)
{
	const unsigned char *base;
	uint64_t v;
	size_t i, r;

	for (r = 0; r < sizeof(set_rows) / sizeof(set_rows[0]); r++) {
		head(b, set_rows[r].name, set_rows[r].type, set_rows[r].help);
		for (i = 0; i < conf->nsets; i++) {
			base = (const unsigned char *)&sm[i];
			memcpy(&v, base + set_rows[r].off, sizeof(v));
			mb_printf(b, "%s{set=\"%s\"} %" PRIu64 "\n",
			    set_rows[r].name, label(conf->sets[i].name), v);
		}
	}
	head(b, "lethe_window_seconds", "gauge",
	    "How long full addresses are kept.");
	for (i = 0; i < conf->nsets; i++)
		mb_printf(b, "lethe_window_seconds{set=\"%s\"} %" PRId64 "\n",
		    label(conf->sets[i].name), conf->sets[i].window);
	head(b, "lethe_oldest_full_address_age_seconds", "gauge",
	    "Age of the oldest line holding a full address on disk (0: none);"
	    " alert when it exceeds lethe_window_seconds.");
	for (i = 0; i < conf->nsets; i++)
		mb_printf(b, "lethe_oldest_full_address_age_seconds{set=\"%s\"}"
		    " %" PRId64 "\n", label(conf->sets[i].name),
		    sm[i].oldest_full == TIME_NONE || sm[i].oldest_full > now ?
		    0 : now - sm[i].oldest_full);
}

static void
global(struct mbuf *b, const struct metrics *m)
{
	size_t i;

	head(b, "lethe_errors_total", "counter", "Errors by kind.");
	for (i = 0; i < ME_MAX; i++)
		mb_printf(b, "lethe_errors_total{kind=\"%s\"} %" PRIu64 "\n",
		    error_names[i], m->errors[i]);
	head(b, "lethe_last_success_timestamp_seconds", "gauge",
	    "When each action last succeeded (0: not yet).");
	for (i = 0; i < MA_MAX; i++)
		mb_printf(b, "lethe_last_success_timestamp_seconds{action=\"%s\"}"
		    " %" PRId64 "\n", action_names[i], m->last_success[i]);
}

/* Render every metric; the caller frees *out. */
void
metrics_render(const struct config *conf, const struct set_metrics *sm,
    const struct metrics *m, int64_t now, char **out, size_t *len)
{
	struct mbuf b = { NULL, 0, 0 };

	per_set(&b, conf, sm, now);
	global(&b, m);
	*out = b.p;
	*len = b.len;
}

/* Write the metrics file atomically.  Returns 0, or -1 (logged). */
int
metrics_write(const char *path, const struct config *conf,
    const struct set_metrics *sm, const struct metrics *m, int64_t now)
{
	const char *slash = strrchr(path, '/'), *why;
	char *dir, *text, tmp[NAME_MAX + 1];
	struct stat st;
	size_t len;
	int dfd, fd, rc = -1;

	dir = slash == path ? xstrdup("/") :
	    xstrndup(path, (size_t)(slash - path));
	if ((dfd = fsio_opendir(dir, &why)) == -1) {
		log_warnx("metrics_file \"%s\": %s", log_esc(path), why);
		free(dir);
		return -1;
	}
	metrics_render(conf, sm, m, now, &text, &len);
	if ((fd = fsio_tmp_create(dfd, slash + 1, tmp, sizeof(tmp))) == -1 ||
	    fsio_write_all(fd, text, len) == -1) {
		log_warn("write metrics \"%s\"", log_esc(path));
		if (fd != -1) {
			fsio_close(fd);
			fsio_unlinkat(dfd, tmp);
		}
		goto out;
	}
	memset(&st, 0, sizeof(st));
	st.st_uid = geteuid();
	st.st_gid = getegid();
	st.st_mode = S_IFREG | 0644;	/* node_exporter reads it */
	clock_gettime(CLOCK_REALTIME, &st.st_mtim);
	st.st_atim = st.st_mtim;
	if (fsio_replace(dfd, fd, tmp, slash + 1, 0, &st) == -1)
		log_warn("replace metrics \"%s\"", log_esc(path));
	else
		rc = 0;
out:
	free(text);
	fsio_close(dfd);
	free(dir);
	return rc;
}
