/*
 * Fuzz config_parse: the input is the text of a config file.  Whatever it
 * holds, the parser must neither crash nor leak, and a config comes back
 * exactly when no error was reported.
 */
#include <stdint.h>
#include <stdlib.h>

#include "lethe.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config_msgs msgs = { NULL, 0, 0, 0 };
	struct config *conf;

	conf = config_parse("fuzz.conf", (const char *)data, size, &msgs);
	if ((conf == NULL) != (msgs.nerrors > 0))
		abort();
	if (msgs.n != msgs.nerrors + msgs.nwarnings)
		abort();
	config_free(conf);
	config_msgs_release(&msgs);
	return 0;
}
