/*
 * Walking the directories of a set's globs: "/var/log/nginx", or
 * "/srv/STAR/logs" with wildcards (STAR: '*'), expanded one component at a time from
 * "/" with openat(O_NOFOLLOW), so no symbolic link anywhere in a path is
 * ever followed (a link named in a path is refused, one a wildcard
 * matches is skipped, each said once), pseudo file systems (/proc, /sys,
 * /dev and their kind) are never entered by a wildcard, and a pattern
 * visits WALK_MAX directories at most: six levels of '*' before
 * access.log end in seconds, said, instead of walking the whole machine.
 */
#include <sys/stat.h>
#include <sys/statfs.h>

#include <linux/magic.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lethe.h"

#define WALK_MAX	4096	/* directories a pattern may visit */
#define WALK_DEPTH	64	/* components of a pattern */
#define SAID_MAX	64	/* skipped paths remembered, said once */

struct walk {
	char	       **comp;
	size_t		 ncomp;
	size_t		 visited;
	int		 over;		/* WALK_MAX reached */
	size_t		 links;		/* symbolic links met */
	walk_fn		 fn;
	void		*arg;
};

static const long pseudo_fs[] = {
	PROC_SUPER_MAGIC, SYSFS_MAGIC, DEVPTS_SUPER_MAGIC, CGROUP_SUPER_MAGIC,
	CGROUP2_SUPER_MAGIC, DEBUGFS_MAGIC, TRACEFS_MAGIC, SECURITYFS_MAGIC,
	BPF_FS_MAGIC, PSTOREFS_MAGIC, EFIVARFS_MAGIC, HUGETLBFS_MAGIC,
	BINFMTFS_MAGIC, NSFS_MAGIC, 0x65735543 /* fusectl */,
	0x62656570 /* configfs */,
};

/* Say a skipped path once (a daemon rescans often). */
static void
said_once(const char *path, const char *why)
{
	static uint32_t said[SAID_MAX];
	static size_t next;
	uint32_t h = 2166136261u;
	const char *p;
	size_t i;

	for (p = path; *p != '\0'; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	for (i = 0; i < SAID_MAX; i++)
		if (said[i] == h)
			return;
	said[next++ % SAID_MAX] = h;
	log_warnx("skipping \"%s\": %s", log_esc(path), why);
}

static int
is_pseudo(int fd, const char *path)
{
	struct statfs sf;
	size_t i;

	if (strncmp(path, "/proc/", 6) == 0 || strncmp(path, "/sys/", 5) == 0 ||
	    strncmp(path, "/dev/", 5) == 0 || strcmp(path, "/proc") == 0 ||
	    strcmp(path, "/sys") == 0 || strcmp(path, "/dev") == 0)
		return 1;
	if (fsio_fstatfs(fd, &sf) == -1)
		return 0;
	for (i = 0; i < sizeof(pseudo_fs) / sizeof(pseudo_fs[0]); i++)
		if ((long)sf.f_type == pseudo_fs[i])
			return 1;
	return 0;
}

static void
link_said(const char *path, const char *name)
{
	char sub[PATH_MAX];

	if ((size_t)snprintf(sub, sizeof(sub), "%s/%s", strcmp(path, "/") ?
	    path : "", name) < sizeof(sub))
		said_once(sub, "a symbolic link (lethe follows none)");
}

static int
has_wildcard(const char *s)
{
	return strpbrk(s, "*?[") != NULL;
}

static void	walk_at(struct walk *, int, const char *, size_t, int);

/* Go on into child (a component of path), if it may be entered. */
static void
walk_child(struct walk *w, int dfd, const char *path, const char *name,
    size_t i, int wild)
{
	char sub[PATH_MAX];
	const char *why;
	int fd;

	if ((size_t)snprintf(sub, sizeof(sub), "%s/%s", strcmp(path, "/") ?
	    path : "", name) >= sizeof(sub))
		return;
	if ((fd = fsio_opendirat(dfd, name, &why)) == -1) {
		if (errno == ELOOP) {
			w->links++;
			said_once(sub, "a symbolic link (lethe follows none)");
		}
		else if (!wild && errno != ENOENT)
			said_once(sub, why);
		return;
	}
	if (wild && is_pseudo(fd, sub)) {
		fsio_close(fd);
		return;
	}
	walk_at(w, fd, sub, i + 1, wild);
	fsio_close(fd);
}

static void
walk_at(struct walk *w, int dfd, const char *path, size_t i, int wild)
{
	struct dirent *de;
	struct stat st;
	DIR *d;

	if (w->visited++ >= WALK_MAX) {
		w->over = 1;
		return;
	}
	if (i == w->ncomp) {
		w->fn(path, w->arg);
		return;
	}
	if (!has_wildcard(w->comp[i])) {
		walk_child(w, dfd, path, w->comp[i], i, wild);
		return;
	}
	if ((d = fsio_dir_open(dfd)) == NULL)
		return;
	while ((de = fsio_dir_next(d)) != NULL && !w->over) {
		if (fnmatch(w->comp[i], de->d_name, FNM_PERIOD) != 0 ||
		    fsio_fstatat(dfd, de->d_name, &st) == -1)
			continue;
		if (S_ISLNK(st.st_mode)) {
			w->links++;
			link_said(path, de->d_name);
			continue;
		}
		if (S_ISDIR(st.st_mode))
			walk_child(w, dfd, path, de->d_name, i, 1);
	}
	fsio_dir_close(d);
}

int
walk_dirs(const char *pattern, walk_fn fn, void *arg, size_t *links,
    const char **why)
{
	struct walk w;
	char *copy, *c, *save;
	int fd;

	memset(&w, 0, sizeof(w));
	w.fn = fn;
	w.arg = arg;
	if (pattern[0] != '/') {
		*why = "not an absolute path";
		return -1;
	}
	copy = xstrdup(pattern);
	w.comp = xcalloc(WALK_DEPTH, sizeof(*w.comp));
	for (c = strtok_r(copy, "/", &save); c != NULL;
	    c = strtok_r(NULL, "/", &save)) {
		if (w.ncomp == WALK_DEPTH || strcmp(c, "..") == 0) {
			*why = w.ncomp == WALK_DEPTH ? "too many components" :
			    "\"..\" in it";
			goto fail;
		}
		w.comp[w.ncomp++] = c;
	}
	if ((fd = fsio_openat(AT_FDCWD, "/", O_RDONLY | O_DIRECTORY, 0)) == -1) {
		*why = "cannot open /";
		goto fail;
	}
	walk_at(&w, fd, "/", 0, 0);
	fsio_close(fd);
	*links = w.links;
	free(w.comp);
	free(copy);
	if (w.over) {
		*why = "it matches too many directories (the walk stopped at "
		    "4096)";
		return -1;
	}
	return 0;
fail:
	free(w.comp);
	free(copy);
	return -1;
}
