/*
 * The saved catalog: what lethe knows of each managed file, so that a
 * restart does not rescan unchanged files.  A text file in state_dir:
 *
 *	lethe-catalog 2
 *	f SET PATH DEV INO SIZE MTIME_NS HEAD_HASH HEAD_LEN OFFSET FLAGS
 *	  FIRST LAST OLDEST_FULL FACTS_KEY [m MIRROR M_OFF M_SIZE
 *	  [n M_DEV M_INO]] [w ID OFF SEQ]
 *							(one line per file)
 *	end COUNT CRC32
 *
 * SET and PATH are hex (names may hold any byte), times are epoch seconds
 * or "-", CRC32 (zlib) covers every byte before the "end" line.  Decoding
 * trusts nothing: any defect rejects the whole file, and the caller then
 * rebuilds the catalog from the files.  Saved like any rewrite: temp file,
 * fsync, rename, fsync of the directory.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "lethe.h"

#define STATE_MAGIC	"lethe-catalog 2\n"
#define STATE_NAME	"catalog"
#define STATE_MAX	(256 * 1024 * 1024)

struct sbuf {
	char	*p;
	size_t	 len;
	size_t	 cap;
};

static void
sbuf_add(struct sbuf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		while (b->len + n + 1 > b->cap)
			b->cap = b->cap ? b->cap * 2 : 4096;
		b->p = xreallocarray(b->p, 1, b->cap);
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void
sbuf_hex(struct sbuf *b, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	char two[2];

	if (*s == '\0') {
		sbuf_add(b, "-", 1);
		return;
	}
	for (; *s != '\0'; s++) {
		two[0] = hex[(unsigned char)*s >> 4];
		two[1] = hex[(unsigned char)*s & 15];
		sbuf_add(b, two, 2);
	}
}

static void
sbuf_time(struct sbuf *b, int64_t t)
{
	char num[32];

	if (t == TIME_NONE)
		sbuf_add(b, " -", 2);
	else
		sbuf_add(b, num, (size_t)snprintf(num, sizeof(num), " %" PRId64,
		    t));
}

void
store_encode(const struct srecord *r, size_t n, char **out, size_t *outlen)
{
	struct sbuf b = { NULL, 0, 0 };
	char num[256];
	size_t i;

	sbuf_add(&b, STATE_MAGIC, strlen(STATE_MAGIC));
	for (i = 0; i < n; i++) {
		sbuf_add(&b, "f ", 2);
		sbuf_hex(&b, r[i].set);
		sbuf_add(&b, " ", 1);
		sbuf_hex(&b, r[i].path);
		sbuf_add(&b, num, (size_t)snprintf(num, sizeof(num),
		    " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRId64 " %08" PRIx32
		    " %" PRIu32 " %" PRIu64 " %d", r[i].dev, r[i].ino,
		    r[i].size, r[i].mtime_ns, r[i].head_hash, r[i].head_len,
		    r[i].offset, r[i].flags));
		sbuf_time(&b, r[i].first_time);
		sbuf_time(&b, r[i].last_time);
		sbuf_time(&b, r[i].oldest_full);
		sbuf_add(&b, num, (size_t)snprintf(num, sizeof(num),
		    " %08" PRIx32, r[i].facts_key));
		if (r[i].mirror != NULL) {
			sbuf_add(&b, " m ", 3);
			sbuf_hex(&b, r[i].mirror);
			sbuf_add(&b, num, (size_t)snprintf(num, sizeof(num),
			    " %" PRIu64 " %" PRIu64, r[i].m_off, r[i].m_size));
			if (r[i].m_ino != 0)
				sbuf_add(&b, num, (size_t)snprintf(num,
				    sizeof(num), " n %" PRIu64 " %" PRIu64,
				    r[i].m_dev, r[i].m_ino));
		}
		if (r[i].fwd)
			sbuf_add(&b, num, (size_t)snprintf(num, sizeof(num),
			    " w %08" PRIx32 " %" PRIu64 " %" PRIu64,
			    r[i].fwd_id, r[i].fwd_off, r[i].fwd_seq));
		sbuf_add(&b, "\n", 1);
	}
	snprintf(num, sizeof(num), "end %zu %08lx\n", n,
	    crc32(0L, (const Bytef *)b.p, (uInt)b.len));
	sbuf_add(&b, num, strlen(num));
	*out = b.p;
	*outlen = b.len;
}

/* Next space-separated token of the line [*p, end); NULL at the end. */
static const char *
tok(const char **p, const char *end, size_t *len)
{
	const char *s = *p, *e;

	if (s >= end)
		return NULL;
	for (e = s; e < end && *e != ' '; e++)
		;
	*len = (size_t)(e - s);
	*p = e < end ? e + 1 : e;
	return *len ? s : NULL;
}

static int
unhex(const char *s, size_t len, char **out)
{
	char *o;
	size_t i;
	int hi, lo;

	if (len == 1 && s[0] == '-') {
		*out = xstrdup("");
		return 0;
	}
	if (len == 0 || len % 2 != 0 || len > 8192)
		return -1;
	o = xmalloc(len / 2 + 1);
	for (i = 0; i < len; i += 2) {
		hi = s[i] >= 'a' && s[i] <= 'f' ? s[i] - 'a' + 10 :
		    s[i] >= '0' && s[i] <= '9' ? s[i] - '0' : -1;
		lo = s[i + 1] >= 'a' && s[i + 1] <= 'f' ? s[i + 1] - 'a' + 10 :
		    s[i + 1] >= '0' && s[i + 1] <= '9' ? s[i + 1] - '0' : -1;
		if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
			free(o);
			return -1;
		}
		o[i / 2] = (char)(hi << 4 | lo);
	}
	o[len / 2] = '\0';
	*out = o;
	return 0;
}

/* A decimal (or, with base 16, hex) number of at most 20 digits. */
static int
num(const char *s, size_t len, int base, int sign, uint64_t max,
    uint64_t *v)
{
	uint64_t acc = 0;
	size_t i = 0;
	int neg = 0, d;

	if (sign && len > 0 && s[0] == '-') {
		neg = 1;
		i = 1;
	}
	if (len == i || len - i > 20)
		return -1;
	for (; i < len; i++) {
		if (s[i] >= '0' && s[i] <= '9')
			d = s[i] - '0';
		else if (base == 16 && s[i] >= 'a' && s[i] <= 'f')
			d = s[i] - 'a' + 10;
		else
			return -1;
		if (acc > (max - (uint64_t)d) / (uint64_t)base)
			return -1;
		acc = acc * (uint64_t)base + (uint64_t)d;
	}
	*v = neg ? (uint64_t)-(int64_t)acc : acc;
	return 0;
}

static int
get_time(const char *s, size_t len, int64_t *t)
{
	uint64_t v;

	if (len == 1 && s[0] == '-') {
		*t = TIME_NONE;
		return 0;
	}
	if (num(s, len, 10, 1, INT64_MAX, &v) == -1)
		return -1;
	*t = (int64_t)v;
	return 0;
}

static int
decode_record(const char *p, const char *end, struct srecord *r)
{
	const char *t[15];
	size_t l[15], i, k;
	uint64_t v[8];
	static const int base[8] = { 10, 10, 10, 10, 16, 10, 10, 10 };

	memset(r, 0, sizeof(*r));
	for (i = 0; i < 15; i++)
		if ((t[i] = tok(&p, end, &l[i])) == NULL)
			return -1;
	if (l[0] != 1 || t[0][0] != 'f')
		return -1;
	for (i = 0; i < 8; i++)
		if (num(t[3 + i], l[3 + i], base[i], i == 3,
		    i == 4 || i == 5 ? UINT32_MAX : i == 3 ? INT64_MAX :
		    UINT64_MAX, &v[i]) == -1)
			return -1;
	if (unhex(t[1], l[1], &r->set) == -1)
		return -1;
	if (unhex(t[2], l[2], &r->path) == -1 || r->path[0] != '/')
		goto fail;
	r->dev = v[0];
	r->ino = v[1];
	r->size = v[2];
	r->mtime_ns = (int64_t)v[3];
	r->head_hash = (uint32_t)v[4];
	r->head_len = (uint32_t)v[5];
	r->offset = v[6];
	if (v[7] > 255 || r->offset > r->size)
		goto fail;
	r->flags = (int)v[7];
	if (get_time(t[11], l[11], &r->first_time) == -1 ||
	    get_time(t[12], l[12], &r->last_time) == -1 ||
	    get_time(t[13], l[13], &r->oldest_full) == -1 ||
	    l[14] != 8 || num(t[14], l[14], 16, 0, UINT32_MAX, &v[0]) == -1)
		goto fail;
	r->facts_key = (uint32_t)v[0];
	while (p != end) {
		/*
		 * " m NAME M_OFF M_SIZE", then " n M_DEV M_INO" (a catalog
		 * saved before it had them has none), " w ID OFF SEQ"; once
		 * each.
		 */
		if ((t[0] = tok(&p, end, &l[0])) == NULL || l[0] != 1)
			goto fail;
		k = t[0][0] == 'n' ? 2 : 3;
		for (i = 1; i <= k; i++)
			if ((t[i] = tok(&p, end, &l[i])) == NULL)
				goto fail;
		if (t[0][0] == 'w' && !r->fwd) {
			if (l[1] != 8 || num(t[1], 8, 16, 0, UINT32_MAX,
			    &v[0]) == -1 ||
			    num(t[2], l[2], 10, 0, UINT64_MAX, &r->fwd_off) ==
			    -1 ||
			    num(t[3], l[3], 10, 0, UINT64_MAX, &r->fwd_seq) ==
			    -1 || r->fwd_off > r->size)
				goto fail;
			r->fwd = 1;
			r->fwd_id = (uint32_t)v[0];
			continue;
		}
		if (t[0][0] == 'n' && r->mirror != NULL && r->m_ino == 0) {
			if (num(t[1], l[1], 10, 0, UINT64_MAX, &r->m_dev) ==
			    -1 || num(t[2], l[2], 10, 0, UINT64_MAX,
			    &r->m_ino) == -1 || r->m_ino == 0)
				goto fail;
			continue;
		}
		if (t[0][0] != 'm' || r->mirror != NULL ||
		    unhex(t[1], l[1], &r->mirror) == -1 ||
		    r->mirror[0] == '\0' || strchr(r->mirror, '/') != NULL ||
		    num(t[2], l[2], 10, 0, UINT64_MAX, &r->m_off) == -1 ||
		    num(t[3], l[3], 10, 0, UINT64_MAX, &r->m_size) == -1 ||
		    r->m_off > r->size)
			goto fail;
	}
	return 0;
fail:
	free(r->set);
	free(r->path);
	free(r->mirror);
	r->set = r->path = r->mirror = NULL;
	return -1;
}

void
store_records_free(struct srecord *r, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(r[i].set);
		free(r[i].path);
		free(r[i].mirror);
	}
	free(r);
}

/* The "end COUNT CRC" line at [p, end) closes body [buf, p). */
static int
decode_end(const char *buf, const char *p, const char *end, size_t n)
{
	const char *t[3];
	size_t l[3], i;
	uint64_t count, crc;

	for (i = 0; i < 3; i++)
		if ((t[i] = tok(&p, end, &l[i])) == NULL)
			return -1;
	if (p != end || l[0] != 3 || memcmp(t[0], "end", 3) != 0 ||
	    num(t[1], l[1], 10, 0, SIZE_MAX, &count) == -1 || count != n ||
	    l[2] != 8 || num(t[2], l[2], 16, 0, UINT32_MAX, &crc) == -1)
		return -1;
	return crc == crc32(0L, (const Bytef *)buf, (uInt)(t[0] - buf)) ?
	    0 : -1;
}

int
store_decode(const char *buf, size_t len, struct srecord **out, size_t *nout,
    const char **errstr)
{
	struct srecord *r = NULL;
	const char *p, *nl, *end = buf + len;
	size_t n = 0, cap = 0, mlen = strlen(STATE_MAGIC);

	*out = NULL;
	*nout = 0;
	if (len < mlen || memcmp(buf, STATE_MAGIC, mlen) != 0) {
		*errstr = "not a lethe catalog of version 2";
		return -1;
	}
	for (p = buf + mlen; p < end; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			break;
		if (nl + 1 == end && (size_t)(nl - p) >= 3 &&
		    memcmp(p, "end", 3) == 0) {
			if (decode_end(buf, p, nl, n) == -1)
				break;
			*out = r;
			*nout = n;
			return 0;
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			r = xreallocarray(r, cap, sizeof(*r));
		}
		if (decode_record(p, nl, &r[n]) == -1)
			break;
		n++;
	}
	store_records_free(r, n);
	*errstr = "corrupt (bad record, count or checksum)";
	return -1;
}

/* Write the catalog to STATE_DIR/catalog atomically. */
int
store_write(int dfd, const char *name, const void *buf, size_t len)
{
	struct stat st;
	char tmp[NAME_MAX + 1];
	int fd;

	if ((fd = fsio_tmp_create(dfd, name, tmp, sizeof(tmp))) == -1)
		return -1;
	if (fsio_write_all(fd, buf, len) == -1) {
		fsio_close(fd);
		fsio_unlinkat(dfd, tmp);
		return -1;
	}
	memset(&st, 0, sizeof(st));
	st.st_uid = geteuid();
	st.st_gid = getegid();
	st.st_mode = S_IFREG | 0600;
	clock_gettime(CLOCK_REALTIME, &st.st_mtim);
	st.st_atim = st.st_mtim;
	return fsio_replace(dfd, fd, tmp, name, 0, &st);
}

int
store_save(int dfd, const struct srecord *r, size_t n)
{
	char *buf;
	size_t len;
	int rc;

	store_encode(r, n, &buf, &len);
	rc = store_write(dfd, STATE_NAME, buf, len);
	free(buf);
	return rc;
}

/*
 * Read STATE_DIR/catalog.  Returns 0 with the records, 1 when there is no
 * catalog, -1 when it is unreadable or corrupt (*errstr says which).
 */
int
store_load(int dfd, struct srecord **r, size_t *n, const char **errstr)
{
	struct stat st;
	char *buf;
	ssize_t got;
	size_t len = 0;
	int fd, rc;

	*r = NULL;
	*n = 0;
	if ((fd = fsio_openat_file(dfd, STATE_NAME, &st, errstr)) == -1)
		return errno == ENOENT ? 1 : -1;
	if (st.st_size > STATE_MAX) {
		fsio_close(fd);
		*errstr = "too large";
		return -1;
	}
	buf = xmalloc((size_t)st.st_size + 1);
	while (len < (size_t)st.st_size &&
	    (got = fsio_read(fd, buf + len, (size_t)st.st_size - len)) > 0)
		len += (size_t)got;
	fsio_close(fd);
	rc = store_decode(buf, len, r, n, errstr);
	free(buf);
	return rc;
}

/*
 * Open (creating it, mode 0700) the config's state_dir and take its lock
 * for cmd.  Exits 75 (EX_TEMPFAIL) when another lethe holds it, saying
 * which; fatal on other errors.  Returns the directory's descriptor.
 */
int
store_open(const struct config *conf, const char **why)
{
	static _Thread_local char buf[160];

	if (fsio_mkdir(conf->state_dir, 0700) == -1 && errno != EEXIST) {
		(void)snprintf(buf, sizeof(buf), "create: %s", strerror(errno));
		*why = buf;
		return -1;
	}
	return fsio_opendir(conf->state_dir, why);
}

int
store_lock(const struct config *conf, const char *cmd)
{
	char holder[128];
	const char *why;
	int dfd;

	if ((dfd = store_open(conf, &why)) == -1)
		fatalx("state_dir \"%s\": %s", log_esc(conf->state_dir), why);
	switch (fsio_lock(dfd, cmd, holder, sizeof(holder))) {
	case 0:
		return dfd;
	case 1:
		log_warnx("another lethe (pid and command: %s) holds the lock "
		    "in \"%s\"; %s", log_esc(holder), log_esc(conf->state_dir),
		    strstr(holder, " run") != NULL ? "the daemon does what "
		    "once would do: leave it to the daemon (systemctl reload "
		    "lethe rescans, kill -USR1 rotates now)" :
		    "try again when it has finished");
		exit(75);
	default:
		fatal("lock \"%s/lock\"", log_esc(conf->state_dir));
	}
}
