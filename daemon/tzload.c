/*
 * Time zones from the system: a zone name, $TZ or /etc/localtime read
 * through fsio and handed to tz.c, which does the rest.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lethe.h"

#define ZONEINFO	"/usr/share/zoneinfo"
#define LOCALTIME	"/etc/localtime"
#define TZIF_MAX	(1024 * 1024)
#define NAME_MAX_LEN	255

/* Messages with a path, valid until the next one in this thread. */
static _Thread_local char tzload_err[320];

static struct tz *
utc(void)
{
	/* never freed (tz_free ignores it); tz_load's callers own the rest */
	return (struct tz *)(uintptr_t)tz_utc();
}

static int
is_utc(const char *name)
{
	return strcmp(name, "UTC") == 0 || strcmp(name, "Etc/UTC") == 0 ||
	    strcmp(name, "Z") == 0;
}

/* A relative path of non-empty components, none "." or "..". */
static int
name_ok(const char *name)
{
	const char *p, *c;
	size_t n;

	if (*name == '\0' || strlen(name) > NAME_MAX_LEN)
		return 0;
	for (c = name;; c = p + 1) {
		p = strchr(c, '/');
		n = p != NULL ? (size_t)(p - c) : strlen(c);
		if (n == 0 || (n == 1 && c[0] == '.') ||
		    (n == 2 && c[0] == '.' && c[1] == '.'))
			return 0;
		if (p == NULL)
			return 1;
	}
}

/* Read path as a TZif file; *missing set when it does not exist. */
static struct tz *
from_file(const char *name, const char *path, int *missing,
    const char **errstr)
{
	struct tz *tz;
	char *buf;
	size_t len;

	*missing = 0;
	if (fsio_read_file(path, TZIF_MAX, &buf, &len) == -1) {
		*missing = errno == ENOENT || errno == ENOTDIR;
		snprintf(tzload_err, sizeof(tzload_err),
		    "time zone \"%.64s\": read \"%.128s\": %s", name, path,
		    strerror(errno));
		*errstr = tzload_err;
		return NULL;
	}
	tz = tz_from_tzif(name, (const unsigned char *)buf, len, errstr);
	free(buf);
	return tz;
}

static struct tz *
from_zone(const char *name, int *missing, const char **errstr)
{
	char path[sizeof(ZONEINFO) + NAME_MAX_LEN + 1];

	*missing = 0;
	if (is_utc(name))
		return utc();
	if (!name_ok(name)) {
		snprintf(tzload_err, sizeof(tzload_err),
		    "bad time zone name \"%.64s\"", name);
		*errstr = tzload_err;
		return NULL;
	}
	snprintf(path, sizeof(path), "%s/%s", ZONEINFO, name);
	return from_file(name, path, missing, errstr);
}

/* $TZ: "" (UTC), ":PATH", ":NAME", a zone name, or a POSIX string. */
static struct tz *
from_env(const char *env, const char **errstr)
{
	struct tz *tz;
	int missing;

	if (*env == '\0' || strcmp(env, ":") == 0)
		return utc();
	if (env[0] == ':' && env[1] == '/')
		return from_file(env + 1, env + 1, &missing, errstr);
	if (env[0] == ':')
		return from_zone(env + 1, &missing, errstr);
	if (name_ok(env) || is_utc(env)) {
		if ((tz = from_zone(env, &missing, errstr)) != NULL ||
		    !missing)
			return tz;
	}
	return tz_from_posix(env, errstr);
}

struct tz *
tz_load(const char *name, const char **errstr)
{
	const char *env;
	struct tz *tz;
	int missing;

	if (strcmp(name, "local") != 0)
		return from_zone(name, &missing, errstr);
	if ((env = getenv("TZ")) != NULL)
		return from_env(env, errstr);
	if ((tz = from_file("local", LOCALTIME, &missing, errstr)) == NULL &&
	    missing)
		return utc();
	return tz;
}
