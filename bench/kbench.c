/*
 * kbench.c - the Linux kernel's side of `make bench`: the same work as
 * sn_bench, done with plain sockets. bench/run.sh runs it inside network
 * namespaces it creates, pinned with taskset.
 *
 *   kbench recv --port P                     accept one flow, read to EOF
 *   kbench send --to IP:PORT --seconds S     one flow, write for S seconds
 *   kbench crr-server --port P               accept, read 64, write 64, close
 *   kbench crr --to IP:PORT --seconds S --count C
 *   kbench mem --to IP:PORT --n N [--tw]     N idle connection pairs (or TIME-WAITs)
 *
 * Each prints one JSON object on stdout. Every loop is bounded by a count
 * and a time; nothing here changes a sysctl.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* CPU time of this process (user + system, which includes the softirq work
 * the kernel does in our context). */
static double cpu_s(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static void die(const char *what)
{
	fprintf(stderr, "kbench: %s: %s\n", what, strerror(errno));
	exit(1);
}

static struct sockaddr_in parse_to(const char *s)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	char host[64];
	snprintf(host, sizeof(host), "%s", s);
	char *colon = strchr(host, ':');
	if (!colon) {
		fprintf(stderr, "kbench: want IP:PORT, not %s\n", s);
		exit(2);
	}
	*colon = 0;
	a.sin_port = htons((uint16_t)atoi(colon + 1));
	if (inet_pton(AF_INET, host, &a.sin_addr) != 1) {
		fprintf(stderr, "kbench: bad address %s\n", host);
		exit(2);
	}
	return a;
}

static int listen_port(uint16_t port, int backlog)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	if (fd < 0)
		die("socket");
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, backlog) < 0)
		die("bind/listen");
	return fd;
}

/* Connect, retrying for up to 5 s while the server comes up. */
static int connect_to(const struct sockaddr_in *a)
{
	for (int i = 0; i < 50; i++) {
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		if (fd < 0)
			die("socket");
		if (connect(fd, (const struct sockaddr *)a, sizeof(*a)) == 0)
			return fd;
		close(fd);
		usleep(100000);
	}
	die("connect");
	return -1;
}

static char buf[1 << 17];

static int mode_recv(uint16_t port, double seconds)
{
	int ls = listen_port(port, 4);
	alarm((unsigned)seconds + 30); /* bounded even if no sender comes */
	int fd = accept(ls, NULL, NULL);
	if (fd < 0)
		die("accept");
	uint64_t bytes = 0, t0 = 0;
	double c0 = cpu_s();
	ssize_t n;
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		if (!t0)
			t0 = mono_ns();
		bytes += (uint64_t)n;
	}
	double wall = t0 ? (double)(mono_ns() - t0) / 1e9 : 0;
	double cpu = cpu_s() - c0;
	printf("{\"side\":\"recv\",\"bytes\":%llu,\"wall_s\":%.4f,\"cpu_s\":%.4f,\"gbps\":%.3f}\n",
	       (unsigned long long)bytes, wall, cpu, wall > 0 ? (double)bytes * 8 / wall / 1e9 : 0);
	return 0;
}

static int mode_send(const struct sockaddr_in *to, double seconds)
{
	int fd = connect_to(to);
	uint64_t bytes = 0, t0 = mono_ns(), until = t0 + (uint64_t)(seconds * 1e9);
	double c0 = cpu_s();
	while (mono_ns() < until) {
		ssize_t n = write(fd, buf, 1 << 16);
		if (n < 0)
			die("write");
		bytes += (uint64_t)n;
	}
	shutdown(fd, SHUT_WR);
	double wall = (double)(mono_ns() - t0) / 1e9, cpu = cpu_s() - c0;
	/* Wait (bounded) for the receiver's EOF so its figures are complete. */
	struct pollfd p = {.fd = fd, .events = POLLIN};
	while (poll(&p, 1, 5000) > 0 && read(fd, buf, sizeof(buf)) > 0)
		;
	close(fd);
	printf("{\"side\":\"send\",\"bytes\":%llu,\"wall_s\":%.4f,\"cpu_s\":%.4f,\"gbps\":%.3f}\n",
	       (unsigned long long)bytes, wall, cpu, (double)bytes * 8 / wall / 1e9);
	return 0;
}

#define MSG 64

static int read_full(int fd, char *p, size_t len)
{
	size_t got = 0;
	while (got < len) {
		ssize_t n = read(fd, p + got, len - got);
		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	return 0;
}

/* Serves until killed by run.sh (or for at most `seconds` + 60 s). */
static _Noreturn void mode_crr_server(uint16_t port, double seconds)
{
	int ls = listen_port(port, 1024);
	alarm((unsigned)seconds + 60);
	char m[MSG];
	for (;;) {
		int fd = accept(ls, NULL, NULL);
		if (fd < 0)
			die("accept");
		/* The server closes first and keeps the TIME-WAIT, as in sn_bench. */
		if (read_full(fd, m, MSG) == 0)
			(void)!write(fd, m, MSG);
		close(fd);
	}
}

static int mode_crr(const struct sockaddr_in *to, double seconds, uint64_t count)
{
	char m[MSG] = {0};
	uint64_t done = 0, failed = 0, t0 = mono_ns(), until = t0 + (uint64_t)(seconds * 1e9);
	double c0 = cpu_s();
	int one = 1;
	while (done < count && mono_ns() < until) {
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		if (fd < 0)
			die("socket");
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (connect(fd, (const struct sockaddr *)to, sizeof(*to)) < 0 ||
		    write(fd, m, MSG) != MSG || read_full(fd, m, MSG) < 0)
			failed++;
		else
			done++;
		close(fd);
	}
	double wall = (double)(mono_ns() - t0) / 1e9, cpu = cpu_s() - c0;
	printf("{\"side\":\"crr\",\"conns\":%llu,\"failed\":%llu,\"wall_s\":%.4f,\"cpu_s\":%.4f,"
	       "\"conns_per_s\":%.0f}\n",
	       (unsigned long long)done, (unsigned long long)failed, wall, cpu, (double)done / wall);
	return 0;
}

/* Bytes held in slab objects: the sum of active objects times their size. */
static long long slab_bytes(void)
{
	FILE *f = fopen("/proc/slabinfo", "r");
	if (!f)
		return -1;
	char line[512], name[128];
	long long total = 0, active, num, size;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%127s %lld %lld %lld", name, &active, &num, &size) == 4)
			total += active * size;
	fclose(f);
	return total;
}

static long long sockstat(const char *key)
{
	FILE *f = fopen("/proc/net/sockstat", "r");
	if (!f)
		return -1;
	char line[512];
	long long v = -1;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "TCP:", 4))
			continue;
		char *p = strstr(line, key);
		if (p)
			v = atoll(p + strlen(key) + 1);
	}
	fclose(f);
	return v;
}

static void settle(void)
{
	usleep(300000);
}

static int mode_mem(const struct sockaddr_in *to, size_t n, bool tw)
{
	int ls = listen_port(ntohs(to->sin_port), 4096);
	int *cli = calloc(n, sizeof(int)), *srv = calloc(n, sizeof(int));
	if (!cli || !srv)
		return 1;
	settle();
	long long s0 = slab_bytes(), tw0 = sockstat("tw");
	uint64_t t0 = mono_ns(), until = t0 + 60ull * 1000000000u;
	const size_t batch = 256;
	size_t made = 0;
	for (size_t i = 0; i < n && mono_ns() < until; i += batch) {
		size_t to_n = i + batch < n ? i + batch : n;
		for (size_t j = i; j < to_n; j++) {
			cli[j] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
			if (cli[j] < 0)
				die("socket (open-file limit?)");
			if (connect(cli[j], (const struct sockaddr *)to, sizeof(*to)) < 0 &&
			    errno != EINPROGRESS)
				die("connect");
		}
		for (size_t j = i; j < to_n; j++) {
			srv[j] = accept(ls, NULL, NULL);
			if (srv[j] < 0)
				die("accept");
		}
		if (tw) {
			/* Server first: it keeps the TIME-WAIT. The client closes
			 * once the FIN is in, so it passes through LAST-ACK only. */
			for (size_t j = i; j < to_n; j++)
				close(srv[j]);
			for (size_t j = i; j < to_n; j++) {
				struct pollfd p = {.fd = cli[j], .events = POLLIN};
				if (poll(&p, 1, 1000) > 0)
					(void)!read(cli[j], buf, 1);
				close(cli[j]);
			}
		}
		made = to_n;
	}
	settle();
	long long s1 = slab_bytes();
	double secs = (double)(mono_ns() - t0) / 1e9;
	if (tw) {
		long long tws = sockstat("tw") - tw0;
		printf("{\"side\":\"mem_tw\",\"n\":%zu,\"tw_entries\":%lld,\"slab_delta\":%lld,"
		       "\"bytes_per_tw\":%.1f,\"setup_s\":%.2f}\n",
		       made, tws, s1 - s0, tws > 0 ? (double)(s1 - s0) / (double)tws : 0, secs);
	} else {
		printf("{\"side\":\"mem_estab\",\"n\":%zu,\"inuse\":%lld,\"slab_delta\":%lld,"
		       "\"bytes_per_conn\":%.1f,\"setup_s\":%.2f}\n",
		       made, sockstat("inuse"), s1 - s0, (double)(s1 - s0) / (2.0 * (double)made), secs);
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		goto usage;
	const char *mode = argv[1], *to = NULL;
	double seconds = 2;
	uint64_t count = 1000000;
	size_t n = 0;
	uint16_t port = 5001;
	bool tw = false;
	signal(SIGPIPE, SIG_IGN);
	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--tw")) {
			tw = true;
			continue;
		}
		if (i + 1 >= argc)
			goto usage;
		const char *o = argv[i], *v = argv[++i];
		if (!strcmp(o, "--to"))
			to = v;
		else if (!strcmp(o, "--port"))
			port = (uint16_t)atoi(v);
		else if (!strcmp(o, "--seconds"))
			seconds = atof(v);
		else if (!strcmp(o, "--count"))
			count = strtoull(v, NULL, 0);
		else if (!strcmp(o, "--n"))
			n = strtoull(v, NULL, 0);
		else
			goto usage;
	}
	if (!strcmp(mode, "recv"))
		return mode_recv(port, seconds);
	if (!strcmp(mode, "crr-server"))
		mode_crr_server(port, seconds);
	if (to) {
		struct sockaddr_in a = parse_to(to);
		if (!strcmp(mode, "send"))
			return mode_send(&a, seconds);
		if (!strcmp(mode, "crr"))
			return mode_crr(&a, seconds, count);
		if (!strcmp(mode, "mem") && n)
			return mode_mem(&a, n, tw);
	}
usage:
	fprintf(stderr, "usage: kbench recv|crr-server --port P | send|crr|mem --to IP:PORT "
	                "[--seconds S] [--count C] [--n N] [--tw]\n");
	return 2;
}
