/*
 * lethe reveal: a pseudonym back to the address it stands for, under the
 * key of its day (--date, default the UTC day of --now), for as long as
 * that key exists.  It never makes a key: a day whose key is gone, or
 * was never made, says so plainly.  The pseudonym mode (pfx or not) is
 * the set's as configured now.  Exit 0: the address on stdout; 1: no key
 * for that day; 2: a usage error or a state it cannot read.
 */
#include <stdio.h>
#include <string.h>

#include "lethe.h"

/* No key of day: say why, as plainly as lethe knows it. */
static void
no_key(int sdfd, const struct logset *set, const char *dtext, int64_t day,
    int64_t now)
{
	char at[32], win[32];
	int64_t gone, passed;

	gone = keys_destroyed(sdfd, set, day);
	passed = (day + 1) * PSEUDO_DAY + set->window;
	if (gone != TIME_NONE)
		log_warnx("the key of %s was destroyed on %s: the pseudonym "
		    "can no longer be turned back", dtext,
		    iso_time(gone, at, sizeof(at)));
	else if (passed <= now)
		log_warnx("the key of %s is gone: keys are destroyed when "
		    "their day is older than the window (%s), as this one "
		    "has been since %s: the pseudonym can no longer be "
		    "turned back", dtext,
		    config_fmt_duration(set->window, win, sizeof(win)),
		    iso_time(passed, at, sizeof(at)));
	else
		log_warnx("no key of %s exists for [%s]: lethe made no "
		    "pseudonym under it", dtext, log_esc(set->name));
}

int
cmd_reveal(const struct cmd_opts *o)
{
	const struct logset *set;
	struct config *conf;
	struct pseudo *ps;
	uint8_t key[PSEUDO_KEY_LEN], v[16];
	char text[ADDR_TEXT_MAX], dtext[16];
	const char *arg = o->args[0], *why;
	int64_t day;
	int sdfd, rc = 2;

	if ((conf = load_config(o->conf, 1)) == NULL)
		return 2;
	if ((set = keys_pick_set(conf, o->set)) == NULL)
		goto out;
	day = pseudo_day(o->now);
	if (o->date != NULL && keys_parse_day(o->date, &day) == -1) {
		log_warnx("--date \"%s\": not a day (YYYY-MM-DD)",
		    log_esc(o->date));
		goto out;
	}
	(void)snprintf(dtext, sizeof(dtext), "%.10s",
	    iso_time(day * PSEUDO_DAY, text, sizeof(text)));
	/* What was given is not echoed: a pseudonym is personal data too. */
	if (addr_value(arg, strlen(arg), v) == -1) {
		log_warnx("the pseudonym given is not an address");
		goto out;
	}
	if ((sdfd = store_open(conf, &why)) == -1) {
		log_warnx("state_dir \"%s\": %s", log_esc(conf->state_dir), why);
		goto out;
	}
	switch (keys_day(sdfd, set, day, 0, o->now, key, &why)) {
	case 1:
		if ((ps = pseudo_new(set->pseudonym_prefix, key)) == NULL) {
			log_warnx("the key of %s cannot be used", dtext);
			break;
		}
		pseudo_decrypt(ps, v, v);
		pseudo_free(ps);
		addr_text(v, text);
		printf("%s\n", text);
		explicit_bzero(v, sizeof(v));
		rc = 0;
		break;
	case 0:
		no_key(sdfd, set, dtext, day, o->now);
		rc = 1;
		break;
	default:
		log_warnx("pseudonym keys of [%s]: %s", log_esc(set->name),
		    why);
		break;
	}
	explicit_bzero(key, sizeof(key));
	fsio_close(sdfd);
out:
	config_free(conf);
	return rc;
}
