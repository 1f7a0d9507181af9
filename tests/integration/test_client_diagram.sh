#!/bin/bash
# Integration: pictures from the history of a live daemon.
#  - `tcplab diagram CONN` draws a recorded echo connection as a ladder in
#    the terminal (box drawing), with the three handshake segments in order
#    (SYN, SYN,ACK, ACK with relative numbers) and each side's states;
#  - `-o F.svg` writes SVG that parses as XML, holds the same three
#    segments in order, and renders to PNG with rsvg-convert;
#  - `tcplab states` counts the transitions (table, --json) and draws the
#    state diagram as SVG (rendered to PNG too) and dot.
. "$(dirname "$0")/lib.sh"
require python3 nc rsvg-convert
[ -x "${TCPLAB:-}" ] || fail "TCPLAB is not set (run through meson test)"
setup clidiag
NS=$(new_ns cdia)
NSS+=("$NS")
write_lab "$T/lab" "$NS"
start_daemon main "$T/lab" || fail "tcplabd did not become ready"
PID=$DPID
DB="$T/history.db"
tl() { "$TCPLAB" --pid "$PID" --color never "$@"; }

# One recorded connection: handshake, data, the peer closes, the echo
# service closes too; captured as well (for --pcap).
tl capture start "$T/link.pcap" >/dev/null || fail "capture start"
echo ping | ip netns exec "$NS" timeout 5 nc -N 198.18.0.1 7 >/dev/null || fail "echo exchange failed"
row=""
for _ in $(seq 1 100); do
	row=$(tl sql --db "$DB" --csv "SELECT id FROM connections WHERE lport = 7 AND role = 'passive' AND final_state = 'CLOSE'" | tail -n +2)
	[ -n "$row" ] && break
	sleep 0.05
done
[ -n "$row" ] || fail "the echo connection is not in the history"
tl capture stop >/dev/null || fail "capture stop"
note "history connection $row"

# The history listing as JSON: the connection with its timeline.
tl history --db "$DB" --port 7 --json | python3 -c "
import json, sys
c = [x for x in json.load(sys.stdin) if x['conn'] == $row][0]
assert c['role'] == 'passive' and c['local'] == '198.18.0.1:7' and c['open'] is False, c
steps = [(t['from'], t['to'], t['seg_flags']) for t in c['timeline'] if t['kind'] == 'state']
assert steps[:2] == [('LISTEN', 'SYN_RECV', 'S'), ('SYN_RECV', 'ESTABLISHED', '.')], steps
" || fail "history --json"

# The terminal ladder.
tl diagram --db "$DB" "$row" >"$T/ladder" || fail "diagram failed"
grep -q "│" "$T/ladder" && grep -q "▶│" "$T/ladder" && grep -q "│◀" "$T/ladder" ||
	fail "no box-drawing ladder: $(cat "$T/ladder")"
syn=$(grep -n "│ SYN seq=0 " "$T/ladder" | head -1 | cut -d: -f1)
synack=$(grep -n " SYN,ACK seq=0 ack=1 " "$T/ladder" | head -1 | cut -d: -f1)
ack=$(grep -n "│ ACK seq=1 ack=1 " "$T/ladder" | head -1 | cut -d: -f1)
[ -n "$syn" ] && [ -n "$synack" ] && [ -n "$ack" ] && [ "$syn" -lt "$synack" ] && [ "$synack" -lt "$ack" ] ||
	fail "the handshake is not SYN, SYN,ACK, ACK in order: $(cat "$T/ladder")"
grep -q "SYN_SENT ~ ├" "$T/ladder" || fail "the peer's SYN_SENT is not shown"
grep -q "▶│ SYN_RECV" "$T/ladder" || fail "the stack's SYN_RECV is not shown"
grep -q "▶│ ESTABLISHED" "$T/ladder" || fail "the stack's ESTABLISHED is not shown"
grep -q "▶│ CLOSE_WAIT" "$T/ladder" || fail "the stack's CLOSE_WAIT is not shown"
note "terminal ladder: SYN (line $syn), SYN,ACK ($synack), ACK ($ack)"

# --last picks the same connection; --json has the rows.
tl diagram --db "$DB" --last --port 7 --json | python3 -c "
import json, sys
d = json.load(sys.stdin)
assert d['conn'] == $row and d['role'] == 'passive', d
seg = [(r['kind'], r['flags']) for r in d['rows'] if r['kind'] != 'note'][:3]
assert seg == [('peer-to-stack', 'SYN'), ('stack-to-peer', 'SYN,ACK'), ('peer-to-stack', 'ACK')], seg
assert d['rows'][0]['inferred'] is False and d['rows'][1]['inferred'] is True, d['rows'][:2]
" || fail "diagram --json"

# With the capture every segment is drawn from it, both ways, data too,
# and the stack's states come from the history.
tl diagram --db "$DB" --pcap "$T/link.pcap" --json "$row" | python3 -c "
import json, sys
d = json.load(sys.stdin)
seg = [r for r in d['rows'] if r['kind'] != 'note']
assert not any(r['inferred'] for r in seg), seg
assert [(r['kind'], r['flags']) for r in seg[:3]] == [('peer-to-stack', 'SYN'), ('stack-to-peer', 'SYN,ACK'), ('peer-to-stack', 'ACK')], seg
data = [(r['kind'], r['len']) for r in seg if r['len']]
assert ('peer-to-stack', 5) in data and ('stack-to-peer', 5) in data, data   # ping and its echo
states = [r['stack_state'] for r in d['rows'] if 'stack_state' in r]
assert states[:3] == ['SYN_RECV', 'ESTABLISHED', 'CLOSE_WAIT'] and states[-1] == 'CLOSE', states
" || fail "diagram --pcap"
note "--pcap: every segment from the capture, states from the history"

# SVG: well-formed, the three segments in order, renders to PNG.
tl diagram --db "$DB" -o "$T/conn.svg" "$row" >/dev/null || fail "diagram -o failed"
python3 - "$T/conn.svg" <<'PY' || fail "the SVG does not hold the handshake in order"
import sys
import xml.etree.ElementTree as ET
ns = {"s": "http://www.w3.org/2000/svg"}
root = ET.parse(sys.argv[1]).getroot()
texts = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text") if t.get("class") == "seg"]
assert texts[:3] == ["SYN seq=0", "SYN,ACK seq=0 ack=1", "ACK seq=1 ack=1"], texts[:3]
groups = [g for g in root.iter("{http://www.w3.org/2000/svg}g") if g.get("class") == "segment"]
assert [g.get("data-flags") for g in groups[:3]] == ["SYN", "SYN,ACK", "ACK"], groups
PY
rsvg-convert -o "$T/conn.png" "$T/conn.svg" || fail "rsvg-convert failed on the diagram"
[ "$(head -c 8 "$T/conn.png" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] || fail "conn.png is not a PNG"
[ "$(stat -c %s "$T/conn.png")" -gt 5000 ] || fail "conn.png is suspiciously small"
note "SVG: handshake in order, rendered to PNG ($(stat -c %s "$T/conn.png") bytes)"

# The state diagram with counts.
tl states --db "$DB" --json | python3 -c "
import json, sys
rows = {(r['from'], r['to']): r['count'] for r in json.load(sys.stdin)}
assert rows.get(('LISTEN', 'SYN_RECV'), 0) >= 1 and rows.get(('SYN_RECV', 'ESTABLISHED'), 0) >= 1, rows
assert rows.get(('CLOSE', 'LISTEN'), 0) == 6, rows   # the six built-in services
" || fail "states --json"
tl states --db "$DB" | grep -qE "^SYN_RECV +ESTABLISHED +[0-9]+ +ACK" || fail "states table"
tl states --db "$DB" -o "$T/states.svg" >/dev/null || fail "states -o svg"
python3 -c "
import sys, xml.etree.ElementTree as ET
root = ET.parse('$T/states.svg').getroot()
edges = {(g.get('data-from'), g.get('data-to')): int(g.get('data-count'))
         for g in root.iter('{http://www.w3.org/2000/svg}g') if g.get('class') == 'edge'}
assert edges[('SYN_RECV', 'ESTABLISHED')] >= 1 and edges[('TIME_WAIT', 'CLOSE')] == 0, edges
" || fail "states SVG edges"
rsvg-convert -o "$T/states.png" "$T/states.svg" || fail "rsvg-convert failed on the state diagram"
tl states --db "$DB" --dot | grep -q '^  SYN_RECV -> ESTABLISHED \[label="[0-9]*\\nACK"' || fail "states --dot"
note "state diagram: table, JSON, SVG (rendered), dot"

stop_daemon "$PID"
assert_nothing_left
echo "PASS: client diagram"
