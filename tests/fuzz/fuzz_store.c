/*
 * Fuzz the catalog decoder: any bytes, no crash, no leak; what it accepts
 * re-encodes into something it accepts again with as many records.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lethe.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct srecord *r, *r2;
	size_t n, n2, len;
	char *buf;
	const char *err;

	if (store_decode((const char *)data, size, &r, &n, &err) == 0) {
		store_encode(r, n, &buf, &len);
		assert(store_decode(buf, len, &r2, &n2, &err) == 0);
		assert(n2 == n);
		store_records_free(r2, n2);
		free(buf);
		store_records_free(r, n);
	}
	return 0;
}
