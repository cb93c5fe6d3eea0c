/*
 * lethe run: one libevent base.  One timer is armed for the earliest thing
 * that is due (a rotation, a seal, a policy action, a retry, the catalog
 * flush, the watchdog), never later than one sweep; signals arrive
 * through libevent: TERM/INT stop, HUP reloads and rescans, USR1 rotates
 * now, CHLD reaps reopen commands.  What happens to each file is
 * follow.c's (following, sealing, rescans), jobs.c's (whole-file work in
 * the worker) and rotation.c's (rotations, reopen hooks); the decisions
 * are lifecycle.c's, shared with `once`.
 */
#include <sys/stat.h>
#include <sys/types.h>

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

#define TAIL_BUDGET	(1024 * 1024)	/* bytes per file per wake-up */
#define EARLIER(a, b)	((b) < (a) ? (b) : (a))

/* The daemon's clock: real time, or --now advancing at rate. */
double
daemon_now_f(const struct daemon *d)
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

int64_t
daemon_now(const struct daemon *d)
{
	return (int64_t)floor(daemon_now_f(d));
}

const char *
daemon_iso(int64_t t)
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

struct setrt *
daemon_setrt(struct daemon *d, const struct logset *set)
{
	return &d->rt[set - d->conf->sets];
}

void
daemon_backoff(struct mfile *f, int64_t now)
{
	f->backoff = f->backoff ? f->backoff * 2 : BACKOFF_MIN;
	if (f->backoff > BACKOFF_MAX)
		f->backoff = BACKOFF_MAX;
	f->retry_at = now + f->backoff;
}

/* ---- the saved catalog and the metrics ---------------------------------- */

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
	r->facts_key = f->facts_key;
	mirror_record(f, r);
}

/* Per set: files managed and the oldest full address, then the file. */
static void
write_metrics(struct daemon *d, int64_t now)
{
	struct set_metrics *sm, *m;
	const struct mfile *f;
	size_t i;

	sm = xcalloc(d->conf->nsets + 1, sizeof(*sm));
	for (i = 0; i < d->conf->nsets; i++) {
		sm[i] = d->rt[i].m;
		if (d->fwd != NULL && d->fwd[i] != NULL)
			forward_metrics(d->fwd[i], &sm[i], now);
		sm[i].files = 0;
		sm[i].held = 0;
		sm[i].oldest_full = TIME_NONE;
	}
	for (i = 0; i < d->cat.nfiles; i++) {
		f = d->cat.files[i];
		if (f->refused != NULL)
			continue;
		m = &sm[f->set - d->conf->sets];
		m->files++;
		m->held += f->held;
		if (f->tp.ff.oldest_full != TIME_NONE &&
		    (m->oldest_full == TIME_NONE ||
		    f->tp.ff.oldest_full < m->oldest_full))
			m->oldest_full = f->tp.ff.oldest_full;
	}
	metrics_write(d->conf->metrics_file, d->conf, sm, &d->metrics, now);
	free(sm);
}

void
daemon_flush(struct daemon *d, int64_t now)
{
	struct srecord *r;
	struct mfile *f;
	size_t i, n = 0;

	if (d->state_dfd == -1)
		return;
	r = xcalloc(d->cat.nfiles + 1, sizeof(*r));
	for (i = 0; i < d->cat.nfiles; i++) {
		f = d->cat.files[i];
		if (f->refused != NULL)
			continue;
		if (f->fd != -1)
			(void)fsio_fstat(f->fd, &f->st);
		mirror_sync_disk(f);
		record_of(f, &r[n]);
		forward_record(f, &r[n++]);
	}
	if (store_save(d->state_dfd, r, n) == -1) {
		/* Once per streak (a full disk); retried at the next sweep. */
		if (!d->save_failing++)
			log_warn("save the catalog in \"%s\"",
			    log_esc(d->conf->state_dir));
		d->metrics.errors[ME_CATALOG]++;
		d->urgent = 0;
	} else {
		if (d->save_failing)
			log_info("catalog saved again after %d failures",
			    d->save_failing);
		d->save_failing = 0;
		d->dirty = d->urgent = 0;
		for (i = 0, n = 0; i < d->cat.nfiles; i++)
			n += mirror_saved(d->cat.files[i]);
		if (n > 0)
			daemon_kick(d);	/* new mirrors may be written now */
	}
	d->saved_at = now;
	free(r);
	if (d->conf->metrics_file != NULL)
		write_metrics(d, now);
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
	    live, daemon_iso(next));
}

static void
arm(struct daemon *d, int64_t due)
{
	struct timeval tv;
	struct timespec ts;
	double delay, wd;

	delay = ((double)due - daemon_now_f(d)) / d->rate;
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

/*
 * What an act that failed half way may have left (a claim, X beside
 * X.gz) is put right while the worker is idle: we hold the lock, so
 * every claim in our directories is ours.
 */
static void
recover(struct daemon *d)
{
	if (!d->recover || jobs_busy())
		return;
	d->recover = 0;
	if (catalog_recover(&d->cat) > 0 || catalog_recover_pairs(&d->cat) > 0)
		d->rescan = 1;
}

static int64_t
file_step(struct daemon *d, struct mfile *f, int64_t now)
{
	int64_t t;

	switch (f->state) {
	case MF_LIVE:
		return rotation_live_step(d, f, now);
	case MF_SETTLING:
		t = follow_seal(d, f, now);
		if (f->state != MF_SEALED)
			return t;
		/* FALLTHROUGH */
	default:
		return jobs_step(d, f, now);
	}
}

static void
tick(struct daemon *d)
{
	struct mfile *f;
	int64_t now = daemon_now(d), next = now + d->conf->sweep;
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
	recover(d);
	if (d->rescan)
		follow_rescan(d, now);
	for (i = 0; i < d->cat.nfiles; i++) {
		f = d->cat.files[i];
		if (f->refused == NULL && f->fd != -1 && f->more)
			follow_step(d, f, now, TAIL_BUDGET);
	}
	forward_sync(d, now);
	for (i = 0; i < d->conf->nsets; i++)
		next = EARLIER(next, rotation_step(d, i, now));
	next = EARLIER(next, jobs_requests(d, now));
	if (now >= d->holds_next)
		daemon_holds(d, d->conf);
	next = EARLIER(next, d->holds_next);
	if (now >= d->keys_next)
		(void)keys_prune_all(d->state_dfd, d->conf, now, NULL,
		    &d->keys_next);
	next = EARLIER(next, d->keys_next);
	if (d->rescan)
		follow_rescan(d, now);
	for (i = 0; i < d->cat.nfiles; i++) {
		f = d->cat.files[i];
		if (f->refused != NULL)
			continue;
		more += f->more;
		next = EARLIER(next, file_step(d, f, now));
	}
	if (d->urgent || (d->dirty && now - d->saved_at >= d->conf->sweep))
		daemon_flush(d, now);
	else if (d->dirty)
		next = EARLIER(next, d->saved_at + d->conf->sweep);
	status(d, next);
	log_debug("tick at %s: next at %s%s", daemon_iso(now),
	    daemon_iso(next), more ? ", more to read" : "");
	if (more)
		daemon_kick(d);
	else
		arm(d, next);
}

static void
timer_cb(evutil_socket_t fd UNUSED, short what UNUSED, void *arg)
{
	struct daemon *d = arg;
	size_t i;

	/* The sweep is also the backstop: look at every followed file. */
	for (i = 0; i < d->cat.nfiles; i++)
		if (d->cat.files[i]->fd != -1)
			d->cat.files[i]->more = 1;
	tick(d);
}

static void
work_cb(evutil_socket_t fd UNUSED, short what UNUSED, void *arg)
{
	tick(arg);
}

void
daemon_kick(struct daemon *d)
{
	struct timeval tv = { 0, 0 };

	evtimer_del(d->ev_timer);
	event_add(d->ev_work, &tv);
}

/* ---- holds ------------------------------------------------------------------ */

void
daemon_holds(struct daemon *d, const struct config *oc)
{
	struct holds *nh, *old = d->holds;
	struct mfile *f;
	const struct logset *set;
	int64_t now = daemon_now(d), latest;
	size_t i, j;

	nh = holds_attach(d->state_dfd, d->conf, now, 1);
	for (i = 0; old != NULL && i < d->conf->nsets; i++) {
		set = &d->conf->sets[i];
		for (j = 0; j < d->nholds; j++)
			if (strcmp(oc->sets[j].name, set->name) == 0)
				break;
		if (j == d->nholds ||
		    (latest = holds_shrunk(&old[j], &nh[i])) == TIME_NONE)
			continue;
		/* Facts a released hold made later than the lines: again. */
		for (j = 0; j < d->cat.nfiles; j++) {
			f = d->cat.files[j];
			if (f->set != set || f->refused != NULL ||
			    f->tp.ff.oldest_full == TIME_NONE ||
			    f->tp.ff.oldest_full < now - set->window ||
			    f->tp.ff.oldest_full > latest - set->window)
				continue;
			log_info("\"%s\": a hold was released: reading it again",
			    log_esc(f->path));
			follow_forget(f);
		}
	}
	for (i = 0; i < d->cat.nfiles; i++)
		if (d->cat.files[i]->tp.eng != NULL)
			line_set_holds(d->cat.files[i]->tp.eng,
			    d->cat.files[i]->set->holds);
	holds_free(old, d->nholds);
	d->holds = nh;
	d->nholds = d->conf->nsets;
	d->holds_gen++;
	/* An ended hold's file (its addresses) goes when it ends. */
	d->holds_next = INT64_MAX;
	for (i = 0; i < d->nholds; i++)
		for (j = 0; j < nh[i].n; j++)
			if (nh[i].v[j].until < d->holds_next)
				d->holds_next = nh[i].v[j].until;
}

/* ---- reload ---------------------------------------------------------------- */

/*
 * The runtime of a set carries over to its namesake in a new config: a
 * hook that is due or running, its backoff, the counters.  Only the
 * aligned rotation time is recomputed when the schedule changed.
 */
static struct setrt *
carry_setrt(struct daemon *d, struct config *nc)
{
	struct setrt *nrt;
	const struct logset *ns, *os;
	size_t i, j;

	nrt = xcalloc(nc->nsets + 1, sizeof(*nrt));
	for (i = 0; i < nc->nsets; i++) {
		ns = &nc->sets[i];
		for (j = 0; j < d->conf->nsets; j++) {
			os = &d->conf->sets[j];
			if (strcmp(ns->name, os->name) != 0)
				continue;
			nrt[i] = d->rt[j];
			if (ns->rotate != os->rotate ||
			    ns->rotate_every != os->rotate_every)
				nrt[i].next_rotate = 0;
			/* A fixed reopen hook is tried at once. */
			nrt[i].hook_retry_at = 0;
			nrt[i].hook_backoff = 0;
			nrt[i].warned_noreopen = nrt[i].warned_live = 0;
		}
	}
	return nrt;
}

/* Files move to the new sets by name; facts read another way go. */
static void
carry_files(struct daemon *d, struct config *nc)
{
	struct mfile *f;
	size_t i, j;

	for (i = 0; i < d->cat.nfiles; i++) {
		f = d->cat.files[i];
		for (j = 0; j < nc->nsets; j++)
			if (strcmp(nc->sets[j].name, f->set->name) == 0)
				break;
		if (j == nc->nsets) {
			f->refused = "its set is gone";
			continue;
		}
		f->set = &nc->sets[j];
		if (f->refused == NULL && f->facts_key != f->set->facts_key) {
			log_info("\"%s\": the way its lines are read changed: "
			    "reading it again", log_esc(f->path));
			follow_forget(f);
		} else if (f->tp.eng != NULL)
			/* The old config and its format go at the end. */
			line_set_format(f->tp.eng, f->set->format);
	}
}

static void
reload(struct daemon *d)
{
	struct config *nc, *oc = d->conf;
	struct setrt *nrt;
	size_t i;

	notify_reloading();
	log_info("reloading \"%s\"", log_esc(d->conf_path));
	if ((nc = load_config(d->conf_path, 0)) == NULL) {
		log_warnx("reload failed: keeping the running configuration");
		notify_ready();
		return;
	}
	forward_reload(d, nc);
	nrt = carry_setrt(d, nc);
	for (i = 0; i < nc->nsets; i++)
		if (nc->sets[i].mirror != NULL)
			(void)mirror_dir_ready(&nc->sets[i]);
	carry_files(d, nc);
	d->conf = nc;
	mirror_reload(d);
	free(d->rt);
	d->rt = nrt;
	daemon_holds(d, oc);
	d->keys_next = 0;	/* a window may have shrunk */
	follow_rescan(d, daemon_now(d));
	forward_start_missing(d, daemon_now(d));
	config_free(oc);
	log_info("reloaded: %zu sets", nc->nsets);
	notify_ready();
}

/* ---- signals, start and stop ------------------------------------------------ */

static void
signal_cb(evutil_socket_t sig, short what UNUSED, void *arg)
{
	struct daemon *d = arg;
	size_t i;

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
		rotation_reap(d);
		break;
	case SIGUSR2:
		log_info("looking at the holds and erase requests (USR2)");
		daemon_holds(d, d->conf);
		d->requests_due = 1;
		break;
	}
	rotation_timeouts(d, daemon_now(d));
	daemon_kick(d);
}

static int
record_cmp(const void *a, const void *b)
{
	const struct srecord *const *ra = a, *const *rb = b;
	int c = strcmp((*ra)->path, (*rb)->path);

	if (c != 0)
		return c;
	return *ra < *rb ? -1 : *ra > *rb;
}

const struct srecord *
daemon_record(const struct daemon *d, const struct mfile *f)
{
	const struct srecord *r;
	size_t lo = 0, hi = d->nrecords, mid;

	/* A binary search: a linear one per file made 10,000 quadratic. */
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

static void
open_state(struct daemon *d)
{
	const char *err;
	size_t i;

	d->state_dfd = store_lock(d->conf, "run");
	/* A kill during store_save leaves .catalog.lethe-XXXXXX behind. */
	if (fsio_clean_tmp(d->state_dfd, NULL, NULL) == -1)
		log_warn("clean temp files in \"%s\"",
		    log_esc(d->conf->state_dir));
	if ((d->req_dfd = request_dir(d->state_dfd, REQUEST_DIR, &err)) == -1)
		log_warnx("erase requests: %s: they are not carried out", err);
	else if (fsio_clean_tmp(d->req_dfd, NULL, NULL) == -1)
		log_warn("clean temp files in \"%s/%s\"",
		    log_esc(d->conf->state_dir), REQUEST_DIR);
	switch (store_load(d->state_dfd, &d->records, &d->nrecords, &err)) {
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

static void
setup_events(struct daemon *d)
{
	static const int sigs[] = { SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGUSR2,
	    SIGCHLD };
	size_t i;

	/* A broken read lease (the writer check) must not kill us. */
	signal(SIGIO, SIG_IGN);
	if ((d->base = event_base_new()) == NULL)
		fatalx("event_base_new");
	d->ev_timer = evtimer_new(d->base, timer_cb, d);
	d->ev_work = evtimer_new(d->base, work_cb, d);
	if (d->ev_timer == NULL || d->ev_work == NULL || follow_start(d) == -1)
		fatalx("event_new");
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		d->ev_sig[i] = evsignal_new(d->base, sigs[i], signal_cb, d);
		if (d->ev_sig[i] == NULL || event_add(d->ev_sig[i], NULL) == -1)
			fatalx("evsignal_new");
	}
	jobs_start(d);
}

static void
shutdown_daemon(struct daemon *d)
{
	size_t i;

	jobs_stop();
	d->stopping = 1;
	forward_stop_all(d);	/* what is in flight is acknowledged first */
	daemon_flush(d, daemon_now(d));
	catalog_release(&d->cat);
	for (i = 0; i < sizeof(d->ev_sig) / sizeof(d->ev_sig[0]); i++)
		if (d->ev_sig[i] != NULL)
			event_free(d->ev_sig[i]);
	event_free(d->ev_timer);
	event_free(d->ev_work);
	follow_stop(d);
	if (d->req_dfd != -1)
		close(d->req_dfd);
	if (d->state_dfd != -1)
		close(d->state_dfd);
	free(d->rt);
	holds_free(d->holds, d->nholds);
	config_free(d->conf);
	event_base_free(d->base);
	log_info("stopped");
}

/*
 * Start-up: what a crash left is put right (claims, temp files, X beside
 * X.gz, segments whose reopen hook may not have run) before the first
 * tick acts on anything.
 */
static void
start_files(struct daemon *d)
{
	size_t i;

	for (i = 0; i < d->conf->nsets; i++)
		if (d->conf->sets[i].mirror != NULL)
			(void)mirror_dir_ready(&d->conf->sets[i]);
	catalog_discover(&d->cat, d->conf);
	if (catalog_recover(&d->cat) > 0) {
		catalog_release(&d->cat);
		catalog_discover(&d->cat, d->conf);
	}
	if (catalog_recover_pairs(&d->cat) > 0)
		d->rescan = 1;
	for (i = 0; i < d->cat.nfiles; i++)
		if (d->cat.files[i]->refused == NULL)
			follow_adopt(d, d->cat.files[i], daemon_now(d));
	mirror_start(d, daemon_now(d));
	forward_load_positions(d);
	forward_sync(d, daemon_now(d));
	store_records_free(d->records, d->nrecords);
	free(d->rsorted);
	d->rsorted = NULL;
	d->records = NULL;
	d->nrecords = 0;
	rotation_recover(d);
	follow_watch(d);
	d->urgent = 1;		/* the catalog and metrics as found at start */
}

int
daemon_run(const char *conf_path, int have_now, int64_t now)
{
	struct daemon d;
	const char *rate = getenv("LETHE_TEST_CLOCK_RATE");

	memset(&d, 0, sizeof(d));
	d.state_dfd = -1;
	d.req_dfd = -1;
	d.requests_due = 1;	/* what a stop left pending */
	d.ifd = -1;
	d.conf_path = conf_path;
	d.rate = 1.0;
	if (have_now) {
		d.fake_clock = 1;
		d.now_base = now;
		clock_gettime(CLOCK_MONOTONIC, &d.mono_base);
		if (rate != NULL && (d.rate = strtod(rate, NULL)) <= 0)
			fatalx("LETHE_TEST_CLOCK_RATE: not a positive number");
	}
	if ((d.conf = load_config(conf_path, 0)) == NULL) {
		/* EX_CONFIG: the unit does not restart us in a loop for it. */
		log_warnx("no valid configuration in \"%s\"",
		    log_esc(conf_path));
		exit(78);
	}
	d.rt = xcalloc(d.conf->nsets + 1, sizeof(*d.rt));
	/* Once the lock says "run", hold and erase may send USR2: not a
	   stop before the loop's handler is there.  Requests are read at
	   the start anyway. */
	signal(SIGUSR2, SIG_IGN);
	open_state(&d);
	daemon_holds(&d, d.conf);
	setup_events(&d);
	forward_start_all(&d, daemon_now(&d));
	start_files(&d);
	if ((d.wd_usec = notify_watchdog_usec()) != 0)
		clock_gettime(CLOCK_MONOTONIC, &d.wd_next);
	log_info("running: %zu sets, %zu files, clock at %s", d.conf->nsets,
	    d.cat.nfiles, daemon_iso(daemon_now(&d)));
	notify_ready();
	tick(&d);
	event_base_dispatch(d.base);
	shutdown_daemon(&d);
	return 0;
}
