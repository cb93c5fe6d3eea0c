/*
 * Digests, through nettle (Debian's libnettle, as every crypto primitive
 * of lethe): SHA-256 of a file as stored (find's report, erase's
 * receipt) and HMAC-SHA256, the keyed hash that names a request without
 * its address and the ratchet of the pseudonyms' day keys (keys.c).
 */
#include <stdlib.h>
#include <string.h>

#include <nettle/hmac.h>
#include <nettle/sha2.h>

#include "lethe.h"

struct digest {
	struct sha256_ctx ctx;
};

static void
hex(const uint8_t *v, size_t n, char *out)
{
	static const char x[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = x[v[i] >> 4];
		out[2 * i + 1] = x[v[i] & 15];
	}
	out[2 * n] = '\0';
}

struct digest *
digest_new(void)
{
	struct digest *d = xmalloc(sizeof(*d));

	sha256_init(&d->ctx);
	return d;
}

void
digest_update(struct digest *d, const void *p, size_t n)
{
	sha256_update(&d->ctx, n, p);
}

void
digest_hex(struct digest *d, char out[DIGEST_HEX])
{
	uint8_t v[SHA256_DIGEST_SIZE];

	sha256_digest(&d->ctx, sizeof(v), v);
	hex(v, sizeof(v), out);
}

void
digest_free(struct digest *d)
{
	free(d);
}

void
digest_hmac_hex(const uint8_t *key, size_t klen, const void *msg, size_t n,
    char out[DIGEST_HEX])
{
	struct hmac_sha256_ctx ctx;
	uint8_t v[SHA256_DIGEST_SIZE];

	hmac_sha256_set_key(&ctx, klen, key);
	hmac_sha256_update(&ctx, n, msg);
	hmac_sha256_digest(&ctx, sizeof(v), v);
	hex(v, sizeof(v), out);
	explicit_bzero(&ctx, sizeof(ctx));
}

void
digest_hmac(const uint8_t *key, size_t klen, const void *msg, size_t n,
    uint8_t out[DIGEST_LEN])
{
	struct hmac_sha256_ctx ctx;

	hmac_sha256_set_key(&ctx, klen, key);
	hmac_sha256_update(&ctx, n, msg);
	hmac_sha256_digest(&ctx, DIGEST_LEN, out);
	explicit_bzero(&ctx, sizeof(ctx));
}
