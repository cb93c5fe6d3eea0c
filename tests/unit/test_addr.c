/*
 * Unit tests of addr.c.  The golden table tests/unit/addr_cases.txt (its
 * header says the format; the path is relative to the repo root, the cwd
 * of tests, and ADDR_CASES overrides it) is checked case by case, each
 * accepted case for idempotence too, and the bytes around the output are
 * checked to stay untouched.
 *
 * "test_addr --filter" is the driver of tests/unit/addr_equiv.py: it reads
 * lines "INPUT\tV4\tV6" on stdin and prints "OUTPUT\tFULL", or "-1" when
 * addr_mask() rejects INPUT.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lethe.h"
#include "t.h"

#define CASES_PATH	"tests/unit/addr_cases.txt"
#define CASES_MAX	1024
#define CASES_MIN	80
#define FIELD_MAX	256
#define CANARY		0xa5

struct acase {
	int		 line;
	char		 in[FIELD_MAX];
	struct addr_prefix pfx;
	char		 want[FIELD_MAX];	/* "-1": rejected */
	int		 full;
};

static struct acase	cases[CASES_MAX];
static size_t		ncases;
static int		cases_loaded;

static int
prefix_parse(const char *s, int max, int *v)
{
	const char *errstr;

	*v = (int)strtonum(s, 0, max, &errstr);
	return errstr == NULL ? 0 : -1;
}

/* Split one table line into its five fields; returns -1 when malformed. */
static int
case_parse(char *line, struct acase *c)
{
	char *f[5];
	int i;

	for (i = 0; i < 5; i++) {
		f[i] = strsep(&line, "\t");
		if (f[i] == NULL)
			return -1;
	}
	if (line != NULL || strlen(f[0]) >= FIELD_MAX ||
	    strlen(f[3]) >= FIELD_MAX ||
	    prefix_parse(f[1], 32, &c->pfx.v4) == -1 ||
	    prefix_parse(f[2], 128, &c->pfx.v6) == -1)
		return -1;
	strlcpy(c->in, f[0], sizeof(c->in));
	strlcpy(c->want, f[3], sizeof(c->want));
	if (strcmp(f[3], "-1") == 0)
		return strcmp(f[4], "-") == 0 ? 0 : -1;
	if (strcmp(f[4], "0") != 0 && strcmp(f[4], "1") != 0)
		return -1;
	c->full = f[4][0] - '0';
	return 0;
}

static void
cases_load(void)
{
	const char *path;
	char buf[2 * FIELD_MAX + 64];
	FILE *fp;
	int line = 0;

	if (cases_loaded)
		return;
	cases_loaded = 1;
	if ((path = getenv("ADDR_CASES")) == NULL)
		path = CASES_PATH;
	if ((fp = fopen(path, "r")) == NULL) {
		fprintf(stderr, "open \"%s\" failed\n", path);
		t_failed_checks++;
		return;
	}
	while (fgets(buf, sizeof(buf), fp) != NULL) {
		line++;
		buf[strcspn(buf, "\n")] = '\0';
		if (buf[0] == '#' || buf[0] == '\0')
			continue;
		if (ncases == CASES_MAX ||
		    case_parse(buf, &cases[ncases]) == -1) {
			fprintf(stderr, "%s:%d: bad case line\n", path, line);
			t_failed_checks++;
			continue;
		}
		cases[ncases++].line = line;
	}
	fclose(fp);
}

/*
 * addr_mask() on an exact-size heap copy of in[0..len) (so ASan sees a
 * read past the span) into out[0..outsz) filled with CANARY first.
 */
static int
mask_copy(const char *in, size_t len, const struct addr_prefix *pfx,
    char *out, size_t outsz, size_t *outlen, int *full)
{
	char *s;
	int rc;

	if ((s = malloc(len > 0 ? len : 1)) == NULL)
		abort();
	memcpy(s, in, len);
	memset(out, CANARY, outsz);
	rc = addr_mask(s, len, pfx, out, outsz, outlen, full);
	T_ASSERT(memcmp(s, in, len) == 0);
	free(s);
	return rc;
}

/* Every byte of p[0..n) is CANARY. */
static int
untouched(const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if ((unsigned char)p[i] != CANARY)
			return 0;
	return 1;
}

static void
case_check(const struct acase *c)
{
	char out[ADDR_OUT_MAX + 16], got[ADDR_OUT_MAX + 1];
	size_t outlen = 0;
	int rc, full = -1;

	rc = mask_copy(c->in, strlen(c->in), &c->pfx, out, sizeof(out),
	    &outlen, &full);
	if (strcmp(c->want, "-1") == 0) {
		if (rc != -1 || !untouched(out, sizeof(out))) {
			fprintf(stderr, "line %d: \"%s\": want rejection\n",
			    c->line, c->in);
			t_failed_checks++;
		}
		return;
	}
	if (rc != 0 || outlen > ADDR_OUT_MAX) {
		fprintf(stderr, "line %d: \"%s\": rejected, want \"%s\"\n",
		    c->line, c->in, c->want);
		t_failed_checks++;
		return;
	}
	memcpy(got, out, outlen);
	got[outlen] = '\0';
	if (strcmp(got, c->want) != 0 || full != c->full) {
		fprintf(stderr, "line %d: \"%s\" /%d /%d: got \"%s\" %d, "
		    "want \"%s\" %d\n", c->line, c->in, c->pfx.v4, c->pfx.v6,
		    got, full, c->want, c->full);
		t_failed_checks++;
	}
	T_ASSERT(untouched(out + outlen, sizeof(out) - outlen));
}

static void
test_cases(void)
{
	size_t i;

	cases_load();
	if (ncases < CASES_MIN) {
		fprintf(stderr, "only %zu cases, want %d or more\n", ncases,
		    CASES_MIN);
		t_failed_checks++;
	}
	for (i = 0; i < ncases; i++)
		case_check(&cases[i]);
}

/* Mask s, then mask the output again with pfx: same bytes, full 0. */
static void
idem_check(const char *s, size_t len, const struct addr_prefix *pfx,
    int line)
{
	static const struct addr_prefix keep = { 32, 128 };
	char a[ADDR_OUT_MAX], b[ADDR_OUT_MAX];
	size_t alen, blen;
	int full;

	if (addr_mask(s, len, pfx, a, sizeof(a), &alen, &full) == -1)
		return;
	if (mask_copy(a, alen, pfx, b, sizeof(b), &blen, &full) != 0 ||
	    blen != alen || memcmp(a, b, alen) != 0 || full != 0) {
		fprintf(stderr, "line %d: \"%s\": masking the output again "
		    "changes it\n", line, s);
		t_failed_checks++;
	}
	/* the output is canonical: keeping every bit changes nothing */
	if (mask_copy(a, alen, &keep, b, sizeof(b), &blen, &full) != 0 ||
	    blen != alen || memcmp(a, b, alen) != 0 || full != 0) {
		fprintf(stderr, "line %d: \"%s\": output not canonical\n",
		    line, s);
		t_failed_checks++;
	}
}

static void
test_idempotent(void)
{
	size_t i;

	cases_load();
	for (i = 0; i < ncases; i++)
		idem_check(cases[i].in, strlen(cases[i].in), &cases[i].pfx,
		    cases[i].line);
}

/* A span inside a longer buffer: only s[0..len) is read. */
static void
test_span(void)
{
	static const struct addr_prefix pfx = { 16, 32 };
	static const char line[] = "x203.0.113.77:80 [2001:db8::1]:443y";
	char out[ADDR_OUT_MAX];
	size_t outlen;
	int full;

	T_EQ_INT(addr_mask(line + 1, 15, &pfx, out, sizeof(out), &outlen,
	    &full), 0);
	T_ASSERT(outlen == 12 && memcmp(out, "203.0.0.0:80", 12) == 0);
	T_EQ_INT(addr_mask(line + 1, 11, &pfx, out, sizeof(out), &outlen,
	    &full), 0);
	T_ASSERT(outlen == 9 && memcmp(out, "203.0.0.0", 9) == 0);
	T_EQ_INT(addr_mask(line + 17, 17, &pfx, out, sizeof(out), &outlen,
	    &full), 0);
	T_ASSERT(outlen == 16 && memcmp(out, "[2001:db8::]:443", 16) == 0);
	T_EQ_INT(addr_mask(line + 17, 18, &pfx, out, sizeof(out), &outlen,
	    &full), -1);
	T_EQ_INT(addr_mask(line, 0, &pfx, out, sizeof(out), &outlen,
	    &full), -1);
}

/* Rejections leave out, *outlen and *full alone; so does a small out. */
static void
test_untouched(void)
{
	static const struct addr_prefix pfx = { 16, 32 };
	static const char *bad[] = { "-", "unknown", "1.2.3", "::g",
	    "Chrome/120.0.0.0", "[::1]:99999", "fe80::1%", NULL };
	char out[ADDR_OUT_MAX * 2];
	size_t outlen, i;
	int full;

	for (i = 0; bad[i] != NULL; i++) {
		outlen = 12345;
		full = 7;
		T_EQ_INT(mask_copy(bad[i], strlen(bad[i]), &pfx, out,
		    sizeof(out), &outlen, &full), -1);
		T_ASSERT(untouched(out, sizeof(out)));
		T_EQ_INT(outlen, 12345);
		T_EQ_INT(full, 7);
	}
	/* outsz below ADDR_OUT_MAX breaks the contract: always rejected */
	T_EQ_INT(mask_copy("1.2.3.4", 7, &pfx, out, ADDR_OUT_MAX - 1,
	    &outlen, &full), -1);
	T_ASSERT(untouched(out, sizeof(out)));
	T_EQ_INT(mask_copy("1.2.3.4", 7, &pfx, out, ADDR_OUT_MAX, &outlen,
	    &full), 0);
	T_ASSERT(outlen == 7 && memcmp(out, "1.2.0.0", 7) == 0);
	T_ASSERT(untouched(out + 7, sizeof(out) - 7));
}

/* The longest output there is still fits in ADDR_OUT_MAX. */
static void
test_longest(void)
{
	static const struct addr_prefix pfx = { 32, 128 };
	static const char in[] = "[FFFF:FFFF:FFFF:FFFF:FFFF:FFFF:FFFF:FFFF"
	    "%abcdefghijklmnopqrstuvwxyz012345]:65535";
	char out[ADDR_OUT_MAX + 8];
	size_t outlen;
	int full;

	T_EQ_INT(mask_copy(in, sizeof(in) - 1, &pfx, out, sizeof(out),
	    &outlen, &full), 0);
	T_EQ_INT(outlen, sizeof(in) - 1);
	T_ASSERT(outlen <= ADDR_OUT_MAX);
	T_EQ_INT(full, 0);
	T_ASSERT(untouched(out + outlen, sizeof(out) - outlen));
}

/* Prefixes out of range are clamped; NULL outlen and full are allowed. */
static void
test_clamp(void)
{
	static const struct addr_prefix wide = { 99, 999 };
	static const struct addr_prefix neg = { -5, -5 };
	char out[ADDR_OUT_MAX];
	size_t outlen;
	int full;

	T_EQ_INT(addr_mask("1.2.3.4", 7, &wide, out, sizeof(out), &outlen,
	    &full), 0);
	T_ASSERT(outlen == 7 && memcmp(out, "1.2.3.4", 7) == 0 && full == 0);
	T_EQ_INT(addr_mask("2001:db8::1", 11, &neg, out, sizeof(out),
	    &outlen, &full), 0);
	T_ASSERT(outlen == 2 && memcmp(out, "::", 2) == 0 && full == 1);
	T_EQ_INT(addr_mask("::1", 3, &wide, out, sizeof(out), NULL, NULL),
	    0);
}

/* Values: every spelling of one address is one value; networks hold. */
static void
test_value(void)
{
	static const char *same4[] = {
		"192.0.2.7", "192.0.2.7:5678", "::ffff:192.0.2.7",
		"[::ffff:192.0.2.7]:443", "::FFFF:c000:0207", "192.000.002.007",
	};
	static const char *same6[] = {
		"2001:db8::1", "2001:0DB8:0000::0001", "[2001:db8::1]:443",
		"2001:db8:0:0:0:0:0:1", "2001:db8::1%eth0", "[2001:db8::1]",
	};
	uint8_t a[16], b[16];
	struct addr_net n;
	size_t i;

	T_EQ_INT(addr_value(same4[0], strlen(same4[0]), a), 0);
	T_ASSERT(addr_is_v4(a));
	for (i = 1; i < sizeof(same4) / sizeof(same4[0]); i++) {
		T_EQ_INT(addr_value(same4[i], strlen(same4[i]), b), 0);
		T_ASSERT(memcmp(a, b, 16) == 0);
	}
	T_EQ_INT(addr_value(same6[0], strlen(same6[0]), a), 0);
	T_ASSERT(!addr_is_v4(a));
	for (i = 1; i < sizeof(same6) / sizeof(same6[0]); i++) {
		T_EQ_INT(addr_value(same6[i], strlen(same6[i]), b), 0);
		T_ASSERT(memcmp(a, b, 16) == 0);
	}
	T_EQ_INT(addr_value("192.0.2.70", 10, b), 0);
	T_EQ_INT(addr_net_parse("192.0.2.7", &n), 0);
	T_EQ_INT(n.bits, 128);
	T_ASSERT(!addr_net_has(&n, b));
	T_EQ_INT(addr_net_parse("192.0.2.0/24", &n), 0);
	T_EQ_INT(n.bits, 120);
	T_ASSERT(addr_net_has(&n, b));
	T_EQ_INT(addr_net_parse("::ffff:192.0.2.0/120", &n), 0);
	T_ASSERT(addr_net_has(&n, b));
	T_EQ_INT(addr_net_parse("2001:db8:1::/48", &n), 0);
	T_EQ_INT(addr_value("2001:db8:1:ffff::9", 18, b), 0);
	T_ASSERT(addr_net_has(&n, b));
	T_EQ_INT(addr_value("2001:db8:2::9", 13, b), 0);
	T_ASSERT(!addr_net_has(&n, b));
	T_EQ_INT(addr_net_parse("192.0.2.0/33", &n), -1);
	T_EQ_INT(addr_net_parse("2001:db8::/129", &n), -1);
	T_EQ_INT(addr_net_parse("192.0.2.0/", &n), -1);
	T_EQ_INT(addr_net_parse("example.com", &n), -1);
	T_EQ_INT(addr_value("-", 1, b), -1);
	T_EQ_INT(addr_value("Chrome/120.0.0.0", 16, b), -1);
}

/* --filter: "INPUT\tV4\tV6" in, "OUTPUT\tFULL" or "-1" out. */
static int
filter(void)
{
	struct addr_prefix pfx;
	char buf[4096], out[ADDR_OUT_MAX], *line, *in, *f4, *f6;
	size_t outlen;
	int full;

	while (fgets(buf, sizeof(buf), stdin) != NULL) {
		buf[strcspn(buf, "\n")] = '\0';
		line = buf;
		in = strsep(&line, "\t");
		f4 = strsep(&line, "\t");
		f6 = strsep(&line, "\t");
		if (f6 == NULL || line != NULL ||
		    prefix_parse(f4, 32, &pfx.v4) == -1 ||
		    prefix_parse(f6, 128, &pfx.v6) == -1) {
			fprintf(stderr, "test_addr: bad filter line\n");
			return 2;
		}
		if (addr_mask(in, strlen(in), &pfx, out, sizeof(out), &outlen,
		    &full) == -1)
			printf("-1\n");
		else
			printf("%.*s\t%d\n", (int)outlen, out, full);
	}
	return ferror(stdin) || fflush(stdout) == EOF ? 2 : 0;
}

static const struct t_case tests[] = {
	{ "cases", test_cases },
	{ "idempotent", test_idempotent },
	{ "span", test_span },
	{ "untouched", test_untouched },
	{ "longest", test_longest },
	{ "clamp", test_clamp },
	{ "value", test_value },
	{ NULL, NULL }
};

int
main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "--filter") == 0)
		return filter();
	return t_main(tests, argc, argv);
}
