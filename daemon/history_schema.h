/* The history database's schema: the SQL of every schema version, the
 * migrations that lead from one to the next (run at open, inside one
 * transaction, recorded in PRAGMA user_version), and the read-only opening
 * the client uses. docs/history.md documents the tables and views.
 *
 * Versions: 1 = runs, hosts, connections, transitions, tunable_changes;
 * 2 = + per-connection SYN-ACK/cookie/RTT columns, segment fields and
 * retransmission rows in transitions, counter_snapshots, link_changes, loss
 * accounting in runs, indexes and views. A fresh database runs every
 * migration in order, so the upgrade path is the one always exercised.
 *
 * Any thread may call these, each on its own connection. */
#ifndef TL_DAEMON_HISTORY_SCHEMA_H
#define TL_DAEMON_HISTORY_SCHEMA_H

#include <stddef.h>

#include <sqlite3.h>

#define HISTORY_SCHEMA_VERSION 2

/* Brings db to HISTORY_SCHEMA_VERSION: reads user_version, runs each
 * missing migration and re-creates the views, all in one IMMEDIATE
 * transaction (another process opening the same file at the same time waits
 * for it). Returns 0, or a negative errno with a one-line reason in err:
 * -EPROTO for a database written by a newer tcplab, -EIO for SQLite errors. */
int history_migrate(sqlite3 *db, char *err, size_t errlen);

/* SQL of migration `to` (from schema to-1 to schema `to`), or NULL. */
const char *history_migration_sql(int to);

/* Opens an existing history database for reading only, three ways over:
 * SQLITE_OPEN_READONLY, PRAGMA query_only, and an authorizer that allows
 * reading statements only (no ATTACH, no writes, no pragma changes). Fails
 * with -ENOENT if the file is missing, -EPROTO if its schema is newer than
 * ours or not a tcplab history, -EIO otherwise; err says which. */
int history_open_readonly(const char *path, sqlite3 **out, char *err, size_t errlen);

#endif
