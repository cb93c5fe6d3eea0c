/*
 * lethe check: parse and validate the config (every mistake as
 * file:line), find its files (directories that exist and are safe, no
 * file claimed by two sets), and say "configuration OK" as nginx -t does.
 */
#include <stdio.h>

#include "lethe.h"

int
cmd_check(const struct cmd_opts *o)
{
	struct config *conf;
	struct catalog cat;
	int rc;

	if ((conf = load_config(o->conf, 1)) == NULL)
		return 1;
	rc = catalog_discover(&cat, conf);
	catalog_release(&cat);
	config_free(conf);
	if (rc == -1)
		return 1;
	printf("configuration OK\n");
	return 0;
}
