/*
 * Fuzz format_scan: the first byte picks the format (its enum value, mod
 * 8), the rest is one line.  Every span must lie inside the line, be
 * non-empty, and come after the one before it.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lethe.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define NFORMATS	8

static const char fuzz_regex[] =
    "^(?<addr>\\S+) \\S+ \\S+ \\[(?<time>[^]]*)\\]"
    "(?:.*? for=(?<addr_for>[^ ;,]+))?"
    "(?:.*\"(?<addr_xff>[^\"]*)\"$)?";

static struct format *
fuzz_format(int kind)
{
	static struct format *formats[NFORMATS];
	static char f1[] = "remote_ip", f2[] = "request.remote_ip";
	static char f3[] = "xff", f4[] = "addr";
	static char *json_fields[] = { f1, f2, f3 };
	static char *regex_fields[] = { f4 };
	const char *err;

	if (formats[kind] != NULL)
		return formats[kind];
	if (kind == FORMAT_JSON)
		formats[kind] = format_new(kind, NULL, json_fields, 3, &err);
	else if (kind == FORMAT_REGEX)
		formats[kind] = format_new(kind, fuzz_regex, regex_fields, 1,
		    &err);
	else
		formats[kind] = format_new(kind, NULL, NULL, 0, &err);
	assert(formats[kind] != NULL);
	return formats[kind];
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct spans sp;
	struct format *f;
	const char *line;
	size_t i, len, end = 0;
	int64_t t;
	char *copy;

	if (size == 0)
		return 0;
	f = fuzz_format(data[0] % NFORMATS);
	len = size - 1;
	/* an exact-size copy, so ASan sees any read past the line */
	copy = malloc(len ? len : 1);
	assert(copy != NULL);
	memcpy(copy, data + 1, len);
	line = copy;
	format_scan(f, line, len, &sp, &t);
	for (i = 0; i < sp.n; i++) {
		assert(sp.v[i].len > 0);
		assert((size_t)sp.v[i].off + sp.v[i].len <= len);
		assert(i == 0 || sp.v[i].off >= end);
		end = (size_t)sp.v[i].off + sp.v[i].len;
	}
	/* the time parser alone, on the same bytes */
	(void)format_parse_time(line, len, &t);
	free(copy);
	return 0;
}
