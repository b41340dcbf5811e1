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
	        "  version   print the library version\n");
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
