/*
 * Fuzz format_scan over every format (formats.h): the first byte picks
 * the format, the rest is one line.  Every span lies inside the line, is
 * not empty, comes after the one before, names a field the format has
 * (or the free scan), and its masked form lies inside the scan's text;
 * the free scan obeys the same rules; the time parser takes the bytes.
 */
#include "formats.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
fail(int line, const char *what)
{
	fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, line, what);
	abort();
}

#define check(c)	((c) ? (void)0 : fail(__LINE__, #c))

static void
check_spans(const struct format *f, const struct spans *sp, size_t len)
{
	size_t i, end = 0;

	for (i = 0; i < sp->n; i++) {
		check(sp->v[i].len > 0);
		check((size_t)sp->v[i].off + sp->v[i].len <= len);
		check(i == 0 || sp->v[i].off >= end);
		check(sp->v[i].field == FIELD_FREE ||
		    sp->v[i].field < f->nnames);
		check((size_t)sp->v[i].moff + sp->v[i].mlen <= sp->tlen);
		check(sp->v[i].mlen <= ADDR_OUT_MAX);
		end = (size_t)sp->v[i].off + sp->v[i].len;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct scan sc;
	static struct spans fs;
	struct format *f;
	void *state;
	size_t len;
	int64_t t;
	char *copy;

	if (size == 0)
		return 0;
	f = fz_format(data[0] % fz_nformats());
	len = size - 1;
	/* an exact-size copy, so ASan sees any read past the line */
	copy = malloc(len ? len : 1);
	check(copy != NULL);
	memcpy(copy, data + 1, len);
	state = format_state_new(f);
	format_scan(f, state, copy, len, 1795924800, &sc);
	check_spans(f, &sc.spans, len);
	check(sc.bad >= SCAN_OK && sc.bad <= SCAN_LONG);
	check(sc.bad == SCAN_NOMATCH || sc.time == TIME_NONE ||
	    sc.bad != SCAN_NOTIME);
	check(sc.fields >> f->nnames == 0);
	spans_reset(&fs);
	(void)field_free(&f->fo, copy, 0, len, &fs);
	check_spans(f, &fs, len);
	(void)format_parse_time(copy, len, &t);
	format_state_free(f, state);
	free(copy);
	return 0;
}
