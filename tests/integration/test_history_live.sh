#!/bin/bash
# Integration: the connection history of a running lab. Real connections
# from the namespace to the stack's echo (7), HTTP (80) and never-close
# (8002) services land in the database, readable live (WAL) by sqlite3 and
# `tcplab sql`/`tcplab history` while tcplabd writes; the read-only path
# refuses writes; SIGTERM flushes everything (the run row is stamped, no
# loss, and the connection count matches the stack's PassiveOpens counter).
. "$(dirname "$0")/lib.sh"
require nc curl sqlite3
[ -x "${TCPLAB:-}" ] || fail "TCPLAB is not set to the tcplab binary (run through meson test)"
setup histlive
NS=$(new_ns histlive)
write_lab "$T/lab" "$NS"
DB="$T/history.db"

start_daemon d "$T/lab" --history-batch-ms 50 || fail "tcplabd did not become ready"
[ -s "$DB" ] || fail "no history database at $DB"
q() { sqlite3 -bail "$DB" "$1" 2>&1; }
# wait_q SQL VALUE: polls (bounded, 5 s) until the query returns VALUE;
# rows reach the file one batch interval after the events.
wait_q() {
	local i
	for i in $(seq 100); do
		[ "$(q "$1")" = "$2" ] && return 0
		read -r -t 0.05 <> <(:) || true
	done
	return 1
}

# The recorder wrote the run and the hosts at start.
[ "$(q "SELECT count(*) FROM runs WHERE stopped_us IS NULL")" = 1 ] || fail "no open run row: $(q 'SELECT * FROM runs')"
wait_q "SELECT group_concat(name || '/' || kind, ' ') FROM (SELECT * FROM hosts ORDER BY id)" "stack/stack peer/kernel" ||
	fail "hosts: $(q 'SELECT * FROM hosts')"

# Real connections from the namespace.
out=$(echo hello | ip netns exec "$NS" nc -q 1 -w 3 198.18.0.1 7) || fail "nc to echo failed"
[ "$out" = hello ] || fail "echo replied '$out'"
ip netns exec "$NS" curl -s -m 5 -o /dev/null http://198.18.0.1/ || fail "curl to the HTTP service failed"
# never-close: the client leaves, the server stays in CLOSE_WAIT.
echo bye | ip netns exec "$NS" nc -q 0 -w 2 198.18.0.1 8002 >/dev/null

# Live: within a batch interval or two the rows are visible to a reader
# while the daemon keeps the database open (bounded wait, no fixed sleep).
wait_q "SELECT count(*) FROM connections WHERE role = 'passive' AND final_state IN ('CLOSE', 'CLOSE_WAIT')" 3 ||
	fail "expected 3 passive connections, got: $(q 'SELECT * FROM conn_summary')"
note "live: $(q "SELECT group_concat(lport || '=' || final_state, ' ') FROM connections WHERE role = 'passive'")"

# The echo connection: the full passive open and the client-first close.
seq_echo=$(q "SELECT group_concat(to_state || '(' || cause_kind || ')', ' ') FROM (SELECT t.to_state, t.cause_kind FROM transitions t JOIN connections c ON c.id = t.conn WHERE c.lport = 7 AND c.role = 'passive' ORDER BY t.id)")
[ "$seq_echo" = "SYN_RECV(segment) ESTABLISHED(segment) CLOSE_WAIT(segment) LAST_ACK(app) CLOSE(segment)" ] ||
	fail "echo timeline: $seq_echo"
[ "$(q "SELECT bytes_in || '/' || bytes_out FROM connections WHERE lport = 7 AND role = 'passive'")" = "6/6" ] ||
	fail "echo bytes: $(q "SELECT * FROM conn_summary WHERE local LIKE '%:7'")"
[ "$(q "SELECT count(*) FROM connections WHERE lport = 8002 AND role = 'passive' AND final_state = 'CLOSE_WAIT' AND closed_us IS NULL")" = 1 ] ||
	fail "no connection left in CLOSE_WAIT on 8002"
[ "$(q "SELECT ongoing FROM state_time WHERE state = 'CLOSE_WAIT' AND local LIKE '%:8002'")" = 1 ] ||
	fail "state_time does not show the CLOSE_WAIT as ongoing"

# The client, live, through the read-only path.
"$TCPLAB" history --db "$DB" --state CLOSE_WAIT --port 8002 >"$T/h.out" 2>&1 || fail "tcplab history failed: $(cat "$T/h.out")"
grep -q "ESTABLISHED -> CLOSE_WAIT" "$T/h.out" || fail "history lacks the CLOSE_WAIT transition: $(cat "$T/h.out")"
grep -q ":8002" "$T/h.out" || fail "history is not about port 8002: $(cat "$T/h.out")"
"$TCPLAB" sql --db "$DB" "SELECT final_state, count(*) AS n FROM connections WHERE role = 'passive' GROUP BY final_state ORDER BY 1" >"$T/s.out" ||
	fail "tcplab sql failed"
[ "$(sed -n 1p "$T/s.out")" = "final_state  n" ] || fail "sql header: $(cat "$T/s.out")"
[ "$(sed -n 2p "$T/s.out")" = "-----------  -" ] || fail "sql rule: $(cat "$T/s.out")"
grep -qx "CLOSE        2" "$T/s.out" || fail "sql rows: $(cat "$T/s.out")"
json=$("$TCPLAB" sql --db "$DB" --json "SELECT lport, final_state FROM connections WHERE lport = 7 AND role = 'passive'")
[ "$json" = '[{"lport":7,"final_state":"CLOSE"}]' ] || fail "sql --json: $json"
csv=$("$TCPLAB" sql --db "$DB" --csv "SELECT 'a,b' AS x, NULL AS y, 3 AS z")
[ "$csv" = $'x,y,z\n"a,b",,3' ] || fail "sql --csv: $csv"
before=$(q "SELECT count(*) FROM transitions")
for bad in "DELETE FROM transitions" "UPDATE runs SET lab = 'x'" "DROP TABLE runs" \
	"ATTACH DATABASE '$T/x.db' AS x" "PRAGMA query_only = 0"; do
	if "$TCPLAB" sql --db "$DB" "$bad" >/dev/null 2>"$T/err"; then
		fail "tcplab sql accepted: $bad"
	fi
	grep -q "read-only" "$T/err" || fail "no read-only hint for '$bad': $(cat "$T/err")"
done
[ ! -e "$T/x.db" ] || fail "ATTACH created a file"
[ "$(q "SELECT count(*) FROM transitions")" -ge "$before" ] || fail "rows vanished"
[ "$(q "SELECT lab FROM runs")" = "$T/lab" ] || fail "the run's lab changed: $(q 'SELECT lab FROM runs')"

# SIGTERM writes everything and stamps the run.
stop_daemon "$DPID"
[ "$(q "PRAGMA integrity_check")" = ok ] || fail "integrity_check: $(q 'PRAGMA integrity_check')"
[ "$(q "SELECT (stopped_us IS NOT NULL) || ' ' || events_lost FROM runs")" = "1 0" ] ||
	fail "run row after SIGTERM: $(q 'SELECT * FROM run_summary')"
passive_opens=$(q "SELECT value FROM counter_snapshots WHERE mib = 'Tcp' AND name = 'PassiveOpens' ORDER BY time_us DESC, id DESC LIMIT 1")
established=$(q "SELECT count(*) FROM transitions t JOIN connections c ON c.id = t.conn WHERE c.role = 'passive' AND t.to_state = 'ESTABLISHED'")
[ "$passive_opens" = "$established" ] || fail "PassiveOpens $passive_opens but $established passive connections established in the history"
grep -q "history $DB: run 1 closed, [0-9]* items written, 0 lost" "$T/d.log" || fail "no closing history line in the log"
note "after SIGTERM: PassiveOpens=$passive_opens, $(q "SELECT events_written FROM runs") items written, none lost"
assert_nothing_left
echo "PASS"
