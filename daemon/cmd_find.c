/*
 * lethe find: every line of one person (an address, or a network) in
 * every managed file, live, rotated, plain and gzip, matched as values
 * (xform.c's find transform on the line engine), never as text.  The
 * report names the request by its keyed hash and never prints the
 * address; --export writes the lines themselves for an access request,
 * with every other address in them masked.  It takes no lock (it
 * changes nothing) and looks again when a file moves under it, as
 * audit does.  Exit 0: found, 1: nothing found, 2: an error.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lethe.h"

#define FIND_THREADS	8

struct found {
	char		*path;
	const struct logset *set;
	int64_t		 mtime;
	dev_t		 dev;
	ino_t		 ino;
	struct xform_match x;		/* its counts */
	uint64_t	 not_understood;
	char		 sha[DIGEST_HEX];
	int		 gzip;
	const char	*error;		/* unreadable, damaged */
	int		 done;
};

struct find {
	const struct cmd_opts *o;
	struct config	*conf;
	struct addr_net	*nets;
	size_t		 nnets;
	char		 hash[REQUEST_HASH_LEN + 1];
	struct found	*v;
	size_t		 n;
	struct sink	*ex;		/* --export */
	int		 exfd;
	const char	*ex_file;	/* the file whose lines come next */
	int		 ex_said;
	int		 errors;
};

static void
tap_sha(void *arg, const void *p, size_t n)
{
	digest_update(arg, p, n);
}

static int
export_line(void *arg, const char *line, size_t len)
{
	struct find *w = arg;
	char *hdr;

	if (!w->ex_said) {
		xasprintf(&hdr, "# from %s\n", log_esc(w->ex_file));
		if (sink_write(w->ex, hdr, strlen(hdr)) == -1) {
			free(hdr);
			return -1;
		}
		free(hdr);
		w->ex_said = 1;
	}
	return sink_write(w->ex, line, len);
}

/* One file through the engine (fmt: this thread's copy of its set's
   format); 0, or -1 (gone: look again). */
static int
find_file(struct find *w, const struct mfile *f, struct found *r,
    struct format *fmt)
{
	struct rewrite_opts ro;
	struct rewrite_stats rs;
	struct xform xf;
	struct digest *dg;
	struct stat st;
	const char *why;
	int fd;

	if ((fd = fsio_openat_file(f->dir->fd, f->name, &st, &why)) == -1) {
		if (errno == ENOENT)
			return -1;
		r->error = "unreadable";
		log_warnx("\"%s\": %s", log_esc(f->path), why);
		return 0;
	}
	r->mtime = st.st_mtime;
	r->dev = st.st_dev;
	r->ino = st.st_ino;
	xform_match_init(&r->x, w->nets, w->nnets, &f->set->prefix);
	r->x.since = w->o->since;
	r->x.until = w->o->until;
	if (w->ex != NULL) {
		r->x.export = export_line;
		r->x.export_arg = w;
		w->ex_file = r->path;
		w->ex_said = 0;
	}
	xf.ops = &xform_find_ops;
	xf.arg = &r->x;
	dg = digest_new();
	memset(&ro, 0, sizeof(ro));
	ro.format = fmt;
	ro.mask_before = TIME_NONE;
	ro.start_time = TIME_NONE;
	ro.audit_before = TIME_NONE;
	ro.now = w->o->now;
	ro.xform = &xf;
	ro.tap = tap_sha;
	ro.tap_arg = dg;
	if (rewrite_scan(fd, &ro, &rs, &why) == -1) {
		r->error = "damaged";
		log_warnx("\"%s\": %s: only what could be read was searched",
		    log_esc(f->path), why);
	}
	fsio_close(fd);
	digest_hex(dg, r->sha);
	digest_free(dg);
	xform_match_release(&r->x);
	r->gzip = rs.gzip_in;
	r->not_understood = rs.l.bad;
	r->done = 1;
	return 0;
}

static int
by_age(const void *a, const void *b)
{
	const struct mfile *x = *(struct mfile * const *)a;
	const struct mfile *y = *(struct mfile * const *)b;

	if (x->st.st_mtime != y->st.st_mtime)
		return x->st.st_mtime < y->st.st_mtime ? -1 : 1;
	return strcmp(x->path, y->path);
}

static int
seen(const struct find *w, const struct stat *st)
{
	size_t i;

	for (i = 0; i < w->n; i++)
		if (w->v[i].done && w->v[i].dev == st->st_dev &&
		    w->v[i].ino == st->st_ino)
			return 1;
	return 0;
}

/* The files of one pass, read by the threads, each with its formats. */
struct work {
	struct find	*w;
	struct mfile  **fs;
	struct found	*out;		/* one per file */
	int		*gone;
	size_t		 n;
	size_t		 next;
	pthread_mutex_t	 mtx;
};

static void *
find_thread(void *arg)
{
	struct work *k = arg;
	struct format **fmts;
	size_t i, s, nsets = k->w->conf->nsets;

	fmts = xcalloc(nsets + 1, sizeof(*fmts));
	for (;;) {
		pthread_mutex_lock(&k->mtx);
		i = k->next++;
		pthread_mutex_unlock(&k->mtx);
		if (i >= k->n)
			break;
		s = (size_t)(k->fs[i]->set - k->w->conf->sets);
		if (fmts[s] == NULL)
			fmts[s] = format_clone(k->fs[i]->set->format);
		k->gone[i] = find_file(k->w, k->fs[i], &k->out[i], fmts[s]) ==
		    -1;
	}
	for (s = 0; s < nsets; s++)
		format_free(fmts[s]);
	free(fmts);
	return NULL;
}

/*
 * The files, on every core: a month of gzip archives takes what zcat
 * takes.  An export is written in order, so by one thread.
 */
static void
find_files(struct find *w, struct mfile **fs, size_t n, struct found *out,
    int *gone)
{
	struct work k;
	pthread_t th[FIND_THREADS];
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	size_t i, nth = ncpu > 1 ? (size_t)ncpu : 1;

	if (nth > FIND_THREADS)
		nth = FIND_THREADS;
	if (w->ex != NULL || n < 2)
		nth = 1;
	memset(&k, 0, sizeof(k));
	k.w = w;
	k.fs = fs;
	k.out = out;
	k.gone = gone;
	k.n = n;
	pthread_mutex_init(&k.mtx, NULL);
	for (i = 1; i < nth; i++)
		if (pthread_create(&th[i], NULL, find_thread, &k) != 0)
			break;
	nth = i;
	(void)find_thread(&k);
	for (i = 1; i < nth; i++)
		pthread_join(th[i], NULL);
	pthread_mutex_destroy(&k.mtx);
}

/* Every managed file, oldest first (so an export reads in order). */
static void
find_all(struct find *w)
{
	struct catalog cat;
	struct mfile **fs;
	struct found *out;
	size_t i, n, gone;
	int pass, *lost;

	for (pass = 0; pass < 3; pass++) {
		if (catalog_discover(&cat, w->conf) == -1 && pass == 0)
			w->errors++;
		fs = xreallocarray(NULL, cat.nfiles + 1, sizeof(*fs));
		for (i = 0, n = 0; i < cat.nfiles; i++)
			if (cat.files[i]->refused == NULL &&
			    (w->o->set == NULL || strcmp(cat.files[i]->set->name,
			    w->o->set) == 0) && !seen(w, &cat.files[i]->st))
				fs[n++] = cat.files[i];
		qsort(fs, n, sizeof(*fs), by_age);
		out = xcalloc(n + 1, sizeof(*out));
		lost = xcalloc(n + 1, sizeof(*lost));
		for (i = 0; i < n; i++) {
			out[i].path = xstrdup(fs[i]->path);
			out[i].set = fs[i]->set;
		}
		find_files(w, fs, n, out, lost);
		for (i = 0, gone = 0; i < n; i++) {
			if (lost[i]) {
				free(out[i].path);
				gone++;
				continue;
			}
			if (out[i].error != NULL)
				w->errors++;
			w->v = xreallocarray(w->v, w->n + 1, sizeof(*w->v));
			w->v[w->n++] = out[i];
		}
		free(out);
		free(lost);
		free(fs);
		catalog_release(&cat);
		if (gone == 0)
			break;
	}
	if (pass == 3) {
		log_warnx("files kept changing during the search");
		w->errors++;
	}
}

static void
totals(const struct find *w, struct xform_match *t)
{
	size_t i;

	memset(t, 0, sizeof(*t));
	t->first = t->last = TIME_NONE;
	for (i = 0; i < w->n; i++) {
		t->lines += w->v[i].x.lines;
		t->full += w->v[i].x.full;
		t->masked += w->v[i].x.masked;
		t->in_prefix += w->v[i].x.in_prefix;
		t->long_lines += w->v[i].x.long_lines;
		if (w->v[i].x.first != TIME_NONE && (t->first == TIME_NONE ||
		    w->v[i].x.first < t->first))
			t->first = w->v[i].x.first;
		if (w->v[i].x.last != TIME_NONE && (t->last == TIME_NONE ||
		    w->v[i].x.last > t->last))
			t->last = w->v[i].x.last;
	}
}

static void
report_json(const struct find *w, const struct xform_match *t)
{
	const struct found *r;
	char a[32], b[32];
	size_t i;

	printf("{\"request\": \"%s\", \"lines\": %" PRIu64 ", \"full\": %"
	    PRIu64 ", \"masked\": %" PRIu64 ", \"in_prefix\": %" PRIu64
	    ", \"long_lines\": %" PRIu64 ", \"first\": ", w->hash, t->lines,
	    t->full, t->masked, t->in_prefix, t->long_lines);
	iso_time(t->first, a, sizeof(a));
	iso_time(t->last, b, sizeof(b));
	printf(t->first == TIME_NONE ? "%s" : "\"%s\"", a);
	printf(", \"last\": ");
	printf(t->last == TIME_NONE ? "%s" : "\"%s\"", b);
	printf(", \"errors\": %d,\n \"files\": [", w->errors);
	for (i = 0; i < w->n; i++) {
		r = &w->v[i];
		printf("%s\n  {\"path\": ", i ? "," : "");
		json_str(stdout, r->path);
		printf(", \"set\": ");
		json_str(stdout, r->set->name);
		iso_time(r->x.first, a, sizeof(a));
		iso_time(r->x.last, b, sizeof(b));
		printf(", \"lines\": %" PRIu64 ", \"full\": %" PRIu64
		    ", \"masked\": %" PRIu64 ", \"in_prefix\": %" PRIu64
		    ", \"long_lines\": %" PRIu64 ", \"first\": ", r->x.lines,
		    r->x.full, r->x.masked, r->x.in_prefix, r->x.long_lines);
		printf(r->x.first == TIME_NONE ? "%s" : "\"%s\"", a);
		printf(", \"last\": ");
		printf(r->x.last == TIME_NONE ? "%s" : "\"%s\"", b);
		printf(", \"gzip\": %s, \"not_understood\": %" PRIu64
		    ", \"sha256\": \"%s\", \"error\": ", r->gzip ? "true" :
		    "false", r->not_understood, r->sha);
		if (r->error != NULL)
			json_str(stdout, r->error);
		else
			printf("null");
		printf("}");
	}
	printf("]}\n");
}

static void
report_text(const struct find *w, const struct xform_match *t)
{
	const struct found *r;
	char a[32], b[32];
	size_t i, hit = 0;

	for (i = 0; i < w->n; i++)
		hit += w->v[i].x.lines > 0 || w->v[i].x.in_prefix > 0;
	printf("request %s: %" PRIu64 " lines in %zu of %zu files (%" PRIu64
	    " with the address full, %" PRIu64 " masked inside the query)\n",
	    w->hash, t->lines, hit, w->n, t->full, t->masked);
	for (i = 0; i < w->n; i++) {
		r = &w->v[i];
		if (r->error != NULL)
			printf("%s: %s: searched as far as it could be read\n",
			    log_esc(r->path), r->error);
		if (r->x.lines == 0 && r->x.in_prefix == 0)
			continue;
		printf("%s: %" PRIu64 " lines (%" PRIu64 " full, %" PRIu64
		    " masked)", log_esc(r->path), r->x.lines, r->x.full,
		    r->x.masked);
		if (r->x.lines > 0)
			printf(", %s to %s", iso_time(r->x.first, a, sizeof(a)),
			    iso_time(r->x.last, b, sizeof(b)));
		if (r->x.in_prefix > 0)
			printf(", %" PRIu64 " masked lines in a prefix that "
			    "holds the address (no longer attributable)",
			    r->x.in_prefix);
		printf(", sha256 %s\n", r->sha);
	}
	if (t->in_prefix > 0)
		printf("%" PRIu64 " masked lines lie in a prefix that holds the "
		    "address: they may be this person's, but cannot be told "
		    "from their neighbours'\n", t->in_prefix);
	if (t->long_lines > 0)
		printf("%" PRIu64 " matched lines are longer than 1 MiB: "
		    "counted, not exported\n", t->long_lines);
}

static void
export_header(struct find *w)
{
	char now[32], *h, host[256], d1[32], d2[32];
	size_t i, len;
	FILE *fp;

	if (gethostname(host, sizeof(host)) == -1)
		(void)strlcpy(host, "this host", sizeof(host));
	host[sizeof(host) - 1] = '\0';
	h = NULL;
	if ((fp = open_memstream(&h, &len)) == NULL)
		fatal("open_memstream");
	fprintf(fp, "# lethe export for an access request (request %s)\n"
	    "# made %s on %s from the web server's access logs\n"
	    "# purpose: these logs are kept for security (to investigate "
	    "attacks and abuse)\n", w->hash, iso_time(w->o->now, now,
	    sizeof(now)), log_esc(host));
	for (i = 0; i < w->conf->nsets; i++) {
		if (w->o->set != NULL &&
		    strcmp(w->conf->sets[i].name, w->o->set) != 0)
			continue;
		fprintf(fp, "# [%s]: full addresses kept %s, then cut to "
		    "/%d (IPv4) and /%d (IPv6); files deleted after %s\n",
		    log_esc(w->conf->sets[i].name),
		    config_fmt_duration(w->conf->sets[i].window, d1,
		    sizeof(d1)), w->conf->sets[i].prefix.v4,
		    w->conf->sets[i].prefix.v6,
		    config_fmt_duration(w->conf->sets[i].retain, d2,
		    sizeof(d2)));
	}
	fprintf(fp, "# the lines follow as on disk, oldest file first; every "
	    "other address in them (other people's) is masked\n");
	if (fclose(fp) != 0 || sink_write(w->ex, h, len) == -1)
		fatalx("export: cannot write");
	free(h);
}

static void
export_footer(struct find *w, const struct xform_match *t)
{
	char *s;
	size_t i;

	for (i = 0; i < w->n; i++) {
		if (w->v[i].x.lines == 0)
			continue;
		xasprintf(&s, "# %s: %" PRIu64 " lines, sha256 %s%s\n",
		    log_esc(w->v[i].path), w->v[i].x.lines, w->v[i].sha,
		    w->v[i].error != NULL ? " (damaged: read as far as it "
		    "could be)" : "");
		(void)sink_write(w->ex, s, strlen(s));
		free(s);
	}
	xasprintf(&s, "# end: %" PRIu64 " lines\n", t->lines);
	(void)sink_write(w->ex, s, strlen(s));
	free(s);
}

static int
export_open(struct find *w)
{
	const char *p = w->o->export;
	size_t n = strlen(p);

	/* The person's lines: nobody else's to read. */
	w->exfd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW |
	    O_CLOEXEC, 0600);
	if (w->exfd == -1) {
		log_warn("export \"%s\"", log_esc(p));
		return -1;
	}
	w->ex = sink_fd_new(w->exfd, n > 3 && strcmp(p + n - 3, ".gz") == 0,
	    0);
	export_header(w);
	return 0;
}

int
cmd_find(const struct cmd_opts *o)
{
	struct find w;
	struct xform_match t;
	uint8_t key[REQUEST_KEY_LEN];
	const char *why;
	size_t i;
	int dfd, rc;

	memset(&w, 0, sizeof(w));
	w.o = o;
	w.exfd = -1;
	if ((w.conf = load_config(o->conf, 1)) == NULL)
		return 2;
	rc = 2;
	if (o->set != NULL) {
		for (i = 0; i < w.conf->nsets; i++)
			if (strcmp(w.conf->sets[i].name, o->set) == 0)
				break;
		if (i == w.conf->nsets) {
			log_warnx("--set %s: no such set", log_esc(o->set));
			goto out;
		}
	}
	if (request_args(o->args, o->nargs, &w.nets, &w.nnets) == -1)
		goto out;
	if ((dfd = store_open(w.conf, &why)) == -1 ||
	    request_key(dfd, key, &why) == -1) {
		log_warnx("state_dir \"%s\": %s", log_esc(w.conf->state_dir),
		    why);
		if (dfd != -1)
			fsio_close(dfd);
		goto out;
	}
	fsio_close(dfd);
	request_hash(key, w.nets, w.nnets, w.hash);
	explicit_bzero(key, sizeof(key));
	if (o->export != NULL && export_open(&w) == -1)
		goto out;
	find_all(&w);
	totals(&w, &t);
	if (w.ex != NULL) {
		export_footer(&w, &t);
		if (sink_finish(w.ex) == -1 || fsync(w.exfd) == -1 ||
		    close(w.exfd) == -1) {
			log_warnx("export \"%s\": %s", log_esc(o->export),
			    sink_error(w.ex));
			w.errors++;
		}
		sink_free(w.ex);
	}
	if (o->json)
		report_json(&w, &t);
	else
		report_text(&w, &t);
	rc = w.errors ? 2 : t.lines > 0 ? 0 : 1;
out:
	for (i = 0; i < w.n; i++)
		free(w.v[i].path);
	free(w.v);
	if (w.nets != NULL)
		explicit_bzero(w.nets, w.nnets * sizeof(*w.nets));
	free(w.nets);
	config_free(w.conf);
	return rc;
}
