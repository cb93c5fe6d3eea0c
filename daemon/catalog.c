/*
 * The catalog: which files lethe manages.  Each set's globs name live
 * files; the rotated siblings of a live file (BASE.1, BASE-20261128.gz,
 * BASE-20261129T0400Z, ...) belong to the same set, whether or not the
 * live file still exists.  A name that looks rotated is never live.
 */
#include <sys/stat.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lethe.h"

static int
all_digits(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return 0;
	return n > 0;
}

/* BASE-YYYYMMDDTHHMMZ, lethe's own segment names (UTC). */
static size_t
lethe_stamp_base(const char *name, size_t end)
{
	const char *p;

	if (end < 16)
		return 0;
	p = name + end - 15;
	if (p[0] != '-' || p[9] != 'T' || p[14] != 'Z')
		return 0;
	if (!all_digits(p + 1, 8) || !all_digits(p + 10, 4))
		return 0;
	return end - 15;
}

/*
 * The name a compressed copy of name takes: name + ".gz", or name itself
 * when it already ends in ".gz" (plain text under a gzip name is
 * compressed in place, so it keeps its place in the set).  Returns NULL
 * for "in place", else buf; "" when it does not fit.
 */
const char *
catalog_gz_name(const char *name, char *buf, size_t bufsz)
{
	size_t len = strlen(name);

	if (len > 3 && strcmp(name + len - 3, ".gz") == 0)
		return NULL;
	if ((size_t)snprintf(buf, bufsz, "%s.gz", name) >= bufsz)
		return "";
	return buf;
}

/* Is name one of lethe's own segments (BASE-YYYYMMDDTHHMMZ[.gz])? */
int
catalog_is_segment(const char *name)
{
	size_t len = strlen(name);

	if (len > 3 && strcmp(name + len - 3, ".gz") == 0)
		len -= 3;
	return lethe_stamp_base(name, len) != 0;
}

size_t
catalog_rotated_base(const char *name)
{
	size_t len = strlen(name), end = len, i, base;
	int gz = 0;

	if (len > 3 && strcmp(name + len - 3, ".gz") == 0) {
		end = len - 3;
		gz = 1;
	}
	if ((base = lethe_stamp_base(name, end)) != 0)
		return base;
	for (i = end; i > 0 && isdigit((unsigned char)name[i - 1]); i--)
		;
	if (i > 1 && i < end) {
		if (name[i - 1] == '.' && end - i <= 6)
			return i - 1;
		if (name[i - 1] == '-' && (end - i == 8 || end - i == 10))
			return i - 1;
	}
	return gz && end > 0 ? end : 0;
}

static struct mdir *
catalog_dir(struct catalog *cat, const char *path)
{
	struct mdir *d;
	const char *why = NULL;
	size_t i;

	for (i = 0; i < cat->ndirs; i++)
		if (strcmp(cat->dirs[i]->path, path) == 0)
			return cat->dirs[i];
	d = xcalloc(1, sizeof(*d));
	d->path = xstrdup(path);
	if ((d->fd = fsio_opendir(path, &why)) == -1) {
		log_warnx("refusing directory \"%s\": %s", log_esc(path), why);
		cat->nerrors++;
	}
	cat->dirs = xreallocarray(cat->dirs, cat->ndirs + 1,
	    sizeof(*cat->dirs));
	cat->dirs[cat->ndirs++] = d;
	return d;
}

static const char *
entry_refusal(const struct stat *st)
{
	if (S_ISLNK(st->st_mode))
		return "is a symbolic link";
	if (!S_ISREG(st->st_mode))
		return "not a regular file";
	if (st->st_nlink > 1)
		return "has more than one hard link";
	return NULL;
}

static int
mfile_cmp(const void *a, const void *b)
{
	const struct mfile *const *fa = a, *const *fb = b;

	return strcmp((*fa)->path, (*fb)->path);
}

/*
 * The files found so far, by directory and name, while discovering: a
 * directory that several globs look in would otherwise cost a linear
 * search per entry (quadratic in the number of files).  Open addressing,
 * kept at most half full.
 */
struct seen {
	struct mfile   **v;
	size_t		 cap;		/* a power of two, or 0 */
	size_t		 n;
};

static size_t
seen_hash(const struct mdir *d, const char *name)
{
	uint64_t h = 14695981039346656037ULL ^ (uint64_t)(uintptr_t)d;

	for (; *name != '\0'; name++)
		h = (h ^ (unsigned char)*name) * 1099511628211ULL;
	return (size_t)(h ^ h >> 29);
}

static struct mfile **
seen_slot(struct seen *sn, const struct mdir *d, const char *name)
{
	struct mfile **e;
	size_t i;

	for (i = seen_hash(d, name) & (sn->cap - 1);; i = (i + 1) &
	    (sn->cap - 1)) {
		e = &sn->v[i];
		if (*e == NULL || ((*e)->dir == d &&
		    strcmp((*e)->name, name) == 0))
			return e;
	}
}

static void
seen_add(struct seen *sn, struct mfile *f)
{
	struct mfile **old = sn->v;
	size_t i, ocap = sn->cap;

	if (2 * (sn->n + 1) > sn->cap) {
		sn->cap = ocap ? 2 * ocap : 256;
		sn->v = xcalloc(sn->cap, sizeof(*sn->v));
		for (i = 0; i < ocap; i++)
			if (old[i] != NULL)
				*seen_slot(sn, old[i]->dir, old[i]->name) =
				    old[i];
		free(old);
	}
	*seen_slot(sn, f->dir, f->name) = f;
	sn->n++;
}

static struct mfile *
seen_find(struct seen *sn, const struct mdir *d, const char *name)
{
	return sn->cap == 0 ? NULL : *seen_slot(sn, d, name);
}

/* The file dir/name, in a catalog sorted by path (catalog_discover). */
static struct mfile *
catalog_find(struct catalog *cat, const struct mdir *d, const char *name)
{
	struct mfile key, *kp = &key, **f;

	key.path = NULL;
	xasprintf(&key.path, "%s/%s", d->path, name);
	f = bsearch(&kp, cat->files, cat->nfiles, sizeof(*cat->files),
	    mfile_cmp);
	free(key.path);
	return f != NULL && (*f)->dir == d ? *f : NULL;
}

/*
 * A refusal is logged once, not at every rescan (the daemon rescans at
 * every change in a log directory, and a hostile writer could flood the
 * journal): the last REFUSAL_MEMORY refusals are remembered by name,
 * inode and reason; and at most REFUSAL_BURST new ones are logged a
 * minute, the rest counted and said later.
 */
#define REFUSAL_MEMORY	64
#define REFUSAL_BURST	20

static void
refusal_log(const struct mfile *f)
{
	static struct {
		uint32_t	 hash;
		ino_t		 ino;
		const char	*why;
	} mem[REFUSAL_MEMORY];
	static size_t next, logged, dropped;
	static time_t window;
	uint32_t h = 2166136261u;
	const char *p;
	time_t now = time(NULL);
	size_t i;

	for (p = f->path; *p != '\0'; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	for (i = 0; i < REFUSAL_MEMORY; i++)
		if (mem[i].hash == h && mem[i].ino == f->st.st_ino &&
		    mem[i].why == f->refused) {
			log_debug("skipping \"%s\": %s", log_esc(f->path),
			    f->refused);
			return;
		}
	mem[next].hash = h;
	mem[next].ino = f->st.st_ino;
	mem[next].why = f->refused;
	next = (next + 1) % REFUSAL_MEMORY;
	if (now - window >= 60) {
		if (dropped > 0)
			log_warnx("%zu more refused entries were not logged",
			    dropped);
		window = now;
		logged = dropped = 0;
	}
	if (logged++ < REFUSAL_BURST)
		log_warnx("skipping \"%s\": %s", log_esc(f->path), f->refused);
	else
		dropped++;
}

static void
catalog_add(struct catalog *cat, struct seen *sn, struct logset *set,
    struct mdir *d, const char *name, int live)
{
	struct mfile *f;
	struct stat st;

	if ((f = seen_find(sn, d, name)) != NULL) {
		if (f->set != set) {
			log_warnx("\"%s\" is matched by sets [%s] and [%s]",
			    log_esc(f->path), f->set->name, set->name);
			cat->nerrors++;
		}
		return;
	}
	if (fstatat(d->fd, name, &st, AT_SYMLINK_NOFOLLOW) == -1) {
		if (errno != ENOENT)
			log_warn("stat \"%s/%s\"", log_esc(d->path),
			    log_esc(name));
		return;
	}
	cat->files = xreallocarray(cat->files, cat->nfiles + 1,
	    sizeof(*cat->files));
	f = cat->files[cat->nfiles++] = xcalloc(1, sizeof(*f));
	f->fd = -1;
	f->set = set;
	f->dir = d;
	f->name = xstrdup(name);
	xasprintf(&f->path, "%s/%s", d->path, name);
	f->live = live;
	f->st = st;
	if ((f->refused = entry_refusal(&st)) != NULL)
		refusal_log(f);
	seen_add(sn, f);
}

/* Every entry of d whose base name matches pattern joins set. */
static void
catalog_scan_dir(struct catalog *cat, struct seen *sn, struct logset *set,
    struct mdir *d, const char *pattern)
{
	struct dirent *de;
	DIR *dp;
	char base[NAME_MAX + 1];
	size_t blen;
	int fd;

	if (d->fd == -1)
		return;
	d->patterns = xreallocarray(d->patterns, d->npatterns + 1,
	    sizeof(*d->patterns));
	d->patterns[d->npatterns++] = xstrdup(pattern);
	if ((fd = dup(d->fd)) == -1 || (dp = fdopendir(fd)) == NULL) {
		log_warn("read directory \"%s\"", log_esc(d->path));
		if (fd != -1)
			close(fd);
		cat->nerrors++;
		return;
	}
	rewinddir(dp);
	while ((de = readdir(dp)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		blen = catalog_rotated_base(de->d_name);
		strlcpy(base, de->d_name, sizeof(base));
		if (blen != 0)
			base[blen] = '\0';
		if (fnmatch(pattern, base, FNM_PERIOD) == 0)
			catalog_add(cat, sn, set, d, de->d_name, blen == 0);
	}
	closedir(dp);
}

static void
catalog_glob(struct catalog *cat, struct seen *sn, struct logset *set,
    const char *g)
{
	const char *slash = strrchr(g, '/');
	char *dirpat;
	glob_t gl;
	size_t i;
	int rc;

	if (slash == NULL || slash[1] == '\0') {
		log_warnx("[%s]: logs \"%s\" must name files by absolute path",
		    set->name, log_esc(g));
		cat->nerrors++;
		return;
	}
	dirpat = slash == g ? xstrdup("/") : xstrndup(g, (size_t)(slash - g));
	memset(&gl, 0, sizeof(gl));
	rc = glob(dirpat, GLOB_ONLYDIR | GLOB_NOCHECK, NULL, &gl);
	if (rc != 0) {
		log_warnx("[%s]: no directory matches \"%s\"", set->name,
		    log_esc(dirpat));
		cat->nerrors++;
	}
	for (i = 0; rc == 0 && i < gl.gl_pathc; i++)
		catalog_scan_dir(cat, sn, set, catalog_dir(cat,
		    gl.gl_pathv[i]), slash + 1);
	globfree(&gl);
	free(dirpat);
}

void
mfile_free(struct mfile *f)
{
	if (f == NULL)
		return;
	if (f->fd != -1)
		close(f->fd);
	free(f->name);
	free(f->path);
	free(f);
}

int
catalog_discover(struct catalog *cat, struct config *conf)
{
	struct seen sn = { NULL, 0, 0 };
	struct logset *set;
	size_t i, j;

	memset(cat, 0, sizeof(*cat));
	for (i = 0; i < conf->nsets; i++) {
		set = &conf->sets[i];
		for (j = 0; j < set->nglobs; j++)
			catalog_glob(cat, &sn, set, set->globs[j]);
	}
	free(sn.v);
	if (cat->nfiles > 1)
		qsort(cat->files, cat->nfiles, sizeof(*cat->files), mfile_cmp);
	return cat->nerrors > 0 ? -1 : 0;
}

void
catalog_release(struct catalog *cat)
{
	size_t i, j;

	for (i = 0; i < cat->nfiles; i++)
		mfile_free(cat->files[i]);
	free(cat->files);
	for (i = 0; i < cat->ndirs; i++) {
		if (cat->dirs[i]->fd != -1)
			close(cat->dirs[i]->fd);
		for (j = 0; j < cat->dirs[i]->npatterns; j++)
			free(cat->dirs[i]->patterns[j]);
		free(cat->dirs[i]->patterns);
		free(cat->dirs[i]->path);
		free(cat->dirs[i]);
	}
	free(cat->dirs);
	memset(cat, 0, sizeof(*cat));
}

/* Is name (a temp file's target) one of the names managed in dir arg? */
static int
tmp_is_ours(const char *name, void *arg)
{
	const struct mdir *d = arg;
	char base[NAME_MAX + 1];
	size_t i, blen;

	strlcpy(base, name, sizeof(base));
	if ((blen = catalog_rotated_base(base)) != 0)
		base[blen] = '\0';
	for (i = 0; i < d->npatterns; i++)
		if (fnmatch(d->patterns[i], base, FNM_PERIOD) == 0)
			return 1;
	return 0;
}

void
catalog_clean_tmp(struct catalog *cat)
{
	size_t i;

	for (i = 0; i < cat->ndirs; i++)
		if (cat->dirs[i]->fd != -1)
			fsio_clean_tmp(cat->dirs[i]->fd, tmp_is_ours,
			    cat->dirs[i]);
}

/* Does the gzip file at fd carry our header comment "lethe"? */
static int
gzip_is_ours(int fd)
{
	unsigned char h[512];
	ssize_t n;
	size_t i = 10, len;

	if ((n = fsio_pread(fd, h, sizeof(h), 0)) < 10)
		return 0;
	len = (size_t)n;
	if (h[0] != 0x1f || h[1] != 0x8b || h[2] != 8 || !(h[3] & 0x10))
		return 0;
	if (h[3] & 0x04) {			/* FEXTRA */
		if (len < 12)
			return 0;
		i = 12 + (size_t)(h[10] | h[11] << 8);
	}
	if (h[3] & 0x08)			/* FNAME */
		while (i < len && h[i++] != 0)
			;
	return i + 6 <= len && memcmp(h + i, "lethe", 6) == 0;
}

static int
count_lines(const struct mfile *f, uint64_t *lines, int want_ours)
{
	struct rewrite_opts opts;
	struct rewrite_stats rs;
	struct stat st;
	const char *why;
	int fd, rc = -1;

	if ((fd = fsio_openat_file(f->dir->fd, f->name, &st, &why)) == -1)
		return -1;
	if (want_ours && !gzip_is_ours(fd))
		goto out;
	memset(&opts, 0, sizeof(opts));
	opts.format = f->set->format;
	opts.prefix = f->set->prefix;
	opts.mask_before = TIME_NONE;
	opts.start_time = TIME_NONE;
	opts.audit_before = TIME_NONE;
	if (rewrite_scan(fd, &opts, &rs, &why) == 0) {
		*lines = rs.lines;
		rc = 0;
	}
out:
	fsio_close(fd);
	return rc;
}

int
catalog_recover_pairs(struct catalog *cat)
{
	struct mfile *plain, *gz;
	char name[NAME_MAX + 1];
	uint64_t nplain, ngz;
	size_t i;
	int removed = 0;

	for (i = 0; i < cat->nfiles; i++) {
		plain = cat->files[i];
		if (plain->refused != NULL || plain->live ||
		    (size_t)snprintf(name, sizeof(name), "%s.gz", plain->name) >=
		    sizeof(name))
			continue;
		if ((gz = catalog_find(cat, plain->dir, name)) == NULL ||
		    gz->refused != NULL)
			continue;
		if (count_lines(gz, &ngz, 1) == -1 ||
		    count_lines(plain, &nplain, 0) == -1 || ngz != nplain)
			continue;
		if (fsio_unlinkat(plain->dir->fd, plain->name) == -1) {
			log_warn("unlink \"%s\"", log_esc(plain->path));
			continue;
		}
		log_info("removed \"%s\": a crash left it beside its "
		    "compressed copy", log_esc(plain->path));
		plain->refused = "removed";
		removed++;
	}
	return removed;
}
