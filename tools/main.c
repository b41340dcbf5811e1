/*
 * main.c - the synack command: one binary, several subcommands.
 */
#include <stdio.h>
#include <string.h>

#include "synack.h"
#include "tools.h"

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: synack COMMAND [OPTIONS]\n"
	        "\n"
	        "commands:\n"
	        "  demo      two stacks in memory walk through a TCP scenario, drawn as a ladder\n"
	        "            (synack demo --help for the scenarios)\n"
	        "  listen    accept a TCP connection on a TAP device, netcat-style\n"
	        "  connect   open a TCP connection from a TAP device, netcat-style\n"
	        "  http      serve a directory over HTTP/1.1 on a TAP device\n"
	        "  cwnd      draw congestion control at work through a bottleneck, in memory\n"
	        "  drill     run packetdrill scripts against the stack on a virtual clock\n"
	        "  version   print the library version\n"
	        "\n"
	        "The network commands run their own stack on a TAP device\n"
	        "(synack listen --help for the options they share).\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	const char *cmd = argv[1];
	if (strcmp(cmd, "demo") == 0)
		return cmd_demo(argc - 1, argv + 1);
	if (strcmp(cmd, "listen") == 0)
		return cmd_listen(argc - 1, argv + 1);
	if (strcmp(cmd, "connect") == 0)
		return cmd_connect(argc - 1, argv + 1);
	if (strcmp(cmd, "http") == 0)
		return cmd_http(argc - 1, argv + 1);
	if (strcmp(cmd, "cwnd") == 0)
		return cmd_cwnd(argc - 1, argv + 1);
	if (strcmp(cmd, "drill") == 0)
		return cmd_drill(argc - 1, argv + 1);
	if (strcmp(cmd, "version") == 0) {
		printf("synack %d.%d.%d\n", SN_VERSION_MAJOR, SN_VERSION_MINOR, SN_VERSION_PATCH);
		return 0;
	}
	if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
		usage(stdout);
		return 0;
	}
	fprintf(stderr, "synack: unknown command '%s'\n\n", cmd);
	usage(stderr);
	return 2;
}
