/*
 * Pseudonyms of addresses: ipcrypt (draft-denis-ipcrypt, ipcrypt.org),
 * through nettle's AES-128.  Pure: keys come in, nothing is kept but
 * their expansion, which pseudo_free wipes.
 *
 * ipcrypt-deterministic: one AES-128 block over the 16-byte form (IPv4
 * as ::ffff:a.b.c.d); the result is the pseudonym, written as IPv4 when
 * it happens to be IPv4-mapped, else as IPv6 (so an IPv4 address almost
 * always becomes an IPv6 one).  The key is the first 16 bytes of a day
 * key.
 *
 * ipcrypt-pfx: prefix-preserving, with all 32 bytes (two AES-128 keys
 * K1, K2).  Bit by bit from the most significant one (from bit 96 for
 * IPv4, so IPv4 stays IPv4), each bit is XORed with the low bit of
 * AES(K1, P) ^ AES(K2, P), where P is the bits before it, padded as
 * zeros || 1 || prefix.  Two addresses that share their first N bits
 * have pseudonyms that share their first N bits, and nothing more is
 * told: a /24 stays one /24, under another name.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <nettle/aes.h>

#include "lethe.h"

struct pseudo {
	int		 prefix;	/* ipcrypt-pfx, else deterministic */
	struct aes128_ctx k1;		/* encrypt: deterministic, or pfx K1 */
	struct aes128_ctx k2;		/* deterministic: decrypt; pfx: K2 */
};

int64_t
pseudo_day(int64_t t)
{
	return t >= 0 ? t / PSEUDO_DAY : -((-t + PSEUDO_DAY - 1) / PSEUDO_DAY);
}

struct pseudo *
pseudo_new(int prefix, const uint8_t key[PSEUDO_KEY_LEN])
{
	struct pseudo *p;

	/* Equal halves cancel out: the pseudonym would be the address. */
	if (prefix && memcmp(key, key + 16, 16) == 0)
		return NULL;
	p = xcalloc(1, sizeof(*p));
	p->prefix = prefix;
	aes128_set_encrypt_key(&p->k1, key);
	if (prefix)
		aes128_set_encrypt_key(&p->k2, key + 16);
	else
		aes128_invert_key(&p->k2, &p->k1);
	return p;
}

void
pseudo_free(struct pseudo *p)
{
	if (p == NULL)
		return;
	explicit_bzero(p, sizeof(*p));
	free(p);
}

/* Bit pos of the 16-byte form, 0 the least significant of byte 15. */
static int
get_bit(const uint8_t v[16], int pos)
{
	return v[15 - pos / 8] >> (pos % 8) & 1;
}

static void
set_bit(uint8_t v[16], int pos, int bit)
{
	v[15 - pos / 8] |= (uint8_t)(bit << (pos % 8));
}

/* The padded prefix of the first `start` bits: 0 (IPv6) or 96 (IPv4). */
static void
pad_start(uint8_t pad[16], int start)
{
	memset(pad, 0, 16);
	if (start == 0) {
		pad[15] = 0x01;
		return;
	}
	pad[3] = 0x01;		/* the 1 before 96 bits of ::ffff */
	pad[14] = pad[15] = 0xff;
}

/* The prefix one bit longer: shifted left, bit appended. */
static void
pad_push(uint8_t pad[16], int bit)
{
	int i;

	for (i = 0; i < 15; i++)
		pad[i] = (uint8_t)(pad[i] << 1 | pad[i + 1] >> 7);
	pad[15] = (uint8_t)(pad[15] << 1 | bit);
}

/* The PRF bit of a padded prefix. */
static int
prf_bit(const struct pseudo *p, const uint8_t pad[16])
{
	uint8_t e1[16], e2[16];

	aes128_encrypt(&p->k1, 16, e1, pad);
	aes128_encrypt(&p->k2, 16, e2, pad);
	return (e1[15] ^ e2[15]) & 1;
}

/*
 * ipcrypt-pfx one way or the other: in is the address (encrypt) or the
 * pseudonym (decrypt); the prefix fed to the PRF is always the
 * address's, so decrypting feeds the bits it recovers.
 */
static void
pfx(const struct pseudo *p, int decrypt, const uint8_t in[16],
    uint8_t out[16])
{
	uint8_t pad[16], res[16];
	int start, n, pos, a;

	memset(res, 0, sizeof(res));
	start = addr_is_v4(in) ? 96 : 0;
	if (start == 96)
		res[10] = res[11] = 0xff;
	pad_start(pad, start);
	for (n = start; n < 128; n++) {
		pos = 127 - n;
		a = get_bit(in, pos) ^ prf_bit(p, pad);
		set_bit(res, pos, a);
		pad_push(pad, decrypt ? a : get_bit(in, pos));
	}
	memcpy(out, res, 16);
	explicit_bzero(pad, sizeof(pad));
}

void
pseudo_encrypt(const struct pseudo *p, const uint8_t in[16], uint8_t out[16])
{
	if (p->prefix)
		pfx(p, 0, in, out);
	else
		aes128_encrypt(&p->k1, 16, out, in);
}

void
pseudo_decrypt(const struct pseudo *p, const uint8_t in[16], uint8_t out[16])
{
	if (p->prefix)
		pfx(p, 1, in, out);
	else
		aes128_decrypt(&p->k2, 16, out, in);
}
