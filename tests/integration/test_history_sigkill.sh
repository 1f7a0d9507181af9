#!/bin/bash
# Integration: SIGKILL under load. While clients in the namespace open
# short HTTP connections as fast as they can, tcplabd is killed with
# SIGKILL. Afterwards the history database passes integrity_check, its
# events form a prefix of what happened (the stack's PassiveOpens counter
# at the last snapshot equals the passive connections established by then),
# and every client connection completed more than one batch interval before
# the kill is in it. A new tcplabd then opens the same database cleanly.
. "$(dirname "$0")/lib.sh"
require curl sqlite3
setup histkill
NS=$(new_ns histkill)
write_lab "$T/lab" "$NS"
DB="$T/history.db"
BATCH_MS=100
q() { sqlite3 -bail "$DB" "$1" 2>&1; }

start_daemon first "$T/lab" --history-batch-ms "$BATCH_MS" || fail "tcplabd did not become ready"
FIRST=$DPID

# Load: 4 client loops; each completed connection logs "<wall ns> <port>".
for i in 1 2 3 4; do
	ip netns exec "$NS" bash -c '
		while :; do
			p=$(curl -s -m 2 -o /dev/null -w "%{local_port}" http://198.18.0.1/) &&
				echo "$(date +%s%N) $p"
		done' >"$T/load.$i" 2>/dev/null &
	PIDS+=($!)
	LOADERS+=($!)
done
# Under load for a while (bounded): at least 300 connections done.
for _ in $(seq 200); do
	[ "$(cat "$T"/load.* | wc -l)" -ge 300 ] && break
	read -r -t 0.05 <> <(:) || true
done
done_before=$(cat "$T"/load.* | wc -l)
[ "$done_before" -ge 300 ] || fail "the load made only $done_before connections"

KILL_NS=$(date +%s%N)
kill -KILL "$FIRST"
wait "$FIRST" 2>/dev/null
forget_pid "$FIRST"
for p in "${LOADERS[@]}"; do
	kill -TERM "$p" 2>/dev/null
	wait "$p" 2>/dev/null
	forget_pid "$p"
done
note "SIGKILLed tcplabd pid $FIRST after $done_before client connections"

[ "$(q "PRAGMA integrity_check")" = ok ] || fail "integrity_check after SIGKILL: $(q 'PRAGMA integrity_check')"
[ "$(q "SELECT (stopped_us IS NULL) || ' ' || (flushed_us IS NOT NULL) || ' ' || events_lost FROM runs WHERE id = 1")" = "1 1 0" ] ||
	fail "run row after SIGKILL: $(q 'SELECT * FROM run_summary')"

# Prefix: at the last counter snapshot, PassiveOpens equals the passive
# connections established up to then.
S=$(q "SELECT max(time_us) FROM counter_snapshots WHERE run = 1")
[ -n "$S" ] || fail "no counter snapshot in the history"
P=$(q "SELECT value FROM counter_snapshots WHERE run = 1 AND mib = 'Tcp' AND name = 'PassiveOpens' AND time_us <= $S ORDER BY time_us DESC, id DESC LIMIT 1")
E=$(q "SELECT count(*) FROM transitions t JOIN connections c ON c.id = t.conn WHERE c.run = 1 AND c.role = 'passive' AND t.to_state = 'ESTABLISHED' AND t.time_us <= $S")
[ "$P" = "$E" ] || fail "PassiveOpens was $P at the last snapshot but the history holds $E established passive connections by then"
[ "$P" -gt 0 ] || fail "PassiveOpens is 0 at the last snapshot"

# Nothing older than the batch interval is missing: every client
# connection completed before KILL - BATCH has its ESTABLISHED row (which
# happened before the client finished).
CUT=$((KILL_NS - BATCH_MS * 1000000))
{
	echo "WITH v(c, p) AS (VALUES"
	cat "$T"/load.* | awk -v cut="$CUT" '$1 < cut { printf "%s(%s, %s)\n", (n++ ? "," : ""), $1, $2 }'
	echo ") SELECT count(*), sum(NOT EXISTS (SELECT 1 FROM connections x JOIN runs r ON r.id = x.run"
	echo "  JOIN transitions t ON t.conn = x.id WHERE x.run = 1 AND x.rport = v.p"
	echo "  AND t.to_state = 'ESTABLISHED' AND t.time_us + r.wall_offset_us <= v.c / 1000)) FROM v;"
} >"$T/check.sql"
old=$(sqlite3 -bail "$DB" <"$T/check.sql") || fail "check query failed: $old"
checked=${old%%|*}
missing=${old##*|}
[ "$checked" -ge 200 ] || fail "only $checked client connections completed before the cutoff"
[ "$missing" = 0 ] || fail "$missing of $checked client connections older than ${BATCH_MS} ms are missing from the history"
note "after SIGKILL: integrity ok; PassiveOpens=$P matches; all $checked connections older than ${BATCH_MS} ms present"

# The same database opens cleanly for the next run.
start_daemon second "$T/lab" --history-batch-ms "$BATCH_MS" || fail "second tcplabd did not become ready"
stop_daemon "$DPID"
[ "$(q "SELECT group_concat(id || ':' || (stopped_us IS NOT NULL), ' ') FROM runs")" = "1:0 2:1" ] ||
	fail "runs after restart: $(q 'SELECT * FROM run_summary')"
[ "$(q "PRAGMA integrity_check")" = ok ] || fail "integrity_check after restart"
assert_nothing_left
echo "PASS"
