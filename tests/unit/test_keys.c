/*
 * Unit tests of keys.c: the day keys of pseudonyms in a state_dir under a
 * mkdtemp() root.  The ratchet is checked against digest_hmac from the
 * master the file holds; pruning against the file's lines.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "lethe.h"
#include "t.h"

#define NOW	1795910400	/* 2026-11-29T00:00:00Z */
#define DAY	86400
#define WINDOW	(7 * DAY)

static char	 root[64];
static char	 state[128];
static int	 sdfd = -1;
static int	 ncase;
static struct logset set;

/* A fresh state_dir for one case. */
static void
setup(void)
{
	const char *why;

	if (sdfd != -1)
		close(sdfd);
	snprintf(state, sizeof(state), "%s/s%d", root, ncase++);
	if (mkdir(state, 0700) == -1)
		abort();
	if ((sdfd = fsio_opendir(state, &why)) == -1) {
		fprintf(stderr, "opendir %s: %s\n", state, why);
		abort();
	}
	memset(&set, 0, sizeof(set));
	set.name = (char *)(uintptr_t)"web";
	set.window = WINDOW;
	set.transform = TRANSFORM_PSEUDONYM;
}

/* The key file's text (static), "" when it is missing. */
static const char *
file_text(const char *name)
{
	static char buf[65536];
	char path[PATH_MAX];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/keys/%s", state, name);
	buf[0] = '\0';
	if ((fd = open(path, O_RDONLY)) == -1)
		return buf;
	n = read(fd, buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = '\0';
	close(fd);
	return buf;
}

/* The hex after "word DAY " in the key file, into v; 0, or -1. */
static int
file_hex(const char *word, const char *day, uint8_t v[32])
{
	char pat[64];
	const char *p;
	unsigned int b;
	int i;

	snprintf(pat, sizeof(pat), "\n%s %s ", word, day);
	if ((p = strstr(file_text("web"), pat)) == NULL)
		return -1;
	p += strlen(pat);
	for (i = 0; i < 32; i++) {
		if (sscanf(p + 2 * i, "%2x", &b) != 1)
			return -1;
		v[i] = (uint8_t)b;
	}
	return 0;
}

static int
count(const char *s, const char *what)
{
	int n = 0;

	for (; (s = strstr(s, what)) != NULL; s++)
		n++;
	return n;
}

static void
test_make(void)
{
	uint8_t k1[32], k2[32];
	const char *err = NULL;
	struct stat st;
	char path[PATH_MAX];
	int64_t today = pseudo_day(NOW);

	setup();
	T_EQ_INT(keys_day(sdfd, &set, today, 1, NOW, k1, &err), 1);
	snprintf(path, sizeof(path), "%s/keys", state);
	T_ASSERT(stat(path, &st) == 0 && (st.st_mode & 0777) == 0700);
	snprintf(path, sizeof(path), "%s/keys/web", state);
	T_ASSERT(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
	/* the days the window still needs, and the master of tomorrow */
	T_EQ_INT(count(file_text("web"), "\nkey "), 8);
	T_ASSERT(strstr(file_text("web"), "\nkey 2026-11-22 ") != NULL);
	T_ASSERT(strstr(file_text("web"), "\nkey 2026-11-29 ") != NULL);
	T_ASSERT(strstr(file_text("web"), "\nmaster 2026-11-30 ") != NULL);
	T_ASSERT(strstr(file_text("web"), "\nset web\nwindow 604800\n") !=
	    NULL);
	/* the same key again, from the file */
	T_EQ_INT(keys_day(sdfd, &set, today, 1, NOW, k2, &err), 1);
	T_ASSERT(memcmp(k1, k2, 32) == 0);
	T_EQ_INT(keys_day(sdfd, &set, today, 0, NOW + 3600, k2, &err), 1);
	T_ASSERT(memcmp(k1, k2, 32) == 0);
	T_EQ_INT(keys_day(sdfd, &set, today - 1, 0, NOW, k2, &err), 1);
	T_ASSERT(memcmp(k1, k2, 32) != 0);
	/* not made yet: none without create; two days ahead: never */
	T_EQ_INT(keys_day(sdfd, &set, today + 1, 0, NOW, k2, &err), 0);
	T_EQ_INT(keys_day(sdfd, &set, today + 2, 1, NOW, k2, &err), 0);
	/* past the window: none, and none made */
	T_EQ_INT(keys_day(sdfd, &set, today - 8, 1, NOW, k2, &err), 0);
	T_EQ_INT(count(file_text("web"), "\nkey "), 8);
}

/* K_d = HMAC(M_d, "lethe day key"), M_d+1 = HMAC(M_d, "lethe ratchet") */
static void
test_ratchet(void)
{
	uint8_t m[32], k[32], want[32], next[32];
	const char *err;
	int64_t today = pseudo_day(NOW);

	setup();
	T_EQ_INT(keys_day(sdfd, &set, today, 1, NOW, k, &err), 1);
	T_ASSERT(file_hex("master", "2026-11-30", m) == 0);
	/* tomorrow, two days later: each from the master the file held */
	T_EQ_INT(keys_day(sdfd, &set, today + 1, 1, NOW + DAY, k, &err), 1);
	digest_hmac(m, 32, "lethe day key", 13, want);
	T_ASSERT(memcmp(k, want, 32) == 0);
	digest_hmac(m, 32, "lethe ratchet", 13, next);
	T_ASSERT(file_hex("master", "2026-12-01", m) == 0);
	T_ASSERT(memcmp(m, next, 32) == 0);
	T_ASSERT(file_hex("key", "2026-11-30", k) == 0);
	T_ASSERT(memcmp(k, want, 32) == 0);
	/* a day passed over (12-01) is derived on the way to 12-02 */
	T_EQ_INT(keys_day(sdfd, &set, today + 3, 1, NOW + 2 * DAY + 3600, k,
	    &err), 1);
	T_ASSERT(file_hex("key", "2026-12-01", want) == 0);
	digest_hmac(m, 32, "lethe day key", 13, next);
	T_ASSERT(memcmp(want, next, 32) == 0);
	T_ASSERT(strstr(file_text("web"), "\nmaster 2026-12-03 ") != NULL);
	/* the master never goes back: with the clock set back, a day of
	   the window before it (11-20) that was never made is not made */
	T_EQ_INT(keys_day(sdfd, &set, today - 9, 1, NOW - 5 * DAY, k, &err),
	    0);
	T_ASSERT(strstr(file_text("web"), "\nkey 2026-11-20 ") == NULL);
}

static void
test_prune(void)
{
	uint8_t k[32], old[32];
	const char *err = NULL;
	char path[PATH_MAX], buf[256];
	int64_t today = pseudo_day(NOW), at;
	ssize_t n, i;
	int fd, zero;

	setup();
	T_EQ_INT(keys_day(sdfd, &set, today, 1, NOW, old, &err), 1);
	/* nothing due: nothing changes */
	T_EQ_INT(keys_prune(sdfd, &set, NOW + 3600, NULL, &err), 0);
	T_EQ_INT(count(file_text("web"), "\nkey "), 8);
	/* the old file is overwritten once replaced: hold it open */
	snprintf(path, sizeof(path), "%s/keys/web", state);
	fd = open(path, O_RDONLY);
	T_ASSERT(fd != -1);
	/* 2026-11-29's whole day is older than now - 7d at 12-07 00:00 */
	T_EQ_INT(keys_prune(sdfd, &set, NOW + 8 * DAY, NULL, &err), 8);
	T_EQ_INT(count(file_text("web"), "\nkey "), 0);
	T_ASSERT(strstr(file_text("web"), "\ngone 2026-11-29 "
	    "2026-12-07T00:00:00Z\n") != NULL);
	T_EQ_INT(count(file_text("web"), "\ngone "), 8);
	T_ASSERT(strstr(file_text("web"), "\nmaster 2026-11-30 ") != NULL);
	zero = 1;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		for (i = 0; i < n; i++)
			zero &= buf[i] == 0;
	T_ASSERT(zero);
	close(fd);
	/* gone for good: not found, not made again */
	T_EQ_INT(keys_day(sdfd, &set, today, 0, NOW, k, &err), 0);
	T_EQ_INT(keys_day(sdfd, &set, today, 1, NOW, k, &err), 0);
	at = keys_destroyed(sdfd, &set, today);
	T_EQ_INT(at, NOW + 8 * DAY);
	T_EQ_INT(keys_destroyed(sdfd, &set, today + 1), TIME_NONE);
	/* a later prune moves the master past the days of the window */
	T_EQ_INT(keys_prune(sdfd, &set, NOW + 20 * DAY, NULL, &err), 0);
	T_ASSERT(strstr(file_text("web"), "\nmaster 2026-12-12 ") != NULL);
	/* the records are forgotten after a year */
	T_EQ_INT(keys_prune(sdfd, &set, NOW + 400 * DAY, NULL, &err), 0);
	T_EQ_INT(count(file_text("web"), "\ngone "), 0);
	T_EQ_INT(keys_destroyed(sdfd, &set, today), TIME_NONE);
}

/* Partly: the oldest days go, the rest stay, a new day is made. */
static void
test_prune_partly(void)
{
	uint8_t k[32];
	const char *err;
	int64_t today = pseudo_day(NOW);

	setup();
	T_EQ_INT(keys_day(sdfd, &set, today, 1, NOW, k, &err), 1);
	/* making 12-01 at 12-01 drops 11-22 .. 11-23 on the way */
	T_EQ_INT(keys_day(sdfd, &set, today + 2, 1, NOW + 2 * DAY + 60, k,
	    &err), 1);
	T_ASSERT(strstr(file_text("web"), "\nkey 2026-11-23 ") == NULL);
	T_ASSERT(strstr(file_text("web"), "\nkey 2026-11-24 ") != NULL);
	T_ASSERT(strstr(file_text("web"), "\ngone 2026-11-23 ") != NULL);
	T_EQ_INT(count(file_text("web"), "\nkey "), 8);
}

/* Nothing is made by readers; a missing directory stays missing. */
static void
test_readers(void)
{
	uint8_t k[32];
	const char *err;
	char path[PATH_MAX];
	struct stat st;

	setup();
	T_EQ_INT(keys_day(sdfd, &set, pseudo_day(NOW), 0, NOW, k, &err), 0);
	T_EQ_INT(keys_destroyed(sdfd, &set, pseudo_day(NOW)), TIME_NONE);
	snprintf(path, sizeof(path), "%s/keys", state);
	T_ASSERT(stat(path, &st) == -1 && errno == ENOENT);
	T_EQ_INT(keys_prune(sdfd, &set, NOW, NULL, &err), 0);
	T_ASSERT(stat(path, &st) == -1 && errno == ENOENT);
	set.name = (char *)(uintptr_t)"..";
	T_EQ_INT(keys_day(sdfd, &set, pseudo_day(NOW), 1, NOW, k, &err), -1);
}

static void
test_corrupt(void)
{
	uint8_t k[32];
	const char *err = NULL;
	char path[PATH_MAX];
	int fd;

	setup();
	T_EQ_INT(keys_day(sdfd, &set, pseudo_day(NOW), 1, NOW, k, &err), 1);
	snprintf(path, sizeof(path), "%s/keys/web", state);
	fd = open(path, O_WRONLY | O_APPEND);
	T_ASSERT(write(fd, "key 2026-1-01 zz\n", 17) == 17);
	close(fd);
	T_EQ_INT(keys_day(sdfd, &set, pseudo_day(NOW), 0, NOW, k, &err), -1);
	T_ASSERT(err != NULL && strstr(err, "not understood") != NULL);
	T_EQ_INT(keys_day(sdfd, &set, pseudo_day(NOW), 1, NOW, k, &err), -1);
}

/* Every file: sets no longer configured by their own window; temps. */
static void
test_prune_all(void)
{
	struct config conf;
	struct logset other;
	uint8_t k[32];
	const char *err;
	char path[PATH_MAX];
	struct stat st;
	int64_t next;
	int fd;

	setup();
	other = set;
	other.name = (char *)(uintptr_t)"gone-set";
	other.window = 2 * DAY;
	T_EQ_INT(keys_day(sdfd, &set, pseudo_day(NOW), 1, NOW, k, &err), 1);
	T_EQ_INT(keys_day(sdfd, &other, pseudo_day(NOW), 1, NOW, k, &err),
	    1);
	snprintf(path, sizeof(path), "%s/keys/.web.lethe-AbCdEf", state);
	fd = open(path, O_WRONLY | O_CREAT, 0600);
	close(fd);
	memset(&conf, 0, sizeof(conf));
	conf.state_dir = state;
	conf.sets = &set;
	conf.nsets = 1;
	conf.sweep = 60;
	T_EQ_INT(keys_prune_all(sdfd, &conf, NOW, NULL, &next), 0);
	T_ASSERT(stat(path, &st) == -1);
	T_EQ_INT(next, NOW + 60);
	/* the first key dies when 11-22 is a window old */
	conf.sweep = 30 * DAY;
	T_EQ_INT(keys_prune_all(sdfd, &conf, NOW, NULL, &next), 0);
	T_EQ_INT(next, pseudo_day(NOW - WINDOW) * DAY + DAY + WINDOW);
	/* 3 days on: 3 of web's, and all 3 of gone-set's (2d) */
	T_EQ_INT(keys_prune_all(sdfd, &conf, NOW + 3 * DAY, NULL, &next), 6);
	T_EQ_INT(count(file_text("gone-set"), "\nkey "), 0);
	T_EQ_INT(count(file_text("web"), "\nkey "), 5);
}

/* The keyring: the disk once per day, then memory; wiped past it. */
static void
test_keyring(void)
{
	struct keyring *kr;
	uint8_t k1[32], k2[32];
	char path[PATH_MAX];
	int64_t today = pseudo_day(NOW);

	setup();
	kr = keyring_new(sdfd, &set);
	T_EQ_INT(keyring_get(kr, today, NOW, k1), 1);
	snprintf(path, sizeof(path), "%s/keys/web", state);
	T_ASSERT(rename(path, strcat(strcpy((char [PATH_MAX]){ 0 }, path),
	    ".aside")) == 0);
	T_EQ_INT(keyring_get(kr, today, NOW + 60, k2), 1);
	T_ASSERT(memcmp(k1, k2, 32) == 0);
	/* past the window: not from memory, and none on the disk */
	keyring_forget(kr, NOW + 30 * DAY);
	T_EQ_INT(keyring_get(kr, today, NOW + 30 * DAY, k2), 0);
	keyring_free(kr);
	keyring_free(NULL);
}

static const struct t_case cases[] = {
	{ "make", test_make },
	{ "ratchet", test_ratchet },
	{ "prune", test_prune },
	{ "prune_partly", test_prune_partly },
	{ "readers", test_readers },
	{ "corrupt", test_corrupt },
	{ "prune_all", test_prune_all },
	{ "keyring", test_keyring },
	{ NULL, NULL },
};

int
main(int argc, char **argv)
{
	char cmd[PATH_MAX + 16];
	int rv;

	log_init(0);
	snprintf(root, sizeof(root), "/tmp/test_keys.XXXXXX");
	if (mkdtemp(root) == NULL)
		abort();
	rv = t_main(cases, argc, argv);
	if (sdfd != -1)
		close(sdfd);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	if (system(cmd) != 0)
		rv = 1;
	return rv;
}
