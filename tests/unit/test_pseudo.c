/*
 * Unit tests of pseudo.c (and addr.c's addr_text, addr_replace): every
 * published test vector of ipcrypt-deterministic and ipcrypt-pfx
 * (draft-denis-ipcrypt, appendix A.1 and A.2), both ways; round trips of
 * random addresses; the prefixes pfx keeps; the text of the results.
 */
#include <sys/mman.h>

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "lethe.h"
#include "t.h"

struct vector {
	const char	*key;		/* hex: 32 digits (det) or 64 (pfx) */
	const char	*in;
	const char	*out;
};

/* draft-denis-ipcrypt, A.1 */
static const struct vector det[] = {
	{ "0123456789abcdeffedcba9876543210", "0.0.0.0",
	    "bde9:6789:d353:824c:d7c6:f58a:6bd2:26eb" },
	{ "1032547698badcfeefcdab8967452301", "255.255.255.255",
	    "aed2:92f6:ea23:58c3:48fd:8b8:74e8:45d8" },
	{ "2b7e151628aed2a6abf7158809cf4f3c", "192.0.2.1",
	    "1dbd:c1b9:fff1:7586:7d0b:67b4:e76e:4777" },
};

#define KB "0123456789abcdeffedcba98765432101032547698badcfeefcdab8967452301"
#define KP "2b7e151628aed2a6abf7158809cf4f3ca9f5ba40db214c3798f2e1c23456789a"

/* draft-denis-ipcrypt, A.2.1 and A.2.2 */
static const struct vector pfx[] = {
	{ KB, "0.0.0.0", "151.82.155.134" },
	{ KB, "255.255.255.255", "94.185.169.89" },
	{ KB, "192.0.2.1", "100.115.72.131" },
	{ KB, "2001:db8::1", "c180:5dd4:2587:3524:30ab:fa65:6ab6:f88" },
	{ KP, "10.0.0.47", "19.214.210.244" },
	{ KP, "10.0.0.129", "19.214.210.80" },
	{ KP, "10.0.0.234", "19.214.210.30" },
	{ KP, "172.16.5.193", "210.78.229.136" },
	{ KP, "172.16.97.42", "210.78.179.241" },
	{ KP, "172.16.248.177", "210.78.121.215" },
	{ KP, "2001:db8::a5c9:4e2f:bb91:5a7d",
	    "7cec:702c:1243:f70:1956:125:b9bd:1aba" },
	{ KP, "2001:db8::7234:d8f1:3c6e:9a52",
	    "7cec:702c:1243:f70:a3ef:c8e:95c1:cd0d" },
	{ KP, "2001:db8::f1e0:937b:26d4:8c1a",
	    "7cec:702c:1243:f70:443c:c8e:6a62:b64d" },
	{ KP, "2001:db8:3a5c:0:e7d1:4b9f:2c8a:f673",
	    "7cec:702c:3503:bef:e616:96bd:be33:a9b9" },
	{ KP, "2001:db8:9f27:0:b4e2:7a3d:5f91:c8e6",
	    "7cec:702c:a504:b74e:194a:3d90:b047:2d1a" },
	{ KP, "2001:db8:d8b4:0:193c:a5e7:8b2f:46d1",
	    "7cec:702c:f840:aa67:1b8:e84f:ac9d:77fb" },
};

static void
unhex(const char *s, uint8_t key[PSEUDO_KEY_LEN])
{
	size_t i, n = strlen(s) / 2;
	unsigned int b;

	memset(key, 0, PSEUDO_KEY_LEN);
	for (i = 0; i < n && i < PSEUDO_KEY_LEN; i++) {
		if (sscanf(s + 2 * i, "%2x", &b) != 1)
			abort();
		key[i] = (uint8_t)b;
	}
}

/* The text of in's pseudonym (or of what it stands for, when back). */
static const char *
run(const struct pseudo *p, int back, const char *in)
{
	static char out[ADDR_TEXT_MAX];
	uint8_t v[16];

	if (addr_value(in, strlen(in), v) == -1)
		return "(not an address)";
	if (back)
		pseudo_decrypt(p, v, v);
	else
		pseudo_encrypt(p, v, v);
	addr_text(v, out);
	return out;
}

static void
vectors(const struct vector *v, size_t n, int prefix)
{
	uint8_t key[PSEUDO_KEY_LEN];
	struct pseudo *p;
	size_t i;

	for (i = 0; i < n; i++) {
		unhex(v[i].key, key);
		p = pseudo_new(prefix, key);
		T_ASSERT(p != NULL);
		if (p == NULL)
			continue;
		T_EQ_STR(run(p, 0, v[i].in), v[i].out);
		T_EQ_STR(run(p, 1, v[i].out), v[i].in);
		pseudo_free(p);
	}
}

static void
test_det_vectors(void)
{
	vectors(det, sizeof(det) / sizeof(det[0]), 0);
}

static void
test_pfx_vectors(void)
{
	vectors(pfx, sizeof(pfx) / sizeof(pfx[0]), 1);
}

/* The deterministic mode uses the first 16 bytes only. */
static void
test_det_half_key(void)
{
	uint8_t key[PSEUDO_KEY_LEN];
	struct pseudo *p;

	unhex(det[2].key, key);
	memset(key + 16, 0x5a, 16);
	p = pseudo_new(0, key);
	T_EQ_STR(run(p, 0, "192.0.2.1"), det[2].out);
	/* the mapped form is the same address */
	T_EQ_STR(run(p, 0, "::ffff:192.0.2.1"), det[2].out);
	T_EQ_STR(run(p, 0, "[::FFFF:192.0.2.1]:80"), det[2].out);
	pseudo_free(p);
}

static void
test_pfx_equal_halves(void)
{
	uint8_t key[PSEUDO_KEY_LEN];
	struct pseudo *p;

	memset(key, 7, sizeof(key));
	T_ASSERT(pseudo_new(1, key) == NULL);
	T_ASSERT((p = pseudo_new(0, key)) != NULL);
	pseudo_free(p);
	pseudo_free(NULL);
}

/* xorshift64*: the same random addresses every run. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t
rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ULL;
}

static void
rnd_addr(uint8_t v[16], int v4)
{
	uint64_t a = rnd(), b = rnd();
	int i;

	for (i = 0; i < 8; i++) {
		v[i] = (uint8_t)(a >> (8 * i));
		v[8 + i] = (uint8_t)(b >> (8 * i));
	}
	if (v4) {
		memset(v, 0, 10);
		v[10] = v[11] = 0xff;
	} else if (addr_is_v4(v))
		v[0] = 0x20;
}

static void
rnd_key(uint8_t key[PSEUDO_KEY_LEN])
{
	size_t i;

	for (i = 0; i < PSEUDO_KEY_LEN; i++)
		key[i] = (uint8_t)rnd();
}

/* Bits two 16-byte forms share from the most significant one. */
static int
common_bits(const uint8_t a[16], const uint8_t b[16])
{
	int n = 0;

	while (n < 128 && ((a[n / 8] ^ b[n / 8]) & (0x80 >> (n % 8))) == 0)
		n++;
	return n;
}

static void
test_round_trips(void)
{
	uint8_t key[PSEUDO_KEY_LEN], v[16], e[16], d[16];
	struct pseudo *p;
	int i, mode, bad = 0, v4kept = 1;

	for (mode = 0; mode < 2; mode++) {
		rnd_key(key);
		p = pseudo_new(mode, key);
		for (i = 0; i < 2000; i++) {
			rnd_addr(v, i & 1);
			pseudo_encrypt(p, v, e);
			pseudo_decrypt(p, e, d);
			if (memcmp(v, d, 16) != 0 || memcmp(v, e, 16) == 0)
				bad++;
			/* pfx keeps the family; det makes IPv6 of IPv4 */
			if (mode == 1 && addr_is_v4(v) != addr_is_v4(e))
				v4kept = 0;
			if (mode == 0 && addr_is_v4(e))
				bad++;
		}
		pseudo_free(p);
	}
	T_EQ_INT(bad, 0);
	T_ASSERT(v4kept);
}

/*
 * pfx: two addresses that share exactly N bits have pseudonyms that
 * share exactly N bits (so a /24 stays a /24, a /48 a /48); det keeps
 * nothing of the kind.
 */
static void
test_pfx_prefixes(void)
{
	uint8_t key[PSEUDO_KEY_LEN], a[16], b[16], ea[16], eb[16];
	struct pseudo *p, *q;
	int i, n, start, bad = 0, same24 = 0, same48 = 0, det24 = 0;

	rnd_key(key);
	p = pseudo_new(1, key);
	q = pseudo_new(0, key);
	for (i = 0; i < 1000; i++) {
		rnd_addr(a, i & 1);
		start = (i & 1) ? 96 : 0;
		n = start + (int)(rnd() % (uint64_t)(128 - start));
		memcpy(b, a, 16);
		b[n / 8] ^= (uint8_t)(0x80 >> (n % 8));	/* differ at bit n */
		if (n < 127 && (rnd() & 1))
			b[15] ^= 1;	/* and maybe after it */
		pseudo_encrypt(p, a, ea);
		pseudo_encrypt(p, b, eb);
		if (common_bits(ea, eb) != n)
			bad++;
		pseudo_encrypt(q, a, ea);
		pseudo_encrypt(q, b, eb);
		if ((i & 1) && n >= 120 && common_bits(ea, eb) >= 120)
			det24++;
	}
	/* The cases the issue names: a /24 of IPv4, a /48 of IPv6. */
	for (i = 0; i < 200; i++) {
		rnd_addr(a, 1);
		memcpy(b, a, 16);
		b[15] = (uint8_t)rnd();
		pseudo_encrypt(p, a, ea);
		pseudo_encrypt(p, b, eb);
		same24 += memcmp(ea, eb, 15) == 0 && addr_is_v4(ea);
		rnd_addr(a, 0);
		memcpy(b, a, 16);
		memcpy(b + 6, key, 10);
		pseudo_encrypt(p, a, ea);
		pseudo_encrypt(p, b, eb);
		same48 += memcmp(ea, eb, 6) == 0;
	}
	pseudo_free(p);
	pseudo_free(q);
	T_EQ_INT(bad, 0);
	T_EQ_INT(same24, 200);
	T_EQ_INT(same48, 200);
	T_EQ_INT(det24, 0);
}

static void
test_text(void)
{
	static const struct {
		const char *in, *want;
	} c[] = {
		{ "::", "::" },
		{ "::1", "::1" },
		{ "1::", "1::" },
		{ "2001:DB8:0:0:0:0:0:1", "2001:db8::1" },
		{ "2001:0:0:1:0:0:0:1", "2001:0:0:1::1" },
		{ "2001:0:0:1:1:0:0:1", "2001::1:1:0:0:1" },
		{ "1:0:2:3:4:5:6:7", "1:0:2:3:4:5:6:7" },
		{ "::ffff:10.0.0.1", "10.0.0.1" },
		{ "0.0.0.0", "0.0.0.0" },
		{ "255.255.255.255", "255.255.255.255" },
		{ "::ffff:0:10.0.0.1", "::ffff:0:a00:1" },
		{ "64:ff9b::192.0.2.33", "64:ff9b::c000:221" },
		{ "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
		    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff" },
	};
	char out[ADDR_TEXT_MAX];
	uint8_t v[16];
	size_t i;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		T_ASSERT(addr_value(c[i].in, strlen(c[i].in), v) == 0);
		T_EQ_INT(addr_text(v, out), strlen(c[i].want));
		T_EQ_STR(out, c[i].want);
	}
}

static void
test_replace(void)
{
	static const struct {
		const char *in, *v, *want;
	} c[] = {
		{ "203.0.113.7", "2001:db8::1", "2001:db8::1" },
		{ "203.0.113.7:8080", "2001:db8::1", "[2001:db8::1]:8080" },
		{ "203.0.113.7:8080", "10.1.2.3", "10.1.2.3:8080" },
		{ "[2001:db8::7]:443", "10.1.2.3", "10.1.2.3:443" },
		{ "[2001:db8::7]:443", "2001:db8::8", "[2001:db8::8]:443" },
		{ "[2001:db8::7]", "2001:db8::8", "[2001:db8::8]" },
		{ "fe80::1%eth0", "fe80::2", "fe80::2%eth0" },
		{ "fe80::1%eth0", "10.0.0.1", "10.0.0.1" },
		{ "::ffff:192.0.2.1", "10.0.0.1", "10.0.0.1" },
	};
	char out[ADDR_OUT_MAX];
	uint8_t v[16];
	size_t i, n;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		T_ASSERT(addr_value(c[i].v, strlen(c[i].v), v) == 0);
		memset(out, 0, sizeof(out));
		T_ASSERT(addr_replace(c[i].in, strlen(c[i].in), v, out,
		    sizeof(out), &n) == 0);
		T_EQ_INT(n, strlen(c[i].want));
		T_EQ_STR(out, c[i].want);
	}
	T_ASSERT(addr_replace("unknown", 7, v, out, sizeof(out), &n) == -1);
	T_ASSERT(addr_replace("", 0, v, out, sizeof(out), &n) == -1);
}

static void
test_day(void)
{
	T_EQ_INT(pseudo_day(0), 0);
	T_EQ_INT(pseudo_day(86399), 0);
	T_EQ_INT(pseudo_day(86400), 1);
	T_EQ_INT(pseudo_day(-1), -1);
	T_EQ_INT(pseudo_day(-86400), -1);
	T_EQ_INT(pseudo_day(-86401), -2);
	/* 2026-11-20 */
	T_EQ_INT(pseudo_day(1795132800), tz_days_from_civil(2026, 11, 20));
}

/* ---- the transform, through the line engine ------------------------- */

#define NOW	1795910400	/* 2026-11-29T00:00:00Z */
#define WINDOW	(7 * 86400)

static struct format *fmt;

/* Keys of a test: day d's key is bytes d, d + 1, ...; fail: -1. */
static int key_fail;
static int key_calls;

static void
test_key(int64_t day, uint8_t key[PSEUDO_KEY_LEN])
{
	size_t i;

	for (i = 0; i < PSEUDO_KEY_LEN; i++)
		key[i] = (uint8_t)(day + 3 * (int64_t)i);
}

static int
key_cb(void *arg, int64_t day, int64_t now, uint8_t key[PSEUDO_KEY_LEN])
{
	(void)arg;
	(void)now;
	key_calls++;
	if (key_fail)
		return -1;
	test_key(day, key);
	return 1;
}

/* The pseudonym text of addr under day's test key. */
static const char *
expect(const char *addr, int64_t day, int prefix)
{
	uint8_t key[PSEUDO_KEY_LEN];
	struct pseudo *p;
	const char *s;

	test_key(day, key);
	p = pseudo_new(prefix, key);
	s = run(p, 0, addr);
	pseudo_free(p);
	return s;
}

/* in through the engine and the transform x; the output (static). */
static const char *
engine(const struct xform *x, const char *in, int64_t now)
{
	static char out[4096];
	struct line_stats st;
	struct line_opts lo;
	struct line_engine *e;
	struct sink *k;
	ssize_t n;
	int fd;

	fd = memfd_create("test_pseudo", 0);
	T_ASSERT(fd != -1);
	k = sink_fd_new(fd, 0, 0);
	memset(&lo, 0, sizeof(lo));
	lo.format = fmt;
	lo.xform = x;
	lo.sink = k;
	lo.now = now;
	lo.start_time = TIME_NONE;
	lo.audit_before = TIME_NONE;
	lo.ref = NOW;
	line_stats_init(&st);
	e = line_new(&lo, &st);
	T_ASSERT(line_feed(e, in, strlen(in)) == 0);
	T_ASSERT(line_finish(e) == 0);
	T_ASSERT(sink_finish(k) == 0);
	line_free(e);
	sink_free(k);
	n = pread(fd, out, sizeof(out) - 1, 0);
	close(fd);
	out[n > 0 ? n : 0] = '\0';
	return out;
}

#define REQ	" - - [28/Nov/2026:10:00:00 +0000] \"GET /a?from=198.51.100.9 " \
		"HTTP/1.1\" 200 5 \"http://192.0.2.1/\" \"curl/8.0\"\n"

/* A combined line: the address becomes its pseudonym, nothing else. */
static void
test_xform_line(void)
{
	char in[512], want[512], *p, *a, *b;
	struct xform *x;
	int64_t day = pseudo_day(NOW) - 1;	/* 2026-11-28, the line's */
	int prefix;

	for (prefix = 0; prefix < 2; prefix++) {
		x = xform_pseudonym_new(key_cb, NULL, WINDOW, prefix, NOW);
		snprintf(in, sizeof(in), "203.0.113.7" REQ);
		snprintf(want, sizeof(want), "%s" REQ,
		    expect("203.0.113.7", day, prefix));
		T_EQ_STR(engine(x, in, NOW), want);
		/* a port and IPv6 */
		snprintf(in, sizeof(in), "[2001:db8::77]:443" REQ);
		snprintf(want, sizeof(want), "[%s]:443" REQ,
		    expect("2001:db8::77", day, prefix));
		T_EQ_STR(engine(x, in, NOW), want);
		T_EQ_INT(xform_pseudonym_failed(x), 0);
		xform_pseudonym_free(x);
	}
	/* pfx keeps IPv4 IPv4, and the /24 of two addresses */
	x = xform_pseudonym_new(key_cb, NULL, WINDOW, 1, NOW);
	snprintf(in, sizeof(in), "203.0.113.7" REQ "203.0.113.200" REQ);
	snprintf(want, sizeof(want), "%s", engine(x, in, NOW));
	p = strchr(want, '\n') + 1;
	a = strrchr(strtok(want, " "), '.');
	b = strrchr(strtok(p, " "), '.');
	T_ASSERT(a != NULL && b != NULL && a - want == b - p &&
	    strncmp(want, p, (size_t)(a - want)) == 0 && strcmp(a, b) != 0);
	xform_pseudonym_free(x);
}

/* Which day's key: the line's within the window, else now's. */
static void
test_xform_days(void)
{
	char in[512], want[1024], w1[512];
	struct xform *x;
	int64_t today = pseudo_day(NOW);
	static const char old[] = "10.9.8.7 - - [01/Nov/2026:10:00:00 +0000] "
	    "\"GET / HTTP/1.1\" 200 5 \"-\" \"ua\"\n";
	static const char late[] = "10.9.8.7 - - [15/Dec/2026:10:00:00 +0000] "
	    "\"GET / HTTP/1.1\" 200 5 \"-\" \"ua\"\n";
	static const char tom[] = "10.9.8.7 - - [29/Nov/2026:23:00:00 +0000] "
	    "\"GET / HTTP/1.1\" 200 5 \"-\" \"ua\"\n";
	static const char bad[] = "no format here 10.9.8.7 at all\n";

	x = xform_pseudonym_new(key_cb, NULL, WINDOW, 0, NOW);
	/* past the window: now's day; the engine without a now of its own
	   leaves the far future line's time, the transform takes now's */
	snprintf(want, sizeof(want), "%s%s", expect("10.9.8.7", today, 0),
	    old + 8);
	T_EQ_STR(engine(x, old, TIME_NONE), want);
	snprintf(want, sizeof(want), "%s%s", expect("10.9.8.7", today, 0),
	    late + 8);
	T_EQ_STR(engine(x, late, TIME_NONE), want);
	snprintf(want, sizeof(want), "%s%s", expect("10.9.8.7", today, 0),
	    tom + 8);
	T_EQ_STR(engine(x, tom, TIME_NONE), want);
	/* a line not understood: its free-scanned address too */
	snprintf(want, sizeof(want), "no format here %s at all\n",
	    expect("10.9.8.7", today, 0));
	T_EQ_STR(engine(x, bad, TIME_NONE), want);
	/* stable within a day, another day another pseudonym */
	snprintf(in, sizeof(in), "203.0.113.7" REQ);
	snprintf(w1, sizeof(w1), "%s", engine(x, in, NOW));
	T_EQ_STR(engine(x, in, NOW), w1);
	xform_pseudonym_set_now(x, NOW + 9 * 86400);
	T_ASSERT(strcmp(engine(x, in, NOW), w1) != 0);
	T_EQ_STR(engine(x, in, NOW), engine(x, in, NOW));
	xform_pseudonym_free(x);
}

/* No key: the truncation, never the full address; asked again later. */
static void
test_xform_no_key(void)
{
	char in[512], want[512];
	struct xform *x;
	int calls;

	key_fail = 1;
	key_calls = 0;
	x = xform_pseudonym_new(key_cb, NULL, WINDOW, 0, NOW);
	snprintf(in, sizeof(in), "203.0.113.7" REQ "203.0.113.8" REQ);
	snprintf(want, sizeof(want), "203.0.0.0" REQ "203.0.0.0" REQ);
	T_EQ_STR(engine(x, in, NOW), want);
	T_EQ_INT(xform_pseudonym_failed(x), 2);
	/* the line's day and now's, once each: not per address */
	T_EQ_INT(key_calls, 2);
	calls = key_calls;
	key_fail = 0;
	T_EQ_STR(engine(x, in, NOW), want);
	T_EQ_INT(key_calls, calls);
	xform_pseudonym_set_now(x, NOW + 61);
	T_ASSERT(strcmp(engine(x, in, NOW), want) != 0);
	T_EQ_INT(xform_pseudonym_failed(x), 4);
	xform_pseudonym_free(x);
	xform_pseudonym_free(NULL);
}

static const struct t_case cases[] = {
	{ "det_vectors", test_det_vectors },
	{ "pfx_vectors", test_pfx_vectors },
	{ "det_half_key", test_det_half_key },
	{ "pfx_equal_halves", test_pfx_equal_halves },
	{ "round_trips", test_round_trips },
	{ "pfx_prefixes", test_pfx_prefixes },
	{ "text", test_text },
	{ "replace", test_replace },
	{ "day", test_day },
	{ "xform_line", test_xform_line },
	{ "xform_days", test_xform_days },
	{ "xform_no_key", test_xform_no_key },
	{ NULL, NULL },
};

int
main(int argc, char **argv)
{
	struct format_spec spec;
	const char *errstr;
	int col, rv;

	log_init(0);
	memset(&spec, 0, sizeof(spec));
	spec.kind = (char *)(uintptr_t)"combined";
	spec.prefix.v4 = 16;
	spec.prefix.v6 = 32;
	spec.zone = tz_utc();
	if ((fmt = format_new(&spec, &errstr, &col)) == NULL) {
		fprintf(stderr, "format_new: %s\n", errstr);
		return 1;
	}
	rv = t_main(cases, argc, argv);
	format_free(fmt);
	return rv;
}
