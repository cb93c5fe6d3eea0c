/*
 * Every filesystem call of lethe goes through this file: safe opens
 * (openat, no symbolic link anywhere in a configured path, no blocking on
 * a FIFO), directory reading, temp files, the acts that change a managed
 * file (replace, rename, unlink), each checked at the moment of the act
 * against the file lethe read, the lock in state_dir, and the loops around
 * read/write/close that handle EINTR and short writes.
 *
 * Each system call is made in exactly one place, behind FAULT(), so that
 * the test seam (fault.c, test builds only) can make the Nth call of a
 * kind fail or pause.
 *
 * The acts.  Another program (logrotate) may rename anything at any time,
 * so a name is never trusted between a check and an act.  A managed file
 * is first claimed: renamed to a private name in its directory,
 * ".NAME.lethe-claim-INO-XXXXXX", which no other program knows.  What now
 * sits under the private name is checked (device, inode, size); when it
 * is not the file we read, it goes back under its name and the act is
 * abandoned; else the act goes on with the claimed file, which nobody can
 * rename away any more.  INO is the inode of the file that replaces it
 * (0: none), so that after a crash fsio_recover_claims() can tell a
 * finished act (remove the claim) from an unfinished one (put it back).
 */
#include <sys/types.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>

#include <linux/openat2.h>

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

#define TMP_RAND_LEN	6	/* random characters after FSIO_TMP_TAG */
#define TMP_TRIES	100	/* names tried before giving up on EEXIST */
#define CLAIM_TAG	".lethe-claim-"
#define LOCK_NAME	"lock"

static const char tmp_chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/* ---- the system calls, each behind FAULT() ---------------------------- */

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
	return FAULT(FOP_STAT) ? -1 : fstat(fd, st);
}

static int
sys_fstatat(int dfd, const char *name, struct stat *st)
{
	return FAULT(FOP_STAT) ? -1 :
	    fstatat(dfd, name, st, AT_SYMLINK_NOFOLLOW);
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
	return FAULT(FOP_ATTR) ? -1 : fchown(fd, uid, gid);
}

static int
sys_fchmod(int fd, mode_t mode)
{
	return FAULT(FOP_ATTR) ? -1 : fchmod(fd, mode);
}

static int
sys_futimens(int fd, const struct timespec ts[2])
{
	return FAULT(FOP_ATTR) ? -1 : futimens(fd, ts);
}

static int
sys_rename2(int dfd, const char *from, const char *to, unsigned int fl)
{
	int r;

	do
		r = FAULT(FOP_RENAME) ? -1 :
		    renameat2(dfd, from, dfd, to, fl);
	while (r == -1 && errno == EINTR);
	return r;
}

static int
sys_link(int dfd, const char *from, const char *to)
{
	int r;

	do
		r = FAULT(FOP_LINK) ? -1 : linkat(dfd, from, dfd, to, 0);
	while (r == -1 && errno == EINTR);
	return r;
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
fsio_fstat(int fd, struct stat *st)
{
	return sys_fstat(fd, st);
}

int
fsio_fstatat(int dfd, const char *name, struct stat *st)
{
	return sys_fstatat(dfd, name, st);
}

int
fsio_statat(int dfd, const char *name, struct stat *st)
{
	return FAULT(FOP_STAT) ? -1 : fstatat(dfd, name, st, 0);
}

int
fsio_fstatfs(int fd, struct statfs *sf)
{
	return FAULT(FOP_STAT) ? -1 : fstatfs(fd, sf);
}

int
fsio_openat(int dfd, const char *name, int flags, mode_t mode)
{
	return sys_openat(dfd, name, flags | O_CLOEXEC | O_NOCTTY, mode);
}

int
fsio_mkdir(const char *path, mode_t mode)
{
	return FAULT(FOP_DIR) ? -1 : mkdir(path, mode);
}

int
fsio_mkdirat(int dfd, const char *name, mode_t mode)
{
	return FAULT(FOP_DIR) ? -1 : mkdirat(dfd, name, mode);
}

int
fsio_fchmod(int fd, mode_t mode)
{
	return sys_fchmod(fd, mode);
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
	return sys_rename2(dfd, from, to, 0);
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

	r = sys_rename2(dfd, from, to, RENAME_NOREPLACE);
	if (r == 0 || (errno != EINVAL && errno != ENOSYS))
		return r;
	if (sys_link(dfd, from, to) == -1)
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

/* ---- directories ---------------------------------------------------------- */

/* Nobody but root and its owner may write to a directory we act in. */
static int
dir_safe(int fd, const char **why)
{
	struct stat st;

	if (sys_fstat(fd, &st) == -1) {
		*why = "cannot stat";
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		*why = "not a directory";
		errno = ENOTDIR;
		return -1;
	}
	if ((st.st_mode & S_IWOTH) ||
	    ((st.st_mode & S_IWGRP) && st.st_gid != 0)) {
		*why = "directory is writable by others than root and its owner";
		errno = EPERM;
		return -1;
	}
	return 0;
}

static const char *
dir_open_why(int err)
{
	if (err == ELOOP)
		return "is a symbolic link";
	if (err == ENOTDIR)
		return "not a directory";
	if (err == ENOENT)
		return "does not exist";
	return "cannot open";
}

/* One component, never a symbolic link. */
int
fsio_opendirat(int dfd, const char *name, const char **why)
{
	struct stat st;
	int fd;

	fd = sys_openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC, 0);
	/* A directory we may pass through but not list (mode 0711). */
	if (fd == -1 && errno == EACCES)
		fd = sys_openat(dfd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW |
		    O_CLOEXEC, 0);
	if (fd == -1) {
		/* Linux: ENOTDIR, not ELOOP, for a link with O_DIRECTORY. */
		if (errno == ENOTDIR && sys_fstatat(dfd, name, &st) == 0 &&
		    S_ISLNK(st.st_mode))
			errno = ELOOP;
		*why = dir_open_why(errno);
		return -1;
	}
	return fd;
}

/* Component by component with O_NOFOLLOW, where openat2 is missing. */
static int
open_path_nofollow(const char *path, const char **why)
{
	char *copy, *p, *c, *save;
	int fd, nfd;

	if ((fd = sys_openat(AT_FDCWD, "/", O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC, 0)) == -1) {
		*why = "cannot open /";
		return -1;
	}
	copy = xstrdup(path);
	for (p = copy; (c = strtok_r(p, "/", &save)) != NULL; p = NULL) {
		nfd = fsio_opendirat(fd, c, why);
		close_keep_errno(fd);
		if ((fd = nfd) == -1)
			break;
	}
	free(copy);
	return fd;
}

/*
 * Open an absolute directory path with no symbolic link in any component
 * (openat2 RESOLVE_NO_SYMLINKS, or component by component) and check that
 * nobody but root and its owner may write to it.  Returns the fd, or -1
 * with *why set (and errno where it applies).
 */
int
fsio_opendir(const char *path, const char **why)
{
	struct open_how how;
	struct stat st;
	int fd;

	if (path[0] != '/') {
		*why = "not an absolute path";
		errno = EINVAL;
		return -1;
	}
	memset(&how, 0, sizeof(how));
	how.flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC;
	how.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
	do
		fd = FAULT(FOP_OPEN) ? -1 : (int)syscall(SYS_openat2,
		    AT_FDCWD, path, &how, sizeof(how));
	while (fd == -1 && errno == EINTR);
	if (fd == -1 && (errno == ENOSYS || errno == EPERM))
		fd = open_path_nofollow(path, why);
	else if (fd == -1)
		*why = dir_open_why(errno);
	if (fd == -1 && errno == ELOOP) {
		*why = sys_fstatat(AT_FDCWD, path, &st) == 0 &&
		    S_ISLNK(st.st_mode) ? "is a symbolic link" :
		    "has a symbolic link in its path";
		errno = ELOOP;
	}
	if (fd == -1)
		return -1;
	if (dir_safe(fd, why) == -1) {
		close_keep_errno(fd);
		return -1;
	}
	return fd;
}

/* A reader over dfd's entries (its own descriptor), from the start. */
DIR *
fsio_dir_open(int dfd)
{
	DIR *d;
	int fd;

	if (FAULT(FOP_DIR))
		return NULL;
	if ((fd = fcntl(dfd, F_DUPFD_CLOEXEC, 0)) == -1)
		return NULL;
	if ((d = fdopendir(fd)) == NULL) {
		close_keep_errno(fd);
		return NULL;
	}
	rewinddir(d);	/* the dup shares dfd's offset */
	return d;
}

/* The next entry but "." and ".."; NULL at the end (errno 0) or error. */
struct dirent *
fsio_dir_next(DIR *d)
{
	struct dirent *de;

	for (;;) {
		errno = 0;
		if (FAULT(FOP_DIR))
			return NULL;
		if ((de = readdir(d)) == NULL)
			return NULL;
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0)
			return de;
	}
}

void
fsio_dir_close(DIR *d)
{
	if (d != NULL)
		(void)closedir(d);
}

/* ---- opening files ---------------------------------------------------------- */

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
 * actually opened.  Once more by name: a hard link to a file outside has
 * two links, but a rename over the name can make a stat see one for an
 * instant; three looks at the same inode, each with one link, make that
 * race far less likely (fs.protected_hardlinks keeps other users from
 * linking files they cannot write).
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
	*why = "file changed while opening";
	if (st->st_dev != pre.st_dev || st->st_ino != pre.st_ino ||
	    sys_fstatat(dfd, name, &pre) == -1 || file_ok(&pre, why) == -1 ||
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

/* ---- temp files ----------------------------------------------------------- */

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

/*
 * Give a finished temp file the owner, group, mode and times of orig,
 * make it durable and close it.  tmpfd is closed in every case.
 */
int
fsio_tmp_finish(int tmpfd, const struct stat *orig)
{
	struct timespec ts[2];

	ts[0] = orig->st_atim;
	ts[1] = orig->st_mtim;
	/* Owner first: fchown clears set-id bits that fchmod then sets. */
	if (sys_fchown(tmpfd, orig->st_uid, orig->st_gid) == -1 ||
	    sys_fchmod(tmpfd, orig->st_mode & 07777) == -1 ||
	    sys_futimens(tmpfd, ts) == -1 ||
	    fsio_fsync(tmpfd) == -1) {
		close_keep_errno(tmpfd);
		return -1;
	}
	return fsio_close(tmpfd);
}

int
fsio_replace(int dfd, int tmpfd, const char *tmp, const char *target,
    int noreplace, const struct stat *orig)
{
	int saved;

	if (fsio_tmp_finish(tmpfd, orig) == -1)
		goto fail_unlink_tmp;
	if ((noreplace ? fsio_rename_noreplace(dfd, tmp, target) :
	    fsio_renameat(dfd, tmp, target)) == -1)
		goto fail_unlink_tmp;
	/* Renamed: the temp name is gone, nothing left to undo. */
	return fsio_fsync(dfd);

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

	if ((d = fsio_dir_open(dfd)) == NULL)
		return -1;
	while ((de = fsio_dir_next(d)) != NULL) {
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
	if (errno != 0)
		rv = -1;
	fsio_dir_close(d);
	return rv;
}

/* ---- acts checked at the moment of the act ---------------------------------- */

static int
same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

/* ".NAME.lethe-claim-INO-XXXXXX" into buf; -1 when it does not fit. */
static int
claim_name(const char *name, ino_t ino, char *buf, size_t bufsz)
{
	char r[TMP_RAND_LEN + 1];
	int n;

	tmp_random(r);
	n = snprintf(buf, bufsz, ".%s%s%llu-%s", name, CLAIM_TAG,
	    (unsigned long long)ino, r);
	if (n < 0 || (size_t)n >= bufsz || n > NAME_MAX) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

/*
 * Parse a claim name: its NAME into base, its INO into *ino.  Returns 0,
 * or -1 when name is not a claim.
 */
int
fsio_claim_parse(const char *name, char *base, size_t basesz,
    unsigned long long *ino)
{
	const char *tag, *p, *dash;
	size_t blen;
	unsigned long long v = 0;

	if (name[0] != '.' || (tag = strstr(name + 1, CLAIM_TAG)) == NULL)
		return -1;
	for (p = strstr(tag + 1, CLAIM_TAG); p != NULL;
	    p = strstr(p + 1, CLAIM_TAG))
		tag = p;	/* the last one: NAME may hold the tag too */
	p = tag + sizeof(CLAIM_TAG) - 1;
	if ((dash = strchr(p, '-')) == NULL || dash == p ||
	    strlen(dash + 1) != TMP_RAND_LEN)
		return -1;
	for (; p < dash; p++) {
		if (*p < '0' || *p > '9' || v > (ULLONG_MAX - 9) / 10)
			return -1;
		v = v * 10 + (unsigned long long)(*p - '0');
	}
	blen = (size_t)(tag - name - 1);
	if (blen == 0 || blen >= basesz)
		return -1;
	memcpy(base, name + 1, blen);
	base[blen] = '\0';
	*ino = v;
	return 0;
}

/* Rename name to a fresh claim name (repl: the replacement's inode). */
static int
claim(int dfd, const char *name, ino_t repl, char *cl, size_t clsz)
{
	int tries;

	for (tries = 0; tries < TMP_TRIES; tries++) {
		if (claim_name(name, repl, cl, clsz) == -1)
			return -1;
		if (fsio_rename_noreplace(dfd, name, cl) == 0)
			return 0;
		if (errno != EEXIST)
			return -1;
	}
	return -1;
}

/*
 * When a claimed file's name was taken meanwhile (logrotate renamed the
 * live file to it), the file goes back under a fresh name of its set,
 * lethe's segment name for the time of its last change: its lines stay
 * where every reader finds them.
 */
static int
unclaim_elsewhere(int dfd, const char *cl, const char *name)
{
	char base[NAME_MAX + 1], alt[NAME_MAX + 1];
	struct stat st;
	size_t blen;
	int64_t t;
	int i;

	if (sys_fstatat(dfd, cl, &st) == -1)
		return -1;
	(void)strlcpy(base, name, sizeof(base));
	if ((blen = names_rotated_base(base)) != 0)
		base[blen] = '\0';
	for (i = 0, t = st.st_mtime; i < 1440; i++, t += 60) {
		if (names_segment(base, t, alt, sizeof(alt)) == -1)
			return -1;
		if (fsio_rename_noreplace(dfd, cl, alt) == 0) {
			(void)fsio_fsync(dfd);
			log_warnx("\"%s\" was taken while lethe acted on it: "
			    "the file it was is now \"%s\"", log_esc(name),
			    log_esc(alt));
			return 0;
		}
		if (errno != EEXIST)
			return -1;
	}
	return -1;
}

/* Put a claimed file back under its name (or another); said if not. */
static void
unclaim(int dfd, const char *cl, const char *name)
{
	int saved = errno;

	if (fsio_rename_noreplace(dfd, cl, name) == 0)
		(void)fsio_fsync(dfd);
	else if (errno != EEXIST || unclaim_elsewhere(dfd, cl, name) == -1)
		log_warn("cannot put \"%s\" back as \"%s\" (the next run "
		    "does)", log_esc(cl), log_esc(name));
	errno = saved;
}

/*
 * Claim name and check that it is the file *expect (and, size != -1,
 * still that long).  Returns 0 with the claim name in cl, or -1 with *why
 * and errno (ESTALE: another file; EAGAIN: it grew; ENOENT: gone), the
 * name then as it was.
 */
static int
claim_checked(int dfd, const char *name, const struct stat *expect,
    int64_t size, ino_t repl, char *cl, size_t clsz, const char **why)
{
	struct stat st;

	/* A name that holds another file already is not even claimed. */
	if (sys_fstatat(dfd, name, &st) == 0 && !same_file(&st, expect)) {
		*why = "another file took its name";
		errno = ESTALE;
		return -1;
	}
	if (claim(dfd, name, repl, cl, clsz) == -1) {
		*why = errno == ENOENT ? "its name is gone" :
		    "cannot claim it";
		if (errno == ENOENT)
			errno = ESTALE;
		return -1;
	}
	if (sys_fstatat(dfd, cl, &st) == -1) {
		*why = "cannot stat the claimed file";
		unclaim(dfd, cl, name);
		return -1;
	}
	if (!same_file(&st, expect)) {
		*why = "another file took its name";
		unclaim(dfd, cl, name);
		errno = ESTALE;
		return -1;
	}
	if (size != -1 && st.st_size != size) {
		*why = st.st_size > size ? "it grew while it was read" :
		    "it shrank while it was read";
		unclaim(dfd, cl, name);
		errno = EAGAIN;
		return -1;
	}
	return 0;
}

/* Remove a claimed file (ours alone now) and make it durable. */
static int
drop_claim(int dfd, const char *cl, const char **why)
{
	if (fsio_unlinkat(dfd, cl) == -1) {
		*why = "cannot remove the claimed original (the next run does)";
		return -1;
	}
	if (fsio_fsync(dfd) == -1) {
		*why = "fsync directory";
		return -1;
	}
	return 0;
}

int
fsio_commit(int dfd, const char *name, const struct stat *expect,
    int64_t size, const char *tmp, const char *target, const char **why)
{
	char cl[NAME_MAX + 1];
	struct stat tst;
	int saved;

	if (sys_fstatat(dfd, tmp, &tst) == -1) {
		*why = "cannot stat the temp file";
		goto fail_unlink_tmp;
	}
	if (claim_checked(dfd, name, expect, size, tst.st_ino, cl, sizeof(cl),
	    why) == -1)
		goto fail_unlink_tmp;
	if (fsio_rename_noreplace(dfd, tmp, target) == -1) {
		*why = errno == EEXIST ? "its new name was taken meanwhile" :
		    "rename";
		saved = errno;
		unclaim(dfd, cl, name);
		errno = saved;
		goto fail_unlink_tmp;
	}
	if (fsio_fsync(dfd) == -1) {
		/* The new file is in place; the claim is removed later. */
		*why = "fsync directory";
		return -1;
	}
	return drop_claim(dfd, cl, why);

fail_unlink_tmp:
	saved = errno;
	(void)fsio_unlinkat(dfd, tmp);
	errno = saved;
	return -1;
}

int
fsio_unlink_checked(int dfd, const char *name, const struct stat *expect,
    const char **why)
{
	char cl[NAME_MAX + 1];

	if (claim_checked(dfd, name, expect, -1, 0, cl, sizeof(cl),
	    why) == -1)
		return -1;
	return drop_claim(dfd, cl, why);
}

int
fsio_rename_checked(int dfd, const char *from, const char *to,
    const struct stat *expect, const char **why)
{
	struct stat st;

	if (fsio_rename_noreplace(dfd, from, to) == -1) {
		*why = errno == EEXIST ? "the new name is taken" :
		    errno == ENOENT ? "its name is gone" : "rename";
		return -1;
	}
	if (sys_fstatat(dfd, to, &st) == -1 || !same_file(&st, expect)) {
		*why = "another file took its name";
		if (fsio_rename_noreplace(dfd, to, from) == -1)
			log_warn("cannot put \"%s\" back as \"%s\"",
			    log_esc(to), log_esc(from));
		errno = ESTALE;
		return -1;
	}
	return 0;
}

/* Does dfd/name exist with inode ino? */
static int
has_inode(int dfd, const char *name, unsigned long long ino)
{
	struct stat st;

	return sys_fstatat(dfd, name, &st) == 0 &&
	    (unsigned long long)st.st_ino == ino;
}

/* One claim left by a crash: finish or undo its act. */
static int
recover_claim(int dfd, const char *cl, const char *base,
    unsigned long long ino)
{
	char gz[NAME_MAX + 8];
	const char *why;
	int n;

	n = snprintf(gz, sizeof(gz), "%s.gz", base);
	if (ino != 0 && (has_inode(dfd, base, ino) ||
	    (n > 0 && n <= NAME_MAX && has_inode(dfd, gz, ino)))) {
		/* Its replacement is in place: the original can go. */
		if (drop_claim(dfd, cl, &why) == -1) {
			log_warn("\"%s\": %s", log_esc(cl), why);
			return -1;
		}
		log_info("removed \"%s\": its rewrite had finished",
		    log_esc(cl));
		return 0;
	}
	if (fsio_rename_noreplace(dfd, cl, base) == -1) {
		if (errno == EEXIST && unclaim_elsewhere(dfd, cl, base) == 0)
			return 0;
		log_warn("cannot put \"%s\" back as \"%s\"", log_esc(cl),
		    log_esc(base));
		return -1;
	}
	(void)fsio_fsync(dfd);
	log_info("put \"%s\" back: an act on it did not finish",
	    log_esc(base));
	return 0;
}

int
fsio_recover_claims(int dfd, int (*is_ours)(const char *, void *), void *arg)
{
	char base[NAME_MAX + 1];
	unsigned long long ino;
	struct dirent *de;
	DIR *d;
	int n = 0, failed = 0;

	if ((d = fsio_dir_open(dfd)) == NULL)
		return -1;
	while ((de = fsio_dir_next(d)) != NULL) {
		if (fsio_claim_parse(de->d_name, base, sizeof(base), &ino) == -1)
			continue;
		if (is_ours != NULL && !is_ours(base, arg))
			continue;
		n++;
		if (recover_claim(dfd, de->d_name, base, ino) == -1)
			failed = 1;
	}
	if (errno != 0)
		failed = 1;
	fsio_dir_close(d);
	return failed ? -1 : n;
}

/* ---- small whole files, the lock -------------------------------------------- */

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

/* "PID COMMAND" of the lock's holder into holder. */
static void
lock_holder(int fd, char *holder, size_t hsz)
{
	ssize_t n;

	n = fsio_pread(fd, holder, hsz - 1, 0);
	if (n <= 0) {
		(void)strlcpy(holder, "unknown", hsz);
		return;
	}
	holder[n] = '\0';
	holder[strcspn(holder, "\n")] = '\0';
}

int
fsio_lock(int state_dfd, const char *cmd, char *holder, size_t hsz)
{
	char text[64];
	int fd, n, r;

	fd = sys_openat(state_dfd, LOCK_NAME, O_RDWR | O_CREAT | O_NOFOLLOW |
	    O_CLOEXEC | O_NOCTTY, 0600);
	if (fd == -1)
		return -1;
	do
		r = FAULT(FOP_LOCK) ? -1 : flock(fd, LOCK_EX | LOCK_NB);
	while (r == -1 && errno == EINTR);
	if (r == -1) {
		if (errno == EWOULDBLOCK)
			lock_holder(fd, holder, hsz);
		close_keep_errno(fd);
		return errno == EWOULDBLOCK ? 1 : -1;
	}
	/* Who holds it, for the message of the next one; a full disk may
	   keep it from being written, which leaves the lock held. */
	n = snprintf(text, sizeof(text), "%ld %s\n", (long)getpid(), cmd);
	if (ftruncate(fd, 0) == -1 || fsio_write_all(fd, text, (size_t)n) == -1)
		log_debug("write the holder into the lock: %s", strerror(errno));
	/* Held until we exit: the descriptor stays open (close-on-exec). */
	return 0;
}

int
fsio_flock(int fd)
{
	int r;

	do
		r = FAULT(FOP_LOCK) ? -1 : flock(fd, LOCK_EX);
	while (r == -1 && errno == EINTR);
	return r;
}

int
fsio_lock_holder(int state_dfd, char *holder, size_t hsz)
{
	int fd, r;

	fd = sys_openat(state_dfd, LOCK_NAME, O_RDONLY | O_NOFOLLOW |
	    O_CLOEXEC | O_NOCTTY, 0);
	if (fd == -1)
		return errno == ENOENT ? 0 : -1;
	do
		r = flock(fd, LOCK_SH | LOCK_NB);
	while (r == -1 && errno == EINTR);
	if (r == 0) {
		/* Nobody holds it (ours is gone with the close). */
		close_keep_errno(fd);
		return 0;
	}
	if (errno == EWOULDBLOCK)
		lock_holder(fd, holder, hsz);
	close_keep_errno(fd);
	return errno == EWOULDBLOCK ? 1 : -1;
}
