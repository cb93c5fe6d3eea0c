/*
 * Fuzz config_parse: the input is the text of a config file.  Whatever it
 * holds, the parser must neither crash nor leak, a config comes back
 * exactly when no error was reported, and every message names the file
 * and a line of it.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lethe.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config_msgs msgs = { NULL, 0, 0, 0 };
	struct config *conf;
	size_t i, lines = 1;
	long line;
	char *end;

	for (i = 0; i < size; i++)
		lines += data[i] == '\n';
	conf = config_parse("fuzz.conf", (const char *)data, size, &msgs,
	    NULL);
	if ((conf == NULL) != (msgs.nerrors > 0))
		abort();
	if (msgs.n < msgs.nerrors + msgs.nwarnings)
		abort();
	for (i = 0; i < msgs.n; i++) {
		/* "fuzz.conf:LINE: ..." or "fuzz.conf:LINE:COL: ..." */
		if (strncmp(msgs.v[i], "fuzz.conf:", 10) != 0)
			abort();
		line = strtol(msgs.v[i] + 10, &end, 10);
		if (*end != ':' || line < 0 || (size_t)line > lines + 1)
			abort();
	}
	config_free(conf);
	config_msgs_release(&msgs);
	return 0;
}
