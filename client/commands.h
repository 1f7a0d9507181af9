/* tcplab client subcommands beyond `status`, one file each. Each takes the
 * arguments after its name (argv[0] is the subcommand) and returns the exit
 * status: 0 ok, 1 failure (said on stderr), 2 usage error. */
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

#endif
