/*
 * Following files: inotify on each log directory says when a file grew,
 * was renamed, created or deleted; the live files and the segments a
 * writer may still append to are read as they grow (tail.c), so that
 * their facts are current when they are sealed; rescans find the files
 * again and carry what we know of each over by device and inode.  Every
 * change of a file's state goes through follow_set_state(), which logs
 * it.
 */
#include <sys/inotify.h>
#include <sys/stat.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "lethe.h"

#define TAIL_BUDGET	(1024 * 1024)	/* bytes per file per wake-up */
#define IN_MASK		(IN_MODIFY | IN_CREATE | IN_DELETE | IN_MOVED_FROM | \
			 IN_MOVED_TO | IN_DELETE_SELF | IN_MOVE_SELF | \
			 IN_CLOSE_WRITE | IN_ONLYDIR)

static const char *const state_names[] = {
	[MF_LIVE] = "live",
	[MF_SETTLING] = "settling",
	[MF_SEALED] = "sealed",
};

uint64_t	 follow_sealed_gen;

void
follow_set_state(struct mfile *f, int state)
{
	if (f->state == state)
		return;
	if (state == MF_SEALED) {
		log_info("sealed \"%s\"", log_esc(f->path));
		follow_sealed_gen++;
	} else
		log_debug("\"%s\": %s -> %s", log_esc(f->path),
		    state_names[f->state], state_names[state]);
	f->state = state;
}

static void
facts_from_record(struct mfile *f, const struct srecord *r)
{
	f->tp.ff.gzip = (r->flags & SR_GZIP) != 0;
	f->tp.ff.first_time = r->first_time;
	f->tp.ff.last_time = r->last_time;
	f->tp.ff.oldest_full = r->oldest_full;
	f->tp.prev_time = r->last_time;
}

void
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

/*
 * The facts of f were read another way (a reload changed the format, the
 * prefixes or the time settings): read it again.  A live file is read
 * again from its start; a segment is scanned again once sealed.
 */
void
follow_forget(struct mfile *f)
{
	tail_facts_reset(&f->tp, f->state == MF_LIVE);
	f->have_facts = 0;
	f->facts_key = f->set->facts_key;
	if (f->fd != -1)
		f->more = 1;
	else if (f->state == MF_LIVE)
		follow_open(f);
}

/*
 * Is r (the saved record of f's path, device and inode) about this very
 * file, not an earlier one whose inode it reuses?  Its first bytes when
 * we have it open, else its size and mtime.
 */
int
follow_record_same(const struct mfile *f, const struct srecord *r)
{
	struct tailpos tp;
	int64_t mtime_ns = (int64_t)f->st.st_mtim.tv_sec * 1000000000LL +
	    f->st.st_mtim.tv_nsec;

	if (r->size > (uint64_t)f->st.st_size)
		return 0;
	if (r->head_len == 0)
		return 1;	/* empty then: nothing tells them apart */
	if (f->fd != -1) {
		memset(&tp, 0, sizeof(tp));
		tp.head_hash = r->head_hash;
		tp.head_len = r->head_len;
		return tail_same_head(f->fd, &tp);
	}
	return r->size == (uint64_t)f->st.st_size && r->mtime_ns == mtime_ns;
}

/* Where forwarding stood, when the record is about this file. */
static void
adopt_forward(struct mfile *f, const struct srecord *r)
{
	if (r == NULL || !r->fwd || !follow_record_same(f, r))
		return;
	f->fwd = 1;
	f->fwd_id = r->fwd_id;
	f->fwd_off = r->fwd_off;
	f->fwd_seq = r->fwd_seq;
}

/* A file seen for the first time (at start: maybe in the saved catalog). */
void
follow_adopt(struct daemon *d, struct mfile *f, int64_t now)
{
	const struct srecord *r = daemon_record(d, f);
	int64_t mtime_ns = (int64_t)f->st.st_mtim.tv_sec * 1000000000LL +
	    f->st.st_mtim.tv_nsec;

	tail_facts_reset(&f->tp, f->live);
	f->facts_key = f->set->facts_key;
	f->growth_at = now;
	if (r != NULL && r->facts_key != f->set->facts_key)
		r = NULL;	/* read another way then: read it again */
	if (f->live) {
		f->state = MF_LIVE;
		follow_open(f);
		adopt_forward(f, daemon_record(d, f));
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
	/* A segment whose stream or mirror goes on: open, to know it. */
	if (r != NULL && (r->fwd || r->mirror != NULL))
		follow_open(f);
	adopt_forward(f, daemon_record(d, f));
	if (r != NULL && (r->flags & SR_FACTS) &&
	    r->size == (uint64_t)f->st.st_size && r->mtime_ns == mtime_ns) {
		/* Unchanged since we saved it: no rescan. */
		facts_from_record(f, r);
		f->have_facts = 1;
		if (r->flags & SR_SEALED)
			f->state = MF_SEALED;
	}
}

/* What the engine's stats gained since before (a reset starts anew). */
static uint64_t
gain(uint64_t before, uint64_t after)
{
	return after >= before ? after - before : after;
}

static void
count_lines(struct set_metrics *m, const struct line_stats *before,
    const struct line_stats *after)
{
	m->not_understood += gain(before->bad, after->bad);
	m->long_lines += gain(before->long_lines, after->long_lines);
	m->time_refused += gain(before->future + before->disorder,
	    after->future + after->disorder);
}

/* Read what a followed file has appended, within the budget. */
void
follow_step(struct daemon *d, struct mfile *f, int64_t now, size_t budget)
{
	struct setrt *rt = daemon_setrt(d, f->set);
	uint64_t before = f->tp.size, lines = f->tp.lines;
	struct line_stats ls = f->tp.ls;
	int trunc, r;

	if (f->fd == -1)
		return;
	r = tail_read(f->fd, &f->tp, f->set, now, budget, &trunc);
	if (f->tp.lines > lines)
		rt->m.lines_read += f->tp.lines - lines;
	count_lines(&rt->m, &ls, &f->tp.ls);
	if (r == -1) {
		log_warn("read \"%s\"", log_esc(f->path));
		d->metrics.errors[ME_READ]++;
		f->more = 0;
		return;
	}
	if (trunc)
		log_warnx("\"%s\" was truncated by someone else (copytruncate?);"
		    " reading it from the start", log_esc(f->path));
	if (trunc && f->fwf != NULL)
		forward_truncated(f->fw, f->fwf);
	f->more = r == 1;
	f->tp_truncated = trunc;
	if (f->mir != NULL)
		(void)mirror_step(d, f, now, budget);
	f->tp_truncated = 0;
	if (f->tp.size != before) {
		f->growth_at = now;
		d->dirty = 1;
		if (f->fw != NULL)
			forward_kick(f->fw);
	}
	if (f->state == MF_LIVE && f->set->rotate == ROTATE_SIZE &&
	    f->tp.size >= (uint64_t)f->set->rotate_size)
		rt->rotate_now = 1;
}

/* Has an unfollowed settling file changed?  0 no, 1 yes, -1 replaced. */
static int
changed(struct mfile *f, int64_t now)
{
	struct stat st;

	if (fsio_fstatat(f->dir->fd, f->name, &st) == -1)
		return 0;
	if (st.st_ino != f->st.st_ino || st.st_dev != f->st.st_dev)
		return -1;
	if (st.st_size == f->st.st_size && st.st_mtime == f->st.st_mtime &&
	    st.st_mtim.tv_nsec == f->st.st_mtim.tv_nsec)
		return 0;
	f->st = st;
	f->growth_at = now;
	f->have_facts = 0;
	return 1;
}

/*
 * A rotated file is sealed once our reopen hook ran, it has been read to
 * its end (its last line too, with or without a newline), it has not
 * grown for settle, and no process holds it open for writing (a check
 * that cannot tell fails closed: lifecycle_seal_wait).
 */
int64_t
follow_seal(struct daemon *d, struct mfile *f, int64_t now)
{
	int64_t wait;

	if (f->hook_wait)
		return INT64_MAX;
	if (f->fd != -1) {
		/* Read to its end first, a budget at a time. */
		follow_step(d, f, now, TAIL_BUDGET);
		if (f->more)
			return now;
		(void)fsio_fstat(f->fd, &f->st);
	} else if (changed(f, now) == -1) {
		d->rescan = 1;	/* replaced under its name: a rescan decides */
		return now;
	}
	/* Our own mirror is not sealed while we write it. */
	if (f->set->mirror_of != NULL && mirror_writing(d, &f->st))
		return now + d->conf->sweep;
	if ((wait = lifecycle_seal_wait(f, &f->st, now - f->growth_at,
	    &f->warned_unknown)) > 0)
		return now + wait;
	switch (f->mir != NULL ? mirror_seal(d, f, now) : 0) {
	case 1:
		return now;		/* more of it first */
	case 2:
		return now + BACKOFF_MIN;
	}
	if (f->fd != -1) {
		if (tail_finish(f->fd, &f->tp, f->set, now) == -1) {
			log_warn("read \"%s\"", log_esc(f->path));
			return now + BACKOFF_MIN;
		}
		(void)fsio_fstat(f->fd, &f->st);
		fsio_close(f->fd);
		f->fd = -1;
		lifecycle_untimed(&f->tp.ff, f->st.st_mtime, f->tp.pending_full);
		lifecycle_said_lines(f->path, &f->tp.ls);
		f->have_facts = 1;
	}
	follow_set_state(f, MF_SEALED);
	d->urgent = 1;
	return now;
}

/* ---- rescans ----------------------------------------------------------------- */

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
		if (of->fd != -1 && fsio_fstat(of->fd, &st) == 0 &&
		    st.st_ino == nf->st.st_ino && st.st_dev == nf->st.st_dev)
			return of;
		/*
		 * Not held open: the inode may be another's by now, even
		 * with a job running (it may have unlinked the file, and
		 * a writer's new live file taken its inode number).
		 */
		if (of->fd == -1 && of->st.st_size == nf->st.st_size &&
		    of->st.st_mtime == nf->st.st_mtime &&
		    (of->job == 0 || !nf->live || of->state == MF_LIVE))
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
	of->tp.eng = NULL;	/* the engine goes with the file */
	if (nf->tp.eng != NULL)
		line_set_stats(nf->tp.eng, &nf->tp.ls);
	nf->facts_key = of->facts_key;
	nf->have_facts = of->have_facts;
	nf->hook_wait = of->hook_wait;
	nf->more = of->more;
	nf->warned_unknown = of->warned_unknown;
	nf->growth_at = of->growth_at;
	nf->retry_at = of->retry_at;
	nf->backoff = of->backoff;
	nf->job = of->job;
	of->job = 0;
	nf->held = of->held;
	nf->mir = of->mir;
	of->mir = NULL;
	nf->mir_failed = of->mir_failed;
	nf->fwf = of->fwf;
	nf->fw = of->fw;
	of->fwf = NULL;
	of->fw = NULL;
	nf->fwd = of->fwd;
	nf->fwd_id = of->fwd_id;
	nf->fwd_off = of->fwd_off;
	nf->fwd_seq = of->fwd_seq;
	nf->fwd_done = of->fwd_done;
	if (of->state == MF_LIVE && !nf->live) {
		/* Renamed away by someone else (logrotate). */
		follow_set_state(nf, MF_SETTLING);
		nf->growth_at = now;
		nf->tp.ff.live = 0;
		log_info("\"%s\" was rotated to \"%s\"", log_esc(of->path),
		    log_esc(nf->path));
	} else if (of->state != MF_LIVE && nf->live) {
		follow_set_state(nf, MF_LIVE);
		nf->tp.ff.live = 1;
		follow_open(nf);
	}
}

void
follow_watch(struct daemon *d)
{
	char proc[64];
	struct mdir *dir;
	size_t i, j;
	int wd;

	for (i = 0; i < d->cat.ndirs; i++) {
		dir = d->cat.dirs[i];
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

/*
 * Is a directory that old had open still there, under its path, and
 * missing from nc?  (A walk that failed on the way down, EIO or ENOMEM,
 * finds nothing; a directory removed or renamed away is let go.)
 */
static int
still_there(const struct mdir *od)
{
	struct stat a, b;
	const char *why;
	int fd, same;

	if (fsio_fstat(od->fd, &a) == -1 || a.st_nlink == 0)
		return 0;
	if ((fd = fsio_opendir(od->path, &why)) == -1)
		return errno != ENOENT && errno != ENOTDIR && errno != ELOOP;
	same = fsio_fstat(fd, &b) == 0 && a.st_dev == b.st_dev &&
	    a.st_ino == b.st_ino;
	fsio_close(fd);
	return same;
}

/* Did a directory that old had open fail to open, or go missing, in nc? */
static int
lost_dir(const struct catalog *old, const struct catalog *nc)
{
	size_t i, j;

	for (j = 0; j < old->ndirs; j++) {
		if (old->dirs[j]->fd == -1)
			continue;
		for (i = 0; i < nc->ndirs; i++)
			if (strcmp(old->dirs[j]->path, nc->dirs[i]->path) == 0)
				break;
		if (i < nc->ndirs ? nc->dirs[i]->fd == -1 :
		    still_there(old->dirs[j]))
			return 1;
	}
	return 0;
}

/*
 * A file with a job running is kept across a rescan even when its name is
 * not there (the job has claimed it): the job's end says what it became.
 */
static int
keep_busy(struct catalog *nc, struct mfile *of)
{
	size_t i, at;

	for (i = 0; i < nc->ndirs; i++)
		if (strcmp(nc->dirs[i]->path, of->dir->path) == 0)
			break;
	if (i == nc->ndirs)
		return 0;
	of->dir = nc->dirs[i];
	for (at = 0; at < nc->nfiles &&
	    strcmp(nc->files[at]->path, of->path) < 0; at++)
		;
	nc->files = xreallocarray(nc->files, nc->nfiles + 1,
	    sizeof(*nc->files));
	memmove(nc->files + at + 1, nc->files + at,
	    (nc->nfiles - at) * sizeof(*nc->files));
	nc->files[at] = of;
	nc->nfiles++;
	return 1;
}

/* Find the files again and carry what we know of each over. */
void
follow_rescan(struct daemon *d, int64_t now)
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
			follow_adopt(d, nc.files[i], now);
	}
	free(idx);
	for (i = 0; i < old.nfiles; i++) {
		of = old.files[i];
		if (of->refused == NULL && of->job != 0 && keep_busy(&nc, of))
			old.files[i] = NULL;
		else if (of->mir != NULL)
			mirror_gone(d, of);
	}
	d->cat = nc;
	catalog_release(&old);
	follow_watch(d);
	mirror_sync(d, now);
	forward_sync(d, now);
	d->urgent = 1;
}

/* ---- inotify ----------------------------------------------------------------- */

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
	if (ev->len > 0 && ev->name[0] == '.' &&
	    strstr(ev->name, ".lethe-claim-") != NULL)
		d->recover = 1;	/* a claim: put right once the worker is idle */
	if (ev->len == 0 || ev->name[0] == '.')
		return;		/* our temp files and claims, dot files */
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
inotify_cb(evutil_socket_t fd, short what UNUSED, void *arg)
{
	struct daemon *d = arg;
	char buf[64 * 1024]
	    __attribute__((aligned(__alignof__(struct inotify_event))));
	const struct inotify_event *ev;
	ssize_t n;
	char *p;

	while ((n = read(fd, buf, sizeof(buf))) > 0)
		for (p = buf; p < buf + n; p += sizeof(*ev) + ev->len) {
			ev = (const struct inotify_event *)(void *)p;
			inotify_event(d, ev);
		}
	if (n == -1 && errno != EAGAIN && errno != EINTR)
		log_warn("read inotify");
	daemon_kick(d);
}

int
follow_start(struct daemon *d)
{
	if ((d->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) == -1)
		fatal("inotify_init1");
	d->ev_inotify = event_new(d->base, d->ifd, EV_READ | EV_PERSIST,
	    inotify_cb, d);
	if (d->ev_inotify == NULL || event_add(d->ev_inotify, NULL) == -1)
		return -1;
	return 0;
}

void
follow_stop(struct daemon *d)
{
	size_t i;

	if (d->ev_inotify != NULL)
		event_free(d->ev_inotify);
	if (d->ifd != -1)
		close(d->ifd);
	for (i = 0; i < d->nwatches; i++)
		free(d->watches[i].path);
	free(d->watches);
}
