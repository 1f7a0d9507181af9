/* tcplab client subcommands, one file each (client/cmd_*.c). Each takes
 * the arguments after its name (argv[0] is the subcommand), answers -h and
 * --help with its own usage, and returns the exit status: 0 ok, 1 failure
 * (said on stderr), 2 usage error, 3 tcplabd is not running. */
#ifndef TL_CLIENT_COMMANDS_H
#define TL_CLIENT_COMMANDS_H

/* Where tcplabd writes its history unless started with --db. */
#define CLIENT_DEFAULT_DB "/var/lib/tcplab/history.db"

/* tcplab sql [--db FILE] [--json|--csv] "SELECT ...": runs SQL over a
 * read-only connection to the history (client/cmd_sql.c). */
int cmd_sql(int argc, char **argv);

/* tcplab history [--db FILE] [--state S] [--port P] [--since T] [--run N]
 * [--limit N]: per-connection timelines (client/cmd_history.c). */
int cmd_history(int argc, char **argv);

/* tcplab status [--json]: the running daemons (cmd_status.c). */
int cmd_status(int argc, char **argv);
/* tcplab up [LAB] / down: start tcplabd in the background, stop it
 * (cmd_updown.c). */
int cmd_up(int argc, char **argv);
int cmd_down(int argc, char **argv);
/* tcplab ss: the stack hosts' sockets, like ss -tan (cmd_ss.c). */
int cmd_ss(int argc, char **argv);
/* tcplab get / set: tunables, like sysctl (cmd_sysctl.c). */
int cmd_get(int argc, char **argv);
int cmd_set(int argc, char **argv);
/* tcplab connect / listen / accept / send / recv / shutdown / close /
 * abort / handles: drive a stack host as an application (cmd_sock.c). */
int cmd_sock(int argc, char **argv);
/* tcplab watch: live transitions (cmd_watch.c). */
int cmd_watch(int argc, char **argv);
/* tcplab flood: a bounded SYN flood from a kernel host (cmd_flood.c). */
int cmd_flood(int argc, char **argv);
/* tcplab capture: pcap of a link (cmd_capture.c). */
int cmd_capture(int argc, char **argv);
/* tcplab tour: every scenario of the seed text, live (cmd_tour.c). */
int cmd_tour(int argc, char **argv);
/* tcplab diagram CONN: ladder diagram of a recorded connection
 * (cmd_diagram.c). */
int cmd_diagram(int argc, char **argv);
/* tcplab states: the state diagram with counts from history
 * (cmd_states.c). */
int cmd_states(int argc, char **argv);

#endif
