/*
 * Fuzz addr_mask().  The first byte picks the prefixes (v4 = b % 33,
 * v6 = b % 129); the rest is the span.  Checks: the output fits in
 * ADDR_OUT_MAX and nothing past it is written, a rejection writes nothing,
 * masking the output again gives the same bytes with *full == 0, the
 * output is canonical (keeping every bit changes nothing), and masking
 * the canonical form gives the same result as masking the input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lethe.h"

#define CANARY	0xa5
#define SLACK	16

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check(int cond)
{
	if (!cond)
		abort();
}

static int
untouched(const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if ((unsigned char)p[i] != CANARY)
			return 0;
	return 1;
}

/* Mask s[0..len) into out (CANARY first); check the bytes past it. */
static int
mask(const char *s, size_t len, const struct addr_prefix *pfx, char *out,
    size_t *outlen, int *full)
{
	int rc;

	memset(out, CANARY, ADDR_OUT_MAX + SLACK);
	rc = addr_mask(s, len, pfx, out, ADDR_OUT_MAX + SLACK, outlen, full);
	if (rc == -1) {
		check(untouched(out, ADDR_OUT_MAX + SLACK));
		return -1;
	}
	check(rc == 0);
	check(*outlen > 0 && *outlen <= ADDR_OUT_MAX);
	check(*full == 0 || *full == 1);
	check(untouched(out + *outlen, ADDR_OUT_MAX + SLACK - *outlen));
	return 0;
}

static int
same(const char *a, size_t alen, const char *b, size_t blen)
{
	return alen == blen && memcmp(a, b, alen) == 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct addr_prefix keep = { 32, 128 };
	struct addr_prefix pfx;
	char a[ADDR_OUT_MAX + SLACK], b[ADDR_OUT_MAX + SLACK];
	char c[ADDR_OUT_MAX + SLACK], *s;
	size_t alen, blen, clen, len;
	int afull, bfull, cfull;

	if (size == 0)
		return 0;
	pfx.v4 = data[0] % 33;
	pfx.v6 = data[0] % 129;
	len = size - 1;
	/* an exact-size copy, so a read past the span is caught */
	if ((s = malloc(len > 0 ? len : 1)) == NULL)
		abort();
	memcpy(s, data + 1, len);
	if (mask(s, len, &pfx, a, &alen, &afull) == 0) {
		/* idempotent */
		check(mask(a, alen, &pfx, b, &blen, &bfull) == 0);
		check(same(a, alen, b, blen) && bfull == 0);
		/* canonical */
		check(mask(a, alen, &keep, b, &blen, &bfull) == 0);
		check(same(a, alen, b, blen) && bfull == 0);
		/* canonicalising first changes neither output nor full */
		check(mask(s, len, &keep, b, &blen, &bfull) == 0);
		check(mask(b, blen, &pfx, c, &clen, &cfull) == 0);
		check(same(a, alen, c, clen) && afull == cfull);
		/* full is 0 exactly when the address was already masked */
		check(afull == !same(a, alen, b, blen));
	}
	free(s);
	return 0;
}
