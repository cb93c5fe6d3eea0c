/*
 * Loading the config file: read it (1 MiB at most), parse it, hand its
 * messages to stderr or the log.  Every command and the daemon's reload
 * start here; config.c itself is pure.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lethe.h"

/*
 * Read and parse a config file; NULL on error.  Its messages go to the log
 * (the daemon), or plain to stderr as "file:line: message" (commands).
 */
struct config *
load_config(const char *path, int plain)
{
	struct config_msgs msgs;
	struct config *conf;
	char *text;
	size_t len, i;

	if (fsio_read_file(path, 1024 * 1024, &text, &len) == -1) {
		log_warn("read \"%s\"", log_esc(path));
		return NULL;
	}
	memset(&msgs, 0, sizeof(msgs));
	conf = config_parse(path, text, len, &msgs, tz_load);
	for (i = 0; i < msgs.n; i++) {
		if (plain)
			fprintf(stderr, "%s\n", msgs.v[i]);
		else
			log_warnx("%s", msgs.v[i]);
	}
	config_msgs_release(&msgs);
	free(text);
	return conf;
}

