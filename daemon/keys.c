/*
 * The day keys of pseudonyms (transform = pseudonym), on disk: one file
 * per set, state_dir/keys/SET (the directory 0700, the file 0600),
 * replaced whole through a temp file in the same directory (fsync,
 * rename, fsync of the directory).
 *
 * A random 32-byte master secret starts a one-way ratchet: for day d
 * (UTC days since 1970-01-01)
 *
 *	K_d     = HMAC-SHA256(M_d, "lethe day key")
 *	M_{d+1} = HMAC-SHA256(M_d, "lethe ratchet")
 *
 * The file keeps the keys of the days that may still be needed and the
 * master of the first day not derived yet.  Making day d's key moves the
 * master past d, deriving on the way the keys of the days before d that
 * the window still needs (a late line may want one): so the file never
 * holds what could derive a key that was destroyed, nor one of a day
 * that was passed over.  A key is destroyed when its whole day is older
 * than now - window: removed from the file, the file replaced, the old
 * file's blocks overwritten (best effort: a copy-on-write file system or
 * an SSD may keep them), and every copy lethe had in memory wiped.  What
 * was destroyed, and when, is kept KEYS_GONE_KEEP for reveal to say.
 *
 * Writers (the daemon, once, mask --pseudonym) hold an flock of the
 * directory while they read, change and replace a file, so that no
 * writer puts back a key another one destroyed; readers (reveal) read
 * whichever file a rename left.
 */
#include <sys/random.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lethe.h"

#define KEYS_MAGIC	"lethe-keys 1"
#define KEYS_FILE_MAX	(256 * 1024)
#define KEYS_GONE_KEEP	(366 * PSEUDO_DAY)
#define KEYRING_CACHE	4		/* days a keyring keeps */
#define DAY_TEXT	11		/* "2026-11-20" and a NUL */

static const char label_key[] = "lethe day key";
static const char label_ratchet[] = "lethe ratchet";

struct kday {
	int64_t		 day;
	uint8_t		 key[PSEUDO_KEY_LEN];
};

struct kgone {
	int64_t		 day;
	int64_t		 at;		/* when it was destroyed */
};

/* One set's file, read. */
struct kfile {
	int		 have_master;
	int64_t		 master_day;	/* the day the master derives next */
	uint8_t		 master[DIGEST_LEN];
	int64_t		 window;	/* as the file was last written */
	struct kday	*keys;		/* by day, increasing */
	size_t		 nkeys;
	struct kgone	*gone;
	size_t		 ngone;
};

static _Thread_local char keys_errbuf[160];

static const char *
syserr(const char *what)
{
	(void)snprintf(keys_errbuf, sizeof(keys_errbuf), "%s: %s", what,
	    strerror(errno));
	return keys_errbuf;
}

static void
kfile_release(struct kfile *kf)
{
	if (kf->keys != NULL)
		explicit_bzero(kf->keys, kf->nkeys * sizeof(*kf->keys));
	free(kf->keys);
	free(kf->gone);
	explicit_bzero(kf, sizeof(*kf));
}

/* The first day whose key the window at now still needs. */
static int64_t
first_alive(int64_t window, int64_t now)
{
	return pseudo_day(now - window);
}

static void
day_text(int64_t day, char buf[DAY_TEXT])
{
	struct tm tm;
	time_t t = (time_t)(day * PSEUDO_DAY);

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, DAY_TEXT, "%Y-%m-%d", &tm) == 0)
		(void)strlcpy(buf, "?", DAY_TEXT);
}

int
keys_parse_day(const char *s, int64_t *day)
{
	char back[DAY_TEXT];
	int y, m, d, n = 0;

	if (strlen(s) != 10 || sscanf(s, "%4d-%2d-%2d%n", &y, &m, &d, &n) !=
	    3 || n != 10 || m < 1 || m > 12 || d < 1 || d > 31 || y < 1970)
		return -1;
	*day = tz_days_from_civil(y, m, d);
	day_text(*day, back);
	return strcmp(back, s) == 0 ? 0 : -1;	/* 2026-02-31 */
}

/* ---- the file's text ---------------------------------------------------- */

static int
unhex(const char *s, uint8_t *v, size_t n)
{
	size_t i;
	int hi, lo;

	for (i = 0; i < n; i++) {
		hi = s[2 * i];
		lo = s[2 * i + 1];
		hi = hi >= '0' && hi <= '9' ? hi - '0' : hi >= 'a' && hi <= 'f' ?
		    hi - 'a' + 10 : -1;
		lo = lo >= '0' && lo <= '9' ? lo - '0' : lo >= 'a' && lo <= 'f' ?
		    lo - 'a' + 10 : -1;
		if (hi == -1 || lo == -1)
			return -1;
		v[i] = (uint8_t)(hi << 4 | lo);
	}
	return s[2 * n] == '\0' ? 0 : -1;
}

static void
add_key(struct kfile *kf, int64_t day, const uint8_t key[PSEUDO_KEY_LEN])
{
	struct kday *v;

	/* Grown by copy, so that no stale key stays behind in the heap. */
	v = xcalloc(kf->nkeys + 1, sizeof(*v));
	if (kf->nkeys > 0)
		memcpy(v, kf->keys, kf->nkeys * sizeof(*v));
	if (kf->keys != NULL)
		explicit_bzero(kf->keys, kf->nkeys * sizeof(*kf->keys));
	free(kf->keys);
	kf->keys = v;
	kf->keys[kf->nkeys].day = day;
	memcpy(kf->keys[kf->nkeys].key, key, PSEUDO_KEY_LEN);
	kf->nkeys++;
}

static void
add_gone(struct kfile *kf, int64_t day, int64_t at)
{
	kf->gone = xreallocarray(kf->gone, kf->ngone + 1, sizeof(*kf->gone));
	kf->gone[kf->ngone].day = day;
	kf->gone[kf->ngone++].at = at;
}

/* One line (NUL terminated, no newline) into kf; -1 if not understood. */
static int
parse_line(struct kfile *kf, const char *set, char *line)
{
	char *w[4], *save, *p;
	uint8_t key[PSEUDO_KEY_LEN];
	int64_t day, t;
	const char *errstr;
	int n = 0;

	if (line[0] == '#' || line[0] == '\0')
		return 0;
	for (p = strtok_r(line, " ", &save); p != NULL && n < 4;
	    p = strtok_r(NULL, " ", &save))
		w[n++] = p;
	if (p != NULL || n < 2)
		return -1;
	if (strcmp(w[0], "set") == 0 && n == 2)
		return strcmp(w[1], set) == 0 ? 0 : -1;
	if (strcmp(w[0], "window") == 0 && n == 2) {
		kf->window = strtonum(w[1], 1, INT32_MAX, &errstr);
		return errstr == NULL ? 0 : -1;
	}
	if (n != 3 || keys_parse_day(w[1], &day) == -1)
		return -1;
	if (strcmp(w[0], "gone") == 0) {
		if (format_parse_time(w[2], strlen(w[2]), &t) == -1)
			return -1;
		add_gone(kf, day, t);
		return 0;
	}
	if (unhex(w[2], key, sizeof(key)) == -1)
		return -1;
	if (strcmp(w[0], "master") == 0 && !kf->have_master) {
		kf->have_master = 1;
		kf->master_day = day;
		memcpy(kf->master, key, sizeof(kf->master));
	} else if (strcmp(w[0], "key") == 0 &&
	    (kf->nkeys == 0 || day > kf->keys[kf->nkeys - 1].day))
		add_key(kf, day, key);
	else {
		explicit_bzero(key, sizeof(key));
		return -1;
	}
	explicit_bzero(key, sizeof(key));
	return 0;
}

static int
parse(struct kfile *kf, const char *set, char *buf, const char **err)
{
	char *line, *next;
	unsigned int n = 0;

	for (line = buf; line != NULL && *line != '\0'; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		if (n++ == 0 ? strcmp(line, KEYS_MAGIC) != 0 :
		    parse_line(kf, set, line) == -1) {
			(void)snprintf(keys_errbuf, sizeof(keys_errbuf),
			    "line %u not understood", n);
			*err = keys_errbuf;
			return -1;
		}
	}
	if (n == 0 || !kf->have_master) {
		*err = n == 0 ? "empty" : "no master line";
		return -1;
	}
	return 0;
}

/*
 * Read kdfd/set into kf: 0 (kf empty when there is no file), or -1 and
 * *err.  The bytes read are wiped once parsed.
 */
static int
kfile_read(int kdfd, const char *set, struct kfile *kf, const char **err)
{
	struct stat st;
	const char *why;
	char *buf;
	ssize_t got;
	size_t len = 0;
	int fd, rc;

	memset(kf, 0, sizeof(*kf));
	if ((fd = fsio_openat_file(kdfd, set, &st, &why)) == -1) {
		if (errno == ENOENT)
			return 0;
		*err = syserr(why);
		return -1;
	}
	if (st.st_size > KEYS_FILE_MAX) {
		fsio_close(fd);
		*err = "larger than a key file is";
		return -1;
	}
	buf = xmalloc((size_t)st.st_size + 1);
	while (len < (size_t)st.st_size && (got = fsio_read(fd, buf + len,
	    (size_t)st.st_size - len)) > 0)
		len += (size_t)got;
	fsio_close(fd);
	buf[len] = '\0';
	if (strlen(buf) != len) {
		*err = "a NUL byte in it";
		rc = -1;
	} else
		rc = parse(kf, set, buf, err);
	explicit_bzero(buf, len + 1);
	free(buf);
	if (rc == -1)
		kfile_release(kf);
	return rc;
}

static size_t
put_hex(char *o, const uint8_t *v, size_t n)
{
	static const char x[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		o[2 * i] = x[v[i] >> 4];
		o[2 * i + 1] = x[v[i] & 15];
	}
	return 2 * n;
}

/* "word DAY HEX\n" at o; its length. */
static size_t
put_key(char *o, const char *word, int64_t day, const uint8_t *v)
{
	char d[DAY_TEXT];
	size_t n;

	day_text(day, d);
	n = (size_t)sprintf(o, "%s %s ", word, d);
	n += put_hex(o + n, v, PSEUDO_KEY_LEN);
	o[n++] = '\n';
	return n;
}

/* The text of kf (wiped and freed by the caller); *len its length. */
static char *
encode(const struct kfile *kf, const char *set, size_t *len)
{
	char d[DAY_TEXT], at[32], win[32], *buf;
	size_t cap, n = 0, i;

	cap = 512 + 2 * strlen(set) + (kf->nkeys + 1) * 96 + kf->ngone * 64;
	buf = xmalloc(cap);
	n += (size_t)snprintf(buf + n, cap - n, "%s\n# the pseudonym keys of "
	    "[%s]: each is destroyed when its day is older than the window "
	    "(%s); keep this file out of backups\nset %s\nwindow %lld\n",
	    KEYS_MAGIC, set, config_fmt_duration(kf->window, win, sizeof(win)),
	    set, (long long)kf->window);
	n += put_key(buf + n, "master", kf->master_day, kf->master);
	for (i = 0; i < kf->nkeys; i++)
		n += put_key(buf + n, "key", kf->keys[i].day, kf->keys[i].key);
	for (i = 0; i < kf->ngone; i++) {
		day_text(kf->gone[i].day, d);
		n += (size_t)snprintf(buf + n, cap - n, "gone %s %s\n", d,
		    iso_time(kf->gone[i].at, at, sizeof(at)));
	}
	*len = n;
	return buf;
}

/*
 * Replace kdfd/set with kf's text.  The file it replaces is overwritten
 * with zeros once no name is left to it: its blocks held keys.
 */
static int
kfile_write(int kdfd, const char *set, const struct kfile *kf,
    const char **err)
{
	struct stat st;
	char *buf, zero[4096];
	size_t len;
	off_t left;
	int old, rc;

	buf = encode(kf, set, &len);
	old = fsio_openat(kdfd, set, O_WRONLY | O_NOFOLLOW | O_NONBLOCK, 0);
	rc = store_write(kdfd, set, buf, len);
	if (rc == -1)
		*err = syserr("replace the key file");
	explicit_bzero(buf, len);
	free(buf);
	if (old == -1)
		return rc;
	if (rc == 0 && fsio_fstat(old, &st) == 0 && S_ISREG(st.st_mode) &&
	    st.st_nlink == 0) {
		memset(zero, 0, sizeof(zero));
		for (left = st.st_size; left > 0; left -= (off_t)sizeof(zero))
			if (fsio_write_all(old, zero, left < (off_t)sizeof(zero) ?
			    (size_t)left : sizeof(zero)) == -1)
				break;
		(void)fsio_fsync(old);
	}
	(void)fsio_close(old);
	return rc;
}

/* ---- the ratchet, pruning ------------------------------------------------ */

static void
ratchet_step(uint8_t m[DIGEST_LEN])
{
	uint8_t next[DIGEST_LEN];

	digest_hmac(m, DIGEST_LEN, label_ratchet, sizeof(label_ratchet) - 1,
	    next);
	memcpy(m, next, DIGEST_LEN);
	explicit_bzero(next, sizeof(next));
}

/* Move the master to day `to`, keeping the keys of days >= from. */
static void
ratchet_to(struct kfile *kf, int64_t to, int64_t from)
{
	uint8_t k[DIGEST_LEN];

	for (; kf->master_day < to; kf->master_day++) {
		if (kf->master_day >= from) {
			digest_hmac(kf->master, DIGEST_LEN, label_key,
			    sizeof(label_key) - 1, k);
			add_key(kf, kf->master_day, k);
		}
		ratchet_step(kf->master);
	}
	explicit_bzero(k, sizeof(k));
}

/* Say that set's key of day was destroyed (o NULL: log it). */
static void
said(const struct lc_out *o, const char *set, int64_t day)
{
	char d[DAY_TEXT];

	day_text(day, d);
	if (o != NULL && o->print) {
		printf("%s: %s the pseudonym key of %s\n", log_esc(set),
		    o->dry_run ? "would destroy" : "destroyed", d);
		fflush(stdout);
	} else
		log_info("%s: %s the pseudonym key of %s", log_esc(set),
		    o != NULL && o->dry_run ? "would destroy" : "destroyed", d);
}

/* The last n records of kf: the keys a prune destroyed, once the file
   without them is in place. */
static void
said_gone(const struct kfile *kf, int n, const char *set,
    const struct lc_out *o)
{
	size_t i;

	for (i = kf->ngone - (size_t)n; i < kf->ngone; i++)
		said(o, set, kf->gone[i].day);
}

/*
 * Destroy kf's keys past the window at now (each a record, the last
 * ones of kf->gone), move the master past every day they cover, forget
 * old records.  *destroyed: how many; returns whether kf changed.
 */
static int
prune(struct kfile *kf, int64_t window, int64_t now, int *destroyed)
{
	int64_t alive = first_alive(window, now);
	size_t i, j;
	int changed = kf->window != window;

	*destroyed = 0;
	kf->window = window;
	for (i = j = 0; i < kf->nkeys; i++) {
		if (kf->keys[i].day >= alive) {
			kf->keys[j++] = kf->keys[i];
			continue;
		}
		add_gone(kf, kf->keys[i].day, now);
		(*destroyed)++;
	}
	if (j < kf->nkeys)
		explicit_bzero(kf->keys + j, (kf->nkeys - j) *
		    sizeof(*kf->keys));
	changed |= j < kf->nkeys;
	kf->nkeys = j;
	if (kf->have_master && kf->master_day < alive) {
		ratchet_to(kf, alive, INT64_MAX);
		changed = 1;
	}
	/* in order: those just made stay the last */
	for (i = j = 0; i < kf->ngone; i++)
		if (kf->gone[i].at >= now - KEYS_GONE_KEEP)
			kf->gone[j++] = kf->gone[i];
	changed |= j < kf->ngone;
	kf->ngone = j;
	return changed;
}

/* ---- the directory --------------------------------------------------------- */

/* A set name that cannot name a key file (".", "..", a temp file's). */
static int
bad_name(const char *set, const char **err)
{
	if (set[0] != '.' && strchr(set, '/') == NULL)
		return 0;
	*err = "a set whose name starts with \".\" cannot have pseudonym keys";
	return 1;
}

/*
 * state_dir/keys, made (0700) when create; -1 with errno ENOENT and *err
 * when it is missing and not to be made.
 */
static int
kdir_open(int state_dfd, int create, const char **err)
{
	struct stat st;
	const char *why;
	int fd;

	if (create && fsio_mkdirat(state_dfd, KEYS_DIR, 0700) == -1 &&
	    errno != EEXIST) {
		*err = syserr("create state_dir/" KEYS_DIR);
		return -1;
	}
	if ((fd = fsio_opendirat(state_dfd, KEYS_DIR, &why)) == -1) {
		(void)snprintf(keys_errbuf, sizeof(keys_errbuf),
		    "state_dir/" KEYS_DIR ": %s", why);
		*err = keys_errbuf;
		return -1;
	}
	/* Nobody else's to read, even when someone made it so. */
	if (fsio_fstat(fd, &st) == -1 || ((st.st_mode & 077) != 0 &&
	    fsio_fchmod(fd, 0700) == -1)) {
		*err = syserr("state_dir/" KEYS_DIR);
		fsio_close(fd);
		return -1;
	}
	return fd;
}

/* kdfd, locked; -1 and *err (errno ENOENT: missing, not made). */
static int
kdir_lock(int state_dfd, int create, const char **err)
{
	int fd;

	if ((fd = kdir_open(state_dfd, create, err)) == -1)
		return -1;
	if (fsio_flock(fd) == -1) {
		*err = syserr("lock state_dir/" KEYS_DIR);
		fsio_close(fd);
		return -1;
	}
	return fd;
}

static int
find_key(const struct kfile *kf, int64_t day, uint8_t key[PSEUDO_KEY_LEN])
{
	size_t i;

	for (i = 0; i < kf->nkeys; i++)
		if (kf->keys[i].day == day) {
			memcpy(key, kf->keys[i].key, PSEUDO_KEY_LEN);
			return 1;
		}
	return 0;
}

/* Make the key of day in kf (locked, read); 1, or 0 when it may not. */
static int
make_key(struct kfile *kf, int64_t window, int64_t day, int64_t now,
    const char **err)
{
	int64_t alive = first_alive(window, now);

	if (day < alive || day > pseudo_day(now) + 1 ||
	    (kf->have_master && day < kf->master_day))
		return 0;
	if (!kf->have_master) {
		if (getrandom(kf->master, sizeof(kf->master), 0) !=
		    (ssize_t)sizeof(kf->master)) {
			*err = syserr("getrandom");
			return -1;
		}
		kf->have_master = 1;
		kf->master_day = alive;
		kf->window = window;
	}
	ratchet_to(kf, day + 1, alive);
	return 1;
}

static int
day_key(int state_dfd, const char *set, int64_t window, int64_t day,
    int create, int64_t now, uint8_t key[PSEUDO_KEY_LEN], const char **err)
{
	struct kfile kf;
	int kdfd, rc, destroyed;

	if (bad_name(set, err))
		return -1;
	kdfd = create ? kdir_lock(state_dfd, 1, err) :
	    kdir_open(state_dfd, 0, err);
	if (kdfd == -1)
		return !create && errno == ENOENT ? 0 : -1;
	if (kfile_read(kdfd, set, &kf, err) == -1) {
		fsio_close(kdfd);
		return -1;
	}
	if ((rc = find_key(&kf, day, key)) == 0 && create &&
	    (rc = make_key(&kf, window, day, now, err)) == 1) {
		(void)prune(&kf, window, now, &destroyed);
		if (kfile_write(kdfd, set, &kf, err) == -1 ||
		    (rc = find_key(&kf, day, key)) == 0)
			rc = -1;
		else
			said_gone(&kf, destroyed, set, NULL);
	}
	kfile_release(&kf);
	fsio_close(kdfd);
	return rc;
}

int
keys_day(int state_dfd, const struct logset *set, int64_t day, int create,
    int64_t now, uint8_t key[PSEUDO_KEY_LEN], const char **err)
{
	return day_key(state_dfd, set->name, set->window, day, create, now,
	    key, err);
}

int64_t
keys_destroyed(int state_dfd, const struct logset *set, int64_t day)
{
	struct kfile kf;
	const char *err;
	int64_t at = TIME_NONE;
	size_t i;
	int kdfd;

	if (bad_name(set->name, &err) ||
	    (kdfd = kdir_open(state_dfd, 0, &err)) == -1)
		return TIME_NONE;
	if (kfile_read(kdfd, set->name, &kf, &err) == 0) {
		for (i = 0; i < kf.ngone; i++)
			if (kf.gone[i].day == day)
				at = kf.gone[i].at;
		kfile_release(&kf);
	}
	fsio_close(kdfd);
	return at;
}

/* Prune kdfd/name (locked unless o->dry_run); -1 and *err. */
static int
prune_file(int kdfd, const char *name, int64_t window, int64_t now,
    const struct lc_out *o, int64_t *next, const char **err)
{
	struct kfile kf;
	int64_t t;
	size_t i;
	int destroyed;

	if (kfile_read(kdfd, name, &kf, err) == -1)
		return -1;
	if (window <= 0)
		window = kf.window;
	if (window <= 0) {
		*err = "no window known: left as it is";
		kfile_release(&kf);
		return -1;
	}
	if (prune(&kf, window, now, &destroyed) &&
	    (o == NULL || !o->dry_run) && kf.have_master &&
	    kfile_write(kdfd, name, &kf, err) == -1) {
		kfile_release(&kf);
		return -1;
	}
	said_gone(&kf, destroyed, name, o);
	for (i = 0; i < kf.nkeys; i++) {
		t = (kf.keys[i].day + 1) * PSEUDO_DAY + window;
		if (t < *next)
			*next = t;
	}
	kfile_release(&kf);
	return destroyed;
}

int
keys_prune(int state_dfd, const struct logset *set, int64_t now,
    const struct lc_out *o, const char **err)
{
	int64_t next = INT64_MAX;
	int kdfd, rc;

	if (bad_name(set->name, err))
		return -1;
	kdfd = o != NULL && o->dry_run ? kdir_open(state_dfd, 0, err) :
	    kdir_lock(state_dfd, 0, err);
	if (kdfd == -1)
		return errno == ENOENT ? 0 : -1;
	rc = prune_file(kdfd, set->name, set->window, now, o, &next, err);
	fsio_close(kdfd);
	return rc;
}

int
keys_prune_all(int state_dfd, const struct config *conf, int64_t now,
    const struct lc_out *o, int64_t *next)
{
	struct dirent *de;
	struct stat st;
	const char *err;
	int64_t window;
	size_t i;
	DIR *d;
	int kdfd, n, total = 0, failed = 0, dry = o != NULL && o->dry_run;

	/* Another lethe (mask --pseudonym) may make a key meanwhile. */
	*next = now + (conf->sweep > 0 ? conf->sweep : 60);
	kdfd = dry ? kdir_open(state_dfd, 0, &err) :
	    kdir_lock(state_dfd, 0, &err);
	if (kdfd == -1) {
		if (errno == ENOENT)
			return 0;
		log_warnx("pseudonym keys: %s", err);
		*next = now + BACKOFF_MAX;
		return -1;
	}
	/* A temp file a crash left holds keys too. */
	if (!dry && fsio_clean_tmp(kdfd, NULL, NULL) == -1)
		log_warn("clean temp files in state_dir/" KEYS_DIR);
	if ((d = fsio_dir_open(kdfd)) == NULL) {
		log_warn("read state_dir/" KEYS_DIR);
		fsio_close(kdfd);
		*next = now + BACKOFF_MAX;
		return -1;
	}
	while ((de = fsio_dir_next(d)) != NULL) {
		if (de->d_name[0] == '.' ||
		    fsio_fstatat(kdfd, de->d_name, &st) == -1 ||
		    !S_ISREG(st.st_mode))
			continue;
		/* A set no longer configured: the window it was made for. */
		window = 0;
		for (i = 0; i < conf->nsets; i++)
			if (strcmp(conf->sets[i].name, de->d_name) == 0)
				window = conf->sets[i].window;
		if ((n = prune_file(kdfd, de->d_name, window, now, o, next,
		    &err)) == -1) {
			log_warnx("pseudonym keys \"%s/%s/%s\": %s",
			    log_esc(conf->state_dir), KEYS_DIR,
			    log_esc(de->d_name), err);
			failed = 1;
			continue;
		}
		total += n;
	}
	fsio_dir_close(d);
	fsio_close(kdfd);
	if (failed && *next > now + BACKOFF_MAX)
		*next = now + BACKOFF_MAX;
	return failed ? -1 : total;
}

const struct logset *
keys_pick_set(const struct config *conf, const char *name)
{
	const struct logset *set = NULL;
	char list[256];
	size_t i, n = 0;

	list[0] = '\0';
	for (i = 0; i < conf->nsets; i++) {
		if (name != NULL) {
			if (strcmp(conf->sets[i].name, name) == 0)
				return &conf->sets[i];
			continue;
		}
		if (conf->sets[i].transform != TRANSFORM_PSEUDONYM)
			continue;
		set = &conf->sets[i];
		if (n++ > 0)
			(void)strlcat(list, ", ", sizeof(list));
		(void)strlcat(list, log_esc(set->name), sizeof(list));
	}
	if (name != NULL)
		log_warnx("--set %s: no such set", log_esc(name));
	else if (n == 0)
		log_warnx("no set has transform = pseudonym");
	else if (n > 1)
		log_warnx("more than one set has transform = pseudonym (%s): "
		    "say which with --set NAME", list);
	return n == 1 ? set : NULL;
}

/* ---- the keyring: a set's keys for a long-lived reader ---------------- */

struct keyring {
	int		 state_dfd;	/* not owned */
	char		*set;
	int64_t		 window;
	struct kday	 cache[KEYRING_CACHE];
	size_t		 n;
	const char	*err;
};

struct keyring *
keyring_new(int state_dfd, const struct logset *set)
{
	struct keyring *kr = xcalloc(1, sizeof(*kr));

	kr->state_dfd = state_dfd;
	kr->set = xstrdup(set->name);
	kr->window = set->window;
	kr->err = "no error";
	return kr;
}

void
keyring_free(struct keyring *kr)
{
	if (kr == NULL)
		return;
	free(kr->set);
	explicit_bzero(kr, sizeof(*kr));
	free(kr);
}

void
keyring_forget(struct keyring *kr, int64_t now)
{
	int64_t alive = first_alive(kr->window, now);
	size_t i, j;

	for (i = j = 0; i < kr->n; i++)
		if (kr->cache[i].day >= alive)
			kr->cache[j++] = kr->cache[i];
	explicit_bzero(kr->cache + j, (KEYRING_CACHE - j) *
	    sizeof(kr->cache[0]));
	kr->n = j;
}

int
keyring_get(struct keyring *kr, int64_t day, int64_t now,
    uint8_t key[PSEUDO_KEY_LEN])
{
	size_t i, low = 0;
	int rc;

	keyring_forget(kr, now);
	if (day < first_alive(kr->window, now))
		return 0;
	for (i = 0; i < kr->n; i++)
		if (kr->cache[i].day == day) {
			memcpy(key, kr->cache[i].key, PSEUDO_KEY_LEN);
			return 1;
		}
	rc = day_key(kr->state_dfd, kr->set, kr->window, day, 1, now, key,
	    &kr->err);
	if (rc != 1)
		return rc;
	if (kr->n == KEYRING_CACHE) {
		for (i = 1; i < kr->n; i++)
			if (kr->cache[i].day < kr->cache[low].day)
				low = i;
		kr->cache[low] = kr->cache[--kr->n];
	}
	kr->cache[kr->n].day = day;
	memcpy(kr->cache[kr->n++].key, key, PSEUDO_KEY_LEN);
	return 1;
}

const char *
keyring_error(const struct keyring *kr)
{
	return kr->err;
}

static int
keyring_key_cb(void *arg, int64_t day, int64_t now,
    uint8_t key[PSEUDO_KEY_LEN])
{
	return keyring_get(arg, day, now, key);
}

struct xform *
keyring_xform(struct keyring *kr, int prefix, int64_t now)
{
	return xform_pseudonym_new(keyring_key_cb, kr, kr->window, prefix,
	    now);
}
