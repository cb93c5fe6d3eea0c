/*
 * sd_notify without libsystemd: one datagram per message to the socket
 * named by NOTIFY_SOCKET (a path, or "@name" for the abstract namespace).
 * Without NOTIFY_SOCKET every call is a no-op.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lethe.h"

static int
notify_send(const char *msg)
{
	struct sockaddr_un sun;
	const char *path = getenv("NOTIFY_SOCKET");
	socklen_t len;
	size_t plen;
	int fd, rc;

	if (path == NULL || path[0] == '\0')
		return 0;
	plen = strlen(path);
	if ((path[0] != '/' && path[0] != '@') || plen >= sizeof(sun.sun_path))
		return -1;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, plen);
	if (path[0] == '@')
		sun.sun_path[0] = '\0';
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + plen);
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	do {
		rc = (int)sendto(fd, msg, strlen(msg), MSG_NOSIGNAL,
		    (struct sockaddr *)&sun, len);
	} while (rc == -1 && errno == EINTR);
	close(fd);
	return rc == -1 ? -1 : 0;
}

int
notify_ready(void)
{
	return notify_send("READY=1");
}

int
notify_reloading(void)
{
	struct timespec ts;
	char msg[128];

	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(msg, sizeof(msg), "RELOADING=1\nMONOTONIC_USEC=%llu",
	    (unsigned long long)ts.tv_sec * 1000000ULL +
	    (unsigned long long)ts.tv_nsec / 1000ULL);
	return notify_send(msg);
}

int
notify_stopping(void)
{
	return notify_send("STOPPING=1");
}

int
notify_watchdog(void)
{
	return notify_send("WATCHDOG=1");
}

int
notify_status(const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	int n;

	n = snprintf(msg, sizeof(msg), "STATUS=");
	va_start(ap, fmt);
	vsnprintf(msg + n, sizeof(msg) - (size_t)n, fmt, ap);
	va_end(ap);
	return notify_send(msg);
}

/*
 * The watchdog interval systemd asks for (WATCHDOG_USEC, for this pid when
 * WATCHDOG_PID is set), in microseconds; 0 when there is none.
 */
uint64_t
notify_watchdog_usec(void)
{
	const char *s = getenv("WATCHDOG_USEC"), *pid = getenv("WATCHDOG_PID");
	const char *errstr;
	long long v;

	if (s == NULL)
		return 0;
	if (pid != NULL && strtonum(pid, 1, INT32_MAX, &errstr) != getpid())
		return 0;
	v = strtonum(s, 1, LLONG_MAX, &errstr);
	return errstr != NULL ? 0 : (uint64_t)v;
}
