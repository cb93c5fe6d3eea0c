/*
 * The rotated-name grammar: which names are rotated siblings of a live
 * file (BASE.N, BASE.N.gz, BASE-YYYYMMDD[HH][.gz], lethe's own
 * BASE-YYYYMMDDTHHMMZ[.gz], BASE.gz), the name of a compressed copy and
 * of a new segment.  Pure: names in, names out.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "lethe.h"

static int
all_digits(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return 0;
	return n > 0;
}

/* BASE-YYYYMMDDTHHMMZ, lethe's own segment names (UTC). */
static size_t
stamp_base(const char *name, size_t end)
{
	const char *p;

	if (end < 16)
		return 0;
	p = name + end - 15;
	if (p[0] != '-' || p[9] != 'T' || p[14] != 'Z')
		return 0;
	if (!all_digits(p + 1, 8) || !all_digits(p + 10, 4))
		return 0;
	return end - 15;
}

const char *
names_gz(const char *name, char *buf, size_t bufsz)
{
	size_t len = strlen(name);

	if (len > 3 && strcmp(name + len - 3, ".gz") == 0)
		return NULL;
	if ((size_t)snprintf(buf, bufsz, "%s.gz", name) >= bufsz)
		return "";
	return buf;
}

int
names_is_segment(const char *name)
{
	size_t len = strlen(name);

	if (len > 3 && strcmp(name + len - 3, ".gz") == 0)
		len -= 3;
	return stamp_base(name, len) != 0;
}

size_t
names_rotated_base(const char *name)
{
	size_t len = strlen(name), end = len, i, base;
	int gz = 0;

	if (len > 3 && strcmp(name + len - 3, ".gz") == 0) {
		end = len - 3;
		gz = 1;
	}
	if ((base = stamp_base(name, end)) != 0)
		return base;
	for (i = end; i > 0 && isdigit((unsigned char)name[i - 1]); i--)
		;
	if (i > 1 && i < end) {
		if (name[i - 1] == '.' && end - i <= 6)
			return i - 1;
		if (name[i - 1] == '-' && (end - i == 8 || end - i == 10))
			return i - 1;
	}
	return gz && end > 0 ? end : 0;
}

int
names_segment(const char *live, int64_t t, char *out, size_t outsz)
{
	struct tm tm;
	time_t tt = (time_t)t;

	if (gmtime_r(&tt, &tm) == NULL)
		return -1;
	if ((size_t)snprintf(out, outsz, "%s-%04d%02d%02dT%02d%02dZ", live,
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min) >= outsz)
		return -1;
	return 0;
}
