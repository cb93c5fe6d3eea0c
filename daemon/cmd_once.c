/*
 * lethe once: every action due now, then exit (cron, logrotate hooks,
 * tests).  The decisions are lifecycle.c's, the daemon's own: a live file
 * is rotated when the daemon would rotate it, the reopen hook run and
 * waited for, and the new segments masked in the same run once sealed,
 * so that runs every mask_early are never late.  It holds the lock in
 * state_dir: beside the daemon or another once, it exits 75.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lethe.h"

#define HOOK_WAIT	300	/* tenths of a second a reopen command may take */
#define SEAL_MARGIN	30	/* seconds past settle a new segment may take */
#define QUIET_UNKNOWN	60	/* as lifecycle.c: quiet that stands for "no
				   writer" when the check cannot tell */

struct once {
	const struct cmd_opts *o;
	struct config	*conf;
	int		 state_dfd;	/* -1: a dry run */
	struct catalog	 cat;
	struct lc_out	 out;
	char	       **fresh;		/* segments this run made, by path */
	size_t		 nfresh;
	size_t		 failed;
};

/* --threads, else the config's: of the scans and the rewrites. */
static int
once_threads(const struct once *w)
{
	return w->o->threads > 0 ? w->o->threads :
	    threads_of(w->conf->threads);
}

/* Run the set's reopen hook and wait for it (a command: 30 s at most). */
static int
run_hook(const struct logset *set)
{
	const char *why = NULL;
	pid_t pid;
	int st, i;

	if (set->reopen == REOPEN_SIGNAL) {
		if (rotate_hook_signal(set, &why) == 0)
			return 0;
		log_warnx("[%s]: reopen hook failed: %s", set->name, why);
		return -1;
	}
	if ((pid = rotate_hook_command(set, &why)) == -1) {
		log_warnx("[%s]: reopen hook failed: %s", set->name, why);
		return -1;
	}
	for (i = 0; i < HOOK_WAIT; i++) {
		if (waitpid(pid, &st, WNOHANG) == pid) {
			if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
				return 0;
			log_warnx("[%s]: reopen command failed (status %d)",
			    set->name, st);
			return -1;
		}
		usleep(100000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	log_warnx("[%s]: reopen command timed out", set->name);
	return -1;
}

/* Rotate f (identity st) to a segment named for stamp, a fresh one. */
static int
rotate_one(struct once *w, struct mfile *f, const struct stat *st,
    int64_t stamp)
{
	char seg[NAME_MAX + 1];

	if (lifecycle_rotate(f, st, stamp, seg, sizeof(seg), &w->out) == -1) {
		w->failed++;
		return -1;
	}
	f->refused = "rotated";
	w->fresh = xreallocarray(w->fresh, w->nfresh + 1, sizeof(*w->fresh));
	xasprintf(&w->fresh[w->nfresh++], "%s/%s", f->dir->path, seg);
	return 0;
}

/* Rotate the live files of set s that are due; 1 when any was. */
static int
rotate_set(struct once *w, const struct logset *set)
{
	struct file_facts ff;
	struct rewrite_stats rs;
	struct stat st;
	struct mfile *f;
	int64_t stamp, now = w->o->now;
	size_t i;
	int n = 0;

	for (i = 0; i < w->cat.nfiles; i++) {
		f = w->cat.files[i];
		if (f->set != set || !f->live || f->refused != NULL ||
		    set->reopen == REOPEN_NONE || f->st.st_size == 0)
			continue;
		if (lifecycle_scan(f, now, once_threads(w), &st, &ff, &rs) != 0 ||
		    !lifecycle_rotation_due(set, &ff, (uint64_t)st.st_size,
		    now, set->mask_early, &stamp))
			continue;
		if (rotate_one(w, f, &st, stamp) == 0)
			n = 1;
	}
	return n;
}

static int
is_fresh(const struct once *w, const struct mfile *f)
{
	size_t i;

	for (i = 0; i < w->nfresh; i++)
		if (strcmp(w->fresh[i], f->path) == 0)
			return 1;
	return 0;
}

/*
 * Wait until every segment this run made is sealed (no writer, not grown
 * for settle), within settle + SEAL_MARGIN; what is not is left for the
 * next run, said.
 */
static void
wait_sealed(struct once *w)
{
	struct timespec ms100 = { 0, 100000000 };
	struct stat st;
	struct mfile *f;
	time_t start = time(NULL), quiet;
	int64_t limit = 0;
	size_t i, open;
	int warned;

	for (i = 0; i < w->conf->nsets; i++)
		if (w->conf->sets[i].settle > limit)
			limit = w->conf->sets[i].settle;
	limit += SEAL_MARGIN + QUIET_UNKNOWN;

	for (;;) {
		open = 0;
		for (i = 0; i < w->cat.nfiles; i++) {
			f = w->cat.files[i];
			if (f->refused != NULL || !is_fresh(w, f))
				continue;
			if (fsio_fstatat(f->dir->fd, f->name, &st) == -1)
				continue;
			if (st.st_size != f->st.st_size ||
			    st.st_mtime != f->st.st_mtime)
				f->st = st;
			quiet = time(NULL) - st.st_mtime;
			warned = 1;	/* said at the end if it is still open */
			open += lifecycle_seal_wait(f, &st, (int64_t)quiet,
			    &warned) > 0;
		}
		if (open == 0)
			return;
		if ((int64_t)(time(NULL) - start) > limit) {
			log_warnx("%zu new segments are still written to: "
			    "masking them is left for the next run", open);
			return;
		}
		nanosleep(&ms100, NULL);
	}
}

/* Rotate what is due, run the hooks, wait for the new segments. */
static void
rotate_all(struct once *w)
{
	size_t s;
	int any = 0;

	for (s = 0; s < w->conf->nsets; s++) {
		if (!rotate_set(w, &w->conf->sets[s]))
			continue;
		any = 1;
		if (!w->o->dry_run && run_hook(&w->conf->sets[s]) == -1)
			w->failed++;
	}
	if (!any || w->o->dry_run)
		return;
	catalog_release(&w->cat);
	if (catalog_discover(&w->cat, w->conf) == -1)
		w->failed++;
	wait_sealed(w);
}

/*
 * May a rotated file be acted on?  Not while a process writes to it; a
 * writer check that cannot tell fails closed: the file must have been
 * quiet for QUIET_UNKNOWN (or settle) real seconds.  Segments this run
 * made were waited for already.
 */
static int
settled(const struct mfile *f)
{
	time_t quiet = time(NULL) - f->st.st_mtime;
	int64_t need = f->set->settle > QUIET_UNKNOWN ? f->set->settle :
	    QUIET_UNKNOWN;

	switch (lifecycle_writer(f, &f->st)) {
	case 0:
		return 1;
	case 1:
		log_info("\"%s\": a process still writes to it; next time",
		    log_esc(f->path));
		return 0;
	default:
		if ((int64_t)quiet >= need)
			return 1;
		log_info("\"%s\": cannot tell whether a process still writes "
		    "to it, and it changed %llds ago; next time",
		    log_esc(f->path), (long long)quiet);
		return 0;
	}
}

static int
act(struct once *w, const struct mfile *f, const struct stat *st,
    const struct file_facts *ff, const struct policy_plan *pl)
{
	struct rewrite_opts ro;
	struct rewrite_stats rs;
	char buf[NAME_MAX + 1];
	const char *newname, *why;

	if (pl->actions & ACT_DELETE)
		return lifecycle_delete(f, st, &w->out) == -1 &&
		    errno != ESTALE ? -1 : 0;
	if (!(pl->actions & (ACT_MASK | ACT_COMPRESS)))
		return 0;
	if (lifecycle_rewrite_opts(f, pl, ff, w->o->now, &ro, buf, sizeof(buf),
	    &newname) == -1)
		return -1;
	ro.threads = once_threads(w);
	if (!w->o->dry_run && rewrite_file(f->dir->fd, f->name, newname, st,
	    &ro, &rs, &why) == -1) {
		log_warnx("rewrite \"%s\": %s", log_esc(f->path), why);
		/* Another file under its name, or it grew: next time. */
		return errno == ESTALE || errno == EAGAIN ? 0 : -1;
	}
	lifecycle_said_rewrite(f, pl->actions, newname,
	    w->o->dry_run ? 0 : rs.l.addrs_masked, &w->out);
	return 0;
}

static int
once_file(struct once *w, const struct mfile *f)
{
	struct file_facts ff;
	struct rewrite_stats rs;
	struct policy_plan pl;
	struct stat st;
	int64_t now = w->o->now;

	if (!f->live && !settled(f))
		return 0;
	if (lifecycle_scan(f, now, once_threads(w), &st, &ff, &rs) == -1)
		return errno == ENOENT ? 0 : -1;
	lifecycle_said_lines(f->path, &rs.l);
	if (ff.damaged)
		log_warnx("\"%s\": left as it is while in retention",
		    log_esc(f->path));
	policy_plan(f->set, &ff, now, f->set->mask_early, &pl);
	log_debug("\"%s\": %s", log_esc(f->path),
	    policy_actions_str(pl.actions));
	if (pl.actions & ACT_WARN_LIVE)
		log_warnx("\"%s\": the live file holds full addresses past "
		    "the window and [%s] does not rotate it (rotate = off or "
		    "no reopen hook)", log_esc(f->path), f->set->name);
	if (act(w, f, &st, &ff, &pl) == -1)
		return -1;
	return ff.damaged && !(pl.actions & ACT_DELETE) ? -1 : 0;
}

/* The live file of a rotating set is there, even after a failed run. */
static void
recreate_live(struct once *w)
{
	size_t i;

	for (i = 0; i < w->cat.nfiles; i++)
		if (w->cat.files[i]->refused == NULL &&
		    !w->cat.files[i]->live &&
		    w->cat.files[i]->set->rotate != ROTATE_OFF &&
		    w->cat.files[i]->set->reopen != REOPEN_NONE &&
		    names_is_segment(w->cat.files[i]->name))
			lifecycle_recreate_live(w->cat.files[i]);
}

/* ---- erase requests ------------------------------------------------------ */

static int
in_scope(const struct request *r, const struct mfile *f)
{
	return f->refused == NULL && (r->set == NULL ||
	    strcmp(r->set, f->set->name) == 0);
}

static int
may_rotate(const struct logset *set)
{
	return set->reopen != REOPEN_NONE && set->rotate != ROTATE_OFF;
}

static size_t
targets(struct once *w, const struct request *r, struct etarget **out)
{
	struct etarget *v;
	struct mfile *f;
	size_t i, n = 0;

	v = xcalloc(w->cat.nfiles + 1, sizeof(*v));
	for (i = 0; i < w->cat.nfiles; i++) {
		f = w->cat.files[i];
		if (!in_scope(r, f))
			continue;
		v[n].dfd = f->dir->fd;
		v[n].name = f->name;
		v[n].path = f->path;
		v[n].format = f->set->format;
		v[n].prefix = f->set->prefix;
		v[n].live = f->live;
		v[n].rotates = may_rotate(f->set);
		v[n].busy = !f->live && !settled(f);
		n++;
	}
	*out = v;
	return n;
}

/* Rotate the live files that hold r's lines, where their set may. */
static int
rotate_holders(struct once *w, const struct etarget *v, size_t n)
{
	struct stat st;
	struct mfile *f;
	size_t i, j;
	int any = 0, *hook;
	const char *why;

	hook = xcalloc(w->conf->nsets + 1, sizeof(*hook));
	for (i = 0; i < n; i++) {
		if (!v[i].live || v[i].held == 0)
			continue;
		for (j = 0; j < w->cat.nfiles; j++)
			if (w->cat.files[j]->path == v[i].path)
				break;
		if (j == w->cat.nfiles)
			continue;
		f = w->cat.files[j];
		if (!may_rotate(f->set))
			continue;
		if (fsio_fstatat(f->dir->fd, f->name, &st) == -1 ||
		    st.st_ino != f->st.st_ino || st.st_dev != f->st.st_dev) {
			why = "it moved";
			log_warnx("\"%s\": not rotated for an erase: %s",
			    log_esc(f->path), why);
			continue;
		}
		if (rotate_one(w, f, &st, w->o->now) == -1)
			continue;
		hook[f->set - w->conf->sets] = 1;
		any = 1;
	}
	for (j = 0; j < w->conf->nsets; j++)
		if (hook[j] && run_hook(&w->conf->sets[j]) == -1)
			w->failed++;
	free(hook);
	if (!any)
		return 0;
	catalog_release(&w->cat);
	if (catalog_discover(&w->cat, w->conf) == -1)
		w->failed++;
	wait_sealed(w);
	return 1;
}

/* The verifying search over the files as they are now (a file renamed
   meanwhile is found under its new name); three tries. */
static int
verify(struct once *w, const struct request *r, struct etarget **v,
    size_t *n, struct request_verify *vf)
{
	int tries, rc = 0;

	for (tries = 0; tries < 3; tries++) {
		catalog_release(&w->cat);
		if (catalog_discover(&w->cat, w->conf) == -1)
			w->failed++;
		free(*v);
		*n = targets(w, r, v);
		rc = erase_verify(r, *v, *n, w->o->now, NULL, vf);
		if (vf->moved == 0)
			break;
	}
	return rc;
}

/* One request: erase, rotate what holds it live, erase again, verify. */
static int
once_request(struct once *w, int rdfd, struct request *r)
{
	struct request_verify vf;
	struct etarget *v = NULL;
	char why[PATH_MAX + 128];
	size_t n;
	int failed, rc;

	catalog_release(&w->cat);
	if (catalog_discover(&w->cat, w->conf) == -1)
		w->failed++;
	n = targets(w, r, &v);
	failed = erase_pass(r, v, n, w->o->now, NULL, rdfd) == -1;
	failed |= verify(w, r, &v, &n, &vf) == -1;
	if (vf.full > 0 && rotate_holders(w, v, n)) {
		free(v);
		n = targets(w, r, &v);
		failed |= erase_pass(r, v, n, w->o->now, NULL, rdfd) == -1;
		failed |= verify(w, r, &v, &n, &vf) == -1;
	}
	rc = erase_finish(rdfd, r, v, n, failed, &vf, w->o->now, why,
	    sizeof(why));
	free(v);
	return rc;
}

/* Every pending erase request, after the due actions. */
static void
once_requests(struct once *w)
{
	struct request **rq;
	const char *why;
	size_t i, n;
	int rdfd;

	if (w->state_dfd == -1)
		return;
	if ((rdfd = request_dir(w->state_dfd, REQUEST_DIR, &why)) == -1) {
		log_warnx("requests: %s", why);
		w->failed++;
		return;
	}
	if (fsio_clean_tmp(rdfd, NULL, NULL) == -1)
		log_warn("clean temp files in state_dir/%s", REQUEST_DIR);
	if (request_load_all(rdfd, &rq, &n) == -1)
		w->failed++;
	for (i = 0; i < n; i++) {
		if (once_request(w, rdfd, rq[i]) == -1)
			w->failed++;
		request_free(rq[i]);
	}
	free(rq);
	fsio_close(rdfd);
}

/* The pseudonym keys past their window go, as files past retain do. */
static void
once_keys(struct once *w)
{
	const char *why;
	int64_t next;
	int dfd = w->state_dfd;

	if (dfd == -1 && (dfd = store_open(w->conf, &why)) == -1)
		return;		/* a dry run: the holds said why */
	if (keys_prune_all(dfd, w->conf, w->o->now, &w->out, &next) == -1)
		w->failed++;
	if (dfd != w->state_dfd)
		fsio_close(dfd);
}

int
once_run(const struct cmd_opts *o, struct config *conf, int state_dfd)
{
	struct once w;
	struct holds *hs;
	const char *why;
	size_t i;
	int dfd = state_dfd;

	memset(&w, 0, sizeof(w));
	w.o = o;
	w.conf = conf;
	w.state_dfd = state_dfd;
	/* The holds in force (a dry run reads them, and leaves them). */
	if (dfd == -1 && (dfd = store_open(conf, &why)) == -1)
		log_warnx("state_dir: %s: holds are not known", why);
	hs = holds_attach(dfd, conf, o->now, state_dfd != -1);
	if (dfd != state_dfd && dfd != -1)
		fsio_close(dfd);
	w.out.print = 1;
	w.out.dry_run = o->dry_run;
	if (catalog_discover(&w.cat, w.conf) == -1)
		w.failed++;
	if (!o->dry_run) {
		if (catalog_recover(&w.cat) > 0) {
			catalog_release(&w.cat);
			(void)catalog_discover(&w.cat, w.conf);
		}
		catalog_recover_pairs(&w.cat);
		recreate_live(&w);
	}
	rotate_all(&w);
	for (i = 0; i < w.cat.nfiles; i++)
		if (w.cat.files[i]->refused == NULL &&
		    once_file(&w, w.cat.files[i]) == -1)
			w.failed++;
	if (!o->dry_run)
		once_requests(&w);
	once_keys(&w);
	catalog_release(&w.cat);
	for (i = 0; i < w.nfresh; i++)
		free(w.fresh[i]);
	free(w.fresh);
	for (i = 0; i < conf->nsets; i++)
		conf->sets[i].holds = NULL;
	holds_free(hs, conf->nsets);
	return w.failed ? 1 : 0;
}

int
cmd_once(const struct cmd_opts *o)
{
	struct config *conf;
	int dfd = -1, rc;

	if ((conf = load_config(o->conf, 1)) == NULL)
		return 1;
	if (!o->dry_run)
		dfd = store_lock(conf, "once");
	rc = once_run(o, conf, dfd);
	config_free(conf);
	return rc;
}
