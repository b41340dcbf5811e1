/* tools.h - the subcommands of the synack command. */
#ifndef SN_TOOLS_H
#define SN_TOOLS_H

int cmd_demo(int argc, char **argv);
int cmd_listen(int argc, char **argv);   /* nc.c */
int cmd_connect(int argc, char **argv);  /* nc.c */
int cmd_http(int argc, char **argv);     /* http.c */
int cmd_cwnd(int argc, char **argv);     /* cwnd.c */
int cmd_drill(int argc, char **argv);    /* drill.c */

#endif
