/*
 * Unit tests of tz.c and tzload.c: POSIX TZ strings, TZif files built
 * here (versions 1 to 3, footers, every kind of damage, every
 * truncation), gaps and overlaps, the calendar helpers, and loading by
 * name and from $TZ.
 *
 * "test_tz --dump" is the driver of tests/unit/tz_equiv.py: it reads
 * "zone NAME" (tz_load), "posix SPEC" (tz_from_posix), then "o T"
 * (prints tz_offset) and "u X" (prints tz_local_to_utc) on stdin.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lethe.h"
#include "t.h"

#define H		3600
#define BUF_MAX		(64 * 1024)
#define ZONEINFO	"/usr/share/zoneinfo/"

struct ttype {
	int32_t		 off;
	int		 isdst;
};

/* What tzif_build writes. */
struct tzspec {
	int		 version;	/* 1, 2, 3 */
	size_t		 n;
	const int64_t	*at;
	const uint8_t	*idx;
	size_t		 ntypes;
	const struct ttype *types;
	const char	*footer;	/* v2+; NULL: empty */
	uint32_t	 leap;		/* leap records */
};

static unsigned char tzbuf[BUF_MAX];

static size_t
put32(unsigned char *b, size_t o, uint32_t v)
{
	b[o] = v >> 24;
	b[o + 1] = v >> 16;
	b[o + 2] = v >> 8;
	b[o + 3] = v;
	return o + 4;
}

static size_t
put_time(unsigned char *b, size_t o, int64_t v, int tsize)
{
	if (tsize == 4)
		return put32(b, o, (uint32_t)v);
	o = put32(b, o, (uint32_t)((uint64_t)v >> 32));
	return put32(b, o, (uint32_t)v);
}

/* One header and data block; "ABC\0" is every type's designation. */
static size_t
tzif_block(unsigned char *b, size_t o, const struct tzspec *z, int tsize)
{
	size_t i;

	memcpy(b + o, "TZif", 4);
	b[o + 4] = z->version == 1 ? 0 : '0' + z->version;
	memset(b + o + 5, 0, 15);
	o += 20;
	o = put32(b, o, z->ntypes);	/* isut */
	o = put32(b, o, z->ntypes);	/* isstd */
	o = put32(b, o, z->leap);
	o = put32(b, o, z->n);
	o = put32(b, o, z->ntypes);
	o = put32(b, o, 4);
	for (i = 0; i < z->n; i++)
		o = put_time(b, o, z->at[i], tsize);
	for (i = 0; i < z->n; i++)
		b[o++] = z->idx[i];
	for (i = 0; i < z->ntypes; i++) {
		o = put32(b, o, (uint32_t)z->types[i].off);
		b[o++] = z->types[i].isdst;
		b[o++] = 0;
	}
	memcpy(b + o, "ABC", 4);
	o += 4;
	for (i = 0; i < z->leap; i++) {
		o = put_time(b, o, 78796800 + (int64_t)i * 86400 * 365, tsize);
		o = put32(b, o, i + 1);
	}
	memset(b + o, 0, 2 * z->ntypes);
	return o + 2 * z->ntypes;
}

static size_t
tzif_build(const struct tzspec *z)
{
	size_t o = tzif_block(tzbuf, 0, z, 4);
	const char *f = z->footer != NULL ? z->footer : "";

	if (z->version == 1)
		return o;
	o = tzif_block(tzbuf, o, z, 8);
	tzbuf[o++] = '\n';
	memcpy(tzbuf + o, f, strlen(f));
	o += strlen(f);
	tzbuf[o++] = '\n';
	return o;
}

/* Seconds since the epoch of a UTC (or wall-clock) date and time. */
static int64_t
ut(int y, int mo, int d, int h, int mi, int s)
{
	return tz_days_from_civil(y, mo, d) * 86400 + h * H + mi * 60 + s;
}

static struct tz *
posix(const char *spec)
{
	struct tz *tz;
	const char *err = NULL;

	if ((tz = tz_from_posix(spec, &err)) == NULL)
		fprintf(stderr, "tz_from_posix(\"%s\"): %s\n", spec, err);
	T_ASSERT(tz != NULL);
	return tz;
}

/* Offsets just before and at a transition at t. */
static void
check_edge(const struct tz *tz, int64_t t, int before, int after)
{
	T_EQ_INT(tz_offset(tz, t - 1), before);
	T_EQ_INT(tz_offset(tz, t), after);
}

static void
t_calendar(void)
{
	int64_t y, t;
	int m;

	T_EQ_INT(tz_days_from_civil(1970, 1, 1), 0);
	T_EQ_INT(tz_days_from_civil(2000, 3, 1), 11017);
	T_EQ_INT(tz_days_from_civil(1, 1, 1), -719162);
	T_EQ_INT(tz_days_from_civil(9999, 12, 31), 2932896);
	T_EQ_INT(tz_year_of(0), 1970);
	T_EQ_INT(tz_year_of(-1), 1969);
	T_EQ_INT(tz_year_of(ut(1, 1, 1, 0, 0, 0)), 1);
	T_EQ_INT(tz_year_of(ut(9999, 12, 31, 23, 59, 59)), 9999);
	for (y = 1; y <= 9999; y += 7)
		for (m = 1; m <= 12; m += 11) {
			t = ut(y, m, m == 1 ? 1 : 31, m == 1 ? 0 : 23, 0, 0);
			T_EQ_INT(tz_year_of(t), y);
			T_EQ_INT(tz_year_of(t + (m == 1 ? -1 : 3600)),
			    m == 1 ? y - 1 : y + 1);
		}
}

static void
t_utc(void)
{
	const struct tz *u = tz_utc();

	T_EQ_STR(tz_name(u), "UTC");
	T_EQ_INT(tz_offset(u, 0), 0);
	T_EQ_INT(tz_offset(u, INT64_MAX), 0);
	T_EQ_INT(tz_local_to_utc(u, 1795924800), 1795924800);
	tz_free((struct tz *)(uintptr_t)u);
	tz_free(NULL);
	T_EQ_INT(tz_offset(tz_utc(), INT64_MIN), 0);
}

static void
t_posix_fixed(void)
{
	struct tz *tz;

	tz = posix("UTC0");
	T_EQ_INT(tz_offset(tz, 1795924800), 0);
	T_EQ_STR(tz_name(tz), "UTC0");
	tz_free(tz);
	tz = posix("<+0530>-5:30");
	T_EQ_INT(tz_offset(tz, 0), 19800);
	T_EQ_INT(tz_local_to_utc(tz, 19800), 0);
	tz_free(tz);
	tz = posix("<-03>3");
	T_EQ_INT(tz_offset(tz, ut(2100, 1, 1, 0, 0, 0)), -3 * H);
	tz_free(tz);
	tz = posix("ABC+24:59:59");
	T_EQ_INT(tz_offset(tz, 0), -(25 * H - 1));
	tz_free(tz);
	tz = posix("<+14>-14");
	T_EQ_INT(tz_offset(tz, 0), 14 * H);
	tz_free(tz);
}

static void
t_posix_rules(void)
{
	struct tz *tz;

	/* US rules by default: 2026-03-08 and 2026-11-01, 02:00 */
	tz = posix("EST5EDT");
	check_edge(tz, ut(2026, 3, 8, 7, 0, 0), -5 * H, -4 * H);
	check_edge(tz, ut(2026, 11, 1, 6, 0, 0), -4 * H, -5 * H);
	check_edge(tz, ut(1990, 3, 11, 7, 0, 0), -5 * H, -4 * H);
	tz_free(tz);
	tz = posix("CET-1CEST,M3.5.0,M10.5.0/3");
	check_edge(tz, ut(2026, 3, 29, 1, 0, 0), H, 2 * H);
	check_edge(tz, ut(2026, 10, 25, 1, 0, 0), 2 * H, H);
	check_edge(tz, ut(2400, 3, 26, 1, 0, 0), H, 2 * H);
	check_edge(tz, ut(9999, 10, 31, 1, 0, 0), 2 * H, H);
	check_edge(tz, ut(1, 3, 25, 1, 0, 0), H, 2 * H);
	T_EQ_INT(tz_offset(tz, ut(9999, 12, 31, 23, 59, 59)), H);
	tz_free(tz);
	/* Israel: Friday before the last Sunday of March, hour 26 */
	tz = posix("IST-2IDT,M3.4.4/26,M10.5.0");
	check_edge(tz, ut(2026, 3, 27, 0, 0, 0), 2 * H, 3 * H);
	check_edge(tz, ut(2026, 10, 24, 23, 0, 0), 3 * H, 2 * H);
	check_edge(tz, ut(2027, 3, 26, 0, 0, 0), 2 * H, 3 * H);
	tz_free(tz);
	/* southern hemisphere: DST over New Year, half-hour DST */
	tz = posix("<+1030>-10:30<+11>-11,M10.1.0,M4.1.0");
	check_edge(tz, ut(2026, 10, 3, 15, 30, 0), 37800, 39600);
	check_edge(tz, ut(2026, 4, 4, 15, 0, 0), 39600, 37800);
	T_EQ_INT(tz_offset(tz, ut(2026, 12, 31, 23, 0, 0)), 39600);
	T_EQ_INT(tz_offset(tz, ut(2027, 1, 1, 1, 0, 0)), 39600);
	T_EQ_INT(tz_offset(tz, ut(2026, 7, 1, 0, 0, 0)), 37800);
	tz_free(tz);
	/* negative DST (Ireland): "standard" in summer */
	tz = posix("IST-1GMT0,M10.5.0,M3.5.0/1");
	check_edge(tz, ut(2026, 10, 25, 1, 0, 0), H, 0);
	check_edge(tz, ut(2026, 3, 29, 1, 0, 0), 0, H);
	tz_free(tz);
}

static void
t_posix_days(void)
{
	struct tz *tz;

	/* Jn never counts February 29: J60 is March 1 */
	tz = posix("AAA0BBB,J60/0,J300/0");
	check_edge(tz, ut(2024, 3, 1, 0, 0, 0), 0, H);
	check_edge(tz, ut(2025, 3, 1, 0, 0, 0), 0, H);
	check_edge(tz, ut(2025, 10, 26, 23, 0, 0), H, 0);
	check_edge(tz, ut(2024, 10, 26, 23, 0, 0), H, 0);
	tz_free(tz);
	/* n counts it: day 59 is February 29 in a leap year */
	tz = posix("AAA0BBB,59/0,365/0");
	check_edge(tz, ut(2024, 2, 29, 0, 0, 0), 0, H);
	check_edge(tz, ut(2025, 3, 1, 0, 0, 0), 0, H);
	check_edge(tz, ut(2024, 12, 30, 23, 0, 0), H, 0);
	check_edge(tz, ut(2025, 12, 31, 23, 0, 0), H, 0);
	tz_free(tz);
	/* negative and 167-hour times of day (RFC 8536 version 3) */
	tz = posix("EST5EDT,M3.2.0/-2,M11.1.0/167");
	check_edge(tz, ut(2026, 3, 8, 3, 0, 0), -5 * H, -4 * H);
	check_edge(tz, ut(2026, 11, 8, 3, 0, 0), -4 * H, -5 * H);
	tz_free(tz);
	/* a start that falls in the year before, in UTC */
	tz = posix("AAA0BBB,J1/-100,J300");
	check_edge(tz, ut(2025, 12, 27, 20, 0, 0), 0, H);
	T_EQ_INT(tz_offset(tz, ut(2026, 1, 1, 0, 0, 0)), H);
	check_edge(tz, ut(2026, 10, 27, 1, 0, 0), H, 0);
	tz_free(tz);
	/* an end that falls in the year after */
	tz = posix("AAA0BBB,J60,J365/+100");
	T_EQ_INT(tz_offset(tz, ut(2027, 1, 3, 0, 0, 0)), H);
	check_edge(tz, ut(2027, 1, 4, 3, 0, 0), H, 0);
	check_edge(tz, ut(2027, 3, 1, 2, 0, 0), 0, H);
	tz_free(tz);
	/* each year's DST reaching the next: DST all the time */
	tz = posix("AAA0BBB,J1/-167,J365/+167");
	T_EQ_INT(tz_offset(tz, ut(2025, 12, 25, 0, 0, 0)), H);
	T_EQ_INT(tz_offset(tz, ut(2026, 1, 6, 23, 0, 0)), H);
	T_EQ_INT(tz_offset(tz, ut(2026, 7, 1, 0, 0, 0)), H);
	tz_free(tz);
	/* DST all year (RFC 8536 3.3.1) */
	tz = posix("EST5EDT,0/0,J365/25");
	T_EQ_INT(tz_offset(tz, ut(2026, 1, 1, 5, 0, 0)), -4 * H);
	T_EQ_INT(tz_offset(tz, ut(2026, 7, 1, 0, 0, 0)), -4 * H);
	T_EQ_INT(tz_offset(tz, ut(2024, 12, 31, 23, 0, 0)), -4 * H);
	T_EQ_INT(tz_local_to_utc(tz, ut(2026, 1, 1, 0, 0, 0)),
	    ut(2026, 1, 1, 4, 0, 0));
	tz_free(tz);
}

static void
t_posix_bad(void)
{
	static const char *const bad[] = {
		"", "UTC", "EST", "5", "AB5", "<AB>5", "<ABC", "<A_C>5",
		"EST+", "EST25", "EST5:60", "EST5:00:60", "EST5x",
		"EST5ED", "EST5EDT,", "EST5EDT,M3.2.0", "EST5EDT,M3.2.0,",
		"EST5EDT,M13.1.0,M11.1.0", "EST5EDT,M0.1.0,M11.1.0",
		"EST5EDT,M3.6.0,M11.1.0", "EST5EDT,M3.0.0,M11.1.0",
		"EST5EDT,M3.2.7,M11.1.0", "EST5EDT,M3.2,M11.1.0",
		"EST5EDT,M3..0,M11.1.0", "EST5EDT,J0,J365", "EST5EDT,J366,J1",
		"EST5EDT,366,J1", "EST5EDT,M3.2.0/168,M11.1.0",
		"EST5EDT,M3.2.0/-168,M11.1.0", "EST5EDT,M3.2.0/2:60,M11.1.0",
		"EST5EDT,M3.2.0,M11.1.0x", "EST5EDT,M3.2.0,M11.1.0,",
		"EST5EDT4x", "EST5EDT25", "EST5 EDT", " EST5",
		"AAA0BBB,J100/0,J100/1", "EST5EDT,M3.2.0/02:00:00:00,J1",
		"EST5EDT,J1,J2,J3",
	};
	const char *err;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err = NULL;
		if (tz_from_posix(bad[i], &err) != NULL)
			fprintf(stderr, "accepted \"%s\"\n", bad[i]);
		T_ASSERT(err != NULL);
	}
	T_ASSERT(tz_from_posix("EST", &err) == NULL);
	T_ASSERT(strstr(err, "\"EST\"") != NULL);
}

/* Local to UTC around gaps and overlaps of a zone with CET rules. */
static void
check_cet_local(const struct tz *tz)
{
	/* spring forward 2026-03-29 02:00 -> 03:00 */
	T_EQ_INT(tz_local_to_utc(tz, ut(2026, 3, 29, 1, 59, 59)),
	    ut(2026, 3, 29, 0, 59, 59));
	T_EQ_INT(tz_local_to_utc(tz, ut(2026, 3, 29, 2, 0, 0)),
	    ut(2026, 3, 29, 1, 0, 0));
	T_EQ_INT(tz_local_to_utc(tz, ut(2026, 3, 29, 2, 30, 0)),
	    ut(2026, 3, 29, 1, 30, 0));
	T_EQ_INT(tz_local_to_utc(tz, ut(2026, 3, 29, 2, 59, 59)),
	    ut(2026, 3, 29, 1, 59, 59));
	T_EQ_INT(tz_local_to_utc(tz, ut(2026, 3, 29, 3, 0, 0)),
	    ut(2026, 3, 29, 1, 0, 0));
	/* fall back 2026-10-25 03:00 -> 02:00: the earlier instant */
	T_EQ_INT(tz_local_to_utc(tz, ut(2026, 10, 25, 1, 59, 59)),
	    ut(2026, 10, 24, 23, 59, 59));
	T_EQ_INT(tz_local_to_utc(tz, ut(2026, 10, 25, 2, 0, 0)),
	    ut(2026, 10, 25, 0, 0, 0));
	T_EQ_INT(tz_local_to_utc(tz, ut(2026, 10, 25, 2, 59, 59)),
	    ut(2026, 10, 25, 0, 59, 59));
	T_EQ_INT(tz_local_to_utc(tz, ut(2026, 10, 25, 3, 0, 0)),
	    ut(2026, 10, 25, 2, 0, 0));
	T_EQ_INT(tz_local_to_utc(tz, ut(2026, 7, 1, 12, 0, 0)),
	    ut(2026, 7, 1, 10, 0, 0));
	T_EQ_INT(tz_local_to_utc(tz, ut(2026, 1, 1, 0, 0, 0)),
	    ut(2025, 12, 31, 23, 0, 0));
}

/* CET transitions of 2025-2027, as a TZif file would list them. */
static const int64_t cet_at[] = {
	1743296400, 1761440400, 1774746000, 1792890000, 1806195600,
	1824944400,
};
static const uint8_t cet_idx[] = { 1, 0, 1, 0, 1, 0 };
static const struct ttype cet_types[] = { { 3600, 0 }, { 7200, 1 } };

static void
t_gaps(void)
{
	struct tz *tz;
	const char *err;
	struct tzspec z = { 2, 6, cet_at, cet_idx, 2, cet_types,
	    "CET-1CEST,M3.5.0,M10.5.0/3", 0 };
	size_t len;

	T_EQ_INT(cet_at[2], ut(2026, 3, 29, 1, 0, 0));
	tz = posix("CET-1CEST,M3.5.0,M10.5.0/3");
	check_cet_local(tz);
	tz_free(tz);
	/* the same through explicit transitions */
	len = tzif_build(&z);
	tz = tz_from_tzif("cet", tzbuf, len, &err);
	T_ASSERT(tz != NULL);
	if (tz == NULL)
		return;
	check_cet_local(tz);
	/* and through the footer, after the last transition (2027) */
	T_EQ_INT(tz_local_to_utc(tz, ut(2030, 3, 31, 2, 30, 0)),
	    ut(2030, 3, 31, 1, 30, 0));
	T_EQ_INT(tz_local_to_utc(tz, ut(2030, 10, 27, 2, 30, 0)),
	    ut(2030, 10, 27, 0, 30, 0));
	T_EQ_INT(tz_local_to_utc(tz, ut(2027, 10, 31, 2, 30, 0)),
	    ut(2027, 10, 31, 0, 30, 0));
	T_EQ_INT(tz_local_to_utc(tz, ut(2027, 10, 31, 3, 0, 0)),
	    ut(2027, 10, 31, 2, 0, 0));
	tz_free(tz);
	/* negative DST: the gap in March, the overlap in October */
	tz = posix("IST-1GMT0,M10.5.0,M3.5.0/1");
	T_EQ_INT(tz_local_to_utc(tz, ut(2026, 3, 29, 1, 30, 0)),
	    ut(2026, 3, 29, 1, 30, 0));
	T_EQ_INT(tz_local_to_utc(tz, ut(2026, 3, 29, 2, 0, 0)),
	    ut(2026, 3, 29, 1, 0, 0));
	T_EQ_INT(tz_local_to_utc(tz, ut(2026, 10, 25, 1, 30, 0)),
	    ut(2026, 10, 25, 0, 30, 0));
	T_EQ_INT(tz_local_to_utc(tz, ut(2026, 10, 25, 2, 0, 0)),
	    ut(2026, 10, 25, 2, 0, 0));
	tz_free(tz);
}

static void
t_tzif(void)
{
	static const int64_t at[] = { -2147483648LL, 0, 1000000 };
	static const uint8_t idx[] = { 1, 2, 1 };
	static const struct ttype ty[] = {
		{ 1234, 0 }, { -18000, 0 }, { -14400, 1 }
	};
	struct tzspec z = { 1, 3, at, idx, 3, ty, NULL, 0 };
	struct tz *tz;
	const char *err;
	size_t len;
	int v;

	for (v = 1; v <= 3; v++) {
		z.version = v;
		z.leap = v == 3 ? 2 : 0;
		z.footer = v >= 2 ? "EST5EDT,M3.2.0,M11.1.0" : NULL;
		len = tzif_build(&z);
		tz = tz_from_tzif("test", tzbuf, len, &err);
		T_ASSERT(tz != NULL);
		if (tz == NULL)
			continue;
		T_EQ_STR(tz_name(tz), "test");
		T_EQ_INT(tz_offset(tz, -2147483649LL), 1234);
		check_edge(tz, -2147483648LL, 1234, -18000);
		check_edge(tz, 0, -18000, -14400);
		check_edge(tz, 1000000, -14400, -18000);
		/* after the last: the footer, or the last type for v1 */
		T_EQ_INT(tz_offset(tz, ut(2026, 7, 1, 0, 0, 0)),
		    v == 1 ? -18000 : -14400);
		T_EQ_INT(tz_local_to_utc(tz, -1), -1 + 14400);
		T_EQ_INT(tz_local_to_utc(tz, -18000 - 1), -1);
		tz_free(tz);
	}
}

/* Version 2 with an empty footer, and no transitions at all. */
static void
t_tzif_empty(void)
{
	static const int64_t at[] = { -2147483648LL, 0, 1000000 };
	static const uint8_t idx[] = { 1, 2, 1 };
	static const struct ttype ty[] = {
		{ 1234, 0 }, { -18000, 0 }, { -14400, 1 }
	};
	struct tzspec z = { 2, 3, at, idx, 3, ty, NULL, 0 };
	struct tz *tz;
	const char *err;
	size_t len;

	/* an empty footer: the last type stays */
	z.footer = "";
	len = tzif_build(&z);
	T_ASSERT((tz = tz_from_tzif("e", tzbuf, len, &err)) != NULL);
	T_EQ_INT(tz_offset(tz, ut(2026, 7, 1, 0, 0, 0)), -18000);
	tz_free(tz);
	/* no transitions: the footer, or type 0 */
	z.n = 0;
	z.footer = "<+0545>-5:45";
	len = tzif_build(&z);
	T_ASSERT((tz = tz_from_tzif("e", tzbuf, len, &err)) != NULL);
	T_EQ_INT(tz_offset(tz, 0), 20700);
	T_EQ_INT(tz_local_to_utc(tz, 20700), 0);
	tz_free(tz);
	z.footer = "";
	len = tzif_build(&z);
	T_ASSERT((tz = tz_from_tzif("e", tzbuf, len, &err)) != NULL);
	T_EQ_INT(tz_offset(tz, 0), 1234);
	tz_free(tz);
}

/* Build z, let damage() change the bytes, expect a refusal. */
static void
check_bad(struct tzspec *z, void (*damage)(unsigned char *, size_t *),
    const char *what)
{
	const char *err = NULL;
	size_t len = tzif_build(z);
	struct tz *tz;

	damage(tzbuf, &len);
	if ((tz = tz_from_tzif("bad", tzbuf, len, &err)) != NULL)
		fprintf(stderr, "accepted: %s\n", what);
	T_ASSERT(tz == NULL && err != NULL);
	tz_free(tz);
}

/* Offsets in the second (64-bit) header and data of a v2 file. */
static size_t
v2_off(const unsigned char *b)
{
	uint32_t c[6];
	int i;

	for (i = 0; i < 6; i++)
		c[i] = (uint32_t)b[20 + 4 * i] << 24 | b[21 + 4 * i] << 16 |
		    b[22 + 4 * i] << 8 | b[23 + 4 * i];
	return 44 + c[3] * 5 + c[4] * 6 + c[5] + c[2] * 8 + c[1] + c[0];
}

static void dmg_magic(unsigned char *b, size_t *n) { (void)n; b[0] = 'X'; }
static void dmg_version(unsigned char *b, size_t *n) { (void)n; b[4] = '9'; }
static void dmg_version2(unsigned char *b, size_t *n)
{ (void)n; b[v2_off(b) + 4] = '3'; }
static void dmg_magic2(unsigned char *b, size_t *n)
{ (void)n; b[v2_off(b) + 1] = 'z'; }
static void dmg_types0(unsigned char *b, size_t *n)
{ (void)n; b[v2_off(b) + 39] = 0; }
static void dmg_chars0(unsigned char *b, size_t *n)
{ (void)n; b[v2_off(b) + 43] = 0; }
static void dmg_isut(unsigned char *b, size_t *n)
{ (void)n; b[v2_off(b) + 23] = 1; }
static void dmg_footer(unsigned char *b, size_t *n) { b[*n - 1] = 'x'; }
static void dmg_footer_nl(unsigned char *b, size_t *n)
{ b[*n - 1] = 'x'; b[*n - 2] = '\n'; }
/* second transition's 64-bit time (3 transitions): order broken */
static void dmg_order(unsigned char *b, size_t *n)
{ (void)n; b[v2_off(b) + 44 + 8] = 0xff; }
static void dmg_range(unsigned char *b, size_t *n)
{ (void)n; b[v2_off(b) + 44 + 16] = 0x7f; }
static void dmg_index(unsigned char *b, size_t *n)
{ (void)n; b[v2_off(b) + 44 + 24 + 1] = 3; }
static void dmg_offset(unsigned char *b, size_t *n)
{ (void)n; b[v2_off(b) + 44 + 27] = 0x80; }
static void dmg_offset2(unsigned char *b, size_t *n)
{ (void)n; b[v2_off(b) + 44 + 27] = 0x01; b[v2_off(b) + 44 + 28] = 0x80; }
static void dmg_isdst(unsigned char *b, size_t *n)
{ (void)n; b[v2_off(b) + 44 + 27 + 4] = 2; }
static void dmg_desig(unsigned char *b, size_t *n)
{ (void)n; b[v2_off(b) + 44 + 27 + 5] = 4; }
static void dmg_indicator(unsigned char *b, size_t *n)
{ b[*n - 10] = 7; }

static void
t_tzif_bad(void)
{
	static const int64_t at[] = { -100, 0, 100 };
	static const uint8_t idx[] = { 1, 2, 1 };
	static const struct ttype ty[] = {
		{ 0, 0 }, { -18000, 0 }, { -14400, 1 }
	};
	struct tzspec z = { 2, 3, at, idx, 3, ty, "EST5EDT", 0 };
	struct tz *tz;
	const char *err;

	check_bad(&z, dmg_magic, "magic");
	check_bad(&z, dmg_version, "version");
	check_bad(&z, dmg_version2, "second version");
	check_bad(&z, dmg_magic2, "second magic");
	check_bad(&z, dmg_types0, "no types");
	check_bad(&z, dmg_chars0, "no designations");
	check_bad(&z, dmg_isut, "isutcnt");
	check_bad(&z, dmg_footer, "footer without newline");
	check_bad(&z, dmg_footer_nl, "footer TZ string");
	check_bad(&z, dmg_order, "transition order");
	check_bad(&z, dmg_range, "transition range");
	check_bad(&z, dmg_index, "type index");
	check_bad(&z, dmg_offset, "offset -2^31");
	check_bad(&z, dmg_offset2, "offset too large");
	check_bad(&z, dmg_isdst, "isdst 2");
	check_bad(&z, dmg_desig, "designation index");
	check_bad(&z, dmg_indicator, "indicator 7");
	z.footer = "EST5EDT,M3.2.0";
	T_ASSERT(tz_from_tzif("f", tzbuf, tzif_build(&z), &err) == NULL);
	T_ASSERT(strstr(err, "\"f\"") != NULL);
	/* a good one still loads */
	z.footer = "EST5EDT";
	T_ASSERT((tz = tz_from_tzif("f", tzbuf, tzif_build(&z), &err)) !=
	    NULL);
	tz_free(tz);
}

/* Every strict prefix of buf[0..len) is refused; exact-size copies. */
static void
check_truncations(const unsigned char *buf, size_t len)
{
	unsigned char *copy;
	const char *err;
	struct tz *tz;
	size_t n, accepted = 0;

	for (n = 0; n < len; n++) {
		copy = malloc(n ? n : 1);
		memcpy(copy, buf, n);
		if ((tz = tz_from_tzif("cut", copy, n, &err)) != NULL) {
			accepted++;
			(void)tz_offset(tz, 0);
			tz_free(tz);
		}
		free(copy);
	}
	T_EQ_INT(accepted, 0);
	copy = malloc(len);
	memcpy(copy, buf, len);
	T_ASSERT((tz = tz_from_tzif("whole", copy, len, &err)) != NULL);
	tz_free(tz);
	free(copy);
}

/* Random damage: refused, or a zone whose lookups stay sane. */
static void
check_corruption(const unsigned char *buf, size_t len, unsigned seed)
{
	unsigned char *copy = malloc(len);
	const char *err;
	struct tz *tz;
	int i, k, off;

	srand(seed);
	for (i = 0; i < 3000; i++) {
		memcpy(copy, buf, len);
		for (k = 0; k < 1 + i % 4; k++)
			copy[(size_t)rand() % len] = (unsigned char)rand();
		if ((tz = tz_from_tzif("rand", copy, len, &err)) == NULL)
			continue;
		off = tz_offset(tz, (int64_t)rand() * 1000 - 1000000000000LL);
		T_ASSERT(off > -26 * H && off < 26 * H);
		(void)tz_local_to_utc(tz, (int64_t)rand() * 7919);
		(void)tz_offset(tz, INT64_MIN);
		(void)tz_local_to_utc(tz, INT64_MAX);
		tz_free(tz);
	}
	free(copy);
}

static void
t_truncation(void)
{
	static const char *const real[] = {
		"America/New_York", "Europe/Dublin", "Australia/Lord_Howe",
		"Africa/Casablanca", "UTC",
	};
	struct tzspec z = { 3, 6, cet_at, cet_idx, 2, cet_types,
	    "CET-1CEST,M3.5.0,M10.5.0/3", 1 };
	char path[256], *buf;
	size_t len, i;

	len = tzif_build(&z);
	check_truncations(tzbuf, len);
	check_corruption(tzbuf, len, 1);
	z.version = 1;
	len = tzif_build(&z);
	check_truncations(tzbuf, len);
	for (i = 0; i < sizeof(real) / sizeof(real[0]); i++) {
		snprintf(path, sizeof(path), "%s%s", ZONEINFO, real[i]);
		if (fsio_read_file(path, 1 << 20, &buf, &len) == -1) {
			fprintf(stderr, "test_tz: no %s, skipped\n", path);
			continue;
		}
		check_truncations((unsigned char *)buf, len);
		check_corruption((unsigned char *)buf, len, (unsigned)i + 2);
		free(buf);
	}
}

static void
t_extremes(void)
{
	struct tz *tz = posix("CET-1CEST,M3.5.0,M10.5.0/3");
	int64_t t;

	T_EQ_INT(tz_offset(tz, ut(1, 1, 1, 0, 0, 0)), H);
	T_EQ_INT(tz_offset(tz, ut(9999, 7, 1, 0, 0, 0)), 2 * H);
	T_EQ_INT(tz_local_to_utc(tz, ut(1, 1, 1, 0, 0, 0)),
	    ut(1, 1, 1, 0, 0, 0) - H);
	/* far outside: clamped, no overflow */
	(void)tz_offset(tz, INT64_MIN);
	(void)tz_offset(tz, INT64_MAX);
	t = tz_local_to_utc(tz, INT64_MAX);
	T_ASSERT(t > 0);
	t = tz_local_to_utc(tz, INT64_MIN);
	T_ASSERT(t < 0);
	tz_free(tz);
}

static void
check_load(const char *name, int ok)
{
	const char *err = NULL;
	struct tz *tz = tz_load(name, &err);

	if ((tz != NULL) != ok)
		fprintf(stderr, "tz_load(\"%s\"): %s\n", name,
		    tz ? "loaded" : err);
	T_ASSERT((tz != NULL) == ok);
	T_ASSERT(tz != NULL || err != NULL);
	tz_free(tz);
}

static void
t_load(void)
{
	const char *err;
	struct tz *tz;
	int have = access(ZONEINFO "Europe/Berlin", R_OK) == 0;

	T_ASSERT(tz_load("UTC", &err) == tz_utc());
	T_ASSERT(tz_load("Etc/UTC", &err) == tz_utc());
	T_ASSERT(tz_load("Z", &err) == tz_utc());
	check_load("", 0);
	check_load("../etc/passwd", 0);
	check_load("Europe/../../etc/passwd", 0);
	check_load("/etc/localtime", 0);
	check_load("Europe//Berlin", 0);
	check_load("Europe/Berlin/", 0);
	check_load("./Europe/Berlin", 0);
	check_load("No/Such_Zone", 0);
	if (have) {
		check_load("Europe/Berlin", 1);
		tz = tz_load("Europe/Berlin", &err);
		T_EQ_INT(tz_offset(tz, ut(2026, 7, 1, 0, 0, 0)), 2 * H);
		T_EQ_STR(tz_name(tz), "Europe/Berlin");
		tz_free(tz);
	}
	setenv("TZ", "CET-1CEST,M3.5.0,M10.5.0/3", 1);
	tz = tz_load("local", &err);
	T_ASSERT(tz != NULL);
	T_EQ_INT(tz_offset(tz, ut(2026, 7, 1, 0, 0, 0)), 2 * H);
	tz_free(tz);
	setenv("TZ", "", 1);
	T_ASSERT(tz_load("local", &err) == tz_utc());
	setenv("TZ", "UTC", 1);
	T_ASSERT(tz_load("local", &err) == tz_utc());
	setenv("TZ", "not a zone", 1);
	check_load("local", 0);
	setenv("TZ", ":No/Such_Zone", 1);
	check_load("local", 0);
	if (have) {
		setenv("TZ", ":Asia/Kolkata", 1);
		check_load("local", 1);
		setenv("TZ", ":" ZONEINFO "Asia/Kolkata", 1);
		tz = tz_load("local", &err);
		T_ASSERT(tz != NULL);
		T_EQ_INT(tz_offset(tz, ut(2026, 1, 1, 0, 0, 0)), 19800);
		tz_free(tz);
		setenv("TZ", "America/New_York", 1);
		check_load("local", 1);
	}
	unsetenv("TZ");
	check_load("local", 1);
}

/* The driver of tz_equiv.py. */
static int
dump(void)
{
	char line[4096];
	struct tz *tz = NULL;
	const char *err;
	long long v;

	while (fgets(line, sizeof(line), stdin) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		if (strncmp(line, "zone ", 5) == 0 ||
		    strncmp(line, "posix ", 6) == 0) {
			tz_free(tz);
			tz = line[0] == 'z' ? tz_load(line + 5, &err) :
			    tz_from_posix(line + 6, &err);
			if (tz == NULL)
				printf("error %s\n", err);
			else
				printf("ok\n");
			continue;
		}
		v = strtoll(line + 2, NULL, 10);
		if (tz == NULL || (line[0] != 'o' && line[0] != 'u')) {
			fprintf(stderr, "test_tz: bad dump line\n");
			return 2;
		}
		if (line[0] == 'o')
			printf("%d\n", tz_offset(tz, v));
		else
			printf("%lld\n", (long long)tz_local_to_utc(tz, v));
	}
	tz_free(tz);
	return ferror(stdin) || fflush(stdout) == EOF ? 2 : 0;
}

static const struct t_case cases[] = {
	{ "calendar", t_calendar },
	{ "utc", t_utc },
	{ "posix_fixed", t_posix_fixed },
	{ "posix_rules", t_posix_rules },
	{ "posix_days", t_posix_days },
	{ "posix_bad", t_posix_bad },
	{ "gaps", t_gaps },
	{ "tzif", t_tzif },
	{ "tzif_empty", t_tzif_empty },
	{ "tzif_bad", t_tzif_bad },
	{ "truncation", t_truncation },
	{ "extremes", t_extremes },
	{ "load", t_load },
	{ NULL, NULL }
};

int
main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "--dump") == 0)
		return dump();
	return t_main(cases, argc, argv);
}
