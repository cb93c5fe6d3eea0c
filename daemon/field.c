/*
 * The addresses in a field's value, and in free text.  Pure: a field's
 * bytes in, spans (what to replace, and by which masked form) out.
 *
 * A field value is one element (remote_addr) or a list (X-Forwarded-For,
 * Forwarded): elements are split on ',' ';' and blanks.  Around each, the
 * decorations clients and servers put there are kept as written and the
 * address inside masked: quotes (", nginx's \x22, Apache's and JSON's
 * \"), parentheses, brackets (also around IPv4), RFC 7239's for= and by=,
 * a CIDR suffix /N, a port, a zone, a CR at the end of a CRLF line.  An
 * element that is none of an address, "-", "unknown", empty, an RFC 7239
 * obfuscated identifier ("_hidden") and a host name is counted bad: the
 * line is then not understood.
 *
 * The free scan, for lines not understood and the rest of a long line,
 * looks for every address-like token and checks what stands on either
 * side: a token right after a letter, a digit, '.', '_' or a '/' that
 * follows a letter or digit (product/version, Chrome/120.0.0.0), or
 * right before a letter, a digit or '.', is not an address.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lethe.h"

#define TOKEN_MAX	96	/* longest address spelling looked at */
#define HOST_MAX	253

static inline int
is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static inline int
is_alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static inline int
is_hex(int c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static inline int
is_blank(int c)
{
	return c == ' ' || c == '\t';
}

void
spans_reset(struct spans *sp)
{
	sp->n = 0;
	sp->tlen = 0;
}

void
spans_release(struct spans *sp)
{
	free(sp->v);
	free(sp->text);
	memset(sp, 0, sizeof(*sp));
}

/*
 * Append a span line[off, off + len) replaced by m[0..mlen); spans come
 * in increasing offset order, an overlapping one is dropped.
 */
int
spans_add(struct spans *sp, uint32_t off, uint32_t len, const char *m,
    size_t mlen, unsigned field, int flags)
{
	struct span *s;
	size_t cap;

	if (len == 0 || mlen > UINT16_MAX)
		return -1;
	if (sp->n > 0 && off < sp->v[sp->n - 1].off + sp->v[sp->n - 1].len)
		return -1;
	if (sp->n == sp->cap) {
		cap = sp->cap ? sp->cap * 2 : 16;
		sp->v = xreallocarray(sp->v, cap, sizeof(*sp->v));
		sp->cap = cap;
	}
	if (sp->tlen + mlen > sp->tcap) {
		for (cap = sp->tcap ? sp->tcap : 512; cap < sp->tlen + mlen;
		    cap *= 2)
			;
		sp->text = xreallocarray(sp->text, cap, 1);
		sp->tcap = cap;
	}
	memcpy(sp->text + sp->tlen, m, mlen);
	s = &sp->v[sp->n++];
	s->off = off;
	s->len = len;
	s->moff = (uint32_t)sp->tlen;
	s->mlen = (uint16_t)mlen;
	s->field = (uint8_t)field;
	s->flags = (uint8_t)flags;
	sp->tlen += mlen;
	return 0;
}

/* The line offset of value byte i. */
static inline uint32_t
at(const uint32_t *map, uint32_t base, size_t i)
{
	return map != NULL ? map[i] : base + (uint32_t)i;
}

/* Mask s[a, b) into a span if it is an address; 1 if it was. */
static int
try_addr(const struct field_opts *fo, const char *s, size_t a, size_t b,
    const uint32_t *map, uint32_t base, unsigned field, struct spans *sp)
{
	char m[ADDR_OUT_MAX];
	size_t mlen;
	int full;

	if (b <= a || b - a > TOKEN_MAX ||
	    addr_mask(s + a, b - a, &fo->prefix, m, sizeof(m), &mlen,
	    &full) == -1)
		return 0;
	(void)spans_add(sp, at(map, base, a), at(map, base, b) -
	    at(map, base, a), m, mlen, field, full ? SPAN_FULL : 0);
	return 1;
}

/* Strip one layer of decoration from [*a, *b); 1 if one was. */
static int
strip_one(const char *s, size_t *a, size_t *b)
{
	size_t n = *b - *a;

	/* pairs */
	if (n >= 2 && s[*a] == '"' && s[*b - 1] == '"' && s[*b - 2] != '\\') {
		(*a)++, (*b)--;
		return 1;
	}
	if (n >= 8 && memcmp(s + *a, "\\x22", 4) == 0 &&
	    memcmp(s + *b - 4, "\\x22", 4) == 0) {
		*a += 4, *b -= 4;
		return 1;
	}
	if (n >= 4 && memcmp(s + *a, "\\\"", 2) == 0 &&
	    memcmp(s + *b - 2, "\\\"", 2) == 0) {
		*a += 2, *b -= 2;
		return 1;
	}
	if (n >= 2 && s[*a] == '(' && s[*b - 1] == ')') {
		(*a)++, (*b)--;
		return 1;
	}
	/* RFC 7239's node names (the first byte first: no call for an
	   address) */
	if (n >= 4 && (s[*a] | 0x20) == 'f' &&
	    strncasecmp(s + *a, "for=", 4) == 0) {
		*a += 4;
		return 1;
	}
	if (n >= 3 && (s[*a] | 0x20) == 'b' &&
	    strncasecmp(s + *a, "by=", 3) == 0) {
		*a += 3;
		return 1;
	}
	/* a lone closing or opening one: the pair was split */
	if (n >= 1 && s[*b - 1] == '\r') {
		(*b)--;
		return 1;
	}
	if (n >= 4 && memcmp(s + *b - 4, "\\x22", 4) == 0) {
		*b -= 4;
		return 1;
	}
	if (n >= 2 && memcmp(s + *b - 2, "\\\"", 2) == 0) {
		*b -= 2;
		return 1;
	}
	if (n >= 1 && (s[*b - 1] == '"' || s[*b - 1] == ')')) {
		(*b)--;
		return 1;
	}
	if (n >= 4 && memcmp(s + *a, "\\x22", 4) == 0) {
		*a += 4;
		return 1;
	}
	if (n >= 2 && memcmp(s + *a, "\\\"", 2) == 0) {
		*a += 2;
		return 1;
	}
	if (n >= 1 && (s[*a] == '"' || s[*a] == '(')) {
		(*a)++;
		return 1;
	}
	return 0;
}

/* A CIDR suffix "/N" (1 to 3 digits) at the end of [a, b): its length. */
static size_t
cidr_len(const char *s, size_t a, size_t b)
{
	size_t i = b;

	while (i > a && is_digit(s[i - 1]) && b - i < 3)
		i--;
	if (i < b && i > a + 1 && s[i - 1] == '/')
		return b - i + 1;
	if (i < b && i > a + 2 && s[i - 1] == '/' && s[i - 2] == '\\')
		return b - i + 2;	/* JSON's escaped slash, undecoded */
	return 0;
}

/* "[192.0.2.53]" or "[192.0.2.53]:80": the IPv4 inside, as [*a, *b). */
static int
bracketed_v4(const char *s, size_t *a, size_t *b)
{
	const char *q;
	size_t i;

	if (*b - *a < 9 || s[*a] != '[' ||
	    (q = memchr(s + *a, ']', *b - *a)) == NULL)
		return 0;
	for (i = *a + 1; i < (size_t)(q - s); i++)
		if (!is_digit(s[i]) && s[i] != '.')
			return 0;
	*b = (size_t)(q - s);
	(*a)++;
	return 1;
}

/* A host name: labels of letters, digits and '-', one letter at least. */
static int
is_hostname(const char *s, size_t n)
{
	size_t i, label = 0;
	int alpha = 0;

	if (n == 0 || n > HOST_MAX)
		return 0;
	for (i = 0; i < n; i++) {
		if (s[i] == '.') {
			if (label == 0)
				return 0;
			label = 0;
			continue;
		}
		if (!is_alpha(s[i]) && !is_digit(s[i]) && s[i] != '-' &&
		    s[i] != '_')
			return 0;
		alpha |= is_alpha(s[i]);
		if (++label > 63)
			return 0;
	}
	return alpha;
}

/*
 * Four decimal groups of an address in a host name, with one separator
 * ('-' or '.'): ec2-203-0-113-7.compute-1.example.com.  Masked with the
 * same separator.
 */
static void
host_embedded(const struct field_opts *fo, const char *s, size_t a,
    size_t b, const uint32_t *map, uint32_t base, unsigned field,
    struct spans *sp)
{
	char q[16], m[ADDR_OUT_MAX];
	size_t i, j, k, g, mlen;
	int sep, full;

	for (i = a; i < b; i++) {
		/* the first group starts a label or follows a separator */
		if (!is_digit(s[i]) || (i > a && s[i - 1] != '-' &&
		    s[i - 1] != '.'))
			continue;
		for (j = i, g = 0, k = 0, sep = 0; j < b && g < 4; g++) {
			for (k = j; k < b && k - j < 3 && is_digit(s[k]); k++)
				;
			if (k == j || (k < b && is_digit(s[k])))
				break;
			if (g == 3)
				break;
			if (k >= b || (s[k] != '-' && s[k] != '.') ||
			    (sep != 0 && s[k] != sep))
				break;
			sep = s[k];
			j = k + 1;
		}
		if (g != 3 || k == j || k - i > 15 || (k < b && s[k] != '-' &&
		    s[k] != '.'))
			continue;
		for (j = 0; j < k - i; j++)
			q[j] = s[i + j] == sep ? '.' : s[i + j];
		if (addr_mask(q, k - i, &fo->prefix, m, sizeof(m), &mlen,
		    &full) == -1)
			continue;
		for (j = 0; j < mlen; j++)
			if (m[j] == '.')
				m[j] = (char)sep;
		(void)spans_add(sp, at(map, base, i), at(map, base, k) -
		    at(map, base, i), m, mlen, field, full ? SPAN_FULL : 0);
		i = k;
	}
}

/* "proto=https": a key (letters, digits, '-', '_') and a value. */
static int
kv_pair(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n && (is_alpha(s[i]) || is_digit(s[i]) ||
	    s[i] == '-' || s[i] == '_'); i++)
		;
	return i > 0 && i < n && s[i] == '=';
}

/* One element s[a, b) of a field: its address, or whether it is bad. */
static void
element(const struct field_opts *fo, const char *s, size_t a, size_t b,
    const uint32_t *map, uint32_t base, unsigned field, struct spans *sp,
    struct field_tally *t)
{
	size_t n;
	int i;

	for (i = 0; i < 8 && b > a && strip_one(s, &a, &b); i++)
		;
	if (b > a && (n = cidr_len(s, a, b)) > 0)
		b -= n;
	n = b - a;
	if (n == 0 || (n == 1 && s[a] == '-') || (n == 7 &&
	    (s[a] | 0x20) == 'u' && strncasecmp(s + a, "unknown", 7) == 0) ||
	    s[a] == '_')
		return;
	if ((bracketed_v4(s, &a, &b) && try_addr(fo, s, a, b, map, base,
	    field, sp)) || try_addr(fo, s, a, b, map, base, field, sp)) {
		t->addrs++;
		return;
	}
	if (kv_pair(s + a, n))
		return;		/* RFC 7239's proto=, host= and such */
	if (is_hostname(s + a, n)) {
		if (fo->mask_hostnames)
			host_embedded(fo, s, a, b, map, base, field, sp);
		return;
	}
	t->bad++;
}

void
field_value(const struct field_opts *fo, const char *s, size_t len,
    const uint32_t *map, uint32_t base, unsigned field, int list,
    struct spans *sp, struct field_tally *t)
{
	size_t i = 0, start;

	if (!list) {
		while (i < len && is_blank(s[i]))
			i++;
		while (len > i && is_blank(s[len - 1]))
			len--;
		element(fo, s, i, len, map, base, field, sp, t);
		return;
	}
	while (i < len) {
		while (i < len && (is_blank(s[i]) || s[i] == ',' ||
		    s[i] == ';'))
			i++;
		start = i;
		while (i < len && !is_blank(s[i]) && s[i] != ',' &&
		    s[i] != ';')
			i++;
		if (i > start)
			element(fo, s, start, i, map, base, field, sp, t);
	}
}

/* ---- the free scan ------------------------------------------------------ */

/* Bytes a token can start with: hex digits, ':', '.', '['. */
static const unsigned char starts[256] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0,
	0, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0,
	0, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
};

/* May a token start at s[i] (what stands before it)? */
static int
left_ok(const char *s, size_t lo, size_t i)
{
	int c;

	if (i == lo)
		return 1;
	c = (unsigned char)s[i - 1];
	if (is_alpha(c) || is_digit(c) || c == '.' || c == '_')
		return 0;
	if (c == '/' && i - 1 > lo && (is_alpha(s[i - 2]) ||
	    is_digit(s[i - 2])))
		return 0;
	return 1;
}

static int
token_char(int c)
{
	return is_hex(c) || c == ':' || c == '.';
}

/* A bracketed IPv6 at s[i] ("[2001:db8::1]", with ":port"): its end. */
static size_t
bracket_end(const char *s, size_t i, size_t end)
{
	size_t j, k;

	for (j = i + 1; j < end && j - i < TOKEN_MAX && s[j] != ']'; j++)
		if (!token_char(s[j]) && s[j] != '%' && !is_alpha(s[j]))
			return 0;
	if (j >= end || s[j] != ']')
		return 0;
	j++;
	if (j + 1 < end && s[j] == ':' && is_digit(s[j + 1])) {
		for (k = j + 1; k < end && is_digit(s[k]) && k - j <= 5; k++)
			;
		j = k;
	}
	return j;
}

/* The end of the token run at s[i]: hex, ':', '.', a "%zone". */
static size_t
run_end(const char *s, size_t i, size_t end)
{
	size_t j = i;

	while (j < end && j - i < TOKEN_MAX && token_char(s[j]))
		j++;
	if (j < end && s[j] == '%')
		for (j++; j < end && (is_alpha(s[j]) || is_digit(s[j]) ||
		    s[j] == '_' || s[j] == '-' || s[j] == '.'); j++)
			;
	return j;
}

/* May a token end before s[j] (what stands after it)? */
static int
right_ok(const char *s, size_t j, size_t end)
{
	return j == end || (!is_alpha(s[j]) && !is_digit(s[j]) && s[j] != '.');
}

/*
 * A run that is not one address as a whole: an IPv6 with a port after
 * it ("2001:db8::1:51234", as Apache writes it), or a word and a colon
 * before an address ("bad:192.0.2.7", a leading ':').  1 if one fits.
 */
static int
run_parts(const struct field_opts *fo, const char *s, size_t i, size_t j,
    struct spans *sp)
{
	const char *c, *last;
	size_t k;

	if ((last = memrchr(s + i, ':', j - i)) != NULL &&
	    memchr(s + i, ':', (size_t)(last - s) - i) != NULL) {
		for (k = (size_t)(last - s) + 1; k < j && is_digit(s[k]); k++)
			;
		if (k == j && k > (size_t)(last - s) + 1 &&
		    try_addr(fo, s, i, (size_t)(last - s), NULL, 0,
		    FIELD_FREE, sp))
			return 1;
	}
	/*
	 * Hex digits and a colon before an IPv4 ("ab:192.0.2.7") or a lone
	 * colon before any address.  Not hex before an IPv6: the two may
	 * read as one IPv6 once the second is masked ("26:13::" of
	 * "26:13:55:1:db8:4006:812::200e"), and masking must not make an
	 * address that was not there.
	 */
	if ((c = memchr(s + i, ':', j - i)) != NULL && c + 1 < s + j &&
	    c[1] != ':' && (c == s + i ||
	    memchr(c + 1, ':', (size_t)(s + j - c - 1)) == NULL))
		return try_addr(fo, s, (size_t)(c - s) + 1, j, NULL, 0,
		    FIELD_FREE, sp);
	return 0;
}

/*
 * A run whose start is inside a word: its part after a colon that ends
 * a label, a word with a letter past 'f' or '_' ("client:192.0.2.8",
 * "word:2001:db8::1"; no IPv6 can hold such a label, so masking makes
 * no new one).  1 if an address fits there.
 */
static int
label_addr(const struct field_opts *fo, const char *s, size_t lo, size_t i,
    size_t j, struct spans *sp)
{
	const char *c;
	size_t a, w;
	int word = 0;

	if ((c = memchr(s + i, ':', j - i)) == NULL || c + 1 >= s + j ||
	    c[1] == ':')
		return 0;
	a = (size_t)(c - s);
	for (w = a; w > lo && (is_alpha(s[w - 1]) || is_digit(s[w - 1]) ||
	    s[w - 1] == '_' || s[w - 1] == '-'); w--)
		if (!is_hex(s[w - 1]) && !is_digit(s[w - 1]))
			word = 1;
	if (!word || w == a || !left_ok(s, lo, w))
		return 0;
	return try_addr(fo, s, a + 1, j, NULL, 0, FIELD_FREE, sp) ||
	    run_parts(fo, s, a + 1, j, sp);
}

size_t
field_free(const struct field_opts *fo, const char *s, size_t off,
    size_t end, struct spans *sp)
{
	return field_free_ctx(fo, s, off, off, end, sp);
}

size_t
field_free_ctx(const struct field_opts *fo, const char *s, size_t lo,
    size_t off, size_t end, struct spans *sp)
{
	size_t i = off, j, before = sp->n;
	int c, left;

	while (i < end) {
		c = (unsigned char)s[i];
		/* Most bytes start nothing: skip them at once. */
		if (!starts[c]) {
			while (++i < end && !starts[(unsigned char)s[i]])
				;
			continue;
		}
		/*
		 * "/" right after an address is no product/version: what
		 * stands there must not change when that address is masked
		 * ("2001:db8::1/192.0.2.7" and "2001:db8::/192.0.2.7").
		 */
		left = left_ok(s, lo, i) || (i > lo && s[i - 1] == '/' &&
		    sp->n > before && sp->v[sp->n - 1].off +
		    sp->v[sp->n - 1].len == i - 1);
		if (c == '[' && (j = bracket_end(s, i, end)) > 0 &&
		    left && right_ok(s, j, end) &&
		    try_addr(fo, s, i, j, NULL, 0, FIELD_FREE, sp)) {
			i = j;
			continue;
		}
		if (c == '[') {
			i++;
			continue;
		}
		j = run_end(s, i, end);
		if (!right_ok(s, j, end))
			;
		else if (!left)
			(void)label_addr(fo, s, lo, i, j, sp);
		else if (!try_addr(fo, s, i, j, NULL, 0, FIELD_FREE, sp))
			(void)run_parts(fo, s, i, j, sp);
		i = j;
	}
	return sp->n - before;
}
