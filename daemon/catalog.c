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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "lethe.h"

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
	if (fsio_fstatat(d->fd, name, &st) == -1) {
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
		blen = names_rotated_base(de->d_name);
		strlcpy(base, de->d_name, sizeof(base));
		if (blen != 0)
			base[blen] = '\0';
		if (fnmatch(pattern, base, FNM_PERIOD) == 0)
			catalog_add(cat, sn, set, d, de->d_name, blen == 0);
	}
	closedir(dp);
}

struct glob_arg {
	struct catalog	*cat;
	struct seen	*sn;
	struct logset	*set;
	const char	*pattern;	/* of the base names */
	size_t		 found;
};

static void
glob_dir(const char *path, void *arg)
{
	struct glob_arg *g = arg;

	g->found++;
	catalog_scan_dir(g->cat, g->sn, g->set, catalog_dir(g->cat, path),
	    g->pattern);
}

/* A set's glob: its directories (walk.c, no link followed), then names. */
static void
catalog_glob(struct catalog *cat, struct seen *sn, struct logset *set,
    const char *g)
{
	const char *slash = strrchr(g, '/'), *why;
	struct glob_arg ga;
	char *dirpat;
	size_t links = 0;

	if (slash == NULL || slash[1] == '\0') {
		log_warnx("[%s]: logs \"%s\" must name files by absolute path",
		    set->name, log_esc(g));
		cat->nerrors++;
		return;
	}
	dirpat = slash == g ? xstrdup("/") : xstrndup(g, (size_t)(slash - g));
	memset(&ga, 0, sizeof(ga));
	ga.cat = cat;
	ga.sn = sn;
	ga.set = set;
	ga.pattern = slash + 1;
	if (walk_dirs(dirpat, glob_dir, &ga, &links, &why) == -1) {
		log_warnx("[%s]: logs \"%s\": %s", set->name, log_esc(g), why);
		cat->nerrors++;
	} else if (links > 0)
		cat->nerrors++;	/* named as it was met */
	else if (ga.found == 0 && set->mirror_of == NULL) {
		log_warnx("[%s]: no directory matches \"%s\"", set->name,
		    log_esc(dirpat));
		cat->nerrors++;
	}	/* a mirror's directory: the daemon makes it */
	free(dirpat);
}

void
mfile_free(struct mfile *f)
{
	if (f == NULL)
		return;
	if (f->fd != -1)
		close(f->fd);
	mirror_free(f->mir);
	forward_file_gone(f);
	tail_release(&f->tp);
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
	if ((blen = names_rotated_base(base)) != 0)
		base[blen] = '\0';
	for (i = 0; i < d->npatterns; i++)
		if (fnmatch(d->patterns[i], base, FNM_PERIOD) == 0)
			return 1;
	return 0;
}

/*
 * What a crash left in the log directories: claims first (an act that
 * finished is completed, one that did not is undone), then temp files.
 * Returns the number of claims found, so the caller rescans.
 */
int
catalog_recover(struct catalog *cat)
{
	size_t i;
	int n, claims = 0;

	for (i = 0; i < cat->ndirs; i++) {
		if (cat->dirs[i]->fd == -1)
			continue;
		if ((n = fsio_recover_claims(cat->dirs[i]->fd, tmp_is_ours,
		    cat->dirs[i])) == -1)
			log_warn("recover \"%s\"", log_esc(cat->dirs[i]->path));
		else
			claims += n;
		if (fsio_clean_tmp(cat->dirs[i]->fd, tmp_is_ours,
		    cat->dirs[i]) == -1)
			log_warn("clean temp files in \"%s\"",
			    log_esc(cat->dirs[i]->path));
	}
	return claims;
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

/* The CRC-32 and length (mod 2^32) of a plain file's bytes. */
static int
plain_crc(int fd, uint32_t *crc, uint32_t *len)
{
	char buf[64 * 1024];
	uLong c = crc32(0L, Z_NULL, 0);
	uint64_t off = 0;
	ssize_t n;

	while ((n = fsio_pread(fd, buf, sizeof(buf), (off_t)off)) > 0) {
		c = crc32(c, (const Bytef *)buf, (uInt)n);
		off += (uint64_t)n;
	}
	if (n == -1)
		return -1;
	*crc = (uint32_t)c;
	*len = (uint32_t)off;
	return 0;
}

/* The trailer of our single-member gzip file: CRC-32 and ISIZE. */
static int
gzip_trailer(int fd, const struct stat *st, uint32_t *crc, uint32_t *len)
{
	unsigned char t[8];

	if (st->st_size < 18 || !gzip_is_ours(fd) ||
	    fsio_pread(fd, t, sizeof(t), st->st_size - 8) != 8)
		return -1;
	*crc = (uint32_t)t[0] | (uint32_t)t[1] << 8 | (uint32_t)t[2] << 16 |
	    (uint32_t)t[3] << 24;
	*len = (uint32_t)t[4] | (uint32_t)t[5] << 8 | (uint32_t)t[6] << 16 |
	    (uint32_t)t[7] << 24;
	return 0;
}

/*
 * Is plain's content exactly what gz holds (gz being our own gzip)?  By
 * gz's trailer: CRC-32 and length of the uncompressed data.  Fills *pst
 * with plain's identity.
 */
static int
pair_same(const struct mfile *plain, const struct mfile *gz,
    struct stat *pst)
{
	struct stat gst;
	uint32_t pc, pl, gc, gl;
	const char *why;
	int pfd, gfd, same = 0;

	if ((gfd = fsio_openat_file(gz->dir->fd, gz->name, &gst, &why)) == -1)
		return 0;
	if ((pfd = fsio_openat_file(plain->dir->fd, plain->name, pst,
	    &why)) == -1) {
		fsio_close(gfd);
		return 0;
	}
	if (gzip_trailer(gfd, &gst, &gc, &gl) == 0 &&
	    plain_crc(pfd, &pc, &pl) == 0)
		same = pc == gc && pl == gl;
	fsio_close(pfd);
	fsio_close(gfd);
	return same;
}

int
catalog_recover_pairs(struct catalog *cat)
{
	struct mfile *plain, *gz;
	char name[NAME_MAX + 1];
	struct stat pst;
	const char *why;
	size_t i;
	int removed = 0;

	for (i = 0; i < cat->nfiles; i++) {
		plain = cat->files[i];
		if (plain->refused != NULL || plain->live ||
		    (size_t)snprintf(name, sizeof(name), "%s.gz", plain->name) >=
		    sizeof(name))
			continue;
		if ((gz = catalog_find(cat, plain->dir, name)) == NULL ||
		    gz->refused != NULL || !pair_same(plain, gz, &pst))
			continue;
		if (fsio_unlink_checked(plain->dir->fd, plain->name, &pst,
		    &why) == -1) {
			log_warn("remove \"%s\": %s", log_esc(plain->path), why);
			continue;
		}
		log_info("removed \"%s\": \"%s\" holds the same bytes (a "
		    "compression stopped before removing it)",
		    log_esc(plain->path), log_esc(name));
		plain->refused = "removed";
		removed++;
	}
	return removed;
}
