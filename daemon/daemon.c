/*
 * lethe run: one libevent base.  inotify on each log directory tells us
 * about appends, renames, creations and deletions; one timer is armed for
 * the earliest thing that is due (a rotation, a seal, a policy action, a
 * retry, the catalog flush, the watchdog), never later than one sweep;
 * signals arrive through libevent: TERM/INT stop, HUP reloads and
 * rescans, USR1 rotates now, CHLD reaps reopen commands.  Whole-file work
 * runs in the worker thread.
 */
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "lethe.h"

#define HOOK_TIMEOUT	30		/* seconds a reopen command may take */
#define BACKOFF_MIN	5
#define BACKOFF_MAX	600		/* as syslogd caps its retries */
#define TAIL_BUDGET	(1024 * 1024)	/* bytes per file per wake-up */
#define IN_MASK		(IN_MODIFY | IN_CREATE | IN_DELETE | IN_MOVED_FROM | \
			 IN_MOVED_TO | IN_DELETE_SELF | IN_MOVE_SELF | \
			 IN_CLOSE_WRITE | IN_ONLYDIR)

/* What the daemon keeps per set, beside the config. */
struct setrt {
	int64_t		 next_rotate;	/* aligned rotation, daemon clock */
	int		 rotate_now;	/* USR1, size, early, or restart */
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
	struct event	*ev_sig[6];
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
	int		 recover_pairs;	/* a compress failed after its rename? */
	int64_t		 rescan_at;	/* a failed rescan is retried then */
	int		 save_failing;	/* the catalog could not be saved */
	struct metrics	 metrics;
};

static void	daemon_kick(struct daemon *);

/* The daemon's clock: real time, or --now advancing at rate. */
static double
clock_now_f(const struct daemon *d)
{
	struct timespec ts;
	double el;

	if (!d->fake_clock) {
		clock_gettime(CLOCK_REALTIME, &ts);
		return (double)ts.tv_sec + ts.tv_nsec / 1e9;
	}
	clock_gettime(CLOCK_MONOTONIC, &ts);
	el = (double)(ts.tv_sec - d->mono_base.tv_sec) +
	    (ts.tv_nsec - d->mono_base.tv_nsec) / 1e9;
	return (double)d->now_base + el * d->rate;
}

static int64_t
clock_now(const struct daemon *d)
{
	return (int64_t)floor(clock_now_f(d));
}

static const char *
iso(int64_t t)
{
	static char buf[2][32];
	static int next;
	struct tm tm;
	time_t tt = (time_t)t;
	char *b = buf[next++ % 2];

	if (t == INT64_MAX || t == TIME_NONE || gmtime_r(&tt, &tm) == NULL)
		return "never";
	strftime(b, sizeof(buf[0]), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return b;
}

/*
 * Read and parse a config file; NULL on error.  Its messages go to the log
 * (the daemon), or plain to stderr as "file:line: message" (commands).
 */
struct config *
daemon_load_config(const char *path, int plain)
{
	struct config_msgs msgs;
	struct config *conf;
	char *text;
	size_t len, i;

	if (fsio_read_file(path, 1024 * 1024, &text, &len) == -1) {
		log_warn("read \"%s\"", log_esc(path));
		return NULL;
	}
	memset(&msgs, 0, sizeof(msgs));
	conf = config_parse(path, text, len, &msgs);
	for (i = 0; i < msgs.n; i++) {
		if (plain)
			fprintf(stderr, "%s\n", msgs.v[i]);
		else
			log_warnx("%s", msgs.v[i]);
	}
	config_msgs_release(&msgs);
	free(text);
	return conf;
}

static struct logset *
file_set(struct daemon *d, const struct mfile *f, struct setrt **rt)
{
	size_t i = (size_t)(f->set - d->conf->sets);

	*rt = &d->rt[i];
	return f->set;
}

/* ---- the saved catalog ------------------------------------------------ */

static void
record_of(const struct mfile *f, struct srecord *r)
{
	memset(r, 0, sizeof(*r));
	r->set = f->set->name;
	r->path = f->path;
	r->dev = (uint64_t)f->st.st_dev;
	r->ino = (uint64_t)f->st.st_ino;
	r->size = (uint64_t)f->st.st_size;
	r->mtime_ns = (int64_t)f->st.st_mtim.tv_sec * 1000000000LL +
	    f->st.st_mtim.tv_nsec;
	r->head_hash = f->tp.head_hash;
	r->head_len = f->tp.head_len;
	r->offset = f->tp.offset <= r->size ? f->tp.offset : r->size;
	r->flags = (f->state == MF_LIVE ? SR_LIVE : 0) |
	    (f->tp.ff.gzip ? SR_GZIP : 0) |
	    (f->state == MF_SEALED ? SR_SEALED : 0) |
	    (f->have_facts || f->fd != -1 ? SR_FACTS : 0);
	r->first_time = f->tp.ff.first_time;
	r->last_time = f->tp.ff.last_time;
	r->oldest_full = f->tp.ff.oldest_full;
}

/* Per set: files managed and the oldest full address, then the file. */
static void
write_metrics(struct daemon *d, int64_t now)
{
	struct set_metrics *sm;
	size_t i;

	sm = xcalloc(d->conf->nsets + 1, sizeof(*sm));
	for (i = 0; i < d->conf->nsets; i++) {
		sm[i] = d->rt[i].m;
		sm[i].files = 0;
		sm[i].oldest_full = TIME_NONE;
	}
	for (i = 0; i < d->cat.nfiles; i++) {
		const struct mfile *f = d->cat.files[i];
		struct set_metrics *m;

		if (f->refused != NULL)
			continue;
		m = &sm[f->set - d->conf->sets];
		m->files++;
		if (f->tp.ff.oldest_full != TIME_NONE &&
		    (m->oldest_full == TIME_NONE ||
		    f->tp.ff.oldest_full < m->oldest_full))
			m->oldest_full = f->tp.ff.oldest_full;
	}
	metrics_write(d->conf->metrics_file, d->conf, sm, &d->metrics, now);
	free(sm);
}

static void
catalog_flush(struct daemon *d, int64_t now)
{
	struct srecord *r;
	size_t i, n = 0;

	if (d->state_dfd == -1)
		return;
	r = xcalloc(d->cat.nfiles + 1, sizeof(*r));
	for (i = 0; i < d->cat.nfiles; i++) {
		struct mfile *f = d->cat.files[i];

		if (f->refused != NULL)
			continue;
		if (f->fd != -1)
			fstat(f->fd, &f->st);
		record_of(f, &r[n++]);
	}
	if (state_save(d->state_dfd, r, n) == -1) {
		/* Once per streak (a full disk); retried at the next sweep. */
		if (!d->save_failing++)
			log_warn("save the catalog in \"%s\"",
			    log_esc(d->conf->state_dir));
		d->metrics.errors[ME_CATALOG]++;
		d->urgent = 0;
		d->saved_at = now;
	} else {
		if (d->save_failing)
			log_info("catalog saved again after %d failures",
			    d->save_failing);
		d->save_failing = 0;
		d->dirty = d->urgent = 0;
		d->saved_at = now;
	}
	free(r);
	if (d->conf->metrics_file != NULL)
		write_metrics(d, now);
}

/* By path, then by place in the saved catalog (the first one wins). */
static int
record_cmp(const void *a, const void *b)
{
	const struct srecord *const *ra = a, *const *rb = b;
	int c = strcmp((*ra)->path, (*rb)->path);

	if (c != 0)
		return c;
	return *ra < *rb ? -1 : *ra > *rb;
}

/*
 * The saved record of f: a binary search by path (a linear one per file
 * made a start with 10,000 files quadratic).
 */
static const struct srecord *
record_find(const struct daemon *d, const struct mfile *f)
{
	const struct srecord *r;
	size_t lo = 0, hi = d->nrecords, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (strcmp(d->rsorted[mid]->path, f->path) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < d->nrecords; lo++) {
		r = d->rsorted[lo];
		if (strcmp(r->path, f->path) != 0)
			break;
		if (strcmp(r->set, f->set->name) == 0 &&
		    r->dev == (uint64_t)f->st.st_dev &&
		    r->ino == (uint64_t)f->st.st_ino)
			return r;
	}
	return NULL;
}

/* ---- files: adoption, following, sealing ------------------------------ */

static void
facts_from_record(struct mfile *f, const struct srecord *r)
{
	f->tp.ff.gzip = (r->flags & SR_GZIP) != 0;
	f->tp.ff.first_time = r->first_time;
	f->tp.ff.last_time = r->last_time;
	f->tp.ff.oldest_full = r->oldest_full;
	f->tp.prev_time = r->last_time;
}

static void
follow_open(struct mfile *f)
{
	struct stat st;
	const char *why;

	if (f->fd != -1)
		return;
	f->fd = fsio_openat_file(f->dir->fd, f->name, &st, &why);
	if (f->fd == -1) {
		log_warnx("follow \"%s\": %s", log_esc(f->path), why);
		return;
	}
	if (st.st_ino != f->st.st_ino || st.st_dev != f->st.st_dev) {
		fsio_close(f->fd);
		f->fd = -1;
		return;
	}
	f->more = 1;
}

/* A file seen for the first time (at start: maybe in the saved catalog). */
static void
adopt(struct daemon *d, struct mfile *f, int64_t now)
{
	const struct srecord *r = record_find(d, f);
	int64_t mtime_ns = (int64_t)f->st.st_mtim.tv_sec * 1000000000LL +
	    f->st.st_mtim.tv_nsec;

	tail_facts_reset(&f->tp, f->live);
	f->growth_at = now;
	if (f->live) {
		f->state = MF_LIVE;
		follow_open(f);
		if (r != NULL && (r->flags & SR_LIVE) && f->fd != -1 &&
		    r->head_len > 0 && (uint64_t)f->st.st_size >= r->offset) {
			f->tp.head_hash = r->head_hash;
			f->tp.head_len = r->head_len;
			if (tail_same_head(f->fd, &f->tp)) {
				f->tp.offset = f->tp.scan_pos = r->offset;
				facts_from_record(f, r);
			} else
				tail_facts_reset(&f->tp, 1);
		}
		return;
	}
	f->state = MF_SETTLING;
	if (r != NULL && (r->flags & SR_FACTS) &&
	    r->size == (uint64_t)f->st.st_size && r->mtime_ns == mtime_ns) {
		/* Unchanged since we saved it: no rescan. */
		facts_from_record(f, r);
		f->have_facts = 1;
		if (r->flags & SR_SEALED)
			f->state = MF_SEALED;
	}
}

/* Read what a followed file has appended, within the budget. */
static void
follow_step(struct daemon *d, struct mfile *f, int64_t now, size_t budget)
{
	struct setrt *rt;
	struct logset *set = file_set(d, f, &rt);
	uint64_t before = f->tp.size, lines = f->tp.lines;
	int trunc, r;

	if (f->fd == -1)
		return;
	r = tail_read(f->fd, &f->tp, set, budget, &trunc);
	if (f->tp.lines > lines)
		rt->m.lines_read += f->tp.lines - lines;
	if (r == -1) {
		log_warn("read \"%s\"", log_esc(f->path));
		d->metrics.errors[ME_READ]++;
		f->more = 0;
		return;
	}
	if (trunc)
		log_warnx("\"%s\" was truncated by someone else (copytruncate?);"
		    " reading it from the start", log_esc(f->path));
	if (f->tp.size != before) {
		f->growth_at = now;
		d->dirty = 1;
	}
	f->more = r == 1;
	if (f->state == MF_LIVE && set->rotate == ROTATE_SIZE &&
	    f->tp.size >= (uint64_t)set->rotate_size)
		rt->rotate_now = 1;
}

static void
facts_fix_untimed(struct mfile *f)
{
	struct file_facts *ff = &f->tp.ff;

	if (ff->first_time != TIME_NONE)
		return;
	/* No line has a time: the file's mtime stands for all. */
	ff->first_time = ff->last_time = f->st.st_mtime;
	if (ff->oldest_full != TIME_NONE || f->tp.pending_full)
		ff->oldest_full = f->st.st_mtime;
}

/*
 * A rotated file is sealed once our reopen hook ran, it has not grown for
 * settle, and no process holds it open for writing (where /proc tells).
 */
static int64_t
try_seal(struct daemon *d, struct mfile *f, int64_t now)
{
	struct stat st;
	int64_t due = f->growth_at + f->set->settle;

	if (f->hook_wait)
		return INT64_MAX;
	if (f->fd != -1) {
		/* Read to its end first, a budget at a time. */
		follow_step(d, f, now, TAIL_BUDGET);
		if (f->more)
			return now;
	} else if (fstatat(f->dir->fd, f->name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		if (st.st_ino != f->st.st_ino || st.st_dev != f->st.st_dev) {
			/* Replaced under its name: a rescan decides. */
			d->rescan = 1;
			return now;
		}
		if (st.st_size != f->st.st_size ||
		    st.st_mtim.tv_nsec != f->st.st_mtim.tv_nsec ||
		    st.st_mtime != f->st.st_mtime) {
			f->st = st;
			f->growth_at = now;
			f->have_facts = 0;
		}
	}
	due = f->growth_at + f->set->settle;
	if (now < due)
		return due;
	if (rotate_has_writer(f->dir->fd, f->name, f->st.st_dev,
	    f->st.st_ino) == 1) {
		log_debug("\"%s\": a writer still holds it", log_esc(f->path));
		f->growth_at = now;
		return now + f->set->settle;
	}
	if (f->fd != -1) {
		fstat(f->fd, &f->st);
		fsio_close(f->fd);
		f->fd = -1;
		facts_fix_untimed(f);
		f->have_facts = 1;
	}
	f->state = MF_SEALED;
	d->urgent = 1;
	log_info("sealed \"%s\"", log_esc(f->path));
	return now;
}

/* ---- jobs --------------------------------------------------------------- */

static struct job *
job_new(struct daemon *d, struct mfile *f, enum job_kind kind)
{
	struct job *j = xcalloc(1, sizeof(*j));
	size_t i;

	j->id = ++d->next_job;
	j->kind = kind;
	if ((j->dfd = dup(f->dir->fd)) == -1) {
		free(j);
		return NULL;
	}
	j->name = xstrdup(f->name);
	j->path = xstrdup(f->path);
	j->expect = f->st;
	j->fkind = f->set->format_kind;
	j->regex = f->set->regex ? xstrdup(f->set->regex) : NULL;
	j->nfields = f->set->nfields;
	j->fields = xcalloc(j->nfields + 1, sizeof(*j->fields));
	for (i = 0; i < j->nfields; i++)
		j->fields[i] = xstrdup(f->set->fields[i]);
	j->opts.prefix = f->set->prefix;
	j->opts.mask_before = TIME_NONE;
	j->opts.start_time = TIME_NONE;
	j->opts.audit_before = TIME_NONE;
	return j;
}

static int
submit(struct mfile *f, struct job *j)
{
	if (j == NULL || worker_submit(j) == -1) {
		job_free(j);
		return -1;
	}
	f->job = j->id;
	return 0;
}

static void
job_failed(struct daemon *d, struct mfile *f, struct job *j, int64_t now)
{
	f->backoff = f->backoff ? f->backoff * 2 : BACKOFF_MIN;
	if (f->backoff > BACKOFF_MAX)
		f->backoff = BACKOFF_MAX;
	f->retry_at = now + f->backoff;
	d->metrics.errors[j->kind == JOB_SCAN ? ME_SCAN : ME_REWRITE]++;
	/* The rename to NAME.gz may have happened: NAME beside it is ours. */
	if (j->newname != NULL)
		d->recover_pairs = 1;
	log_warnx("%s \"%s\": %s (retry in %llds)", j->kind == JOB_SCAN ?
	    "scan" : "rewrite", log_esc(j->path), j->err,
	    (long long)f->backoff);
}

static void
job_count(struct daemon *d, const struct mfile *f, const struct job *j,
    int64_t now)
{
	struct set_metrics *m = &d->rt[f->set - d->conf->sets].m;

	m->lines_read += j->stats.lines;
	if (j->kind == JOB_SCAN)
		return;
	m->addrs_masked += j->stats.addrs_masked;
	m->bytes_in += j->stats.bytes_in;
	m->bytes_out += j->stats.bytes_out;
	if (j->actions & ACT_MASK) {
		m->masked++;
		d->metrics.last_success[MA_MASK] = now;
	}
	if (j->opts.compress) {
		m->compressed++;
		d->metrics.last_success[MA_COMPRESS] = now;
	}
}

static void
job_done(struct job *j, void *arg)
{
	struct daemon *d = arg;
	struct mfile *f = NULL;
	int64_t now = clock_now(d);
	size_t i;

	for (i = 0; i < d->cat.nfiles && f == NULL; i++)
		if (d->cat.files[i]->job == j->id)
			f = d->cat.files[i];
	/* A rescan during the job may have found its output already. */
	for (i = 0; i < d->cat.nfiles && f == NULL && j->rc == 0; i++)
		if (d->cat.files[i]->refused == NULL &&
		    d->cat.files[i]->job == 0 &&
		    d->cat.files[i]->st.st_ino == j->after.st_ino &&
		    d->cat.files[i]->st.st_dev == j->after.st_dev)
			f = d->cat.files[i];
	if (f == NULL || d->stopping) {
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
	f->backoff = 0;
	f->retry_at = 0;
	if (j->newname != NULL) {
		free(f->name);
		free(f->path);
		f->name = xstrdup(j->newname);
		xasprintf(&f->path, "%s/%s", f->dir->path, f->name);
	}
	if (j->after.st_ino != 0)
		f->st = j->after;
	f->tp.ff.gzip = j->stats.gzip_in || j->opts.compress;
	f->tp.ff.first_time = j->stats.first_time;
	f->tp.ff.last_time = j->stats.last_time;
	f->tp.ff.oldest_full = j->stats.oldest_full;
	f->tp.pending_full = 0;
	facts_fix_untimed(f);
	f->have_facts = 1;
	if (j->kind == JOB_REWRITE)
		f->state = MF_SEALED;	/* ours, and nobody else's to write */
	job_count(d, f, j, now);
	if (j->kind == JOB_REWRITE)
		log_info("%s \"%s\"%s%s%s: %llu addresses masked",
		    policy_actions_str(j->actions), log_esc(j->path),
		    j->newname ? " to \"" : "",
		    j->newname ? log_esc(j->newname) : "",
		    j->newname ? "\"" : "",
		    (unsigned long long)j->stats.addrs_masked);
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
	if (fsio_unlinkat(f->dir->fd, f->name) == -1 ||
	    fsio_fsync(f->dir->fd) == -1) {
		log_warn("delete \"%s\"", log_esc(f->path));
		f->backoff = f->backoff ? f->backoff * 2 : BACKOFF_MIN;
		f->retry_at = now + (f->backoff < BACKOFF_MAX ? f->backoff :
		    BACKOFF_MAX);
		d->metrics.errors[ME_DELETE]++;
		return;
	}
	log_info("deleted \"%s\": its newest line is past retain",
	    log_esc(f->path));
	d->rt[f->set - d->conf->sets].m.deleted++;
	d->metrics.last_success[MA_DELETE] = now;
	f->refused = "deleted";
	d->urgent = 1;
	d->rescan = 1;
}

/* A sealed file: do what policy says is due, or say when it will be. */
static int64_t
sealed_step(struct daemon *d, struct mfile *f, int64_t now)
{
	struct policy_plan pl;
	struct job *j;
	char buf[NAME_MAX + 1];
	const char *gz;

	if (f->job != 0)
		return INT64_MAX;
	if (f->retry_at > now)
		return f->retry_at;
	if (!f->have_facts) {
		if (worker_busy())
			return INT64_MAX;	/* the job's end kicks us */
		j = job_new(d, f, JOB_SCAN);
		if (submit(f, j) == -1)
			return now + BACKOFF_MIN;
		return INT64_MAX;
	}
	policy_plan(f->set, &f->tp.ff, now, &pl);
	if (pl.actions & ACT_DELETE) {
		delete_file(d, f, now);
		return f->retry_at > now ? f->retry_at : INT64_MAX;
	}
	if (!(pl.actions & (ACT_MASK | ACT_COMPRESS)))
		return pl.next_due;
	if (worker_busy())
		return INT64_MAX;
	if ((j = job_new(d, f, JOB_REWRITE)) == NULL)
		return now + BACKOFF_MIN;
	j->actions = pl.actions & (ACT_MASK | ACT_COMPRESS);
	if (pl.actions & ACT_MASK)
		j->opts.mask_before = pl.mask_before;
	if ((pl.actions & ACT_COMPRESS) && !f->tp.ff.gzip) {
		j->opts.compress = 1;
		if ((gz = catalog_gz_name(f->name, buf, sizeof(buf))) != NULL)
			j->newname = xstrdup(gz);
	}
	if (submit(f, j) == -1)
		return now + BACKOFF_MIN;
	return INT64_MAX;
}

/* ---- rotation ----------------------------------------------------------- */

static void
hook_result(struct daemon *d, size_t si, int ok, const char *why,
    int64_t now)
{
	struct setrt *rt = &d->rt[si];
	struct logset *set = &d->conf->sets[si];
	size_t i;

	if (!ok) {
		rt->hook_backoff = rt->hook_backoff ? rt->hook_backoff * 2 :
		    BACKOFF_MIN;
		if (rt->hook_backoff > BACKOFF_MAX)
			rt->hook_backoff = BACKOFF_MAX;
		rt->hook_retry_at = now + rt->hook_backoff;
		d->metrics.errors[ME_HOOK]++;
		log_warnx("[%s]: reopen hook failed: %s; segments stay "
		    "unsealed, retry in %llds", set->name, why,
		    (long long)rt->hook_backoff);
		return;
	}
	rt->hook_due = 0;
	rt->hook_backoff = 0;
	for (i = 0; i < d->cat.nfiles; i++)
		if (d->cat.files[i]->set == set && d->cat.files[i]->hook_wait) {
			d->cat.files[i]->hook_wait = 0;
			d->cat.files[i]->growth_at = now;
		}
	log_info("[%s]: reopen hook done", set->name);
}

static void
hook_run(struct daemon *d, size_t si, int64_t now)
{
	struct setrt *rt = &d->rt[si];
	struct logset *set = &d->conf->sets[si];
	const char *why = NULL;

	if (rt->hook_pid > 0)
		return;
	if (set->reopen == REOPEN_SIGNAL) {
		if (rotate_hook_signal(set, &why) == -1)
			hook_result(d, si, 0, why, now);
		else
			hook_result(d, si, 1, NULL, now);
		return;
	}
	if ((rt->hook_pid = rotate_hook_command(set, &why)) == -1) {
		rt->hook_pid = 0;
		hook_result(d, si, 0, why, now);
		return;
	}
	rt->hook_deadline = now + HOOK_TIMEOUT;
}

/* Rotate every live file of set si (named for time stamp). */
static void
rotate_set(struct daemon *d, size_t si, int64_t stamp, int64_t now)
{
	struct logset *set = &d->conf->sets[si];
	struct setrt *rt = &d->rt[si];
	struct mfile *f;
	char seg[NAME_MAX + 1];
	const char *why;
	size_t i, n = 0;

	rt->rotate_now = 0;
	if (set->reopen == REOPEN_NONE) {
		if (!rt->warned_noreopen++)
			log_warnx("[%s]: cannot rotate without reopen",
			    set->name);
		return;
	}
	for (i = 0; i < d->cat.nfiles; i++) {
		f = d->cat.files[i];
		if (f->set != set || f->state != MF_LIVE ||
		    f->refused != NULL)
			continue;
		follow_step(d, f, now, 0);	/* its size; read later */
		if (f->tp.size == 0)
			continue;	/* nothing to rotate */
		if (rotate_segment_name(f->dir->fd, f->name, stamp, seg,
		    sizeof(seg)) == -1 ||
		    rotate_file(f->dir->fd, f->name, seg, &why) == -1) {
			log_warn("rotate \"%s\"", log_esc(f->path));
			d->metrics.errors[ME_ROTATE]++;
			continue;
		}
		rt->m.rotated++;
		d->metrics.last_success[MA_ROTATE] = now;
		log_info("rotated \"%s\" to \"%s\"", log_esc(f->path),
		    log_esc(seg));
		free(f->name);
		free(f->path);
		f->name = xstrdup(seg);
		xasprintf(&f->path, "%s/%s", f->dir->path, seg);
		f->state = MF_SETTLING;
		f->live = 0;
		f->tp.ff.live = 0;
		f->hook_wait = 1;
		f->growth_at = now;
		n++;
	}
	if (n == 0)
		return;
	rt->hook_due = 1;
	d->rescan = 1;
	d->urgent = 1;
	hook_run(d, si, now);
}

/* The oldest line time of the set's live files (INT64_MAX: none). */
static int64_t
live_first(const struct daemon *d, const struct logset *set)
{
	int64_t first = INT64_MAX;
	size_t i;

	for (i = 0; i < d->cat.nfiles; i++) {
		const struct mfile *f = d->cat.files[i];

		if (f->set == set && f->state == MF_LIVE && f->refused == NULL &&
		    f->tp.ff.first_time != TIME_NONE &&
		    f->tp.ff.first_time < first)
			first = f->tp.ff.first_time;
	}
	return first;
}

/* Is a rotation of set si due?  Returns when the next one is. */
static int64_t
rotation_step(struct daemon *d, size_t si, int64_t now)
{
	struct logset *set = &d->conf->sets[si];
	struct setrt *rt = &d->rt[si];
	int64_t stamp = now;

	if (rt->hook_due && rt->hook_pid == 0) {
		if (rt->hook_retry_at > now)
			return rt->hook_retry_at;
		hook_run(d, si, now);
	}
	if (rt->hook_pid > 0)
		return rt->hook_deadline;
	if (set->rotate == ROTATE_INTERVAL || set->rotate == ROTATE_DAILY) {
		if (rt->next_rotate == 0) {
			rt->next_rotate = rotate_next(set, now);
			/* Down across a boundary: that rotation is due. */
			if (live_first(d, set) < rotate_prev(set, now)) {
				rt->rotate_now = 1;
				stamp = rotate_prev(set, now);
			}
		}
		if (now >= rt->next_rotate) {
			stamp = rt->next_rotate;
			rt->rotate_now = 1;
			rt->next_rotate = rotate_next(set, now);
		}
	}
	if (rt->rotate_now)
		rotate_set(d, si, stamp, now);
	return set->rotate == ROTATE_INTERVAL || set->rotate == ROTATE_DAILY ?
	    rt->next_rotate : INT64_MAX;
}

/* A live file whose oldest full address nears the window: rotate early. */
static int64_t
live_step(struct daemon *d, struct mfile *f, int64_t now)
{
	struct setrt *rt;
	struct logset *set = file_set(d, f, &rt);
	struct policy_plan pl;

	policy_plan(set, &f->tp.ff, now, &pl);
	if (pl.actions & ACT_ROTATE) {
		rt->rotate_now = 1;
		return now;
	}
	if ((pl.actions & ACT_WARN_LIVE) && !rt->warned_live++)
		log_warnx("\"%s\": the live file holds full addresses past "
		    "the window and [%s] does not rotate it (rotate = off or "
		    "no reopen hook)", log_esc(f->path), set->name);
	return pl.next_due;
}

/* ---- rescans -------------------------------------------------------------- */

/* An old file in the index of a rescan: by (dev, ino), then place. */
struct oldref {
	struct mfile	*f;
	size_t		 i;
};

static int
oldref_cmp(const void *a, const void *b)
{
	const struct oldref *oa = a, *ob = b;

	if (oa->f->st.st_dev != ob->f->st.st_dev)
		return oa->f->st.st_dev < ob->f->st.st_dev ? -1 : 1;
	if (oa->f->st.st_ino != ob->f->st.st_ino)
		return oa->f->st.st_ino < ob->f->st.st_ino ? -1 : 1;
	return oa->i < ob->i ? -1 : oa->i > ob->i;
}

/*
 * The old file nf is, found by (dev, ino) in idx (old's files sorted by
 * oldref_cmp): a binary search, where a linear one per file made a rescan
 * of many files quadratic.  The first match in old's order wins.
 */
static struct mfile *
match_old(const struct oldref *idx, size_t n, const struct mfile *nf)
{
	struct mfile *of;
	struct stat st;
	size_t lo = 0, hi = n, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		of = idx[mid].f;
		if (of->st.st_dev < nf->st.st_dev ||
		    (of->st.st_dev == nf->st.st_dev &&
		    of->st.st_ino < nf->st.st_ino))
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < n; lo++) {
		of = idx[lo].f;
		if (of->st.st_dev != nf->st.st_dev ||
		    of->st.st_ino != nf->st.st_ino)
			break;
		if (of->refused != NULL ||
		    strcmp(of->set->name, nf->set->name) != 0)
			continue;
		/* Held open, the inode cannot have been reused. */
		if (of->fd != -1 && fstat(of->fd, &st) == 0 &&
		    st.st_ino == nf->st.st_ino && st.st_dev == nf->st.st_dev)
			return of;
		if (of->fd == -1 && (of->job != 0 ||
		    (of->st.st_size == nf->st.st_size &&
		    of->st.st_mtime == nf->st.st_mtime)))
			return of;
	}
	return NULL;
}

static void
carry(struct mfile *nf, struct mfile *of, int64_t now)
{
	nf->state = of->state;
	nf->fd = of->fd;
	of->fd = -1;
	nf->tp = of->tp;
	nf->have_facts = of->have_facts;
	nf->hook_wait = of->hook_wait;
	nf->more = of->more;
	nf->growth_at = of->growth_at;
	nf->retry_at = of->retry_at;
	nf->backoff = of->backoff;
	nf->job = of->job;
	of->job = 0;
	if (of->state == MF_LIVE && !nf->live) {
		/* Renamed away by someone else (logrotate). */
		nf->state = MF_SETTLING;
		nf->growth_at = now;
		nf->tp.ff.live = 0;
		log_info("\"%s\" was rotated to \"%s\"", log_esc(of->path),
		    log_esc(nf->path));
	} else if (of->state != MF_LIVE && nf->live) {
		nf->state = MF_LIVE;
		nf->tp.ff.live = 1;
		follow_open(nf);
	}
}

static void
watch_dirs(struct daemon *d)
{
	char proc[64];
	size_t i, j;
	int wd;

	for (i = 0; i < d->cat.ndirs; i++) {
		struct mdir *dir = d->cat.dirs[i];

		if (dir->fd == -1)
			continue;
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", dir->fd);
		if ((wd = inotify_add_watch(d->ifd, proc, IN_MASK)) == -1) {
			log_warn("watch \"%s\"", log_esc(dir->path));
			continue;
		}
		for (j = 0; j < d->nwatches; j++)
			if (d->watches[j].wd == wd)
				break;
		if (j < d->nwatches) {
			free(d->watches[j].path);
			d->watches[j].path = xstrdup(dir->path);
			continue;
		}
		d->watches = xreallocarray(d->watches, d->nwatches + 1,
		    sizeof(*d->watches));
		d->watches[d->nwatches].wd = wd;
		d->watches[d->nwatches++].path = xstrdup(dir->path);
	}
}

/* Did a directory that old had open fail to open in nc? */
static int
lost_dir(const struct catalog *old, const struct catalog *nc)
{
	size_t i, j;

	for (i = 0; i < nc->ndirs; i++) {
		if (nc->dirs[i]->fd != -1)
			continue;
		for (j = 0; j < old->ndirs; j++)
			if (old->dirs[j]->fd != -1 &&
			    strcmp(old->dirs[j]->path, nc->dirs[i]->path) == 0)
				return 1;
	}
	return 0;
}

/* Find the files again and carry what we know of each over. */
static void
rescan(struct daemon *d, int64_t now)
{
	struct catalog nc, old = d->cat;
	struct oldref *idx;
	struct mfile *of;
	size_t i, n = 0;

	d->rescan = 0;
	if (catalog_discover(&nc, d->conf) == -1 && lost_dir(&old, &nc)) {
		/* A directory we had cannot be opened now: keep its files. */
		log_warnx("rescan failed: keeping the files known, retry in "
		    "%ds", BACKOFF_MIN);
		catalog_release(&nc);
		d->rescan_at = now + BACKOFF_MIN;
		return;
	}
	d->rescan_at = 0;
	idx = xcalloc(old.nfiles + 1, sizeof(*idx));
	for (i = 0; i < old.nfiles; i++)
		if (old.files[i] != NULL) {
			idx[n].f = old.files[i];
			idx[n].i = i;
			n++;
		}
	qsort(idx, n, sizeof(*idx), oldref_cmp);
	for (i = 0; i < nc.nfiles; i++) {
		if (nc.files[i]->refused != NULL)
			continue;
		if ((of = match_old(idx, n, nc.files[i])) != NULL) {
			carry(nc.files[i], of, now);
			of->refused = "moved";
		} else
			adopt(d, nc.files[i], now);
	}
	free(idx);
	for (i = 0; i < old.nfiles; i++) {
		of = old.files[i];
		if (of->refused == NULL && of->job != 0)
			log_debug("\"%s\" is gone while a job runs on it",
			    log_esc(of->path));
	}
	d->cat = nc;
	catalog_release(&old);
	watch_dirs(d);
	d->urgent = 1;
}

/* ---- the tick: everything due now, then the one timer -------------------- */

static void
status(struct daemon *d, int64_t next)
{
	size_t i, live = 0, n = 0;

	for (i = 0; i < d->cat.nfiles; i++) {
		if (d->cat.files[i]->refused != NULL)
			continue;
		n++;
		live += d->cat.files[i]->state == MF_LIVE;
	}
	notify_status("%zu files managed (%zu live); next action at %s", n,
	    live, iso(next));
}

static void
arm(struct daemon *d, int64_t due)
{
	struct timeval tv;
	struct timespec ts;
	double delay, wd;

	delay = ((double)due - clock_now_f(d)) / d->rate;
	if (delay < 0)
		delay = 0;
	if (d->wd_usec) {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		wd = (double)(d->wd_next.tv_sec - ts.tv_sec) +
		    (d->wd_next.tv_nsec - ts.tv_nsec) / 1e9;
		if (wd < delay)
			delay = wd < 0 ? 0 : wd;
	}
	delay += 0.001;
	tv.tv_sec = (time_t)delay;
	tv.tv_usec = (suseconds_t)((delay - (double)tv.tv_sec) * 1e6);
	evtimer_add(d->ev_timer, &tv);
}

static void
watchdog(struct daemon *d)
{
	struct timespec ts;

	if (!d->wd_usec)
		return;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	if (ts.tv_sec < d->wd_next.tv_sec || (ts.tv_sec == d->wd_next.tv_sec &&
	    ts.tv_nsec < d->wd_next.tv_nsec))
		return;
	notify_watchdog();
	d->wd_next = ts;
	d->wd_next.tv_sec += (time_t)(d->wd_usec / 2000000);
	d->wd_next.tv_nsec += (long)(d->wd_usec / 2 % 1000000) * 1000;
	if (d->wd_next.tv_nsec >= 1000000000) {
		d->wd_next.tv_sec++;
		d->wd_next.tv_nsec -= 1000000000;
	}
}

#define EARLIER(a, b)	((b) < (a) ? (b) : (a))

static void
tick(struct daemon *d)
{
	struct mfile *f;
	int64_t now = clock_now(d), next = now + d->conf->sweep, t;
	size_t i, more = 0;

	if (d->stopping)
		return;
	watchdog(d);
	if (d->rescan_at != 0) {
		if (now >= d->rescan_at)
			d->rescan = 1;
		else
			next = EARLIER(next, d->rescan_at);
	}
	if (d->recover_pairs && !worker_busy()) {
		d->recover_pairs = 0;
		if (catalog_recover_pairs(&d->cat) > 0)
			d->rescan = 1;
	}
	if (d->rescan)
		rescan(d, now);
	for (i = 0; i < d->cat.nfiles; i++) {
		f = d->cat.files[i];
		if (f->refused == NULL && f->fd != -1 && f->more)
			follow_step(d, f, now, TAIL_BUDGET);
	}
	for (i = 0; i < d->conf->nsets; i++)
		next = EARLIER(next, rotation_step(d, i, now));
	if (d->rescan)
		rescan(d, now);
	for (i = 0; i < d->cat.nfiles; i++) {
		f = d->cat.files[i];
		if (f->refused != NULL)
			continue;
		more += f->more;
		switch (f->state) {
		case MF_LIVE:
			t = live_step(d, f, now);
			break;
		case MF_SETTLING:
			t = try_seal(d, f, now);
			if (f->state == MF_SEALED)
				t = sealed_step(d, f, now);
			break;
		default:
			t = sealed_step(d, f, now);
			break;
		}
		next = EARLIER(next, t);
	}
	if (d->urgent || (d->dirty && now - d->saved_at >= d->conf->sweep))
		catalog_flush(d, now);
	else if (d->dirty)
		next = EARLIER(next, d->saved_at + d->conf->sweep);
	status(d, next);
	log_debug("tick at %s: next at %s%s", iso(now), iso(next),
	    more ? ", more to read" : "");
	if (more)
		daemon_kick(d);
	else
		arm(d, next);
}

static void
timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;
	size_t i;

	(void)fd;
	(void)what;
	/* The sweep is also the backstop: look at every followed file. */
	for (i = 0; i < d->cat.nfiles; i++)
		if (d->cat.files[i]->fd != -1)
			d->cat.files[i]->more = 1;
	tick(d);
}

static void
work_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	tick(arg);
}

static void
daemon_kick(struct daemon *d)
{
	struct timeval tv = { 0, 0 };

	evtimer_del(d->ev_timer);
	event_add(d->ev_work, &tv);
}

/* ---- inotify ------------------------------------------------------------- */

static struct mfile *
file_by_name(struct daemon *d, const char *dir, const char *name)
{
	size_t i;

	for (i = 0; i < d->cat.nfiles; i++)
		if (d->cat.files[i]->refused == NULL &&
		    strcmp(d->cat.files[i]->name, name) == 0 &&
		    strcmp(d->cat.files[i]->dir->path, dir) == 0)
			return d->cat.files[i];
	return NULL;
}

static void
inotify_event(struct daemon *d, const struct inotify_event *ev)
{
	struct mfile *f;
	size_t i;

	if (ev->mask & IN_Q_OVERFLOW) {
		log_warnx("inotify queue overflow: rescanning everything");
		d->rescan = 1;
		return;
	}
	if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED)) {
		d->rescan = 1;
		return;
	}
	if (ev->len == 0 || ev->name[0] == '.')
		return;		/* our temp files, dot files */
	if (ev->mask & (IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO))
		d->rescan = 1;
	if (!(ev->mask & (IN_MODIFY | IN_CLOSE_WRITE)))
		return;
	for (i = 0; i < d->nwatches; i++)
		if (d->watches[i].wd == ev->wd)
			break;
	if (i == d->nwatches)
		return;
	if ((f = file_by_name(d, d->watches[i].path, ev->name)) != NULL &&
	    f->fd != -1)
		f->more = 1;
}

static void
inotify_cb(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;
	char buf[64 * 1024]
	    __attribute__((aligned(__alignof__(struct inotify_event))));
	const struct inotify_event *ev;
	ssize_t n;
	char *p;

	(void)what;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		for (p = buf; p < buf + n; p += sizeof(*ev) + ev->len) {
			ev = (const struct inotify_event *)(void *)p;
			inotify_event(d, ev);
		}
	if (n == -1 && errno != EAGAIN && errno != EINTR)
		log_warn("read inotify");
	daemon_kick(d);
}

/* ---- signals, reload, shutdown ------------------------------------------- */

static void
reload(struct daemon *d)
{
	struct config *nc, *oc = d->conf;
	struct setrt *nrt;
	size_t i, j;

	notify_reloading();
	log_info("reloading \"%s\"", log_esc(d->conf_path));
	if ((nc = daemon_load_config(d->conf_path, 0)) == NULL) {
		log_warnx("reload failed: keeping the running configuration");
		notify_ready();
		return;
	}
	nrt = xcalloc(nc->nsets + 1, sizeof(*nrt));
	for (i = 0; i < nc->nsets; i++)
		for (j = 0; j < oc->nsets; j++) {
			if (strcmp(nc->sets[i].name, oc->sets[j].name) != 0)
				continue;
			if (nc->sets[i].rotate == oc->sets[j].rotate &&
			    nc->sets[i].rotate_every == oc->sets[j].rotate_every)
				nrt[i] = d->rt[j];
			nrt[i].m = d->rt[j].m;
		}
	/* Files move to the new sets by name; then the old config goes. */
	for (i = 0; i < d->cat.nfiles; i++) {
		struct mfile *f = d->cat.files[i];

		for (j = 0; j < nc->nsets; j++)
			if (strcmp(nc->sets[j].name, f->set->name) == 0)
				break;
		if (j == nc->nsets) {
			f->refused = "its set is gone";
			continue;
		}
		f->set = &nc->sets[j];
	}
	/* A fixed reopen hook is tried at once, not at its next backoff. */
	for (i = 0; i < nc->nsets; i++) {
		nrt[i].hook_retry_at = 0;
		nrt[i].hook_backoff = 0;
	}
	d->conf = nc;
	free(d->rt);
	d->rt = nrt;
	rescan(d, clock_now(d));
	config_free(oc);
	log_info("reloaded: %zu sets", nc->nsets);
	notify_ready();
}

static void
reap(struct daemon *d)
{
	int64_t now = clock_now(d);
	char why[64];
	size_t i;
	pid_t pid;
	int st;

	while ((pid = waitpid(-1, &st, WNOHANG)) > 0)
		for (i = 0; i < d->conf->nsets; i++) {
			if (d->rt[i].hook_pid != pid)
				continue;
			d->rt[i].hook_pid = 0;
			if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
				hook_result(d, i, 1, NULL, now);
				continue;
			}
			if (WIFEXITED(st))
				snprintf(why, sizeof(why), "exit status %d",
				    WEXITSTATUS(st));
			else
				snprintf(why, sizeof(why), "killed by signal %d",
				    WTERMSIG(st));
			hook_result(d, i, 0, why, now);
		}
}

static void
hook_timeouts(struct daemon *d, int64_t now)
{
	size_t i;

	for (i = 0; i < d->conf->nsets; i++)
		if (d->rt[i].hook_pid > 0 && now >= d->rt[i].hook_deadline) {
			log_warnx("[%s]: reopen command timed out",
			    d->conf->sets[i].name);
			kill(d->rt[i].hook_pid, SIGKILL);
		}
}

static void
signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct daemon *d = arg;
	size_t i;

	(void)what;
	switch (sig) {
	case SIGTERM:
	case SIGINT:
		log_info("stopping (signal %d)", (int)sig);
		notify_stopping();
		d->stopping = 1;
		event_base_loopbreak(d->base);
		return;
	case SIGHUP:
		reload(d);
		break;
	case SIGUSR1:
		log_info("rotating every live file now (USR1)");
		for (i = 0; i < d->conf->nsets; i++)
			d->rt[i].rotate_now = 1;
		break;
	case SIGCHLD:
		reap(d);
		break;
	}
	hook_timeouts(d, clock_now(d));
	daemon_kick(d);
}

/* ---- start and stop ------------------------------------------------------- */

static void
open_state(struct daemon *d)
{
	const char *why, *err;
	size_t i;

	if (mkdir(d->conf->state_dir, 0700) == -1 && errno != EEXIST)
		fatal("create state_dir \"%s\"", log_esc(d->conf->state_dir));
	if ((d->state_dfd = fsio_opendir(d->conf->state_dir, &why)) == -1)
		fatalx("state_dir \"%s\": %s", log_esc(d->conf->state_dir),
		    why);
	/* A kill during state_save leaves .catalog.lethe-XXXXXX behind. */
	if (fsio_clean_tmp(d->state_dfd, NULL, NULL) == -1)
		log_warn("clean temp files in \"%s\"",
		    log_esc(d->conf->state_dir));
	switch (state_load(d->state_dfd, &d->records, &d->nrecords, &err)) {
	case 0:
		log_info("catalog: %zu files known", d->nrecords);
		d->rsorted = xcalloc(d->nrecords + 1, sizeof(*d->rsorted));
		for (i = 0; i < d->nrecords; i++)
			d->rsorted[i] = &d->records[i];
		qsort(d->rsorted, d->nrecords, sizeof(*d->rsorted),
		    record_cmp);
		break;
	case 1:
		log_info("no catalog yet: reading every file once");
		break;
	default:
		log_warnx("catalog in \"%s\" is %s: rebuilding it from the "
		    "files", log_esc(d->conf->state_dir), err);
		break;
	}
}

/* Create the live file a segment came from, if it is missing. */
static void
recreate_live(const struct mfile *seg)
{
	char live[NAME_MAX + 1];
	const char *why = NULL;
	struct stat st;
	size_t blen = catalog_rotated_base(seg->name);

	if (blen == 0 || blen >= sizeof(live))
		return;
	memcpy(live, seg->name, blen);
	live[blen] = '\0';
	if (fstatat(seg->dir->fd, live, &st, AT_SYMLINK_NOFOLLOW) == 0 ||
	    errno != ENOENT)
		return;
	if (fsio_create_like(seg->dir->fd, live, &seg->st, &why) == -1) {
		if (errno != EEXIST)
			log_warn("create \"%s/%s\": %s",
			    log_esc(seg->dir->path), log_esc(live), why);
		return;
	}
	log_info("created \"%s/%s\" again", log_esc(seg->dir->path),
	    log_esc(live));
}

/*
 * A crash between our rename and the reopen hook leaves the server
 * writing to a segment: for every set with unsealed segments, make sure
 * the live files exist and run the reopen hook once more (a reopen is
 * harmless when it was done already).
 */
static void
recover_rotations(struct daemon *d)
{
	size_t i, si;

	for (i = 0; i < d->cat.nfiles; i++) {
		struct mfile *f = d->cat.files[i];

		/* Only our own segments: others rotate with rotate = off. */
		if (f->refused != NULL || f->state != MF_SETTLING ||
		    f->set->reopen == REOPEN_NONE ||
		    f->set->rotate == ROTATE_OFF ||
		    !catalog_is_segment(f->name))
			continue;
		recreate_live(f);
		/* Not sealed before the server has reopened. */
		f->hook_wait = 1;
		si = (size_t)(f->set - d->conf->sets);
		if (!d->rt[si].hook_due)
			log_info("[%s]: unsealed segments at start: running "
			    "the reopen hook", f->set->name);
		d->rt[si].hook_due = 1;
		d->rescan = 1;
	}
}

static void
setup_events(struct daemon *d)
{
	static const int sigs[] = { SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGCHLD };
	size_t i;

	/* A broken read lease (rotate.c's writer check) must not kill us. */
	signal(SIGIO, SIG_IGN);
	if ((d->base = event_base_new()) == NULL)
		fatalx("event_base_new");
	d->ev_timer = evtimer_new(d->base, timer_cb, d);
	d->ev_work = evtimer_new(d->base, work_cb, d);
	if ((d->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) == -1)
		fatal("inotify_init1");
	d->ev_inotify = event_new(d->base, d->ifd, EV_READ | EV_PERSIST,
	    inotify_cb, d);
	if (d->ev_timer == NULL || d->ev_work == NULL || d->ev_inotify == NULL ||
	    event_add(d->ev_inotify, NULL) == -1)
		fatalx("event_new");
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		d->ev_sig[i] = evsignal_new(d->base, sigs[i], signal_cb, d);
		if (d->ev_sig[i] == NULL || event_add(d->ev_sig[i], NULL) == -1)
			fatalx("evsignal_new");
	}
	worker_start(d->base, job_done, d);
}

static void
shutdown_daemon(struct daemon *d)
{
	size_t i;

	worker_stop();
	d->stopping = 1;
	catalog_flush(d, clock_now(d));
	catalog_release(&d->cat);
	for (i = 0; i < sizeof(d->ev_sig) / sizeof(d->ev_sig[0]); i++)
		if (d->ev_sig[i] != NULL)
			event_free(d->ev_sig[i]);
	event_free(d->ev_timer);
	event_free(d->ev_work);
	event_free(d->ev_inotify);
	close(d->ifd);
	for (i = 0; i < d->nwatches; i++)
		free(d->watches[i].path);
	free(d->watches);
	if (d->state_dfd != -1)
		close(d->state_dfd);
	free(d->rt);
	config_free(d->conf);
	event_base_free(d->base);
	log_info("stopped");
}

int
daemon_run(const char *conf_path, int have_now, int64_t now)
{
	struct daemon d;
	const char *rate = getenv("LETHE_TEST_CLOCK_RATE");
	size_t i;

	memset(&d, 0, sizeof(d));
	d.state_dfd = -1;
	d.conf_path = conf_path;
	d.rate = 1.0;
	if (have_now) {
		d.fake_clock = 1;
		d.now_base = now;
		clock_gettime(CLOCK_MONOTONIC, &d.mono_base);
		if (rate != NULL && (d.rate = strtod(rate, NULL)) <= 0)
			fatalx("LETHE_TEST_CLOCK_RATE: not a positive number");
	}
	if ((d.conf = daemon_load_config(conf_path, 0)) == NULL) {
		/* EX_CONFIG: the unit does not restart us in a loop for it. */
		log_warnx("no valid configuration in \"%s\"",
		    log_esc(conf_path));
		exit(78);
	}
	d.rt = xcalloc(d.conf->nsets + 1, sizeof(*d.rt));
	open_state(&d);
	setup_events(&d);
	catalog_discover(&d.cat, d.conf);
	catalog_clean_tmp(&d.cat);
	if (catalog_recover_pairs(&d.cat) > 0)
		d.rescan = 1;
	for (i = 0; i < d.cat.nfiles; i++)
		if (d.cat.files[i]->refused == NULL)
			adopt(&d, d.cat.files[i], clock_now(&d));
	watch_dirs(&d);
	d.urgent = 1;		/* the catalog and metrics as found at start */
	tick(&d);
	state_records_free(d.records, d.nrecords);
	free(d.rsorted);
	d.rsorted = NULL;
	d.records = NULL;
	d.nrecords = 0;
	recover_rotations(&d);
	if ((d.wd_usec = notify_watchdog_usec()) != 0)
		clock_gettime(CLOCK_MONOTONIC, &d.wd_next);
	log_info("running: %zu sets, %zu files, clock at %s", d.conf->nsets,
	    d.cat.nfiles, iso(clock_now(&d)));
	notify_ready();
	daemon_kick(&d);
	event_base_dispatch(d.base);
	shutdown_daemon(&d);
	return 0;
}
