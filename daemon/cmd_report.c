/*
 * lethe report: what lethe holds and when each thing happens, per set and
 * file: the time span of its lines, whether they hold full addresses and
 * from when, compressed or not, when its addresses are masked and when
 * it is deleted, the holds and pending erasures, and what was not
 * understood.  Text, --json, or --html FILE: one self-contained page (an
 * inline SVG timeline per set, no external asset) on which a data
 * protection officer sees at a glance that nothing full is past the
 * window.  It reads every file (as audit does) and takes no lock.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lethe.h"

struct rfile {
	const struct mfile *f;
	struct file_facts ff;
	struct rewrite_stats rs;
	int64_t		 mask_by;	/* its full addresses, TIME_NONE: none */
	int64_t		 delete_at;	/* TIME_NONE: never (live) */
	int64_t		 compress_at;	/* TIME_NONE: no, or done */
	int		 overdue;	/* full past the window now */
	int		 stuck;		/* live, and the set does not rotate */
	int		 error;
};

struct report {
	const struct cmd_opts *o;
	struct config	*conf;
	struct catalog	 cat;
	struct rfile	*v;
	size_t		 n;
	struct request **holds;
	size_t		 nholds;
	struct request **pending;
	size_t		 npending;
	size_t		 overdue;
	char		 host[256];
};

static const char *
tstr(int64_t t, char *buf, size_t sz)
{
	if (t == TIME_NONE) {
		(void)strlcpy(buf, "-", sz);
		return buf;
	}
	return iso_time(t, buf, sz);
}

static void
one(struct report *w, const struct mfile *f, struct rfile *r)
{
	const struct logset *set = f->set;
	struct stat st;
	int64_t now = w->o->now;

	memset(r, 0, sizeof(*r));
	r->f = f;
	r->mask_by = r->delete_at = r->compress_at = TIME_NONE;
	if (lifecycle_scan(f, now, threads_of(w->conf->threads), &st, &r->ff, &r->rs) == -1) {
		r->error = 1;
		return;
	}
	if (r->ff.oldest_full != TIME_NONE) {
		r->mask_by = r->ff.oldest_full + set->window;
		r->overdue = r->rs.l.full_past > 0;
		r->stuck = f->live && (set->rotate == ROTATE_OFF ||
		    set->reopen == REOPEN_NONE);
	}
	if (!f->live && r->ff.last_time != TIME_NONE)
		r->delete_at = r->ff.last_time + set->retain;
	if (!f->live && !r->ff.gzip && set->compress_after >= 0 &&
	    r->ff.last_time != TIME_NONE)
		r->compress_at = r->ff.last_time + set->compress_after;
	w->overdue += r->overdue;
}

static void
load(struct report *w)
{
	struct holds *hs;
	const char *why;
	size_t i;
	int sdfd, dfd;

	if ((sdfd = store_open(w->conf, &why)) == -1)
		log_warnx("state_dir: %s: holds and requests are not known",
		    why);
	hs = holds_attach(sdfd, w->conf, w->o->now, 0);
	if (sdfd != -1) {
		if ((dfd = request_dir(sdfd, HOLD_DIR, &why)) != -1) {
			(void)request_load_all(dfd, &w->holds, &w->nholds);
			fsio_close(dfd);
		}
		if ((dfd = request_dir(sdfd, REQUEST_DIR, &why)) != -1) {
			(void)request_load_all(dfd, &w->pending, &w->npending);
			fsio_close(dfd);
		}
		fsio_close(sdfd);
	}
	(void)catalog_discover(&w->cat, w->conf);
	w->v = xcalloc(w->cat.nfiles + 1, sizeof(*w->v));
	for (i = 0; i < w->cat.nfiles; i++)
		if (w->cat.files[i]->refused == NULL)
			one(w, w->cat.files[i], &w->v[w->n++]);
	for (i = 0; i < w->conf->nsets; i++)
		w->conf->sets[i].holds = NULL;
	holds_free(hs, w->conf->nsets);
	if (gethostname(w->host, sizeof(w->host)) == -1)
		(void)strlcpy(w->host, "this host", sizeof(w->host));
	w->host[sizeof(w->host) - 1] = '\0';
}

/* ---- text and json ----------------------------------------------------- */

static const char *
state_of(const struct rfile *r)
{
	if (r->error)
		return "unreadable";
	if (r->ff.damaged)
		return "damaged";
	if (r->overdue)
		return "FULL PAST THE WINDOW";
	if (r->ff.oldest_full != TIME_NONE)
		return "full addresses inside the window";
	return r->rs.l.lines == 0 ? "empty" : "masked";
}

static void
report_text(const struct report *w)
{
	const struct rfile *r;
	const struct logset *set;
	char a[32], b[32], c[32], d[32];
	size_t i, k;

	printf("lethe report for %s as of %s: %zu files, %s\n",
	    log_esc(w->host), tstr(w->o->now, a, sizeof(a)), w->n,
	    w->overdue == 0 ? "nothing full past the window" :
	    "FULL ADDRESSES PAST THE WINDOW (see below)");
	for (k = 0; k < w->conf->nsets; k++) {
		set = &w->conf->sets[k];
		printf("\n[%s]: window %s, retain %s, masked to /%d and "
		    "/%d\n", log_esc(set->name), config_fmt_duration(
		    set->window, c, sizeof(c)), config_fmt_duration(
		    set->retain, d, sizeof(d)), set->prefix.v4,
		    set->prefix.v6);
		for (i = 0; i < w->n; i++) {
			r = &w->v[i];
			if (r->f->set != set)
				continue;
			printf("  %s%s: %" PRIu64 " lines, %s to %s, %s%s\n",
			    log_esc(r->f->path), r->f->live ? " (live)" : "",
			    r->rs.l.lines, tstr(r->ff.first_time, a, sizeof(a)),
			    tstr(r->ff.last_time, b, sizeof(b)), state_of(r),
			    r->ff.gzip ? ", gzip" : "");
			if (r->mask_by != TIME_NONE)
				printf("    full from %s, masked by %s%s%s%s\n",
				    tstr(r->ff.oldest_full, a, sizeof(a)),
				    tstr(r->mask_by, b, sizeof(b)), r->stuck ?
				    " if it is rotated by then ([" : "",
				    r->stuck ? log_esc(set->name) : "",
				    r->stuck ? "] does not rotate it)" : "");
			if (r->compress_at != TIME_NONE ||
			    r->delete_at != TIME_NONE)
				printf("    compressed %s, deleted %s\n",
				    r->compress_at != TIME_NONE ? tstr(
				    r->compress_at, c, sizeof(c)) : "(done)",
				    tstr(r->delete_at, d, sizeof(d)));
			if (r->rs.l.bad > 0 || r->rs.l.held > 0)
				printf("    %" PRIu64 " lines not understood, %"
				    PRIu64 " held by a hold\n", r->rs.l.bad,
				    r->rs.l.held);
		}
	}
	printf("\nholds: %zu\n", w->nholds);
	for (i = 0; i < w->nholds; i++)
		printf("  %s (request %s) until %s: %s\n", w->holds[i]->id,
		    w->holds[i]->hash, tstr(w->holds[i]->until, a, sizeof(a)),
		    w->holds[i]->reason != NULL ?
		    log_esc(w->holds[i]->reason) : "-");
	printf("pending erasures: %zu\n", w->npending);
	for (i = 0; i < w->npending; i++)
		printf("  %s (request %s) made %s\n", w->pending[i]->id,
		    w->pending[i]->hash, tstr(w->pending[i]->time, a,
		    sizeof(a)));
}

static void
jtime(FILE *fp, int64_t t)
{
	char buf[32];

	if (t == TIME_NONE)
		fputs("null", fp);
	else
		fprintf(fp, "\"%s\"", iso_time(t, buf, sizeof(buf)));
}

static void
report_json(const struct report *w)
{
	const struct rfile *r;
	const struct logset *set;
	size_t i, k, nf;

	printf("{\"host\": ");
	json_str(stdout, w->host);
	printf(", \"now\": ");
	jtime(stdout, w->o->now);
	printf(", \"files\": %zu, \"overdue\": %zu,\n \"sets\": [", w->n,
	    w->overdue);
	for (k = 0; k < w->conf->nsets; k++) {
		set = &w->conf->sets[k];
		printf("%s\n  {\"name\": ", k ? "," : "");
		json_str(stdout, set->name);
		printf(", \"window\": %lld, \"retain\": %lld, \"ipv4_prefix\": "
		    "%d, \"ipv6_prefix\": %d, \"files\": [",
		    (long long)set->window, (long long)set->retain,
		    set->prefix.v4, set->prefix.v6);
		for (i = 0, nf = 0; i < w->n; i++) {
			r = &w->v[i];
			if (r->f->set != set)
				continue;
			printf("%s\n   {\"path\": ", nf++ ? "," : "");
			json_str(stdout, r->f->path);
			printf(", \"live\": %s, \"gzip\": %s, \"lines\": %"
			    PRIu64 ", \"state\": \"%s\", \"first\": ",
			    r->f->live ? "true" : "false",
			    r->ff.gzip ? "true" : "false", r->rs.l.lines,
			    state_of(r));
			jtime(stdout, r->ff.first_time);
			printf(", \"last\": ");
			jtime(stdout, r->ff.last_time);
			printf(", \"full_from\": ");
			jtime(stdout, r->ff.oldest_full);
			printf(", \"masked_by\": ");
			jtime(stdout, r->mask_by);
			printf(", \"compress_at\": ");
			jtime(stdout, r->compress_at);
			printf(", \"delete_at\": ");
			jtime(stdout, r->delete_at);
			printf(", \"full_past_window\": %" PRIu64
			    ", \"not_understood\": %" PRIu64 ", \"held\": %"
			    PRIu64 "}", r->rs.l.full_past, r->rs.l.bad,
			    r->rs.l.held);
		}
		printf("]}");
	}
	printf("],\n \"holds\": [");
	for (i = 0; i < w->nholds; i++) {
		printf("%s{\"id\": \"%s\", \"request\": \"%s\", \"until\": ",
		    i ? ", " : "", w->holds[i]->id, w->holds[i]->hash);
		jtime(stdout, w->holds[i]->until);
		printf(", \"reason\": ");
		json_str(stdout, w->holds[i]->reason);
		printf("}");
	}
	printf("],\n \"pending_erasures\": [");
	for (i = 0; i < w->npending; i++) {
		printf("%s{\"id\": \"%s\", \"request\": \"%s\", \"made\": ",
		    i ? ", " : "", w->pending[i]->id, w->pending[i]->hash);
		jtime(stdout, w->pending[i]->time);
		printf("}");
	}
	printf("]}\n");
}

/* ---- html --------------------------------------------------------------- */

#define SVG_W		960
#define SVG_LEFT	260	/* the file names */
#define ROW_H		22

static void
hesc(FILE *fp, const char *s)
{
	for (; *s != '\0'; s++)
		switch (*s) {
		case '<': fputs("&lt;", fp); break;
		case '>': fputs("&gt;", fp); break;
		case '&': fputs("&amp;", fp); break;
		case '"': fputs("&quot;", fp); break;
		default:
			if ((unsigned char)*s < 0x20)
				fputc('?', fp);
			else
				fputc(*s, fp);
		}
}

struct axis {
	int64_t		 t0;
	int64_t		 t1;
};

static double
xof(const struct axis *ax, int64_t t)
{
	if (t < ax->t0)
		t = ax->t0;
	if (t > ax->t1)
		t = ax->t1;
	return SVG_LEFT + (double)(t - ax->t0) * (SVG_W - SVG_LEFT - 10) /
	    (double)(ax->t1 - ax->t0);
}

static void
bar(FILE *fp, const struct axis *ax, int64_t a, int64_t b, double y,
    const char *cls, const char *title)
{
	double x0 = xof(ax, a), x1 = xof(ax, b);

	if (x1 - x0 < 2)
		x1 = x0 + 2;
	fprintf(fp, "<rect class=\"%s\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
	    "height=\"%d\"><title>", cls, x0, y, x1 - x0, ROW_H - 8);
	hesc(fp, title);
	fprintf(fp, "</title></rect>\n");
}

static void
vline(FILE *fp, const struct axis *ax, int64_t t, int h, const char *cls,
    const char *label)
{
	double x = xof(ax, t);

	/* The label left of the line, so the last one stays on the page. */
	fprintf(fp, "<line class=\"%s\" x1=\"%.1f\" y1=\"14\" x2=\"%.1f\" "
	    "y2=\"%d\"/><text class=\"%s\" x=\"%.1f\" y=\"11\" "
	    "text-anchor=\"end\">%s</text>\n", cls, x, x, h, cls, x - 2,
	    label);
}

/* Dates under the rows, a day, a week or a month apart. */
static void
ticks(FILE *fp, const struct axis *ax, int y)
{
	static const int64_t steps[] = { 86400, 7 * 86400, 30 * 86400,
	    91 * 86400, 365 * 86400 };
	char buf[32];
	int64_t step = steps[0], t;
	size_t i;

	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		step = steps[i];
		if ((ax->t1 - ax->t0) / step <= 8)
			break;
	}
	for (t = (ax->t0 / step + 1) * step; t < ax->t1; t += step) {
		iso_time(t, buf, sizeof(buf));
		buf[10] = '\0';
		fprintf(fp, "<line class=\"tick\" x1=\"%.1f\" y1=\"%d\" "
		    "x2=\"%.1f\" y2=\"%d\"/><text class=\"tick\" x=\"%.1f\" "
		    "y=\"%d\" text-anchor=\"middle\">%s</text>\n", xof(ax, t),
		    y, xof(ax, t), y + 4, xof(ax, t), y + 15, buf);
	}
}

static void
set_svg(FILE *fp, const struct report *w, const struct logset *set)
{
	const struct rfile *r;
	struct axis ax;
	char a[32], b[32], tip[512];
	int64_t now = w->o->now, split;
	size_t i, rows = 0;
	double y;
	int h;

	ax.t0 = now - set->retain - set->retain / 20;
	ax.t1 = now + set->window / 7 + 3600;
	for (i = 0; i < w->n; i++)
		if (w->v[i].f->set == set) {
			rows++;
			if (w->v[i].ff.first_time != TIME_NONE &&
			    w->v[i].ff.first_time < ax.t0)
				ax.t0 = w->v[i].ff.first_time;
		}
	h = 24 + (int)rows * ROW_H + 22;
	fprintf(fp, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" "
	    "height=\"%d\" role=\"img\"><title>timeline of [", SVG_W, h);
	hesc(fp, set->name);
	fprintf(fp, "]</title>\n<rect class=\"bg\" x=\"0\" y=\"0\" "
	    "width=\"%d\" height=\"%d\"/>\n", SVG_W, h);
	y = 24;
	for (i = 0; i < w->n; i++) {
		r = &w->v[i];
		if (r->f->set != set)
			continue;
		fprintf(fp, "<text class=\"name\" x=\"4\" y=\"%.1f\">",
		    y + ROW_H - 10);
		hesc(fp, r->f->name);
		fprintf(fp, "</text>\n");
		if (r->ff.first_time != TIME_NONE) {
			split = r->ff.oldest_full == TIME_NONE ?
			    r->ff.last_time : r->ff.oldest_full;
			(void)snprintf(tip, sizeof(tip), "%s: masked lines, %s "
			    "to %s", r->f->path, tstr(r->ff.first_time, a,
			    sizeof(a)), tstr(split, b, sizeof(b)));
			if (split > r->ff.first_time ||
			    r->ff.oldest_full == TIME_NONE)
				bar(fp, &ax, r->ff.first_time, split, y + 4,
				    "masked", tip);
			if (r->ff.oldest_full != TIME_NONE) {
				(void)snprintf(tip, sizeof(tip), "%s: full "
				    "addresses, %s to %s", r->f->path,
				    tstr(r->ff.oldest_full, a, sizeof(a)),
				    tstr(r->ff.last_time, b, sizeof(b)));
				bar(fp, &ax, r->ff.oldest_full,
				    r->ff.last_time, y + 4, r->overdue ?
				    "overdue" : "full", tip);
			}
		}
		y += ROW_H;
	}
	ticks(fp, &ax, h - 20);
	vline(fp, &ax, now - set->retain, h - 20, "retain", "retain");
	vline(fp, &ax, now - set->window, h - 20, "window", "window");
	vline(fp, &ax, now, h - 20, "now", "now");
	fprintf(fp, "</svg>\n");
}

static void
td_time(FILE *fp, int64_t t)
{
	char buf[32];

	fprintf(fp, "<td>%s</td>", tstr(t, buf, sizeof(buf)));
}

static void
set_table(FILE *fp, const struct report *w, const struct logset *set)
{
	const struct rfile *r;
	size_t i;

	fprintf(fp, "<table><tr><th>file</th><th>lines</th><th>first</th>"
	    "<th>last</th><th>addresses</th><th>full from</th><th>masked "
	    "by</th><th>compressed</th><th>deleted</th><th>not "
	    "understood</th><th>held</th></tr>\n");
	for (i = 0; i < w->n; i++) {
		r = &w->v[i];
		if (r->f->set != set)
			continue;
		fprintf(fp, "<tr%s><td>", r->overdue ? " class=\"bad\"" : "");
		hesc(fp, r->f->path);
		fprintf(fp, "%s</td><td>%" PRIu64 "</td>", r->f->live ?
		    " (live)" : "", r->rs.l.lines);
		td_time(fp, r->ff.first_time);
		td_time(fp, r->ff.last_time);
		fprintf(fp, "<td>%s%s</td>", state_of(r), r->ff.gzip ?
		    ", gzip" : "");
		td_time(fp, r->ff.oldest_full);
		td_time(fp, r->mask_by);
		if (r->ff.gzip)
			fprintf(fp, "<td>yes</td>");
		else
			td_time(fp, r->compress_at);
		td_time(fp, r->delete_at);
		fprintf(fp, "<td>%" PRIu64 "</td><td>%" PRIu64 "</td></tr>\n",
		    r->rs.l.bad, r->rs.l.held);
	}
	fprintf(fp, "</table>\n");
}

static int
report_html(const struct report *w, const char *path)
{
	const struct logset *set;
	char a[32], b[32];
	size_t i, k;
	FILE *fp;
	int fd;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW |
	    O_CLOEXEC, 0644)) == -1 || (fp = fdopen(fd, "w")) == NULL) {
		log_warn("report \"%s\"", log_esc(path));
		return -1;
	}
	fprintf(fp, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta "
	    "charset=\"utf-8\"><title>lethe report: ");
	hesc(fp, w->host);
	fprintf(fp, "</title>\n<style>\n"
	    "body{font:14px sans-serif;margin:1.5em;color:#222;background:#fff}"
	    "\ntable{border-collapse:collapse;margin:.5em 0 2em}"
	    "td,th{border:1px solid #ccc;padding:2px 6px;text-align:left}"
	    "\ntr.bad td{background:#fdd}.ok{color:#060}.alarm{color:#b00}"
	    "\nsvg text{font:11px sans-serif;fill:#222}"
	    "\nrect.bg{fill:#f6f6f6}rect.masked{fill:#5b7fa8}"
	    "rect.full{fill:#e8a33d}rect.overdue{fill:#d0021b}"
	    "\nline.window{stroke:#d0021b;stroke-dasharray:4 3}"
	    "line.retain{stroke:#555;stroke-dasharray:2 3}"
	    "line.now{stroke:#000}line.tick{stroke:#888}"
	    "\n.key span{display:inline-block;width:1em;height:.8em;"
	    "margin:0 .3em 0 1em}\n</style></head><body>\n"
	    "<h1>What lethe holds on ");
	hesc(fp, w->host);
	fprintf(fp, "</h1>\n<p>As of %s: %zu files. ", tstr(w->o->now, a,
	    sizeof(a)), w->n);
	if (w->overdue == 0)
		fprintf(fp, "<b class=\"ok\">No file holds a full address "
		    "past the window.</b>");
	else
		fprintf(fp, "<b class=\"alarm\">%zu files hold full addresses "
		    "past the window.</b>", w->overdue);
	fprintf(fp, "</p>\n<p class=\"key\">Each file is a bar from its first "
	    "to its last line:<span style=\"background:#5b7fa8\"></span>"
	    "masked<span style=\"background:#e8a33d\"></span>full addresses"
	    "<span style=\"background:#d0021b\"></span>full past the window."
	    " Dashed lines: the window and the retention.</p>\n");
	for (k = 0; k < w->conf->nsets; k++) {
		set = &w->conf->sets[k];
		fprintf(fp, "<h2>[");
		hesc(fp, set->name);
		fprintf(fp, "]</h2>\n<p>Full addresses are kept %lld days "
		    "(the window), then cut to /%d (IPv4) and /%d (IPv6); "
		    "files are deleted %lld days after their last line.</p>\n",
		    (long long)(set->window / 86400), set->prefix.v4,
		    set->prefix.v6, (long long)(set->retain / 86400));
		set_svg(fp, w, set);
		set_table(fp, w, set);
	}
	fprintf(fp, "<h2>Incident holds</h2>\n<table><tr><th>hold</th>"
	    "<th>request</th><th>from</th><th>until</th><th>reason</th></tr>"
	    "\n");
	for (i = 0; i < w->nholds; i++) {
		fprintf(fp, "<tr><td>%s</td><td>%s</td><td>%s</td><td>%s</td>"
		    "<td>", w->holds[i]->id, w->holds[i]->hash,
		    tstr(w->holds[i]->time, a, sizeof(a)),
		    tstr(w->holds[i]->until, b, sizeof(b)));
		hesc(fp, w->holds[i]->reason != NULL ? w->holds[i]->reason :
		    "-");
		fprintf(fp, "</td></tr>\n");
	}
	fprintf(fp, "</table>\n<h2>Pending erasures</h2>\n<table><tr>"
	    "<th>request</th><th>keyed hash</th><th>made</th></tr>\n");
	for (i = 0; i < w->npending; i++)
		fprintf(fp, "<tr><td>%s</td><td>%s</td><td>%s</td></tr>\n",
		    w->pending[i]->id, w->pending[i]->hash,
		    tstr(w->pending[i]->time, a, sizeof(a)));
	fprintf(fp, "</table>\n<p>Made by lethe %s.</p>\n</body></html>\n",
	    LETHE_VERSION);
	if (fflush(fp) != 0 || fsync(fd) == -1 || fclose(fp) != 0) {
		log_warn("report \"%s\"", log_esc(path));
		return -1;
	}
	return 0;
}

int
cmd_report(const struct cmd_opts *o)
{
	struct report w;
	size_t i;
	int rc = 0;

	memset(&w, 0, sizeof(w));
	w.o = o;
	if ((w.conf = load_config(o->conf, 1)) == NULL)
		return 2;
	load(&w);
	if (o->html != NULL && report_html(&w, o->html) == -1)
		rc = 2;
	if (o->json)
		report_json(&w);
	else if (o->html == NULL)
		report_text(&w);
	for (i = 0; i < w.nholds; i++)
		request_free(w.holds[i]);
	free(w.holds);
	for (i = 0; i < w.npending; i++)
		request_free(w.pending[i]);
	free(w.pending);
	free(w.v);
	catalog_release(&w.cat);
	config_free(w.conf);
	return rc;
}
