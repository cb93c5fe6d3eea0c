/*
 * Whole-file work (a scan for facts, a mask, a compression) runs in one
 * worker thread, so that the event loop never blocks on it.  The loop
 * hands over one job at a time; the worker reports back through a pipe
 * that the loop watches.  Each job has its own copy of the format: PCRE2
 * match data is not shared across threads.  What is due for a sealed file
 * is lifecycle.c's to say, as for `once`.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "lethe.h"

enum job_kind {
	JOB_SCAN,		/* read a file for its facts */
	JOB_REWRITE,		/* mask and/or compress it */
	JOB_ERASE,		/* one erase request over its files */
};

/* JOB_ERASE: the request and a copy of what it reads. */
struct erase_job {
	struct request	*req;
	struct etarget	*v;
	size_t		 n;
	char	       **set;		/* the set of each target, by name */
	struct format  **formats;	/* the job's own, by set */
	size_t		 nformats;
	int		*dfds;		/* one dup per directory */
	size_t		 ndfds;
	int		 rdfd;		/* a dup of state_dir/requests */
	uint64_t	 sealed_gen;	/* follow_sealed_gen at the start */
	uint64_t	 rotations;	/* rotations at the start */
	struct request_verify vf;
	int		 failed;
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
	struct rewrite_opts opts;	/* opts.format: the job's own copy */
	/* results */
	int		 rc;		/* 0, 1 damaged (a scan), -1 */
	char		*err;
	struct rewrite_stats stats;
	struct stat	 after;		/* the file after the job */
	struct erase_job *ej;		/* JOB_ERASE */
	struct holds	 holds;		/* a copy of the set's */
	uint64_t	 holds_gen;	/* the daemon's holds_gen then */
};

static pthread_t	 worker_thread;
static pthread_mutex_t	 worker_mtx = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t	 worker_cv = PTHREAD_COND_INITIALIZER;
static struct job	*worker_todo;	/* handed over, not yet taken */
static struct job	*worker_current; /* owned by the loop until done */
static int		 worker_quit;
static volatile int	 worker_cancel_flag;
static int		 worker_pipe[2] = { -1, -1 };
static struct event	*worker_ev;
static struct daemon	*worker_daemon;
static int		 worker_running;

static void	job_done(struct job *);

static void
erase_job_free(struct erase_job *ej)
{
	size_t i;

	if (ej == NULL)
		return;
	for (i = 0; i < ej->n; i++) {
		free(ej->v[i].name);
		free(ej->v[i].path);
		free(ej->set[i]);
	}
	for (i = 0; i < ej->ndfds; i++)
		close(ej->dfds[i]);
	if (ej->rdfd != -1)
		close(ej->rdfd);
	for (i = 0; i < ej->nformats; i++)
		format_free(ej->formats[i]);
	free(ej->formats);
	free(ej->dfds);
	free(ej->v);
	free(ej->set);
	request_free(ej->req);
	free(ej);
}

static void
job_free(struct job *j)
{
	if (j == NULL)
		return;
	erase_job_free(j->ej);
	free(j->holds.v);
	if (j->dfd != -1)
		close(j->dfd);
	format_free(j->opts.format);
	free(j->name);
	free(j->newname);
	free(j->path);
	free(j->err);
	free(j);
}

/* ---- in the worker thread ----------------------------------------------- */

static void
job_run(struct job *j)
{
	struct stat st;
	const char *err = NULL;
	int fd;

	j->opts.cancel = &worker_cancel_flag;
	if (j->kind == JOB_ERASE) {
		j->ej->failed = erase_pass(j->ej->req, j->ej->v, j->ej->n,
		    j->opts.now, &worker_cancel_flag, j->ej->rdfd) == -1;
		j->ej->failed |= erase_verify(j->ej->req, j->ej->v, j->ej->n,
		    j->opts.now, &worker_cancel_flag, &j->ej->vf) == -1;
		return;
	}
	if (j->kind == JOB_SCAN) {
		if ((fd = fsio_openat_file(j->dfd, j->name, &st, &err)) == -1)
			j->rc = -1;
		else {
			/* A damaged file: the facts of what could be read. */
			if (rewrite_scan(fd, &j->opts, &j->stats, &err) == -1)
				j->rc = 1;
			j->after = st;
			fsio_close(fd);
		}
	} else {
		j->rc = rewrite_file(j->dfd, j->name, j->newname, &j->expect,
		    &j->opts, &j->stats, &err);
		if (j->rc == 0 && fsio_fstatat(j->dfd, j->newname ? j->newname :
		    j->name, &j->after) == -1)
			memset(&j->after, 0, sizeof(j->after));
	}
	if (j->rc != 0)
		j->err = xstrdup(err != NULL ? err : "failed");
}

static void *
worker_main(void *arg UNUSED)
{
	struct job *j;
	char c = 'j';

	pthread_mutex_lock(&worker_mtx);
	for (;;) {
		while (worker_todo == NULL && !worker_quit)
			pthread_cond_wait(&worker_cv, &worker_mtx);
		if (worker_todo == NULL)
			break;
		j = worker_todo;
		worker_todo = NULL;
		pthread_mutex_unlock(&worker_mtx);
		job_run(j);
		while (write(worker_pipe[1], &c, 1) == -1 && errno == EINTR)
			;
		pthread_mutex_lock(&worker_mtx);
	}
	pthread_mutex_unlock(&worker_mtx);
	return NULL;
}

/* ---- in the loop ------------------------------------------------------------ */

static void
worker_pipe_cb(evutil_socket_t fd, short what UNUSED, void *arg UNUSED)
{
	struct job *j;
	char buf[16];

	if (read(fd, buf, sizeof(buf)) <= 0)
		return;
	if ((j = worker_current) == NULL)
		return;
	worker_current = NULL;
	job_done(j);
}

void
jobs_start(struct daemon *d)
{
	if (pipe2(worker_pipe, O_CLOEXEC | O_NONBLOCK) == -1)
		fatal("pipe");
	worker_daemon = d;
	worker_ev = event_new(d->base, worker_pipe[0], EV_READ | EV_PERSIST,
	    worker_pipe_cb, NULL);
	if (worker_ev == NULL || event_add(worker_ev, NULL) == -1)
		fatalx("worker: event_new");
	if (pthread_create(&worker_thread, NULL, worker_main, NULL) != 0)
		fatalx("worker: pthread_create");
	worker_running = 1;
}

int
jobs_busy(void)
{
	return worker_current != NULL;
}

/*
 * Stop: abandon the current job (rewrite_file then removes its temp file
 * and leaves the original as it was), wait for the thread, and free it.
 */
void
jobs_stop(void)
{
	struct job *j;

	if (!worker_running)
		return;
	worker_cancel_flag = 1;
	pthread_mutex_lock(&worker_mtx);
	worker_quit = 1;
	pthread_cond_signal(&worker_cv);
	pthread_mutex_unlock(&worker_mtx);
	pthread_join(worker_thread, NULL);
	worker_running = 0;
	if ((j = worker_current) != NULL) {
		worker_current = NULL;
		job_done(j);
	}
	event_free(worker_ev);
	close(worker_pipe[0]);
	close(worker_pipe[1]);
}

static struct job *
job_new(struct daemon *d, struct mfile *f, enum job_kind kind)
{
	struct job *j = xcalloc(1, sizeof(*j));

	j->id = ++d->next_job;
	j->kind = kind;
	if ((j->dfd = dup(f->dir->fd)) == -1) {
		free(j);
		return NULL;
	}
	j->name = xstrdup(f->name);
	j->path = xstrdup(f->path);
	j->expect = f->st;
	j->opts.mask_before = TIME_NONE;
	j->opts.start_time = TIME_NONE;
	j->opts.audit_before = TIME_NONE;
	j->opts.now = daemon_now(d);
	return j;
}

static void
hand(struct job *j)
{
	worker_current = j;
	worker_cancel_flag = 0;
	pthread_mutex_lock(&worker_mtx);
	worker_todo = j;
	pthread_cond_signal(&worker_cv);
	pthread_mutex_unlock(&worker_mtx);
}

/* Hand j to the worker (which gets its own format); -1: j is freed. */
static int
submit(struct mfile *f, struct job *j)
{
	if (j == NULL || worker_current != NULL) {
		job_free(j);
		return -1;
	}
	j->opts.format = format_clone(f->set->format);
	/* The loop may read the holds again while the job runs. */
	holds_copy(&j->holds, f->set->holds);
	j->opts.holds = &j->holds;
	j->holds_gen = worker_daemon->holds_gen;
	j->opts.audit_before = j->opts.now - f->set->window;
	f->job = j->id;
	hand(j);
	return 0;
}

static void
job_failed(struct daemon *d, struct mfile *f, struct job *j, int64_t now)
{
	daemon_backoff(f, now);
	d->metrics.errors[j->kind == JOB_SCAN ? ME_SCAN : ME_REWRITE]++;
	/* What a failed act left (a claim, a pair) is put right soon. */
	d->recover = 1;
	if (j->err != NULL && strstr(j->err, "another file took") != NULL)
		d->rescan = 1;
	log_warnx("%s \"%s\": %s (retry in %llds)", j->kind == JOB_SCAN ?
	    "scan" : "rewrite", log_esc(j->path), j->err,
	    (long long)f->backoff);
}

static void
job_count(struct daemon *d, const struct mfile *f, const struct job *j,
    int64_t now)
{
	struct set_metrics *m = &daemon_setrt(d, f->set)->m;

	m->lines_read += j->stats.l.lines;
	m->not_understood += j->stats.l.bad;
	m->long_lines += j->stats.l.long_lines;
	m->time_refused += j->stats.l.future + j->stats.l.disorder;
	if (j->kind == JOB_SCAN)
		return;
	m->addrs_masked += j->stats.l.addrs_masked;
	m->bytes_in += j->stats.l.bytes_in;
	m->bytes_out += j->stats.l.bytes_out;
	if (j->actions & ACT_MASK) {
		m->masked++;
		d->metrics.last_success[MA_MASK] = now;
	}
	if (j->opts.compress) {
		m->compressed++;
		d->metrics.last_success[MA_COMPRESS] = now;
	}
}

/* The file a finished job worked on (a rescan may have moved it). */
static struct mfile *
job_file(struct daemon *d, const struct job *j)
{
	struct mfile *f;
	size_t i;

	for (i = 0; i < d->cat.nfiles; i++)
		if (d->cat.files[i]->job == j->id)
			return d->cat.files[i];
	for (i = 0; i < d->cat.nfiles && j->rc == 0; i++) {
		f = d->cat.files[i];
		if (f->refused == NULL && f->job == 0 &&
		    f->st.st_ino == j->after.st_ino &&
		    f->st.st_dev == j->after.st_dev)
			return f;
	}
	return NULL;
}

/* The facts the job learnt become f's. */
static void
job_facts(struct daemon *d, struct mfile *f, const struct job *j)
{
	struct mfile *o;
	size_t i;

	/* A rescan during the job may have found its output as a new file. */
	for (i = 0; i < d->cat.nfiles; i++) {
		o = d->cat.files[i];
		if (o != f && o->refused == NULL && o->job == 0 &&
		    j->after.st_ino != 0 && o->st.st_ino == j->after.st_ino &&
		    o->st.st_dev == j->after.st_dev)
			o->refused = "moved";
	}
	if (j->newname != NULL) {
		free(f->name);
		free(f->path);
		f->name = xstrdup(j->newname);
		xasprintf(&f->path, "%s/%s", f->dir->path, f->name);
	}
	if (j->after.st_ino != 0)
		f->st = j->after;
	f->tp.ff.gzip = j->stats.gzip_in || j->opts.compress;
	f->tp.ff.damaged = j->rc == 1;
	f->tp.ff.first_time = j->stats.l.first_time;
	f->tp.ff.last_time = j->stats.l.last_time;
	f->tp.ff.oldest_full = j->stats.l.oldest_full;
	f->held = j->stats.l.held;
	f->tp.pending_full = 0;
	lifecycle_untimed(&f->tp.ff, f->st.st_mtime,
	    j->stats.l.pending_full != 0);
	f->have_facts = 1;
}

static void	erase_done(struct daemon *, struct job *, int64_t);

static void
job_done(struct job *j)
{
	static const struct lc_out out = { 0, 0 };
	struct daemon *d = worker_daemon;
	struct mfile *f;
	int64_t now = daemon_now(d);

	if (j->kind == JOB_ERASE) {
		erase_done(d, j, now);
		job_free(j);
		daemon_kick(d);
		return;
	}

	if ((f = job_file(d, j)) == NULL || d->stopping) {
		if (j->rc == 0 && j->kind == JOB_REWRITE)
			log_info("rewrote \"%s\"", log_esc(j->path));
		job_free(j);
		return;
	}
	f->job = 0;
	if (j->rc == -1) {
		job_failed(d, f, j, now);
		job_free(j);
		daemon_kick(d);
		return;
	}
	if (j->rc == 1)
		log_warnx("\"%s\": %s: left as it is, deleted once past retain",
		    log_esc(j->path), j->err);
	f->backoff = 0;
	f->retry_at = 0;
	if (j->kind == JOB_SCAN)
		lifecycle_said_lines(j->path, &j->stats.l);
	if (j->kind == JOB_REWRITE)
		lifecycle_said_rewrite(f, j->actions, j->newname,
		    j->stats.l.addrs_masked, &out);
	job_facts(d, f, j);
	if (j->kind == JOB_REWRITE)
		follow_set_state(f, MF_SEALED);	/* ours, nobody else's */
	/* Read under holds that changed meanwhile (a release): again. */
	if (j->holds_gen != d->holds_gen)
		follow_forget(f);
	job_count(d, f, j, now);
	/*
	 * A rewrite changed a file: save now.  A scan only learnt facts
	 * (lost in a crash, they are read again): save within a sweep, not
	 * once per file, which made a first start with 10,000 files take
	 * 10,000 saves of the whole catalog.
	 */
	if (j->kind == JOB_REWRITE)
		d->urgent = 1;
	else
		d->dirty = 1;
	job_free(j);
	daemon_kick(d);
}

static void
delete_file(struct daemon *d, struct mfile *f, int64_t now)
{
	static const struct lc_out out = { 0, 0 };

	if (lifecycle_delete(f, &f->st, &out) == -1) {
		if (errno == ESTALE)
			d->rescan = 1;
		daemon_backoff(f, now);
		d->metrics.errors[ME_DELETE]++;
		return;
	}
	daemon_setrt(d, f->set)->m.deleted++;
	d->metrics.last_success[MA_DELETE] = now;
	f->refused = "deleted";
	d->urgent = 1;
	d->rescan = 1;
}

/* A sealed file: do what policy says is due, or say when it will be. */
int64_t
jobs_step(struct daemon *d, struct mfile *f, int64_t now)
{
	struct rewrite_opts ro;
	struct policy_plan pl;
	struct job *j;
	char buf[NAME_MAX + 1];
	const char *gz;

	if (f->job != 0)
		return INT64_MAX;
	if (f->retry_at > now)
		return f->retry_at;
	if (!f->have_facts) {
		if (jobs_busy())
			return INT64_MAX;	/* the job's end kicks us */
		if (submit(f, job_new(d, f, JOB_SCAN)) == -1)
			return now + BACKOFF_MIN;
		return INT64_MAX;
	}
	policy_plan(f->set, &f->tp.ff, now, lifecycle_lead(f->set, 1,
	    d->conf->sweep), &pl);
	/* A segment not yet forwarded stays as it is (masking never waits). */
	if ((pl.actions & ACT_COMPRESS) && !(pl.actions & ACT_MASK) &&
	    forward_holds_file(d, f, now)) {
		pl.actions &= ~ACT_COMPRESS;
		if (pl.next_due > now + d->conf->sweep)
			pl.next_due = now + d->conf->sweep;
	}
	if (pl.actions & ACT_DELETE) {
		delete_file(d, f, now);
		return f->retry_at > now ? f->retry_at : INT64_MAX;
	}
	if (!(pl.actions & (ACT_MASK | ACT_COMPRESS)))
		return pl.next_due;
	if (jobs_busy())
		return INT64_MAX;
	if (lifecycle_rewrite_opts(f, &pl, &f->tp.ff, now, &ro, buf,
	    sizeof(buf),
	    &gz) == -1) {
		daemon_backoff(f, now);
		return f->retry_at;
	}
	if ((j = job_new(d, f, JOB_REWRITE)) == NULL)
		return now + BACKOFF_MIN;
	j->actions = pl.actions & (ACT_MASK | ACT_COMPRESS);
	ro.format = NULL;	/* submit gives the job its own */
	ro.threads = threads_of(d->conf->threads);
	j->opts = ro;
	if (gz != NULL)
		j->newname = xstrdup(gz);
	if (submit(f, j) == -1)
		return now + BACKOFF_MIN;
	return INT64_MAX;
}

/* ---- erase requests ------------------------------------------------------ */

static int
may_rotate(const struct logset *set)
{
	return set->reopen != REOPEN_NONE && set->rotate != ROTATE_OFF;
}

static uint64_t
rotations(const struct daemon *d)
{
	uint64_t n = 0;
	size_t i;

	for (i = 0; i < d->conf->nsets; i++)
		n += d->rt[i].m.rotated;
	return n;
}

/* The request's files, as the catalog knows them now; NULL when the
   descriptors it needs are not to be had (tried again later). */
static struct erase_job *
erase_job_new(struct daemon *d, struct request *r)
{
	struct erase_job *ej = xcalloc(1, sizeof(*ej));
	const struct mdir **dirs;
	struct etarget *t;
	struct mfile *f;
	size_t i, k, m;

	ej->req = r;
	ej->rdfd = -1;
	ej->v = xcalloc(d->cat.nfiles + 1, sizeof(*ej->v));
	ej->set = xcalloc(d->cat.nfiles + 1, sizeof(*ej->set));
	ej->nformats = d->conf->nsets;
	ej->formats = xcalloc(d->conf->nsets + 1, sizeof(*ej->formats));
	ej->dfds = xcalloc(d->cat.ndirs + 1, sizeof(*ej->dfds));
	dirs = xcalloc(d->cat.ndirs + 1, sizeof(*dirs));
	ej->sealed_gen = follow_sealed_gen;
	ej->rotations = rotations(d);
	if ((ej->rdfd = dup(d->req_dfd)) == -1)
		goto fail;
	for (i = 0; i < d->cat.nfiles; i++) {
		f = d->cat.files[i];
		if (f->refused != NULL || (r->set != NULL &&
		    strcmp(r->set, f->set->name) != 0))
			continue;
		k = (size_t)(f->set - d->conf->sets);
		if (ej->formats[k] == NULL)
			ej->formats[k] = format_clone(f->set->format);
		for (m = 0; m < ej->ndfds && dirs[m] != f->dir; m++)
			;
		if (m == ej->ndfds) {
			if ((ej->dfds[m] = dup(f->dir->fd)) == -1)
				goto fail;
			dirs[ej->ndfds++] = f->dir;
		}
		t = &ej->v[ej->n];
		t->dfd = ej->dfds[m];
		t->name = xstrdup(f->name);
		t->path = xstrdup(f->path);
		t->format = ej->formats[k];
		t->prefix = f->set->prefix;
		t->live = f->state == MF_LIVE;
		t->rotates = may_rotate(f->set);
		t->busy = f->state == MF_SETTLING || f->job != 0;
		ej->set[ej->n++] = xstrdup(f->set->name);
	}
	free(dirs);
	return ej;
fail:
	log_warn("erase %s: dup", r->id);
	free(dirs);
	ej->req = NULL;		/* the caller's still */
	erase_job_free(ej);
	return NULL;
}

/* A pass ended: rotate what holds the request live, say what is left. */
static void
erase_done(struct daemon *d, struct job *j, int64_t now)
{
	struct erase_job *ej = j->ej;
	const struct logset *set;
	char why[PATH_MAX + 128];
	size_t i, k;

	if (d->stopping)
		return;		/* the next start does it again */
	d->rescan = 1;		/* the files it rewrote are new inodes */
	for (i = 0; i < ej->n; i++) {
		if (!ej->v[i].live || ej->v[i].held == 0)
			continue;
		/* By name: a reload may have changed the sets meanwhile. */
		for (k = 0; k < d->conf->nsets; k++)
			if (strcmp(d->conf->sets[k].name, ej->set[i]) == 0)
				break;
		if (k == d->conf->nsets || !may_rotate(set =
		    &d->conf->sets[k]))
			continue;
		log_info("\"%s\": rotated for an erase request",
		    log_esc(ej->v[i].path));
		d->rt[k].rotate_now = 1;
	}
	/* A file sealed or rotated during the job may hold lines it did not
	   see under the names it read: not done, look again soon. */
	if (ej->sealed_gen != follow_sealed_gen || ej->rotations !=
	    rotations(d))
		ej->vf.moved += 1;
	switch (erase_finish(ej->rdfd, ej->req, ej->v, ej->n, ej->failed,
	    &ej->vf, now, why, sizeof(why))) {
	case 0:
		d->requests_due = 1;	/* the next one, if any */
		d->requests_backoff = 0;
		break;
	case 1:
		/* Again once a file is sealed (a rotation's segment); a
		   failure backs off, so a damaged file is not read in a
		   loop; else the backstop. */
		if (ej->failed || ej->vf.moved > 0) {
			d->requests_backoff = d->requests_backoff == 0 ?
			    BACKOFF_MIN : d->requests_backoff * 2;
			if (d->requests_backoff > BACKOFF_MAX)
				d->requests_backoff = BACKOFF_MAX;
			d->requests_retry_at = now + d->requests_backoff;
		} else
			d->requests_retry_at = now + 10 * d->conf->sweep;
		break;
	default:
		d->requests_retry_at = now + BACKOFF_MAX;
		break;
	}
}

/*
 * When each request was last tried: one is tried again once a file is
 * sealed since (the rotation it waits for), or at the backstop.  So a
 * request that cannot finish neither keeps the others waiting nor makes
 * the worker read every file in a loop.
 */
#define TRIED_MAX	64
static struct {
	char		 id[40];
	uint64_t	 gen;		/* follow_sealed_gen then */
	int64_t		 at;		/* daemon clock then */
} tried[TRIED_MAX];

static int
tried_find(const char *id)
{
	int i;

	for (i = 0; i < TRIED_MAX; i++)
		if (strcmp(tried[i].id, id) == 0)
			return i;
	return -1;
}

/* When r may be tried: now (0 when it may be now), or later. */
static int64_t
tried_next(const struct daemon *d, const char *id, int64_t now)
{
	int i = tried_find(id);
	int64_t again;

	if (i == -1 || tried[i].gen != follow_sealed_gen)
		return 0;
	again = tried[i].at + 10 * d->conf->sweep;
	return again <= now ? 0 : again;
}

static void
tried_now(const char *id, int64_t now)
{
	int i = tried_find(id), k;

	if (i == -1)
		for (i = 0, k = 1; k < TRIED_MAX; k++)
			if (tried[k].at < tried[i].at)
				i = k;
	(void)strlcpy(tried[i].id, id, sizeof(tried[i].id));
	tried[i].gen = follow_sealed_gen;
	tried[i].at = now;
}

int64_t
jobs_requests(struct daemon *d, int64_t now)
{
	struct request **rq;
	struct job *j;
	int64_t t, next;
	size_t i, n, pick;

	if (d->req_dfd == -1)
		return INT64_MAX;
	if (!d->requests_due && d->requests_gen == follow_sealed_gen &&
	    now < d->requests_retry_at)
		return d->requests_retry_at;
	if (jobs_busy())
		return INT64_MAX;	/* the job's end kicks us */
	d->requests_due = 0;
	d->requests_gen = follow_sealed_gen;
	d->requests_retry_at = INT64_MAX;
	(void)request_load_all(d->req_dfd, &rq, &n);
	if (n == 0) {
		free(rq);
		return INT64_MAX;
	}
	/* One at a time: the oldest of those that may be tried now. */
	for (i = 0, pick = n, next = INT64_MAX; i < n; i++) {
		if ((t = tried_next(d, rq[i]->id, now)) != 0) {
			next = t < next ? t : next;
			continue;
		}
		if (pick == n || strcmp(rq[i]->id, rq[pick]->id) < 0)
			pick = i;
	}
	for (i = 0; i < n; i++)
		if (i != pick)
			request_free(rq[i]);
	if (pick == n) {
		free(rq);
		d->requests_retry_at = next;
		return next;
	}
	rq[0] = rq[pick];
	d->requests_due = 1;		/* the others, when this one ends */
	tried_now(rq[0]->id, now);
	j = xcalloc(1, sizeof(*j));
	j->id = ++d->next_job;
	j->kind = JOB_ERASE;
	j->dfd = -1;
	j->opts.now = now;
	if ((j->ej = erase_job_new(d, rq[0])) == NULL) {
		request_free(rq[0]);
		free(rq);
		free(j);
		d->requests_retry_at = now + BACKOFF_MIN;
		return d->requests_retry_at;
	}
	free(rq);
	log_info("erase %s (request %s): %zu files", j->ej->req->id,
	    j->ej->req->hash, j->ej->n);
	hand(j);
	return INT64_MAX;
}
