/*
 * Requests of the people in the logs, kept in state_dir: the key that
 * names a request without its address, and the erase requests that are
 * not finished yet (state_dir/requests/ID, one text file each):
 *
 *	lethe-request 1
 *	id 20261203T174500Z-1a2b3c4d
 *	time 1764783900
 *	hash 3f2a9c1d0b7e4a55
 *	reason HEX			("-": none)
 *	set HEX				("-": every set)
 *	net HEX32 BITS			(one per address or network)
 *	file HEXPATH LINES		(lines erased so far, per file)
 *	end CRC32
 *
 * A request holds its addresses only while it is pending: once done, its
 * file is replaced by the receipt (ID.json), which names it by its hash.
 * Decoding trusts nothing: a defect leaves the file as it is, said.
 */
#include <sys/random.h>
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

#define REQ_MAGIC	"lethe-request 1\n"
#define REQ_MAX		(1024 * 1024)
#define KEY_NAME	"request.key"
#define TIME_MAX_SANE	253402300799LL	/* 9999-12-31T23:59:59Z */

int
request_key(int state_dfd, uint8_t key[REQUEST_KEY_LEN], const char **why)
{
	struct stat st;
	ssize_t n;
	int fd;

	if ((fd = fsio_openat_file(state_dfd, KEY_NAME, &st, why)) != -1) {
		n = fsio_read(fd, key, REQUEST_KEY_LEN);
		fsio_close(fd);
		if (n == REQUEST_KEY_LEN)
			return 0;
		*why = "request.key: shorter than 32 bytes";
		return -1;
	}
	if (errno != ENOENT) {
		*why = "request.key: cannot open";
		return -1;
	}
	if (getrandom(key, REQUEST_KEY_LEN, 0) != REQUEST_KEY_LEN) {
		*why = "request.key: no random bytes";
		return -1;
	}
	/* Written whole or not at all; the first of two at once wins. */
	if (store_write(state_dfd, KEY_NAME ".new", key, REQUEST_KEY_LEN) == -1) {
		*why = "request.key: cannot write";
		return -1;
	}
	if (fsio_rename_noreplace(state_dfd, KEY_NAME ".new", KEY_NAME) == 0)
		return 0;
	if (errno != EEXIST) {
		*why = "request.key: cannot write";
		return -1;
	}
	(void)fsio_unlinkat(state_dfd, KEY_NAME ".new");
	return request_key(state_dfd, key, why);
}

static int
net_cmp(const void *a, const void *b)
{
	const struct addr_net *x = a, *y = b;
	int c = memcmp(x->v, y->v, 16);

	return c != 0 ? c : x->bits - y->bits;
}

void
request_hash(const uint8_t key[REQUEST_KEY_LEN], struct addr_net *nets,
    size_t n, char out[REQUEST_HASH_LEN + 1])
{
	char hex[DIGEST_HEX], *msg;
	size_t i, j, len = 0;

	/* One request, one name, in whatever order its addresses came. */
	qsort(nets, n, sizeof(*nets), net_cmp);
	msg = xmalloc(n * 40 + 1);
	for (i = 0; i < n; i++) {
		for (j = 0; j < 16; j++)
			len += (size_t)snprintf(msg + len, 3, "%02x",
			    nets[i].v[j]);
		len += (size_t)snprintf(msg + len, 6, "/%d\n", nets[i].bits);
	}
	digest_hmac_hex(key, REQUEST_KEY_LEN, msg, len, hex);
	free(msg);
	memcpy(out, hex, REQUEST_HASH_LEN);
	out[REQUEST_HASH_LEN] = '\0';
}

int
request_args(char **args, size_t nargs, struct addr_net **nets, size_t *n)
{
	size_t i;

	*nets = xcalloc(nargs, sizeof(**nets));
	*n = nargs;
	for (i = 0; i < nargs; i++)
		if (addr_net_parse(args[i], &(*nets)[i]) == -1) {
			/* The argument is somebody's address: not echoed. */
			log_warnx("argument %zu is not an address or a network "
			    "(ADDR or ADDR/BITS)", i + 1);
			free(*nets);
			*nets = NULL;
			return -1;
		}
	return 0;
}

/* ---- the request files ------------------------------------------------- */

/* s in hex ("-": NULL, "=": empty), as request files keep text. */
static void
put_hex(FILE *fp, const char *s)
{
	if (s == NULL) {
		fputs("-", fp);
		return;
	}
	if (*s == '\0')
		fputs("=", fp);
	for (; *s != '\0'; s++)
		fprintf(fp, "%02x", (unsigned char)*s);
}

static int
hexdig(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static char *
unhex(const char *s)
{
	size_t n = strlen(s), i;
	char *o;
	int hi, lo;

	if (strcmp(s, "=") == 0)
		return xstrdup("");
	if (n % 2 != 0 || n / 2 > REQUEST_TEXT_MAX)
		return NULL;
	o = xmalloc(n / 2 + 1);
	for (i = 0; i < n / 2; i++) {
		if ((hi = hexdig(s[2 * i])) == -1 ||
		    (lo = hexdig(s[2 * i + 1])) == -1 || (hi | lo) == 0) {
			free(o);
			return NULL;
		}
		o[i] = (char)(hi << 4 | lo);
	}
	o[n / 2] = '\0';
	return o;
}

/* An id or a hash as lethe writes them: nothing to escape, ever. */
static int
plain_word(const char *s, size_t max, int hexonly)
{
	size_t n = 0;

	for (; *s != '\0'; s++, n++)
		if (hexdig(*s) == -1 && (hexonly || !((*s >= 'A' &&
		    *s <= 'Z') || (*s >= 'a' && *s <= 'z') || *s == '-')))
			return 0;
		else if (hexonly && *s >= 'A' && *s <= 'F')
			return 0;
	return n > 0 && n <= max;
}

void
request_free(struct request *r)
{
	size_t i;

	if (r == NULL)
		return;
	free(r->reason);
	free(r->set);
	if (r->nets != NULL)
		explicit_bzero(r->nets, r->nnets * sizeof(*r->nets));
	free(r->nets);
	for (i = 0; i < r->nfiles; i++)
		free(r->files[i].path);
	free(r->files);
	free(r);
}

void
request_add_lines(struct request *r, const char *path, uint64_t lines)
{
	size_t i;

	for (i = 0; i < r->nfiles; i++)
		if (strcmp(r->files[i].path, path) == 0) {
			r->files[i].lines += lines;
			return;
		}
	r->files = xreallocarray(r->files, r->nfiles + 1, sizeof(*r->files));
	r->files[r->nfiles].path = xstrdup(path);
	r->files[r->nfiles++].lines = lines;
}

int
request_dir(int state_dfd, const char *name, const char **why)
{
	static _Thread_local char buf[80];

	if (mkdirat(state_dfd, name, 0700) == -1 && errno != EEXIST) {
		(void)snprintf(buf, sizeof(buf), "cannot create state_dir/%s",
		    name);
		*why = buf;
		return -1;
	}
	return fsio_opendirat(state_dfd, name, why);
}

struct request *
request_new(const char *reason, const char *set, struct addr_net *nets,
    size_t nnets, const char *hash, int64_t now)
{
	struct request *r = xcalloc(1, sizeof(*r));
	struct tm tm;
	time_t t = (time_t)now;
	uint32_t rnd;

	if (getrandom(&rnd, sizeof(rnd), 0) != sizeof(rnd))
		rnd = (uint32_t)getpid() ^ (uint32_t)now;
	gmtime_r(&t, &tm);
	(void)strftime(r->id, sizeof(r->id), "%Y%m%dT%H%M%SZ", &tm);
	(void)snprintf(r->id + strlen(r->id), sizeof(r->id) - strlen(r->id),
	    "-%08x", (unsigned)rnd);
	r->time = now;
	r->reason = reason != NULL ? xstrdup(reason) : NULL;
	r->set = set != NULL ? xstrdup(set) : NULL;
	r->nets = xcalloc(nnets, sizeof(*nets));
	memcpy(r->nets, nets, nnets * sizeof(*nets));
	r->nnets = nnets;
	(void)strlcpy(r->hash, hash, sizeof(r->hash));
	return r;
}

int
request_save(int rdfd, const struct request *r)
{
	char *buf = NULL;
	size_t i, j, len = 0;
	FILE *fp;
	int rc;

	if ((fp = open_memstream(&buf, &len)) == NULL)
		fatal("open_memstream");
	fprintf(fp, "%sid %s\ntime %" PRId64 "\nhash %s\n", REQ_MAGIC, r->id,
	    r->time, r->hash);
	if (r->until != 0)
		fprintf(fp, "until %" PRId64 "\n", r->until);
	fprintf(fp, "reason ");
	put_hex(fp, r->reason);
	fprintf(fp, "\nset ");
	put_hex(fp, r->set);
	fprintf(fp, "\n");
	for (i = 0; i < r->nnets; i++) {
		fprintf(fp, "net ");
		for (j = 0; j < 16; j++)
			fprintf(fp, "%02x", r->nets[i].v[j]);
		fprintf(fp, " %d\n", r->nets[i].bits);
	}
	for (i = 0; i < r->nfiles; i++) {
		fprintf(fp, "file ");
		put_hex(fp, r->files[i].path);
		fprintf(fp, " %" PRIu64 "\n", r->files[i].lines);
	}
	if (fflush(fp) != 0)
		fatal("open_memstream");
	fprintf(fp, "end %08lx\n", crc32(0, (const Bytef *)buf, (uInt)len));
	if (fclose(fp) != 0)
		fatal("open_memstream");
	rc = store_write(rdfd, r->id, buf, len);
	explicit_bzero(buf, len);
	free(buf);
	return rc;
}

/* One request file's text; NULL (and *why) on any defect. */
static struct request *
request_decode(char *text, size_t len, const char **why)
{
	struct request *r = xcalloc(1, sizeof(*r));
	char *line, *next, *end, *a, *b;
	unsigned long crc;
	unsigned v;
	int bits, k, have_end = 0;
	long long t;

	*why = "not a request file";
	if (len < strlen(REQ_MAGIC) || memcmp(text, REQ_MAGIC,
	    strlen(REQ_MAGIC)) != 0 || memchr(text, '\0', len) != NULL)
		goto bad;
	text[len] = '\0';
	/* The checksum covers every byte before the last line, "end". */
	*why = "its checksum does not match";
	if (len < 2 || text[len - 1] != '\n')
		goto bad;
	for (end = text + len - 2; end > text && *end != '\n'; end--)
		;
	if (strncmp(end + 1, "end ", 4) != 0)
		goto bad;
	crc = strtoul(end + 5, &a, 16);
	if (*a != '\n' || crc != crc32(0, (const Bytef *)text,
	    (uInt)(end + 1 - text)))
		goto bad;
	end[1] = '\0';
	have_end = 1;
	for (line = text + strlen(REQ_MAGIC); line != NULL && *line != '\0';
	    line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		*why = "a line it cannot read";
		a = strchr(line, ' ');
		if (a == NULL)
			goto bad;
		*a++ = '\0';
		if (strcmp(line, "id") == 0) {
			if (r->id[0] != '\0' || !plain_word(a, sizeof(r->id) - 1,
			    0))
				goto bad;
			(void)strlcpy(r->id, a, sizeof(r->id));
		} else if (strcmp(line, "time") == 0) {
			errno = 0;
			t = strtoll(a, &end, 10);
			if (*end != '\0' || end == a || errno == ERANGE ||
			    t < 0 || t > TIME_MAX_SANE)
				goto bad;
			r->time = t;
		} else if (strcmp(line, "until") == 0) {
			errno = 0;
			t = strtoll(a, &end, 10);
			if (*end != '\0' || end == a || errno == ERANGE ||
			    t <= 0 || t > TIME_MAX_SANE)
				goto bad;
			r->until = t;
		} else if (strcmp(line, "hash") == 0) {
			if (strlen(a) != REQUEST_HASH_LEN ||
			    !plain_word(a, REQUEST_HASH_LEN, 1))
				goto bad;
			memcpy(r->hash, a, REQUEST_HASH_LEN + 1);
		} else if (strcmp(line, "reason") == 0) {
			if (r->reason != NULL || (strcmp(a, "-") != 0 &&
			    (r->reason = unhex(a)) == NULL))
				goto bad;
		} else if (strcmp(line, "set") == 0) {
			if (r->set != NULL || (strcmp(a, "-") != 0 &&
			    (r->set = unhex(a)) == NULL))
				goto bad;
		} else if (strcmp(line, "net") == 0) {
			if ((b = strchr(a, ' ')) == NULL || b - a != 32)
				goto bad;
			r->nets = xreallocarray(r->nets, r->nnets + 1,
			    sizeof(*r->nets));
			for (k = 0; k < 16; k++) {
				if (sscanf(a + 2 * k, "%2x", &v) != 1)
					goto bad;
				r->nets[r->nnets].v[k] = (uint8_t)v;
			}
			bits = (int)strtol(b + 1, &end, 10);
			if (*end != '\0' || bits < 0 || bits > 128)
				goto bad;
			r->nets[r->nnets++].bits = bits;
		} else if (strcmp(line, "file") == 0) {
			if ((b = strchr(a, ' ')) == NULL)
				goto bad;
			*b++ = '\0';
			if ((a = unhex(a)) == NULL)
				goto bad;
			request_add_lines(r, a, strtoull(b, NULL, 10));
			free(a);
		} else
			goto bad;
	}
	*why = "it is incomplete";
	if (!have_end || r->id[0] == '\0' || r->nnets == 0 ||
	    r->hash[0] == '\0')
		goto bad;
	return r;
bad:
	request_free(r);
	return NULL;
}

int
request_load_all(int rdfd, struct request ***out, size_t *n)
{
	struct request *r;
	struct dirent *de;
	struct stat st;
	const char *why;
	char *buf;
	size_t len;
	ssize_t k;
	int fd, bad = 0;
	DIR *d;

	*out = NULL;
	*n = 0;
	if ((d = fsio_dir_open(rdfd)) == NULL)
		return -1;
	while ((de = fsio_dir_next(d)) != NULL) {
		if (de->d_name[0] == '.' || strchr(de->d_name, '.') != NULL)
			continue;	/* temp files, receipts (ID.json) */
		/* A regular file only: never blocks on a FIFO. */
		if ((fd = fsio_openat_file(rdfd, de->d_name, &st, &why)) ==
		    -1) {
			log_warnx("request \"%s\": %s", log_esc(de->d_name),
			    why);
			bad++;
			continue;
		}
		buf = xmalloc(REQ_MAX + 1);
		len = 0;
		while (len < REQ_MAX && (k = fsio_read(fd, buf + len,
		    REQ_MAX - len)) > 0)
			len += (size_t)k;
		fsio_close(fd);
		if ((r = request_decode(buf, len, &why)) == NULL ||
		    strcmp(r->id, de->d_name) != 0) {
			log_warnx("request \"%s\": %s; left as it is",
			    log_esc(de->d_name), r == NULL ? why :
			    "its id is not its name");
			request_free(r);
			bad++;
		} else {
			*out = xreallocarray(*out, *n + 1, sizeof(**out));
			(*out)[(*n)++] = r;
		}
		explicit_bzero(buf, len);
		free(buf);
	}
	fsio_dir_close(d);
	return bad ? -1 : 0;
}

/* ---- receipts ----------------------------------------------------------- */

/* The length of the valid UTF-8 sequence at s, or 0. */
static size_t
utf8_len(const unsigned char *s)
{
	size_t n, i;
	unsigned cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, cp = s[0] & 0x07;
	else
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return n;
}

void
json_str(FILE *fp, const char *s)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t n;

	fputc('"', fp);
	while (u != NULL && *u != '\0') {
		if (*u == '"' || *u == '\\')
			fprintf(fp, "\\%c", *u);
		else if (*u < 0x20 || *u == 0x7f)
			fprintf(fp, "\\u%04x", *u);
		else if ((n = utf8_len(u)) == 0)
			fputs("\\ufffd", fp);	/* not UTF-8: a byte lost */
		else {
			fwrite(u, 1, n, fp);
			u += n;
			continue;
		}
		u++;
	}
	fputc('"', fp);
}

const char *
iso_time(int64_t t, char *buf, size_t sz)
{
	struct tm tm;
	time_t tt = (time_t)t;

	if (t == TIME_NONE || gmtime_r(&tt, &tm) == NULL) {
		(void)strlcpy(buf, "null", sz);
		return buf;
	}
	(void)strftime(buf, sz, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return buf;
}

static void
json_time(FILE *fp, int64_t t)
{
	char buf[32];

	iso_time(t, buf, sizeof(buf));
	if (t == TIME_NONE)
		fputs("null", fp);
	else
		fprintf(fp, "\"%s\"", buf);
}

char *
request_receipt(const struct request *r, const char *status,
    const char *pending, int blocked, const struct request_verify *v,
    int64_t finished, size_t *len)
{
	char *buf = NULL;
	size_t i, blen = 0;
	FILE *fp;

	if ((fp = open_memstream(&buf, &blen)) == NULL)
		fatal("open_memstream");
	fprintf(fp, "{\"request\": ");
	json_str(fp, r->id);
	fprintf(fp, ", \"hash\": \"%s\", \"time\": ", r->hash);
	json_time(fp, r->time);
	fprintf(fp, ", \"reason\": ");
	if (r->reason != NULL)
		json_str(fp, r->reason);
	else
		fputs("null", fp);
	fprintf(fp, ", \"set\": ");
	if (r->set != NULL)
		json_str(fp, r->set);
	else
		fputs("null", fp);
	fprintf(fp, ", \"status\": \"%s\", \"pending\": ", status);
	if (pending != NULL)
		json_str(fp, pending);
	else
		fputs("null", fp);
	fprintf(fp, ", \"blocked\": %s, \"finished\": ", blocked ? "true" :
	    "false");
	json_time(fp, finished);
	fprintf(fp, ",\n \"files\": [");
	for (i = 0; i < r->nfiles; i++) {
		fprintf(fp, "%s\n  {\"path\": ", i ? "," : "");
		json_str(fp, r->files[i].path);
		fprintf(fp, ", \"lines\": %" PRIu64 "}", r->files[i].lines);
	}
	fprintf(fp, "],\n \"verify\": {\"files\": %zu, \"lines\": %" PRIu64
	    ", \"full\": %" PRIu64 ", \"masked\": %" PRIu64 ", \"in_prefix\": %"
	    PRIu64 "}}\n", v->files, v->lines, v->full, v->masked,
	    v->in_prefix);
	if (fclose(fp) != 0)
		fatal("receipt");
	*len = blen;
	return buf;
}
