#!/bin/bash
# Integration: a seed reproduces a run. Two daemons with `to_stack.loss =
# 20%` and `seed = 4242` lose the same ping sequence numbers; a third with
# another seed loses others.
. "$(dirname "$0")/lib.sh"
require ping
setup lseed
NS=$(new_ns lseed)

# run TAG SEED: 300 pings; writes the lost sequence numbers to $T/TAG.lost.
# The kernel resolves the stack's MAC with its first frame (an ARP request
# on the lossy path, the same in every run) and needs no other ARP for
# the 1.5 s the run takes.
run() {
	local tag=$1 out
	link_lab "$T/$tag.lab" "$NS" "to_stack.loss = 20%\nseed = $2"
	start_daemon "$tag" "$T/$tag.lab" || fail "tcplabd ($tag) did not become ready"
	out=$(ip netns exec "$NS" timeout 60 ping -n -c 300 -i 0.005 -W 2 198.18.0.1 2>&1)
	echo "$out" | sed -n 's/.*icmp_seq=\([0-9]*\) .*/\1/p' | sort -n | uniq >"$T/$tag.rx"
	seq 1 300 | comm -23 - "$T/$tag.rx" >"$T/$tag.lost"
	stop_daemon "$DPID"
	note "$tag (seed $2): lost $(wc -l <"$T/$tag.lost") pings: $(head -c 80 "$T/$tag.lost" | tr '\n' ' ')..."
}

run a 4242
run b 4242
run c 4243
na=$(wc -l <"$T/a.lost")
[ "$na" -ge 30 ] && [ "$na" -le 90 ] || fail "run a lost $na of 300, expected about 20%"
cmp -s "$T/a.lost" "$T/b.lost" || fail "same seed, different losses: $(diff "$T/a.lost" "$T/b.lost" | head)"
cmp -s "$T/a.lost" "$T/c.lost" && fail "seeds 4242 and 4243 lost the same pings"
ca=$(grep "link l0 to_stack: input=" "$T/a.log" | tail -n 1 | sed 's/.*to_stack: //')
cb=$(grep "link l0 to_stack: input=" "$T/b.log" | tail -n 1 | sed 's/.*to_stack: //')
[ "$ca" = "$cb" ] || fail "link counters differ: '$ca' vs '$cb'"
assert_nothing_left
echo "PASS"
