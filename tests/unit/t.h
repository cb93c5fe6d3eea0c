/*
 * A tiny unit test harness: T_ASSERT and friends record failures and go
 * on; t_main() runs a case table under an alarm watchdog and ends with
 * "N passed, N failed".
 */
#ifndef T_H
#define T_H

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int t_failed_checks;

#define T_ASSERT(c) do {						\
	if (!(c)) {							\
		fprintf(stderr, "%s:%d: assertion failed: %s\n",	\
		    __FILE__, __LINE__, #c);				\
		t_failed_checks++;					\
	}								\
} while (0)

#define T_EQ_INT(a, b) do {						\
	long long t_a_ = (long long)(a), t_b_ = (long long)(b);	\
	if (t_a_ != t_b_) {						\
		fprintf(stderr, "%s:%d: %s == %lld, want %lld\n",	\
		    __FILE__, __LINE__, #a, t_a_, t_b_);		\
		t_failed_checks++;					\
	}								\
} while (0)

#define T_EQ_STR(a, b) do {						\
	const char *t_a_ = (a), *t_b_ = (b);				\
	if (t_a_ == NULL || t_b_ == NULL || strcmp(t_a_, t_b_) != 0) {	\
		fprintf(stderr, "%s:%d: %s == \"%s\", want \"%s\"\n",	\
		    __FILE__, __LINE__, #a, t_a_ ? t_a_ : "(null)",	\
		    t_b_ ? t_b_ : "(null)");				\
		t_failed_checks++;					\
	}								\
} while (0)

/* Threads of this process now (/proc/self/status), -1 unknown. */
static inline int
t_threads(void)
{
	char line[128];
	FILE *f;
	int n = -1;

	if ((f = fopen("/proc/self/status", "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "Threads: %d", &n) == 1)
			break;
	fclose(f);
	return n;
}

struct t_case {
	const char	*name;
	void		(*fn)(void);
};

static void
t_alarm(int sig)
{
	static const char m[] = "test timed out\n";

	(void)sig;
	(void)!write(2, m, sizeof(m) - 1);
	_exit(2);
}

static int
t_main(const struct t_case *cases, int argc, char **argv)
{
	int passed = 0, failed = 0, before;
	const struct t_case *c;

	signal(SIGALRM, t_alarm);
	for (c = cases; c->name != NULL; c++) {
		if (argc > 1 && strcmp(argv[1], c->name) != 0)
			continue;
		before = t_failed_checks;
		alarm(60);
		c->fn();
		alarm(0);
		if (t_failed_checks == before) {
			passed++;
		} else {
			failed++;
			fprintf(stderr, "FAIL %s\n", c->name);
		}
	}
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}

#endif /* T_H */
