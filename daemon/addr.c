/*
 * addr.c: parse one address span and write its masked form.  Pure: no
 * time, no filesystem, no allocation; it runs once per address per line.
 *
 * Accepted, and nothing else (the whole span must match):
 *
 * IPv4       a.b.c.d, four decimal octets 0..255 of 1 to 3 digits.  An
 *            octet with leading zeros ("010") is read as decimal and
 *            written without them: inet_aton() would read it as octal,
 *            but the host bits become zero either way, and a spoofed
 *            X-Forwarded-For element such as 192.000.002.054 must not
 *            stay full.  The same holds for IPv4 embedded in IPv6.
 * IPv4:port  port: 1 to 5 decimal digits, value 0..65535; leading zeros
 *            are allowed and copied as written.
 * IPv6       1 to 4 hex digits per group, either case, at most one "::"
 *            standing for one or more zero groups, an optional dotted
 *            quad as the last 32 bits, an optional zone "%id" (1 to
 *            ADDR_ZONE_MAX of [A-Za-z0-9_.-]).  Without brackets there
 *            is no port: every colon belongs to the address.
 * [IPv6]     the same in brackets, optionally followed by ":port".
 *
 * Output: IPv4 dotted quad; IPv4-mapped IPv6 (::ffff:0:0/96) masked with
 * the IPv4 prefix and written "::ffff:a.b.c.d"; every other IPv6 in RFC
 * 5952 form (lower case, no leading zeros, the longest run of two or more
 * zero groups, the first one on a tie, as "::").  Brackets, zone and port
 * are copied as written.  Output is not NUL terminated; out[*outlen..] is
 * never written.  Prefixes out of range are clamped (v4 to 0..32, v6 to
 * 0..128).
 */
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "lethe.h"

/* ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff */
#define ADDR_V6_TEXT_MAX	39
#define ADDR_PORT_DIGITS	5

_Static_assert(1 + ADDR_V6_TEXT_MAX + 1 + ADDR_ZONE_MAX + 2 +
    ADDR_PORT_DIGITS <= ADDR_OUT_MAX, "ADDR_OUT_MAX too small");

struct addr {
	int		 v6;		/* 0: in v4, 1: in g */
	int		 bracket;	/* was in [] */
	uint32_t	 v4;
	uint16_t	 g[8];
	const char	*zone;		/* after '%'; NULL: none */
	size_t		 zonelen;
	const char	*port;		/* after ':'; NULL: none */
	size_t		 portlen;
};

/* 1 + the value of a hex digit, else 0: a table, as this runs per byte. */
static const unsigned char hexvals[256] = {
	['0'] = 1, ['1'] = 2, ['2'] = 3, ['3'] = 4, ['4'] = 5, ['5'] = 6,
	['6'] = 7, ['7'] = 8, ['8'] = 9, ['9'] = 10,
	['a'] = 11, ['b'] = 12, ['c'] = 13, ['d'] = 14, ['e'] = 15, ['f'] = 16,
	['A'] = 11, ['B'] = 12, ['C'] = 13, ['D'] = 14, ['E'] = 15, ['F'] = 16,
};

/* The value of a hex digit, or -1. */
static inline int
hexval(int c)
{
	return (int)hexvals[(unsigned char)c] - 1;
}

/*
 * Parse a dotted quad at the start of p[0..end).  Returns a pointer just
 * past its last octet (the caller judges what follows), or NULL.  An octet
 * is 1 to 3 digits, at most 255 (leading zeros allowed); unrolled, since
 * it runs for nearly every address.
 */
static const char *
parse_v4(const char *p, const char *end, uint32_t *out)
{
	uint32_t v = 0, o;
	unsigned int d0, d1, d2;
	int i;

	for (i = 0; i < 4; i++) {
		if (i > 0) {
			if (p == end || *p != '.')
				return NULL;
			p++;
		}
		if (p == end || (d0 = (unsigned char)p[0] - '0') > 9)
			return NULL;
		if (end - p < 2 || (d1 = (unsigned char)p[1] - '0') > 9) {
			o = d0;
			p++;
		} else if (end - p < 3 ||
		    (d2 = (unsigned char)p[2] - '0') > 9) {
			o = d0 * 10 + d1;
			p += 2;
		} else {
			o = d0 * 100 + d1 * 10 + d2;
			p += 3;
			if (o > 255 || (p < end &&
			    (unsigned int)((unsigned char)*p - '0') <= 9))
				return NULL;
		}
		v = v << 8 | o;
	}
	*out = v;
	return p;
}

/* p[0..end) is 1 to 5 digits with a value of at most 65535. */
static int
parse_port(const char *p, const char *end)
{
	uint32_t v = 0;

	if (p == end || end - p > ADDR_PORT_DIGITS)
		return -1;
	for (; p < end; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		v = v * 10 + (uint32_t)(*p - '0');
	}
	return v <= 65535 ? 0 : -1;
}

/* p[0..end) is a zone id: 1 to ADDR_ZONE_MAX of [A-Za-z0-9_.-]. */
static int
parse_zone(const char *p, const char *end)
{
	if (p == end || end - p > ADDR_ZONE_MAX)
		return -1;
	for (; p < end; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '_' || *p == '.' ||
		    *p == '-')
			continue;
		return -1;
	}
	return 0;
}

/*
 * One group at p, or the embedded dotted quad that must end the address.
 * Appends to t[*n] and returns a pointer past what it read, or NULL.
 */
static const char *
parse_v6_group(const char *p, const char *end, uint16_t *t, int *n)
{
	const char *q;
	uint32_t val = 0, v4;
	int h;

	for (q = p; q < end && q - p <= 4 && (h = hexval(*q)) >= 0; q++)
		val = val << 4 | (uint32_t)h;
	if (q < end && *q == '.') {
		if (*n > 6 || parse_v4(p, end, &v4) != end)
			return NULL;
		t[(*n)++] = (uint16_t)(v4 >> 16);
		t[(*n)++] = (uint16_t)(v4 & 0xffff);
		return end;
	}
	if (q == p || q - p > 4 || *n == 8)
		return NULL;
	t[(*n)++] = (uint16_t)val;
	return q;
}

/* p[0..end) is exactly one IPv6 address (no zone, no brackets). */
static int
parse_v6(const char *p, const char *end, uint16_t *g)
{
	uint16_t t[8];
	int n = 0, dbl = -1, i;

	if (end - p >= 2 && p[0] == ':' && p[1] == ':') {
		dbl = 0;
		p += 2;
	}
	while (p < end) {
		if ((p = parse_v6_group(p, end, t, &n)) == NULL)
			return -1;
		if (p == end)
			break;
		if (*p++ != ':')
			return -1;
		if (p < end && *p == ':') {
			if (dbl != -1)
				return -1;
			dbl = n;
			p++;
		} else if (p == end)
			return -1;
	}
	if (dbl == -1 ? n != 8 : n > 7)
		return -1;
	memset(g, 0, 8 * sizeof(*g));
	if (dbl == -1)
		dbl = n;
	for (i = 0; i < dbl; i++)
		g[i] = t[i];
	for (i = dbl; i < n; i++)
		g[8 - n + i] = t[i];
	return 0;
}

/* IPv6 with an optional "%zone" in s[0..end). */
static int
parse_v6_zone(const char *s, const char *end, struct addr *a)
{
	const char *pct;

	a->v6 = 1;
	if ((pct = memchr(s, '%', (size_t)(end - s))) != NULL) {
		if (parse_zone(pct + 1, end) == -1)
			return -1;
		a->zone = pct + 1;
		a->zonelen = (size_t)(end - pct - 1);
		end = pct;
	}
	return parse_v6(s, end, a->g);
}

static int
parse_addr(const char *s, const char *end, struct addr *a)
{
	const char *p;

	memset(a, 0, sizeof(*a));
	if (*s == '[') {
		a->bracket = 1;
		if ((p = memchr(s, ']', (size_t)(end - s))) == NULL ||
		    parse_v6_zone(s + 1, p, a) == -1)
			return -1;
		p++;
	} else if ((p = parse_v4(s, end, &a->v4)) == NULL)
		return parse_v6_zone(s, end, a);
	if (p == end)
		return 0;
	if (*p != ':' || parse_port(p + 1, end) == -1)
		return -1;
	a->port = p + 1;
	a->portlen = (size_t)(end - p - 1);
	return 0;
}

static uint32_t
mask_v4(uint32_t v, int bits, int *full)
{
	uint32_t m;

	if (bits < 0)
		bits = 0;
	m = bits >= 32 ? 0xffffffffU : ~(0xffffffffU >> bits);
	*full = (v & ~m) != 0;
	return v & m;
}

static void
mask_v6(uint16_t *g, int bits, int *full)
{
	int i, keep;
	uint16_t m;

	*full = 0;
	for (i = 0; i < 8; i++) {
		keep = bits - 16 * i;
		if (keep >= 16)
			continue;
		m = keep <= 0 ? 0 : (uint16_t)(0xffffU << (16 - keep));
		if (g[i] & ~m)
			*full = 1;
		g[i] &= m;
	}
}

/* The decimal text of every octet, NUL padded to 4 bytes. */
static const char v4text[256][4] = {
	"0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12",
	"13", "14", "15", "16", "17", "18", "19", "20", "21", "22", "23", "24",
	"25", "26", "27", "28", "29", "30", "31", "32", "33", "34", "35", "36",
	"37", "38", "39", "40", "41", "42", "43", "44", "45", "46", "47", "48",
	"49", "50", "51", "52", "53", "54", "55", "56", "57", "58", "59", "60",
	"61", "62", "63", "64", "65", "66", "67", "68", "69", "70", "71", "72",
	"73", "74", "75", "76", "77", "78", "79", "80", "81", "82", "83", "84",
	"85", "86", "87", "88", "89", "90", "91", "92", "93", "94", "95", "96",
	"97", "98", "99", "100", "101", "102", "103", "104", "105", "106",
	"107", "108", "109", "110", "111", "112", "113", "114", "115", "116",
	"117", "118", "119", "120", "121", "122", "123", "124", "125", "126",
	"127", "128", "129", "130", "131", "132", "133", "134", "135", "136",
	"137", "138", "139", "140", "141", "142", "143", "144", "145", "146",
	"147", "148", "149", "150", "151", "152", "153", "154", "155", "156",
	"157", "158", "159", "160", "161", "162", "163", "164", "165", "166",
	"167", "168", "169", "170", "171", "172", "173", "174", "175", "176",
	"177", "178", "179", "180", "181", "182", "183", "184", "185", "186",
	"187", "188", "189", "190", "191", "192", "193", "194", "195", "196",
	"197", "198", "199", "200", "201", "202", "203", "204", "205", "206",
	"207", "208", "209", "210", "211", "212", "213", "214", "215", "216",
	"217", "218", "219", "220", "221", "222", "223", "224", "225", "226",
	"227", "228", "229", "230", "231", "232", "233", "234", "235", "236",
	"237", "238", "239", "240", "241", "242", "243", "244", "245", "246",
	"247", "248", "249", "250", "251", "252", "253", "254", "255",
};

/*
 * Each octet's text is stored as 4 bytes and the position advances past
 * its digits only: no branch on the octets' lengths (random, so
 * mispredicted).  Writes at most 16 bytes.
 */
static size_t
write_v4(char *o, uint32_t v)
{
	size_t n = 0;
	unsigned int oc;
	int i;

	for (i = 3; i >= 0; i--) {
		oc = (v >> (8 * i)) & 0xff;
		memcpy(o + n, v4text[oc], 4);
		n += 1 + (oc >= 10) + (oc >= 100);
		o[n] = '.';
		n += i > 0;
	}
	return n;
}

static size_t
write_hex(char *o, unsigned int v)
{
	static const char digits[] = "0123456789abcdef";
	size_t n = 0;
	int sh;

	for (sh = 12; sh > 0 && (v >> sh) == 0; sh -= 4)
		;
	for (; sh >= 0; sh -= 4)
		o[n++] = digits[(v >> sh) & 0xf];
	return n;
}

/* RFC 5952 text of g. */
static size_t
write_v6(char *o, const uint16_t *g)
{
	size_t n = 0;
	int i, j, best = -1, bestlen = 1;

	for (i = 0; i < 8; i = j + 1) {
		for (j = i; j < 8 && g[j] == 0; j++)
			;
		if (j - i > bestlen) {
			best = i;
			bestlen = j - i;
		}
	}
	for (i = 0; i < 8; i++) {
		if (i == best) {
			o[n++] = ':';
			o[n++] = ':';
			i += bestlen - 1;
			continue;
		}
		if (i > 0 && i != best + bestlen)
			o[n++] = ':';
		n += write_hex(o + n, g[i]);
	}
	return n;
}

static int
is_mapped(const uint16_t *g)
{
	return g[0] == 0 && g[1] == 0 && g[2] == 0 && g[3] == 0 &&
	    g[4] == 0 && g[5] == 0xffff;
}

/* The masked address, with its zone and brackets, but no port. */
static size_t
write_masked(char *o, struct addr *a, const struct addr_prefix *pfx,
    int *full)
{
	size_t n = 0;
	uint32_t v4;

	if (!a->v6)
		return write_v4(o, mask_v4(a->v4, pfx->v4, full));
	if (a->bracket)
		o[n++] = '[';
	if (is_mapped(a->g)) {
		v4 = mask_v4((uint32_t)a->g[6] << 16 | a->g[7], pfx->v4, full);
		memcpy(o + n, "::ffff:", 7);
		n += 7;
		n += write_v4(o + n, v4);
	} else {
		mask_v6(a->g, pfx->v6, full);
		n += write_v6(o + n, a->g);
	}
	if (a->zone != NULL) {
		o[n++] = '%';
		memcpy(o + n, a->zone, a->zonelen);
		n += a->zonelen;
	}
	if (a->bracket)
		o[n++] = ']';
	return n;
}

/*
 * The common cases, parsed in one pass: a dotted quad, alone or with
 * ":port", whose masked form is written here; returns 1 when s is not of
 * that form (the general parser decides), else 0 as addr_mask does.
 */
static int
mask_v4_fast(const char *s, size_t len, const struct addr_prefix *pfx,
    char *out, size_t *outlen, int *full)
{
	unsigned char b[32];
	uint32_t v = 0, o, d0, d1, d2, has1, has2, m1, m2, bad = 0;
	size_t p = 0, n;
	int i, f;

	/* a.b.c.d:65535, padded with NULs: no bounds to check below */
	if (len > 21)
		return 1;
	memset(b, 0, sizeof(b));
	memcpy(b, s, len);
	for (i = 0; i < 4; i++) {
		if (i > 0)
			bad |= b[p++] != '.';
		d0 = b[p] - '0';
		d1 = b[p + 1] - '0';
		d2 = b[p + 2] - '0';
		has1 = d1 <= 9;
		has2 = has1 & (d2 <= 9);
		/* o = d0, d0d1 or d0d1d2 as masks select (no branch) */
		m1 = -has1;
		m2 = -has2;
		o = (d0 & ~m1) | ((d0 * 10 + d1) & m1 & ~m2) |
		    ((d0 * 100 + d1 * 10 + d2) & m2);
		/* 1 to 3 digits, at most 255 */
		bad |= (d0 > 9) | (has2 & ((uint32_t)(b[p + 3] - '0') <= 9)) |
		    (o > 255);
		p += 1 + has1 + has2;
		v = v << 8 | (o & 0xff);
	}
	if (bad)
		return 1;
	if (p < len && (s[p] != ':' || parse_port(s + p + 1, s + len) == -1))
		return 1;
	/* out[n..] stays untouched: write_v4 stores past its end */
	n = write_v4((char *)b, mask_v4(v, pfx->v4, &f));
	memcpy(b + n, s + p, len - p);
	n += len - p;
	memcpy(out, b, n);
	if (outlen != NULL)
		*outlen = n;
	if (full != NULL)
		*full = f;
	return 0;
}

int
addr_mask(const char *s, size_t len, const struct addr_prefix *pfx,
    char *out, size_t outsz, size_t *outlen, int *full)
{
	struct addr a;
	char buf[ADDR_OUT_MAX];
	size_t n;
	int f = 0;

	if (len == 0 || outsz < ADDR_OUT_MAX)
		return -1;
	/* "-", "unknown", host names: most are known by the first byte. */
	if (hexval(s[0]) == -1 && s[0] != ':' && s[0] != '[')
		return -1;
	if ((unsigned int)((unsigned char)s[0] - '0') <= 9 &&
	    mask_v4_fast(s, len, pfx, out, outlen, full) == 0)
		return 0;
	if (parse_addr(s, s + len, &a) == -1)
		return -1;
	n = write_masked(buf, &a, pfx, &f);
	if (a.port != NULL) {
		buf[n++] = ':';
		memcpy(buf + n, a.port, a.portlen);
		n += a.portlen;
	}
	memcpy(out, buf, n);
	if (outlen != NULL)
		*outlen = n;
	if (full != NULL)
		*full = f;
	return 0;
}

/* The 16-byte form of a: IPv4 as ::ffff:a.b.c.d, so the two spellings
   of one IPv4 address are one value. */
static void
addr_bytes(const struct addr *a, uint8_t v[16])
{
	int i;

	if (!a->v6) {
		memset(v, 0, 10);
		v[10] = v[11] = 0xff;
		v[12] = (uint8_t)(a->v4 >> 24);
		v[13] = (uint8_t)(a->v4 >> 16);
		v[14] = (uint8_t)(a->v4 >> 8);
		v[15] = (uint8_t)a->v4;
		return;
	}
	for (i = 0; i < 8; i++) {
		v[2 * i] = (uint8_t)(a->g[i] >> 8);
		v[2 * i + 1] = (uint8_t)a->g[i];
	}
}

int
addr_value(const char *s, size_t len, uint8_t v[16])
{
	struct addr a;

	if (len == 0 || (hexval(s[0]) == -1 && s[0] != ':' && s[0] != '[') ||
	    parse_addr(s, s + len, &a) == -1)
		return -1;
	addr_bytes(&a, v);
	return 0;
}

/* The groups of the 16-byte form v. */
static void
bytes_groups(const uint8_t v[16], uint16_t g[8])
{
	int i;

	for (i = 0; i < 8; i++)
		g[i] = (uint16_t)(v[2 * i] << 8 | v[2 * i + 1]);
}

size_t
addr_text(const uint8_t v[16], char *out)
{
	char buf[ADDR_TEXT_MAX + 16];
	uint16_t g[8];
	size_t n;

	if (addr_is_v4(v))
		n = write_v4(buf, (uint32_t)v[12] << 24 |
		    (uint32_t)v[13] << 16 | (uint32_t)v[14] << 8 | v[15]);
	else {
		bytes_groups(v, g);
		n = write_v6(buf, g);
	}
	memcpy(out, buf, n);
	out[n] = '\0';
	return n;
}

int
addr_replace(const char *s, size_t len, const uint8_t v[16], char *out,
    size_t outsz, size_t *outlen)
{
	struct addr a;
	char buf[ADDR_OUT_MAX + 16];
	uint16_t g[8];
	size_t n = 0;
	int br;

	if (len == 0 || outsz < ADDR_OUT_MAX ||
	    (hexval(s[0]) == -1 && s[0] != ':' && s[0] != '[') ||
	    parse_addr(s, s + len, &a) == -1)
		return -1;
	if (addr_is_v4(v)) {
		/* IPv4 has neither brackets nor a zone. */
		n = write_v4(buf, (uint32_t)v[12] << 24 |
		    (uint32_t)v[13] << 16 | (uint32_t)v[14] << 8 | v[15]);
	} else {
		/* An IPv6 address with a port needs its brackets. */
		br = a.bracket || a.port != NULL;
		if (br)
			buf[n++] = '[';
		bytes_groups(v, g);
		n += write_v6(buf + n, g);
		if (a.zone != NULL) {
			buf[n++] = '%';
			memcpy(buf + n, a.zone, a.zonelen);
			n += a.zonelen;
		}
		if (br)
			buf[n++] = ']';
	}
	if (a.port != NULL) {
		buf[n++] = ':';
		memcpy(buf + n, a.port, a.portlen);
		n += a.portlen;
	}
	memcpy(out, buf, n);
	*outlen = n;
	return 0;
}

int
addr_is_v4(const uint8_t v[16])
{
	static const uint8_t mapped[12] = {
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
	};

	return memcmp(v, mapped, sizeof(mapped)) == 0;
}

/* v with every bit past the first bits zeroed. */
static void
net_clear(uint8_t v[16], int bits)
{
	int i;

	for (i = 0; i < 16; i++, bits -= 8) {
		if (bits >= 8)
			continue;
		v[i] &= bits <= 0 ? 0 : (uint8_t)(0xff << (8 - bits));
	}
}

int
addr_net_parse(const char *s, struct addr_net *n)
{
	const char *slash = strchr(s, '/'), *errstr;
	size_t len = slash != NULL ? (size_t)(slash - s) : strlen(s);
	long long bits;
	int v4;

	memset(n, 0, sizeof(*n));
	/* An address alone: no port, brackets or zone in a network. */
	if (memchr(s, '[', len) != NULL || memchr(s, '%', len) != NULL ||
	    addr_value(s, len, n->v) == -1)
		return -1;
	v4 = memchr(s, ':', len) == NULL;
	if (!v4 && addr_is_v4(n->v) && memchr(s, '.', len) != NULL &&
	    strncasecmp(s, "::ffff:", 7) != 0)
		return -1;	/* 192.0.2.7:80, a port */
	n->bits = 128;
	if (slash != NULL) {
		/* 192.0.2.0/24 counts IPv4 bits; ::ffff:192.0.2.0/120 not */
		bits = strtonum(slash + 1, 0, v4 ? 32 : 128, &errstr);
		if (errstr != NULL || slash[1] == '\0')
			return -1;
		n->bits = (int)bits + (v4 ? 96 : 0);
		/* a mapped address names IPv4 only: /96 at the widest */
		if (!v4 && addr_is_v4(n->v) && n->bits < 96)
			return -1;
	}
	net_clear(n->v, n->bits);
	return 0;
}

int
addr_net_has(const struct addr_net *n, const uint8_t v[16])
{
	uint8_t c[16];

	memcpy(c, v, 16);
	net_clear(c, n->bits);
	return memcmp(c, n->v, 16) == 0;
}

int
addr_prefix_bits(const struct addr_prefix *pfx, const uint8_t v[16])
{
	int b;

	if (addr_is_v4(v)) {
		b = pfx->v4 < 0 ? 0 : pfx->v4 > 32 ? 32 : pfx->v4;
		return 96 + b;
	}
	return pfx->v6 < 0 ? 0 : pfx->v6 > 128 ? 128 : pfx->v6;
}

void
addr_net_clear(uint8_t v[16], int bits)
{
	net_clear(v, bits);
}
