/* tools.h - the subcommands of the synack command. */
#ifndef SN_TOOLS_H
#define SN_TOOLS_H

int cmd_demo(int argc, char **argv);

#endif
