/*
 * Rotation of live files: when (aligned to the clock), the segment's name
 * (UTC, so DST and TZ changes never collide), the rename with the new live
 * file created beforehand with the old one's owner, group and mode, the
 * reopen hook (a signal to a pidfile's process, or a command run without
 * a shell), and whether a writer still holds a segment open.
 */
#include <sys/stat.h>
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

#define DAY	86400

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

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
		return 1;
	snprintf(gz, sizeof(gz), "%s.gz", name);
	return fstatat(dfd, gz, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

/*
 * "LIVE-YYYYMMDDTHHMMZ" for time t (UTC); when the name (or its .gz) is
 * taken, the next free minute.  Returns 0, or -1 when no name is free.
 */
int
rotate_segment_name(int dfd, const char *live, int64_t t, char *out,
    size_t outsz)
{
	struct tm tm;
	time_t tt;
	int i;

	for (i = 0; i < 1440; i++, t += 60) {
		tt = (time_t)t;
		if (gmtime_r(&tt, &tm) == NULL)
			return -1;
		if ((size_t)snprintf(out, outsz, "%s-%04d%02d%02dT%02d%02dZ",
		    live, tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
		    tm.tm_hour, tm.tm_min) >= outsz)
			return -1;
		if (!name_taken(dfd, out))
			return 0;
	}
	return -1;
}

/*
 * Rename live to segment (never over an existing name), then create the
 * new live file with the old one's owner, group and mode, so that the
 * server reopens into a file no more readable than before.  Returns 0,
 * or -1 with *why; when the rename failed nothing changed.
 */
int
rotate_file(int dfd, const char *live, const char *segment,
    const char **why)
{
	struct stat st;
	const char *step;

	if (fstatat(dfd, live, &st, AT_SYMLINK_NOFOLLOW) == -1) {
		*why = "stat of the live file failed";
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		*why = "the live file is not a regular file";
		return -1;
	}
	if (fsio_rename_noreplace(dfd, live, segment) == -1) {
		*why = "rename failed";
		return -1;
	}
	/* EEXIST: someone made it already, theirs to keep. */
	if (fsio_create_like(dfd, live, &st, &step) == -1 && errno != EEXIST)
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

	if ((fd = open(set->reopen_pidfile, O_RDONLY | O_CLOEXEC |
	    O_NOCTTY)) == -1) {
		*why = "cannot open the pidfile";
		return -1;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
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

/*
 * Start the set's reopen command (no shell, stdin from /dev/null); the
 * caller reaps it.  Returns the pid, or -1.
 */
pid_t
rotate_hook_command(const struct logset *set, const char **why)
{
	sigset_t all;
	pid_t pid;
	int fd;

	switch ((pid = fork())) {
	case -1:
		*why = "fork failed";
		return -1;
	case 0:
		sigemptyset(&all);
		sigprocmask(SIG_SETMASK, &all, NULL);
		signal(SIGPIPE, SIG_DFL);
		if ((fd = open("/dev/null", O_RDONLY)) != -1) {
			dup2(fd, STDIN_FILENO);
			if (fd != STDIN_FILENO)
				close(fd);
		}
		execv(set->reopen_argv[0], set->reopen_argv);
		_exit(127);
	default:
		return pid;
	}
}

static int
fd_writes(int infofd, const char *fd)
{
	char buf[256], *p;
	ssize_t n;
	unsigned long flags;
	int f;

	if ((f = openat(infofd, fd, O_RDONLY | O_CLOEXEC)) == -1)
		return 0;
	n = read(f, buf, sizeof(buf) - 1);
	close(f);
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
	DIR *d;
	int pfd, fdfd, infofd, found = 0;

	if ((pfd = openat(procfd, pid, O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) == -1)
		return 0;
	fdfd = openat(pfd, "fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	infofd = openat(pfd, "fdinfo", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	close(pfd);
	if (fdfd == -1 || infofd == -1 || (d = fdopendir(fdfd)) == NULL) {
		found = errno == EACCES ? -1 : 0;
		if (fdfd != -1)
			close(fdfd);
		if (infofd != -1)
			close(infofd);
		return found;
	}
	while (!found && (de = readdir(d)) != NULL) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		if (fstatat(fdfd, de->d_name, &st, 0) == 0 &&
		    st.st_dev == dev && st.st_ino == ino &&
		    fd_writes(infofd, de->d_name))
			found = 1;
	}
	closedir(d);
	close(infofd);
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

	fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC |
	    O_NOCTTY);
	if (fd == -1)
		return -1;
	if (fstat(fd, &st) == -1 || st.st_dev != dev || st.st_ino != ino ||
	    !S_ISREG(st.st_mode))
		goto out;
	if (fcntl(fd, F_SETLEASE, F_RDLCK) == 0) {
		(void)fcntl(fd, F_SETLEASE, F_UNLCK);
		rc = 0;
	} else if (errno == EAGAIN)
		rc = 1;
out:
	close(fd);
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
	int r, blind = 0;

	if ((d = opendir("/proc")) == NULL)
		return -1;
	snprintf(self, sizeof(self), "%ld", (long)getpid());
	while ((de = readdir(d)) != NULL) {
		if (!isdigit((unsigned char)de->d_name[0]) ||
		    strcmp(de->d_name, self) == 0)
			continue;
		if ((r = pid_writes(dirfd(d), de->d_name, dev, ino)) == 1) {
			closedir(d);
			return 1;
		}
		if (r == -1)
			blind = 1;
	}
	closedir(d);
	return blind ? -1 : 0;
}
