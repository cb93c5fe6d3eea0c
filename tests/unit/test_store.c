/* The saved catalog: round trip, and every kind of damage rejected. */
#include <fcntl.h>
#include <stdint.h>

#include "lethe.h"
#include "t.h"

static struct srecord
rec(const char *set, const char *path, uint64_t ino)
{
	struct srecord r;

	memset(&r, 0, sizeof(r));
	r.set = (char *)(uintptr_t)set;
	r.path = (char *)(uintptr_t)path;
	r.dev = 2049;
	r.ino = ino;
	r.size = 123456;
	r.mtime_ns = 1796000000123456789LL;
	r.head_hash = 0xdeadbeef;
	r.head_len = 4096;
	r.offset = 100000;
	r.flags = SR_GZIP | SR_SEALED;
	r.first_time = 1795000000;
	r.last_time = 1796000000;
	r.oldest_full = TIME_NONE;
	return r;
}

static void
t_round_trip(void)
{
	struct srecord in[3], *out;
	char *buf;
	size_t len, n;
	const char *err = NULL;

	in[0] = rec("nginx", "/var/log/nginx/access.log", 1);
	in[1] = rec("web", "/d/we ird\nname\033[31m", 2);
	in[2] = rec("web", "/d/x.log-20261128.gz", 3);
	in[2].first_time = -5;
	store_encode(in, 3, &buf, &len);
	T_EQ_INT(store_decode(buf, len, &out, &n, &err), 0);
	T_EQ_INT(n, 3);
	if (n == 3) {
		T_EQ_STR(out[1].path, "/d/we ird\nname\033[31m");
		T_EQ_STR(out[0].set, "nginx");
		T_EQ_INT(out[0].mtime_ns, 1796000000123456789LL);
		T_EQ_INT(out[0].head_hash, 0xdeadbeef);
		T_EQ_INT(out[0].oldest_full, TIME_NONE);
		T_EQ_INT(out[2].first_time, -5);
		T_EQ_INT(out[2].flags, SR_GZIP | SR_SEALED);
	}
	store_records_free(out, n);
	free(buf);
}

/* The mirror's pair and identity, with a forwarded position; none saved
   as a catalog before the identity was (no "n") is read as unknown. */
static void
t_mirror_fields(void)
{
	struct srecord in[2], *out;
	char *buf;
	size_t len, n;
	const char *err = NULL;

	in[0] = rec("web", "/d/access.log", 11);
	in[0].mirror = (char *)(uintptr_t)"access.log";
	in[0].m_off = 99999;
	in[0].m_size = 88888;
	in[0].m_dev = 2050;
	in[0].m_ino = 18446744073709551615ULL;
	in[0].fwd = 1;
	in[0].fwd_id = 0x1234abcd;
	in[0].fwd_off = 77777;
	in[0].fwd_seq = 42;
	in[1] = rec("web", "/d/access.log-20260607T1000Z", 12);
	in[1].mirror = (char *)(uintptr_t)"access.log-20260607T1000Z";
	in[1].m_off = 5;
	in[1].m_size = 4;
	store_encode(in, 2, &buf, &len);
	T_ASSERT(memmem(buf, len, " n 2050 18446744073709551615 w ", 31) !=
	    NULL);
	T_EQ_INT(store_decode(buf, len, &out, &n, &err), 0);
	T_EQ_INT(n, 2);
	if (n == 2) {
		T_EQ_STR(out[0].mirror, "access.log");
		T_EQ_INT(out[0].m_off, 99999);
		T_EQ_INT(out[0].m_size, 88888);
		T_EQ_INT(out[0].m_dev, 2050);
		T_ASSERT(out[0].m_ino == 18446744073709551615ULL);
		T_EQ_INT(out[0].fwd, 1);
		T_EQ_INT(out[0].fwd_id, 0x1234abcd);
		T_EQ_INT(out[0].fwd_off, 77777);
		T_EQ_INT(out[0].fwd_seq, 42);
		T_EQ_STR(out[1].mirror, "access.log-20260607T1000Z");
		T_EQ_INT(out[1].m_size, 4);
		T_EQ_INT(out[1].m_dev, 0);
		T_EQ_INT(out[1].m_ino, 0);
		T_EQ_INT(out[1].fwd, 0);
	}
	store_records_free(out, n);
	free(buf);
}

static void
t_empty(void)
{
	struct srecord *out;
	char *buf;
	size_t len, n;
	const char *err;

	store_encode(NULL, 0, &buf, &len);
	T_EQ_INT(store_decode(buf, len, &out, &n, &err), 0);
	T_EQ_INT(n, 0);
	free(buf);
}

/* Flip each byte, cut at each length: every variant must be rejected. */
static void
t_damage_rejected(void)
{
	struct srecord in[2], *out;
	char *buf;
	size_t len, n, i;
	const char *err;
	int accepted = 0;

	in[0] = rec("nginx", "/a/access.log", 1);
	in[0].mirror = (char *)(uintptr_t)"m";
	in[0].m_off = in[0].m_size = 10;
	in[0].m_dev = 1;
	in[0].m_ino = 2;
	in[1] = rec("nginx", "/a/access.log.1", 2);
	store_encode(in, 2, &buf, &len);
	for (i = 0; i < len; i++) {
		buf[i] ^= 0x01;
		if (store_decode(buf, len, &out, &n, &err) == 0) {
			accepted++;
			store_records_free(out, n);
		}
		buf[i] ^= 0x01;
	}
	for (i = 0; i < len; i++)
		if (store_decode(buf, i, &out, &n, &err) == 0) {
			accepted++;
			store_records_free(out, n);
		}
	T_EQ_INT(accepted, 0);
	free(buf);
}

static void
t_save_load(void)
{
	char dir[] = "/tmp/lethe-state-XXXXXX";
	struct srecord in[1], *out;
	size_t n;
	const char *err = NULL;
	int dfd;

	T_ASSERT(mkdtemp(dir) != NULL);
	dfd = open(dir, O_RDONLY | O_DIRECTORY);
	T_ASSERT(dfd != -1);
	T_EQ_INT(store_load(dfd, &out, &n, &err), 1);
	in[0] = rec("s", "/p", 7);
	T_EQ_INT(store_save(dfd, in, 1), 0);
	T_EQ_INT(store_load(dfd, &out, &n, &err), 0);
	T_EQ_INT(n, 1);
	store_records_free(out, n);
	T_EQ_INT(unlinkat(dfd, "catalog", 0), 0);
	close(dfd);
	T_EQ_INT(rmdir(dir), 0);
}

static const struct t_case cases[] = {
	{ "round_trip", t_round_trip },
	{ "mirror_fields", t_mirror_fields },
	{ "empty", t_empty },
	{ "damage_rejected", t_damage_rejected },
	{ "save_load", t_save_load },
	{ NULL, NULL },
};

int
main(int argc, char **argv)
{
	return t_main(cases, argc, argv);
}
