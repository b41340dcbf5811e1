/*
 * drill_shell.c - what shell lines and python blocks mean to the interpreter
 * (SPEC 11). None is run: each is classified as a baseline setting to ignore,
 * a stack knob (FreeBSD sysctls the profiles have), a state check, or
 * something outside the subset (the script is SKIP, with the reason).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drill.h"
#include "synack.h"

/* ---- shell lines and python blocks (SPEC 11) ------------------------------- */

static const struct {
	const char *name;
	int state;
} state_names[] = {
	{"CLOSED", SN_CLOSED}, {"LISTEN", SN_LISTEN}, {"SYN_SENT", SN_SYN_SENT},
	{"SYN_RCVD", SN_SYN_RECEIVED}, {"SYN_RECEIVED", SN_SYN_RECEIVED},
	{"ESTABLISHED", SN_ESTABLISHED}, {"CLOSE_WAIT", SN_CLOSE_WAIT},
	{"FIN_WAIT_1", SN_FIN_WAIT_1}, {"CLOSING", SN_CLOSING}, {"LAST_ACK", SN_LAST_ACK},
	{"FIN_WAIT_2", SN_FIN_WAIT_2}, {"TIME_WAIT", SN_TIME_WAIT},
};

static int state_by_name(const char *s)
{
	if (strncmp(s, "TCPI_", 5) == 0)
		s += 5;
	for (size_t i = 0; i < sizeof(state_names) / sizeof(state_names[0]); i++)
		if (strcmp(s, state_names[i].name) == 0)
			return state_names[i].state;
	return -1;
}

/* FreeBSD's numbering of tcpi_state (SPEC 11). */
static const int freebsd_states[] = {
	SN_CLOSED, SN_LISTEN, SN_SYN_SENT, SN_SYN_RECEIVED, SN_ESTABLISHED, SN_CLOSE_WAIT,
	SN_FIN_WAIT_1, SN_CLOSING, SN_LAST_ACK, SN_FIN_WAIT_2, SN_TIME_WAIT,
};

/* FreeBSD sysctls whose value is the default we have anyway. */
static const char *const baseline_sysctls[] = {
	"net.inet.tcp.blackhole=0",
	"net.inet.tcp.ecn.enable=2", "kern.ipc.maxsockbuf=2097152", "net.inet.tcp.recvspace=65536",
	"net.inet.tcp.sendspace=32768", "net.inet.tcp.rexmit_slop=200",
	"net.inet.tcp.rexmit_initial=1000", "net.inet.tcp.rexmit_drop_options=0",
	"net.inet.tcp.syncookies=1", "net.inet.tcp.syncookies_only=0", "net.inet.tcp.delacktime=40",
	"net.inet.icmp.icmp_may_rst=1", "net.inet.tcp.icmp_may_rst=1", "net.inet.tcp.keepinit=75000",
	"net.inet.tcp.hostcache.purgenow=1", NULL,
};

static const struct {
	const char *name;
	int knob;
} knobs[] = {
	{"net.inet.tcp.insecure_rst", DR_KNOB_INSECURE_RST},
	{"net.inet.tcp.insecure_syn", DR_KNOB_INSECURE_SYN},
	{"net.inet.tcp.drop_synfin", DR_KNOB_DROP_SYNFIN},
	{"net.inet.tcp.rfc1323", DR_KNOB_RFC1323},
	{"net.inet.tcp.sack.enable", DR_KNOB_SACK},
	{"net.inet.tcp.keepidle", DR_KNOB_KEEPIDLE},
	{"net.inet.tcp.keepintvl", DR_KNOB_KEEPINTVL},
	{"net.inet.tcp.keepcnt", DR_KNOB_KEEPCNT},
};

/* Words of a command, split on blanks and '|' (kept as its own word). */
static int split_words(char *cmd, char **w, int max)
{
	int n = 0;
	char *s = cmd;
	while (*s && n < max) {
		while (*s == ' ' || *s == '\t' || *s == '\n')
			*s++ = '\0';
		if (!*s)
			break;
		if (*s == '|') {
			w[n++] = "|";
			*s++ = '\0';
			continue;
		}
		w[n++] = s;
		while (*s && *s != ' ' && *s != '\t' && *s != '\n' && *s != '|')
			s++;
	}
	return n;
}

/* `sockstat -4 -P tcp [-p PORT] -s | grep [NAME |] grep -c STATE | grep N` */
static bool parse_sockstat(char **w, int n, struct dr_shell *sh)
{
	int i = 0, pipes = 0;
	if (n == 0 || strcmp(w[0], "sockstat") != 0)
		return false;
	while (i < n && strcmp(w[i], "|") != 0) {
		if (strcmp(w[i], "-6") == 0)
			return false;
		i++;
	}
	sh->state = -1;
	sh->count = -1;
	while (i < n) {
		if (strcmp(w[i], "|") != 0)
			return false;
		pipes++;
		i++;
		if (i >= n || strcmp(w[i], "grep") != 0)
			return false;
		i++;
		if (i < n && strcmp(w[i], "-c") == 0) {
			if (i + 1 >= n || (sh->state = state_by_name(w[i + 1])) < 0)
				return false;
			i += 2;
		} else if (i < n && sh->state >= 0) {
			char *end;
			long v = strtol(w[i], &end, 10);
			if (*end)
				return false;
			sh->count = (int)v;
			i++;
		} else if (i < n) {
			i++; /* grep packetdril: the process name, always us */
		}
	}
	sh->kind = SH_STATE;
	return pipes >= 2 && sh->state >= 0 && sh->count >= 0;
}

bool dr_parse_shell(const char *text, struct dr_shell *sh, char *why, size_t whylen)
{
	char *cmd = strdup(text);
	char *w[32];
	if (!cmd)
		exit(2);
	int n = split_words(cmd, w, 32);
	bool ok = true;
	sh->kind = SH_IGNORE;
	if (n == 0) {
		/* nothing to run */
	} else if (strlen(w[0]) >= 11 && strcmp(w[0] + strlen(w[0]) - 11, "defaults.sh") == 0) {
		/* The Linux test baseline. Of its sysctls one shows on the wire:
		 * tcp_rmem[2] = 15 MB, hence window scale 8 (SPEC 12). */
		sh->kind = SH_SYSCTL;
		sh->knob = DR_KNOB_RMEM_MAX;
		sh->value = 15728640;
	} else if (strncmp(w[0], "/tmp/sysctl_restore_", 20) == 0) {
	} else if (n == 3 && strcmp(w[0], "tcpdrop") == 0 && strcmp(w[1], "-s") == 0 &&
	           strcmp(w[2], "TIME_WAIT") == 0) {
		/* FreeBSD drops TIME-WAIT records left by earlier tests: a fresh
		 * stack has none. */
	} else if (n == 2 && strcmp(w[0], "nstat") == 0 && strcmp(w[1], "-n") == 0) {
	} else if (n == 3 && strcmp(w[0], "sysctl") == 0 && strcmp(w[1], "-w") == 0) {
		bool base = false;
		for (int i = 0; baseline_sysctls[i]; i++)
			base |= strcmp(baseline_sysctls[i], w[2]) == 0;
		if (!base) {
			char *eq = strchr(w[2], '=');
			size_t k;
			ok = false;
			if (eq) {
				*eq = '\0';
				for (k = 0; k < sizeof(knobs) / sizeof(knobs[0]); k++) {
					char *end;
					long v = strtol(eq + 1, &end, 10);
					bool flag = knobs[k].knob < DR_KNOB_KEEPIDLE;
					if (strcmp(knobs[k].name, w[2]) == 0 && eq[1] && !*end && v >= 0 &&
					    v <= 100000000 && (!flag || v <= 1)) {
						sh->kind = SH_SYSCTL;
						sh->knob = knobs[k].knob;
						sh->value = (int)v;
						ok = true;
					}
				}
				*eq = '=';
			}
			if (!ok)
				snprintf(why, whylen, "sysctl %s", w[2]);
		}
	} else if (parse_sockstat(w, n, sh)) {
	} else {
		snprintf(why, whylen, "shell command `%.60s`", text);
		ok = false;
	}
	free(cmd);
	return ok;
}

/* %{ assert tcpi_state == NAME_OR_NUMBER }% */
bool dr_parse_code(const char *text, struct dr_shell *sh, char *why, size_t n)
{
	char buf[128];
	const char *s = text;
	while (isspace((unsigned char)*s))
		s++;
	if (sscanf(s, "assert tcpi_state == %127s", buf) == 1) {
		size_t l = strlen(buf);
		while (l > 0 && isspace((unsigned char)buf[l - 1]))
			buf[--l] = '\0';
		/* the block must hold just that one assertion */
		const char *rest = strstr(s, buf) + l;
		while (isspace((unsigned char)*rest))
			rest++;
		int st = -1;
		char *end;
		long v = strtol(buf, &end, 10);
		if (*end == '\0' && v >= 0 && v <= 10)
			st = freebsd_states[v];
		else
			st = state_by_name(buf);
		if (st >= 0 && *rest == '\0') {
			sh->kind = SH_STATE;
			sh->state = st;
			sh->count = -1;
			return true;
		}
	}
	snprintf(why, n, "python block other than 'assert tcpi_state == ...'");
	return false;
}

