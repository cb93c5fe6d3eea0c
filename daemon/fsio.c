/*
 * Every filesystem call of lethe goes through this file: safe opens
 * (openat, O_NOFOLLOW, no blocking on a FIFO), temp files, atomic replace
 * (temp -> fsync -> rename -> fsync directory) and the loops around
 * read/write/close that handle EINTR and short writes.
 *
 * Each system call is made in exactly one place (the sys_* wrappers and
 * the exported fsio_read ... fsio_renameat), so that the fault seam (test
 * builds only: -DLETHE_FAULT_SEAM) can make the Nth call of a kind fail.
 */
#include <sys/types.h>
#include <sys/random.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lethe.h"

#ifdef LETHE_FAULT_SEAM
#include <pthread.h>
#endif

#define TMP_RAND_LEN	6	/* random characters after FSIO_TMP_TAG */
#define TMP_TRIES	100	/* names tried before giving up on EEXIST */

static const char tmp_chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/*
 * The fault seam, compiled into test builds only (make fault).  The
 * environment says what fails:
 *
 *	LETHE_FAULT="OP:N:ERRNO"	the Nth call of OP fails with ERRNO
 *	LETHE_FAULT="OP:N+:ERRNO"	the Nth call and every later one
 *	LETHE_FAULT_COUNT=PATH		at exit, write "OP COUNT" per line
 *
 * OP is open, read, write, fsync, rename, unlink, close, or any (calls of
 * every kind counted together); N counts from 1; ERRNO is EIO, ENOSPC,
 * EINTR, EAGAIN, EACCES or EROFS.  Where the wrapper retries (EINTR, and
 * EAGAIN on a read or write) the retry path is what a fault exercises.
 * An injected close closes the descriptor all the same, as Linux does.
 * Calls are counted atomically: the daemon's worker thread counts too.
 */
#ifdef LETHE_FAULT_SEAM
enum fault_op {
	FOP_OPEN,
	FOP_READ,
	FOP_WRITE,
	FOP_FSYNC,
	FOP_RENAME,
	FOP_UNLINK,
	FOP_CLOSE,
	FOP_ANY,		/* not a call: the LETHE_FAULT "any" */
};

static const char *const fault_ops[] = {
	"open", "read", "write", "fsync", "rename", "unlink", "close", "any",
};

static const struct {
	const char	*name;
	int		 no;
} fault_errnos[] = {
	{ "EIO", EIO }, { "ENOSPC", ENOSPC }, { "EINTR", EINTR },
	{ "EAGAIN", EAGAIN }, { "EACCES", EACCES }, { "EROFS", EROFS },
};

static pthread_once_t	 fault_once = PTHREAD_ONCE_INIT;
static int		 fault_op = -1;		/* -1: no fault armed */
static unsigned long	 fault_nth;
static int		 fault_sticky;		/* N+: and every later call */
static int		 fault_errno;
static unsigned long	 fault_calls[FOP_ANY + 1];
static unsigned long	 fault_fired;
static const char	*fault_count_path;

static void
fault_report(void)
{
	FILE *fp;
	int i;

	if ((fp = fopen(fault_count_path, "w")) == NULL)
		return;
	for (i = 0; i <= FOP_ANY; i++)
		fprintf(fp, "%s %lu\n", fault_ops[i],
		    __atomic_load_n(&fault_calls[i], __ATOMIC_SEQ_CST));
	fprintf(fp, "fired %lu\n",
	    __atomic_load_n(&fault_fired, __ATOMIC_SEQ_CST));
	(void)fclose(fp);
}

static void
fault_init(void)
{
	const char *spec = getenv("LETHE_FAULT"), *errstr;
	char op[16], n[32], en[16];
	size_t i, len;

	fault_count_path = getenv("LETHE_FAULT_COUNT");
	if (fault_count_path != NULL && *fault_count_path != '\0')
		atexit(fault_report);
	if (spec == NULL || *spec == '\0')
		return;
	if (sscanf(spec, "%15[a-z]:%31[0-9+]:%15[A-Z]", op, n, en) != 3)
		fatalx("LETHE_FAULT \"%s\": not OP:N:ERRNO", log_esc(spec));
	for (i = 0; i <= FOP_ANY; i++)
		if (strcmp(op, fault_ops[i]) == 0)
			fault_op = (int)i;
	len = strlen(n);
	if (len > 0 && n[len - 1] == '+') {
		fault_sticky = 1;
		n[len - 1] = '\0';
	}
	fault_nth = (unsigned long)strtonum(n, 1, LONG_MAX, &errstr);
	for (i = 0; i < sizeof(fault_errnos) / sizeof(fault_errnos[0]); i++)
		if (strcmp(en, fault_errnos[i].name) == 0)
			fault_errno = fault_errnos[i].no;
	if (fault_op == -1 || errstr != NULL || fault_errno == 0)
		fatalx("LETHE_FAULT \"%s\": unknown operation, count or "
		    "errno", log_esc(spec));
}

/* Count a call of op; 1 (errno set) when it is the one to fail. */
static int
fault_hit(enum fault_op op)
{
	unsigned long k, all;

	(void)pthread_once(&fault_once, fault_init);
	k = __atomic_add_fetch(&fault_calls[op], 1, __ATOMIC_SEQ_CST);
	all = __atomic_add_fetch(&fault_calls[FOP_ANY], 1, __ATOMIC_SEQ_CST);
	if (fault_op == -1)
		return 0;
	if (fault_op == FOP_ANY)
		k = all;
	else if (fault_op != (int)op)
		return 0;
	if (k != fault_nth && !(fault_sticky && k > fault_nth))
		return 0;
	if (__atomic_add_fetch(&fault_fired, 1, __ATOMIC_SEQ_CST) == 1)
		log_warnx("fault seam: %s call %lu fails with %s",
		    fault_ops[op], k, strerror(fault_errno));
	errno = fault_errno;
	return 1;
}
#define FAULT(op)	fault_hit(op)
#else
#define FAULT(op)	0
#endif

static int
sys_openat(int dfd, const char *name, int flags, mode_t mode)
{
	int fd;

	do
		fd = FAULT(FOP_OPEN) ? -1 : openat(dfd, name, flags, mode);
	while (fd == -1 && errno == EINTR);
	return fd;
}

static int
sys_fstat(int fd, struct stat *st)
{
	return fstat(fd, st);
}

static int
sys_fstatat(int dfd, const char *name, struct stat *st)
{
	return fstatat(dfd, name, st, AT_SYMLINK_NOFOLLOW);
}

static int
sys_clear_nonblock(int fd)
{
	int fl;

	if ((fl = fcntl(fd, F_GETFL)) == -1)
		return -1;
	return fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
}

static int
sys_fchown(int fd, uid_t uid, gid_t gid)
{
	return fchown(fd, uid, gid);
}

static int
sys_fchmod(int fd, mode_t mode)
{
	return fchmod(fd, mode);
}

static int
sys_futimens(int fd, const struct timespec ts[2])
{
	return futimens(fd, ts);
}

static DIR *
sys_fdopendir_dup(int dfd)
{
	DIR *d;
	int fd, saved;

	if ((fd = fcntl(dfd, F_DUPFD_CLOEXEC, 0)) == -1)
		return NULL;
	if ((d = fdopendir(fd)) == NULL) {
		saved = errno;
		(void)fsio_close(fd);
		errno = saved;
		return NULL;
	}
	rewinddir(d);	/* the dup shares dfd's offset */
	return d;
}

ssize_t
fsio_read(int fd, void *buf, size_t len)
{
	ssize_t n;

	do
		n = FAULT(FOP_READ) ? -1 : read(fd, buf, len);
	while (n == -1 && errno == EINTR);
	return n;
}

ssize_t
fsio_pread(int fd, void *buf, size_t len, off_t off)
{
	ssize_t n;

	do
		n = FAULT(FOP_READ) ? -1 : pread(fd, buf, len, off);
	while (n == -1 && errno == EINTR);
	return n;
}

/* Wait until fd takes more output (it is non-blocking and full). */
static int
wait_writable(int fd)
{
	struct pollfd pfd;

	pfd.fd = fd;
	pfd.events = POLLOUT;
	pfd.revents = 0;
	if (poll(&pfd, 1, -1) == -1 && errno != EINTR)
		return -1;
	return 0;
}

int
fsio_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	ssize_t n;

	while (len > 0) {
		n = FAULT(FOP_WRITE) ? -1 : write(fd, p, len);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN && wait_writable(fd) == 0)
				continue;
			return -1;
		}
		if (n == 0) {
			errno = EIO;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int
fsio_fsync(int fd)
{
	int r;

	do
		r = FAULT(FOP_FSYNC) ? -1 : fsync(fd);
	while (r == -1 && errno == EINTR);
	return r;
}

/*
 * On Linux the descriptor is gone even when close() fails with EINTR, so
 * a retry could close a descriptor another thread just opened: EINTR
 * counts as closed.  Every other error (EIO on a network file system) is
 * reported.
 */
int
fsio_close(int fd)
{
	int r;

	r = close(fd);
	/* Injected: the descriptor is closed all the same, as on Linux. */
	if (FAULT(FOP_CLOSE))
		r = -1;
	if (r == -1 && errno != EINTR)
		return -1;
	return 0;
}

int
fsio_unlinkat(int dfd, const char *name)
{
	int r;

	do
		r = FAULT(FOP_UNLINK) ? -1 : unlinkat(dfd, name, 0);
	while (r == -1 && errno == EINTR);
	return r;
}

int
fsio_renameat(int dfd, const char *from, const char *to)
{
	int r;

	do
		r = FAULT(FOP_RENAME) ? -1 : renameat(dfd, from, dfd, to);
	while (r == -1 && errno == EINTR);
	return r;
}

/*
 * Rename that fails with EEXIST instead of replacing to.  Where the file
 * system lacks RENAME_NOREPLACE (EINVAL), link + unlink gives the same
 * guarantee: link never replaces, and from's removal only drops a name.
 */
int
fsio_rename_noreplace(int dfd, const char *from, const char *to)
{
	int r;

	do
		r = FAULT(FOP_RENAME) ? -1 :
		    renameat2(dfd, from, dfd, to, RENAME_NOREPLACE);
	while (r == -1 && errno == EINTR);
	if (r == 0 || (errno != EINVAL && errno != ENOSYS))
		return r;
	do
		r = linkat(dfd, from, dfd, to, 0);
	while (r == -1 && errno == EINTR);
	if (r == -1)
		return -1;
	return fsio_unlinkat(dfd, from);
}

/* Close fd keeping errno (for the failure paths). */
static void
close_keep_errno(int fd)
{
	int saved = errno;

	(void)fsio_close(fd);
	errno = saved;
}

int
fsio_create_like(int dfd, const char *name, const struct stat *like,
    const char **why)
{
	const char *first = NULL;
	int fd, saved = 0;

	fd = sys_openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC | O_NOCTTY, 0600);
	if (fd == -1) {
		*why = "create";
		return -1;
	}
	/* Owner first: fchown clears set-id bits that fchmod then sets. */
	if (sys_fchown(fd, like->st_uid, like->st_gid) == -1) {
		first = "chown";
		saved = errno;
	}
	if (sys_fchmod(fd, like->st_mode & 07777) == -1 && first == NULL) {
		first = "chmod";
		saved = errno;
	}
	if (fsio_close(fd) == -1 && first == NULL) {
		first = "close";
		saved = errno;
	}
	if (first == NULL)
		return 0;
	*why = first;
	errno = saved;
	return -1;
}

int
fsio_opendir(const char *path, const char **why)
{
	struct stat st;
	int fd;

	fd = sys_openat(AT_FDCWD, path,
	    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, 0);
	if (fd == -1) {
		/* Linux: ENOTDIR, not ELOOP, for a link with O_DIRECTORY. */
		if (errno == ENOTDIR &&
		    sys_fstatat(AT_FDCWD, path, &st) == 0 &&
		    S_ISLNK(st.st_mode)) {
			errno = ELOOP;
		}
		if (errno == ELOOP)
			*why = "is a symbolic link";
		else if (errno == ENOTDIR)
			*why = "not a directory";
		else
			*why = "cannot open";
		return -1;
	}
	if (sys_fstat(fd, &st) == -1) {
		*why = "cannot stat";
		goto fail_close_fd;
	}
	if (!S_ISDIR(st.st_mode)) {
		*why = "not a directory";
		errno = ENOTDIR;
		goto fail_close_fd;
	}
	if ((st.st_mode & S_IWOTH) ||
	    ((st.st_mode & S_IWGRP) && st.st_gid != 0)) {
		*why = "directory is writable by others than root and its owner";
		errno = EPERM;
		goto fail_close_fd;
	}
	return fd;

fail_close_fd:
	close_keep_errno(fd);
	return -1;
}

/* A file we may rewrite: a regular file with exactly one link. */
static int
file_ok(const struct stat *st, const char **why)
{
	if (S_ISLNK(st->st_mode)) {
		*why = "is a symbolic link";
		errno = ELOOP;
		return -1;
	}
	if (!S_ISREG(st->st_mode)) {
		*why = "not a regular file";
		errno = EINVAL;
		return -1;
	}
	if (st->st_nlink == 0) {
		*why = "was removed";
		errno = ENOENT;
		return -1;
	}
	if (st->st_nlink != 1) {
		*why = "has more than one hard link";
		errno = EMLINK;
		return -1;
	}
	return 0;
}

/*
 * The lstat before the open keeps us from opening device nodes at all
 * (opening some has side effects); the fstat after it checks what was
 * actually opened.
 */
int
fsio_openat_file(int dfd, const char *name, struct stat *st,
    const char **why)
{
	struct stat pre;
	int fd;

	if (sys_fstatat(dfd, name, &pre) == -1) {
		*why = "cannot stat";
		return -1;
	}
	if (file_ok(&pre, why) == -1)
		return -1;
	fd = sys_openat(dfd, name,
	    O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY, 0);
	if (fd == -1) {
		*why = errno == ELOOP ? "is a symbolic link" : "cannot open";
		return -1;
	}
	if (sys_fstat(fd, st) == -1) {
		*why = "cannot stat";
		goto fail_close_fd;
	}
	if (file_ok(st, why) == -1)
		goto fail_close_fd;
	if (st->st_dev != pre.st_dev || st->st_ino != pre.st_ino) {
		*why = "file changed while opening";
		errno = EAGAIN;
		goto fail_close_fd;
	}
	/*
	 * Once more by name: a hard link to a file outside has two links,
	 * but a rename over the name can make a stat see one for an instant
	 * (the race test does it as root; fs.protected_hardlinks keeps other
	 * users from linking files they cannot write).  Three looks at the
	 * same inode, each with one link, make that race far less likely.
	 */
	*why = "file changed while opening";
	if (sys_fstatat(dfd, name, &pre) == -1 || file_ok(&pre, why) == -1 ||
	    pre.st_dev != st->st_dev || pre.st_ino != st->st_ino ||
	    sys_fstat(fd, st) == -1 || file_ok(st, why) == -1) {
		errno = EAGAIN;
		goto fail_close_fd;
	}
	if (sys_clear_nonblock(fd) == -1) {
		*why = "cannot clear O_NONBLOCK";
		goto fail_close_fd;
	}
	return fd;

fail_close_fd:
	close_keep_errno(fd);
	return -1;
}

/* Fill r[0..TMP_RAND_LEN) with random characters from tmp_chars. */
static void
tmp_random(char *r)
{
	static uint64_t fallback;
	unsigned char b[TMP_RAND_LEN];
	struct timespec ts;
	size_t i;

	if (getrandom(b, sizeof(b), GRND_NONBLOCK) != (ssize_t)sizeof(b)) {
		/* No entropy yet (early boot): a name need not be secret. */
		(void)clock_gettime(CLOCK_MONOTONIC, &ts);
		fallback += (uint64_t)ts.tv_nsec ^ ((uint64_t)getpid() << 32);
		fallback = fallback * 6364136223846793005ULL +
		    1442695040888963407ULL;
		for (i = 0; i < sizeof(b); i++)
			b[i] = (unsigned char)(fallback >> (8 * (i + 1)));
	}
	for (i = 0; i < TMP_RAND_LEN; i++)
		r[i] = tmp_chars[b[i] % (sizeof(tmp_chars) - 1)];
	r[TMP_RAND_LEN] = '\0';
}

int
fsio_tmp_create(int dfd, const char *target, char *tmp, size_t tmpsz)
{
	char r[TMP_RAND_LEN + 1];
	int fd, n, tries;

	if (*target == '\0' || strchr(target, '/') != NULL) {
		errno = EINVAL;
		return -1;
	}
	for (tries = 0; tries < TMP_TRIES; tries++) {
		tmp_random(r);
		n = snprintf(tmp, tmpsz, ".%s%s%s", target, FSIO_TMP_TAG, r);
		if (n < 0 || (size_t)n >= tmpsz || n > NAME_MAX) {
			errno = ENAMETOOLONG;
			return -1;
		}
		fd = sys_openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL |
		    O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd != -1)
			return fd;
		if (errno != EEXIST)
			return -1;
	}
	return -1;
}

int
fsio_replace(int dfd, int tmpfd, const char *tmp, const char *target,
    int noreplace,
    const struct stat *orig)
{
	struct timespec ts[2];
	int saved;

	ts[0] = orig->st_atim;
	ts[1] = orig->st_mtim;
	/* Owner first: fchown clears set-id bits that fchmod then sets. */
	if (sys_fchown(tmpfd, orig->st_uid, orig->st_gid) == -1 ||
	    sys_fchmod(tmpfd, orig->st_mode & 07777) == -1 ||
	    sys_futimens(tmpfd, ts) == -1 ||
	    fsio_fsync(tmpfd) == -1)
		goto fail_close_tmp;
	if (fsio_close(tmpfd) == -1)
		goto fail_unlink_tmp;
	if ((noreplace ? fsio_rename_noreplace(dfd, tmp, target) :
	    fsio_renameat(dfd, tmp, target)) == -1)
		goto fail_unlink_tmp;
	/* Renamed: the temp name is gone, nothing left to undo. */
	return fsio_fsync(dfd);

fail_close_tmp:
	close_keep_errno(tmpfd);
fail_unlink_tmp:
	saved = errno;
	(void)fsio_unlinkat(dfd, tmp);
	errno = saved;
	return -1;
}

/*
 * If name is ".X.lethe-XXXXXX" (6 characters of tmp_chars after the tag),
 * copy X to base and return 0; else return -1.
 */
static int
tmp_base(const char *name, char *base, size_t basesz)
{
	size_t len, taglen = sizeof(FSIO_TMP_TAG) - 1, xlen, i;
	const char *r;

	len = strlen(name);
	if (name[0] != '.' || len < 2 + taglen + TMP_RAND_LEN)
		return -1;
	r = name + len - TMP_RAND_LEN;
	if (memcmp(r - taglen, FSIO_TMP_TAG, taglen) != 0)
		return -1;
	for (i = 0; i < TMP_RAND_LEN; i++)
		if (strchr(tmp_chars, r[i]) == NULL || r[i] == '\0')
			return -1;
	xlen = len - 1 - taglen - TMP_RAND_LEN;
	if (xlen >= basesz)
		return -1;
	memcpy(base, name + 1, xlen);
	base[xlen] = '\0';
	return 0;
}

int
fsio_clean_tmp(int dfd, int (*is_ours)(const char *, void *), void *arg)
{
	char base[NAME_MAX + 1];
	struct dirent *de;
	DIR *d;
	int rv = 0;

	if ((d = sys_fdopendir_dup(dfd)) == NULL)
		return -1;
	for (;;) {
		errno = 0;
		if ((de = readdir(d)) == NULL) {
			if (errno != 0)
				rv = -1;
			break;
		}
		if (tmp_base(de->d_name, base, sizeof(base)) == -1)
			continue;
		if (is_ours != NULL && !is_ours(base, arg))
			continue;
		if (fsio_unlinkat(dfd, de->d_name) == -1) {
			if (errno == ENOENT)
				continue;
			log_warn("remove stale temp file \"%s\"",
			    log_esc(de->d_name));
			rv = -1;
			continue;
		}
		log_info("removed stale temp file \"%s\"", log_esc(de->d_name));
	}
	if (closedir(d) == -1)
		rv = -1;
	return rv;
}

/*
 * Read a whole small file (a config) into *buf (NUL-terminated, *len
 * bytes); at most max bytes.  Returns 0, or -1 with errno (EFBIG: larger).
 */
int
fsio_read_file(const char *path, size_t max, char **buf, size_t *len)
{
	char *b;
	ssize_t n;
	size_t got = 0;
	int fd, saved;

	if ((fd = sys_openat(AT_FDCWD, path, O_RDONLY | O_CLOEXEC | O_NOCTTY,
	    0)) == -1)
		return -1;
	b = xmalloc(max + 1);
	while (got <= max && (n = fsio_read(fd, b + got, max + 1 - got)) > 0)
		got += (size_t)n;
	saved = errno;
	fsio_close(fd);
	if (n == -1 || got > max) {
		free(b);
		errno = n == -1 ? saved : EFBIG;
		return -1;
	}
	b[got] = '\0';
	*buf = b;
	*len = got;
	return 0;
}
