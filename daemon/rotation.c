/*
 * Rotation of live files: when (aligned to the clock), the segment's name
 * (UTC, so DST and TZ changes never collide), the rename, checked to move
 * the file we follow, with the new live file created at once with the old
 * one's owner, group and mode, the reopen hook (a signal to a pidfile's
 * process, or a command run without a shell, forked with signals blocked,
 * default handlers and no descriptor but 0, 1 and 2, as tmux's job.c
 * does), whether a writer still holds a segment open, and, in the daemon,
 * the per-set schedule, hooks in flight and start-up recovery.
 */
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lethe.h"

#define DAY		86400
#define HOOK_TIMEOUT	30		/* seconds a reopen command may take */

static int	proc_writer(dev_t, ino_t);

/*
 * The first rotation time after `after`.  Intervals are aligned to the
 * local clock (1h at :00 local, also in zones such as +05:30) through the
 * UTC offset in force at `after`; daily is the next local midnight.
 */
int64_t
rotate_next(const struct logset *set, int64_t after)
{
	struct tm tm;
	time_t t = (time_t)after;
	int64_t iv, off, b;

	if (localtime_r(&t, &tm) == NULL)
		memset(&tm, 0, sizeof(tm));
	switch (set->rotate) {
	case ROTATE_INTERVAL:
		iv = set->rotate_every;
		off = (int64_t)tm.tm_gmtoff;
		b = after + off;
		b = (b >= 0 ? b / iv : (b - iv + 1) / iv) * iv - off;
		while (b <= after)
			b += iv;
		return b;
	case ROTATE_DAILY:
		tm.tm_mday++;
		tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
		tm.tm_isdst = -1;
		b = (int64_t)mktime(&tm);
		return b > after ? b : after + DAY;
	default:
		return INT64_MAX;
	}
}

/* The last rotation time at or before `now` (INT64_MIN if none). */
int64_t
rotate_prev(const struct logset *set, int64_t now)
{
	int64_t b, lo;

	if (set->rotate != ROTATE_INTERVAL && set->rotate != ROTATE_DAILY)
		return INT64_MIN;
	lo = now - (set->rotate == ROTATE_DAILY ? 2 * DAY : set->rotate_every
	    * 2);
	b = rotate_next(set, lo);
	while (rotate_next(set, b) <= now)
		b = rotate_next(set, b);
	return b <= now ? b : INT64_MIN;
}

static int
name_taken(int dfd, const char *name)
{
	struct stat st;
	char gz[NAME_MAX + 1];

	if (fsio_fstatat(dfd, name, &st) == 0)
		return 1;
	snprintf(gz, sizeof(gz), "%s.gz", name);
	return fsio_fstatat(dfd, gz, &st) == 0;
}

/*
 * "LIVE-YYYYMMDDTHHMMZ" for time t (UTC); when the name (or its .gz) is
 * taken, the next free minute.  Returns 0, or -1 when no name is free.
 */
int
rotate_segment_name(int dfd, const char *live, int64_t t, char *out,
    size_t outsz)
{
	int i;

	for (i = 0; i < 1440; i++, t += 60) {
		if (names_segment(live, t, out, outsz) == -1)
			return -1;
		if (!name_taken(dfd, out))
			return 0;
	}
	return -1;
}

/*
 * Rename live to segment (never over an existing name) if it is still
 * the file *live_st, then create the new live file with the old one's
 * owner, group and mode, so that the server reopens into a file no more
 * readable than before.  Returns 0, or -1 with *why; then nothing changed.
 */
int
rotate_file(int dfd, const char *live, const char *segment,
    const struct stat *live_st, const char **why)
{
	const char *step;

	if (!S_ISREG(live_st->st_mode)) {
		*why = "the live file is not a regular file";
		return -1;
	}
	if (fsio_rename_checked(dfd, live, segment, live_st, why) == -1)
		return -1;
	/* EEXIST: someone made it already, theirs to keep. */
	if (fsio_create_like(dfd, live, live_st, &step) == -1 &&
	    errno != EEXIST)
		log_warn("%s new \"%s\"", step, log_esc(live));
	if (fsio_fsync(dfd) == -1)
		log_warn("fsync directory after rotating \"%s\"",
		    log_esc(live));
	return 0;
}

/* Send the set's reopen signal to the pid in its pidfile. */
int
rotate_hook_signal(const struct logset *set, const char **why)
{
	char buf[32];
	const char *errstr;
	ssize_t n;
	long long pid;
	int fd;

	if ((fd = fsio_openat(AT_FDCWD, set->reopen_pidfile, O_RDONLY,
	    0)) == -1) {
		*why = "cannot open the pidfile";
		return -1;
	}
	n = fsio_read(fd, buf, sizeof(buf) - 1);
	fsio_close(fd);
	if (n <= 0) {
		*why = "cannot read the pidfile";
		return -1;
	}
	buf[n] = '\0';
	buf[strcspn(buf, " \t\r\n")] = '\0';
	pid = strtonum(buf, 2, INT32_MAX, &errstr);
	if (errstr != NULL) {
		*why = "the pidfile holds no pid";
		return -1;
	}
	if (kill((pid_t)pid, set->reopen_signal) == -1) {
		*why = errno == ESRCH ? "no process has the pidfile's pid" :
		    "kill failed";
		return -1;
	}
	return 0;
}

/* In the child: every signal to its default, none blocked. */
static void
child_signals(const sigset_t *mask)
{
	struct sigaction sa;
	int sig;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sigemptyset(&sa.sa_mask);
	for (sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			(void)sigaction(sig, &sa, NULL);
	(void)sigprocmask(SIG_SETMASK, mask, NULL);
}

/* In the child: stdin from /dev/null, every descriptor past 2 closed. */
static void
child_fds(void)
{
	int fd, max;

	if ((fd = open("/dev/null", O_RDONLY)) != -1) {
		(void)dup2(fd, STDIN_FILENO);
		if (fd != STDIN_FILENO)
			(void)close(fd);
	}
	if (syscall(SYS_close_range, 3U, ~0U, 0U) == 0)
		return;
	max = (int)sysconf(_SC_OPEN_MAX);
	for (fd = 3; fd < (max > 0 ? max : 1024); fd++)
		(void)close(fd);
}

/*
 * Start the set's reopen command (no shell, stdin from /dev/null); the
 * caller reaps it.  Signals stay blocked across fork so that no handler
 * of ours (libevent's) runs in the child before it has reset them.
 * Returns the pid, or -1.
 */
pid_t
rotate_hook_command(const struct logset *set, const char **why)
{
	sigset_t all, old, none;
	pid_t pid;

	sigfillset(&all);
	sigemptyset(&none);
	(void)sigprocmask(SIG_BLOCK, &all, &old);
	switch ((pid = fork())) {
	case -1:
		*why = "fork failed";
		break;
	case 0:
		child_signals(&none);
		child_fds();
		execv(set->reopen_argv[0], set->reopen_argv);
		_exit(127);
	default:
		break;
	}
	(void)sigprocmask(SIG_SETMASK, &old, NULL);
	return pid;
}

static int
fd_writes(int infofd, const char *fd)
{
	char buf[256], *p;
	ssize_t n;
	unsigned long flags;
	int f;

	if ((f = fsio_openat(infofd, fd, O_RDONLY, 0)) == -1)
		return 0;
	n = fsio_read(f, buf, sizeof(buf) - 1);
	fsio_close(f);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	if ((p = strstr(buf, "flags:")) == NULL)
		return 0;
	flags = strtoul(p + 6, NULL, 8);
	return (flags & O_ACCMODE) != O_RDONLY;
}

static int
pid_writes(int procfd, const char *pid, dev_t dev, ino_t ino)
{
	struct dirent *de;
	struct stat st;
	DIR *d = NULL;
	int pfd, fdfd, infofd, found = 0;

	if ((pfd = fsio_openat(procfd, pid, O_RDONLY | O_DIRECTORY, 0)) == -1)
		return 0;
	fdfd = fsio_openat(pfd, "fd", O_RDONLY | O_DIRECTORY, 0);
	infofd = fsio_openat(pfd, "fdinfo", O_RDONLY | O_DIRECTORY, 0);
	fsio_close(pfd);
	if (fdfd == -1 || infofd == -1 || (d = fsio_dir_open(fdfd)) == NULL) {
		found = errno == EACCES ? -1 : 0;
		goto out;
	}
	while (!found && (de = fsio_dir_next(d)) != NULL) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		if (fsio_statat(fdfd, de->d_name, &st) == 0 &&
		    st.st_dev == dev && st.st_ino == ino &&
		    fd_writes(infofd, de->d_name))
			found = 1;
	}
out:
	fsio_dir_close(d);
	if (fdfd != -1)
		fsio_close(fdfd);
	if (infofd != -1)
		fsio_close(infofd);
	return found;
}

/*
 * Ask the kernel: a read lease is refused (EAGAIN) while anyone holds the
 * file open for writing.  The lease is dropped at once; SIGIO, which a
 * lease break would send, is ignored by the daemon.  1 writer, 0 none,
 * -1 when leases cannot tell (no CAP_LEASE on another's file, a file
 * system without leases).
 */
static int
lease_writer(int dfd, const char *name, dev_t dev, ino_t ino)
{
	struct stat st;
	int fd, rc = -1;

	fd = fsio_openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK, 0);
	if (fd == -1)
		return -1;
	if (fsio_fstat(fd, &st) == -1 || st.st_dev != dev ||
	    st.st_ino != ino || !S_ISREG(st.st_mode))
		goto out;
	if (fcntl(fd, F_SETLEASE, F_RDLCK) == 0) {
		(void)fcntl(fd, F_SETLEASE, F_UNLCK);
		rc = 0;
	} else if (errno == EAGAIN)
		rc = 1;
out:
	fsio_close(fd);
	return rc;
}

/*
 * Does any other process hold dfd/name (dev, ino) open for writing?
 * 1 yes, 0 no, -1 cannot tell (no lease, and /proc hides processes).
 */
int
rotate_has_writer(int dfd, const char *name, dev_t dev, ino_t ino)
{
	int r;

	if ((r = lease_writer(dfd, name, dev, ino)) != -1)
		return r;
	return proc_writer(dev, ino);
}

/* The same through /proc/PID/fd and fdinfo, where we may read them. */
static int
proc_writer(dev_t dev, ino_t ino)
{
	struct dirent *de;
	char self[32];
	DIR *d;
	int procfd, r, blind = 0;

	if ((procfd = fsio_openat(AT_FDCWD, "/proc", O_RDONLY | O_DIRECTORY,
	    0)) == -1)
		return -1;
	if ((d = fsio_dir_open(procfd)) == NULL) {
		fsio_close(procfd);
		return -1;
	}
	snprintf(self, sizeof(self), "%ld", (long)getpid());
	while ((de = fsio_dir_next(d)) != NULL) {
		if (!isdigit((unsigned char)de->d_name[0]) ||
		    strcmp(de->d_name, self) == 0)
			continue;
		if ((r = pid_writes(procfd, de->d_name, dev, ino)) == 1)
			break;
		if (r == -1)
			blind = 1;
	}
	fsio_dir_close(d);
	fsio_close(procfd);
	if (de != NULL)
		return 1;
	return blind ? -1 : 0;
}

/* ---- in the daemon: the schedule of a set and its reopen hook ------------ */

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

/* Rotate one live file f; it becomes a segment waiting for the hook. */
static int
rotate_one(struct daemon *d, struct mfile *f, int64_t stamp, int64_t now)
{
	static const struct lc_out out = { 0, 0 };
	char seg[NAME_MAX + 1];

	follow_step(d, f, now, 0);	/* its size; read later */
	if (f->tp.size == 0)
		return 0;		/* nothing to rotate */
	if (lifecycle_rotate(f, &f->st, stamp, seg, sizeof(seg), &out) == -1) {
		d->metrics.errors[ME_ROTATE]++;
		if (errno == ESTALE)
			d->rescan = 1;
		return 0;
	}
	daemon_setrt(d, f->set)->m.rotated++;
	d->metrics.last_success[MA_ROTATE] = now;
	free(f->name);
	free(f->path);
	f->name = xstrdup(seg);
	xasprintf(&f->path, "%s/%s", f->dir->path, seg);
	follow_set_state(f, MF_SETTLING);
	f->live = 0;
	f->tp.ff.live = 0;
	f->hook_wait = 1;
	f->growth_at = now;
	return 1;
}

/* Rotate every live file of set si (named for time stamp). */
static void
rotate_set(struct daemon *d, size_t si, int64_t stamp, int64_t now)
{
	struct logset *set = &d->conf->sets[si];
	struct setrt *rt = &d->rt[si];
	struct mfile *f;
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
		if (f->set == set && f->state == MF_LIVE && f->refused == NULL)
			n += (size_t)rotate_one(d, f, stamp, now);
	}
	if (n == 0)
		return;
	rt->hook_due = 1;
	d->rescan = 1;
	d->urgent = 1;
	hook_run(d, si, now);
}

/*
 * Is a rotation of set si due (its boundary passed, USR1, a live file
 * that lifecycle says must go)?  Returns when to look again.
 */
int64_t
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
		if (rt->next_rotate == 0)
			rt->next_rotate = rotate_next(set, now);
		if (now >= rt->next_rotate) {
			stamp = rt->next_rotate;
			rt->rotate_now = 1;
			rt->next_rotate = rotate_next(set, now);
		}
	}
	if (rt->rotate_now)
		rotate_set(d, si, rt->rotate_stamp != 0 ? rt->rotate_stamp :
		    stamp, now);
	rt->rotate_stamp = 0;
	return set->rotate == ROTATE_INTERVAL || set->rotate == ROTATE_DAILY ?
	    rt->next_rotate : INT64_MAX;
}

/*
 * A live file: rotated when lifecycle says so (a boundary it spans, its
 * size, its oldest full address near the window); warned about when it
 * holds full addresses past the window and its set may not rotate.
 */
int64_t
rotation_live_step(struct daemon *d, struct mfile *f, int64_t now)
{
	struct setrt *rt = daemon_setrt(d, f->set);
	struct policy_plan pl;
	int64_t stamp, lead = lifecycle_lead(f->set, 1, d->conf->sweep);

	if (rt->hook_pid == 0 && !rt->hook_due &&
	    lifecycle_rotation_due(f->set, &f->tp.ff, f->tp.size, now, lead,
	    &stamp)) {
		rt->rotate_now = 1;
		if (rt->rotate_stamp == 0 || stamp < rt->rotate_stamp)
			rt->rotate_stamp = stamp;
		daemon_kick(d);
		return now + 1;
	}
	policy_plan(f->set, &f->tp.ff, now, lead, &pl);
	if ((pl.actions & ACT_WARN_LIVE) && !rt->warned_live++)
		log_warnx("\"%s\": the live file holds full addresses past "
		    "the window and [%s] does not rotate it (rotate = off or "
		    "no reopen hook)", log_esc(f->path), f->set->name);
	return pl.next_due;
}

void
rotation_reap(struct daemon *d)
{
	int64_t now = daemon_now(d);
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

void
rotation_timeouts(struct daemon *d, int64_t now)
{
	size_t i;

	for (i = 0; i < d->conf->nsets; i++)
		if (d->rt[i].hook_pid > 0 && now >= d->rt[i].hook_deadline) {
			log_warnx("[%s]: reopen command timed out",
			    d->conf->sets[i].name);
			kill(d->rt[i].hook_pid, SIGKILL);
		}
}

/*
 * A crash between our rename and the reopen hook leaves the server
 * writing to a segment: for every set with unsealed segments, make sure
 * the live files exist and run the reopen hook once more (a reopen is
 * harmless when it was done already).
 */
void
rotation_recover(struct daemon *d)
{
	struct mfile *f;
	struct setrt *rt;
	size_t i;

	for (i = 0; i < d->cat.nfiles; i++) {
		f = d->cat.files[i];
		/* Only our own segments: others rotate with rotate = off. */
		if (f->refused != NULL || f->state != MF_SETTLING ||
		    f->set->reopen == REOPEN_NONE ||
		    f->set->rotate == ROTATE_OFF || !names_is_segment(f->name))
			continue;
		lifecycle_recreate_live(f);
		/* Not sealed before the server has reopened. */
		f->hook_wait = 1;
		rt = daemon_setrt(d, f->set);
		if (!rt->hook_due)
			log_info("[%s]: unsealed segments at start: running "
			    "the reopen hook", f->set->name);
		rt->hook_due = 1;
		d->rescan = 1;
	}
}
