#!/usr/bin/env bash
# Functions called through traps and e2e_check look unreachable to shellcheck:
# shellcheck disable=SC2317
# The collaboration feed end to end (issue 13, docs/feed.md "End to end"): two sluiced sites
# share one feed on a real nats-server -js, and a sender reported at site A is shaped by site
# B's data plane, with real Linux TCP through the rig.
#
#   feed_e2e_test.sh --sluiced BIN --sluicectl BIN --dataplane-spec SPEC
#                    --dataplane-cmd CMD [--dataplane-stop-cmd CMD] [--policy FILE]
#
# (the conventions of sluiced_e2e_test.sh: CMD starts the data plane in the bump namespace with
# the demo table; @WORK@ and @RIG_ID@ in SPEC and CMD stand for the scratch folder and the rig's
# id.) In the rig's bump namespace, on its loopback: a nats-server -js on a free port with its
# store in the scratch folder, users admin, isp-a and isp-b (each participant may publish only on
# its own subject, docs/feed.md section 4) and the stream; site A = sluiced with [feed] as isp-a
# and no data plane; site B = sluiced with [feed] as isp-b, the demo sources, and the data plane.
# B trusts A with weight 1 and cap 4: one complaint (5 points) adds 4 to the sender's score, the
# demo policy's throttle level (3..4).
#
# Asserts behaviour:
#   before: the clean sender (no list scores it) connects unshaped at B: its SYN is looked up
#     (the data plane's lookups counter rises) but counted at no shaping level, and the client
#     sees the server's own window and MSS (above the throttle level's clamps);
#   `sluicectl --daemon A report 198.18.1.10 --kind complaint` reaches B's data plane (its table
#     version changes, sluiced B's version); B's `feed explain` shows isp-a's contribution 4 with
#     the evidence id, `table explain` names the source feed:isp-a and the score 4;
#   after: a new connection from the same sender is shaped at B: the throttle level's SYN counter
#     rose, and the client sees the policy's window and MSS clamps;
#   SIGTERM stops both sluiced with exit 0 and removes their sockets; the nats-server, the data
#     plane (its pins) and the rig's namespaces are gone at the end.
# Prints the time from the report to B's data plane running the entry (information, not a
# verdict; measured by bench/feed/feed_e2e_latency.py --watch). Every wait is a bounded poll. Exit 0 pass, 77 skip (not root, no nats-server or
# openssl; a failure under CI=true).
set -uo pipefail
# shellcheck source-path=SCRIPTDIR source=e2e_lib.sh
. "$(dirname "$0")/e2e_lib.sh"
# shellcheck source-path=SCRIPTDIR source=../../scripts/feed/feed-lib.sh
. "$E2E_ROOT/scripts/feed/feed-lib.sh"

e2e_sluiced_args feed_e2e_test "$@"
missing=""
feed_find_nats_server >/dev/null || missing="no nats-server (scripts/install-deps unpacks one)"
command -v openssl >/dev/null || missing="${missing:+$missing; }no openssl"
e2e_cannot_run "$missing" "feed e2e"

e2e_begin feed f
e2e_dataplane_specs
nats=$work/nats
# sluice-xdp detach removes the pins but leaves the table it kept for the instance here.
xdp_state=/run/sluice/xdp/sl$RIG_ID
[[ $spec == xdp:* ]] || xdp_state=""
watch_pid=""
cleanup() {
  [[ -n $watch_pid ]] && kill "$watch_pid" 2>/dev/null
  rig_bg_stop site-a >/dev/null 2>&1
  rig_bg_stop site-b >/dev/null 2>&1
  feed_nats_down "$nats" >/dev/null 2>&1
  e2e_stop_dataplane
  rig_down >/dev/null 2>&1
  rm -rf "$work" "$xdp_state"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

sender=clean
addr=${RIG_ADDR4[$sender]}
evidence=e2e-$RIG_ID

export SLUICE_TABLE=$work/demo.table SLUICE_POLICY=$policy
"$sluicectl" table build --sources "$E2E_ROOT/scripts/demo-data/sources.ini" \
  --output "$SLUICE_TABLE" >/dev/null || { echo "FAIL: sluicectl table build" >&2; exit 1; }

# policy_value KEY: a key of [level.1] (the throttle level), 0 when absent.
policy_value() {
  "$E2E_PYTHON" -c '
import configparser, sys
cp = configparser.ConfigParser(inline_comment_prefixes=("#", ";"))
cp.read(sys.argv[1])
print(cp["level.1"].get(sys.argv[2], "0"))' "$policy" "$1"
}
window_clamp=$(policy_value window_clamp)
mss_clamp=$(policy_value mss_clamp)

ctl_a() { "$sluicectl" --daemon "$work/a/sluiced.sock" "$@"; }
ctl_b() { "$sluicectl" --daemon "$work/b/sluiced.sock" "$@"; }
# py EXPR: EXPR (Python, over the JSON document j read from stdin), printed; "" on any error.
py() { "$E2E_PYTHON" -c "import json, sys; j = json.load(sys.stdin); print($1)" 2>/dev/null; }
# dp EXPR: over the data plane's own counters (sluicectl --dataplane, not sluiced).
dp() { rig_exec bump "$sluicectl" --dataplane "$spec" dataplane stats --json 2>/dev/null | py "$1"; }
dp_version() { dp '"%016x" % j["table"]["version"]'; }
syns() { dp "j['levels'][$1]['syns']"; }
shaped_syns() { dp "sum(l['syns'] for l in j['levels'][1:])"; }  # at every shaping level
lookups() { dp "j['lookups']"; }  # every SMTP SYN looked up, whatever its level
# rose COUNTER FROM: `COUNTER` prints a number above FROM (counters may trail the packets a
# little: checked with wait_for).
rose() { local n; n=$("${@:1:$#-1}") && [[ -n $n ]] && ((n > ${!#})); }
in_sync() {
  [[ $(ctl_b status --json 2>/dev/null | py 'j["dataplanes"][0]["in_sync"]') == True &&
    $(dp_version) == "$(ctl_b status --json 2>/dev/null | py 'j["table"]["version"]')" ]]
}
# measure NAME: one SMTP session from the sender through B's data plane (bench/smtp/smtp_measure.py
# rate mode: the dialogue up to DATA, then a bounded upload); its result, with the client's
# TCP_INFO, in $out/NAME.json.
measure() {
  rig_exec "$sender" "$E2E_PYTHON" "$E2E_ROOT/bench/smtp/smtp_measure.py" --server "$RIG_SERVER4" \
    --address "$addr" --json "$out/$1.json" --quiet rate --tag "$1" --window 3 --size 100000
}
py_check() { # NAME EXPR: EXPR (Python, over the result r of NAME) holds.
  "$E2E_PYTHON" -c "import json, sys; r = json.load(open(sys.argv[1])); sys.exit(0 if ($2) else 1)" \
    "$out/$1.json"
}
logs() {
  local f
  for f in site-a site-b dataplane; do
    echo "--- $f" >&2
    tail -n 15 "$RIG_STATE/$f.log" >&2
  done
}

echo "== rig $RIG_ID, site B's data plane $spec: $dp_cmd"
e2e_start_dataplane --reach "$sender"

# The feed: a nats-server -js on the bump namespace's loopback, the stream, two participants.
if ! FEED_NETNS=$RIG_NS_BUMP feed_nats_up "$nats" 1 isp-a isp-b; then
  echo "FAIL: nats-server" >&2
  exit 1
fi
e2e_pass "nats-server -js on $(<"$nats/urls") (bump namespace), stream SLUICE_OBS"
mkdir -p "$work/a/state" "$work/b/state"
if ! { pub_a=$(feed_keygen "$work/a/feed.key") && pub_b=$(feed_keygen "$work/b/feed.key"); }; then
  echo "FAIL: feed_keygen" >&2
  exit 1
fi
feed_trust_ini isp-b "$pub_b" >"$work/a/trust.ini"
# A complaint is worth 5 points; isp-a adds at most 4 to one sender: the throttle level.
feed_trust_ini isp-a "$pub_a" weight=1 cap=4 >"$work/b/trust.ini"
# A: the feed only (no data plane, no sources; two sluiced share the namespace's loopback).
{
  feed_site_ini "$nats" "$work/a" isp-a
  printf '[metrics]\nenabled = false\n'
} >"$work/a/sluiced.ini"
# B: the demo's sources, the data plane and the policy, and the feed.
cp -r "$E2E_ROOT/scripts/demo-data" "$work/b/lists"
feed_site_ini "$nats" "$work/b" isp-b "sources = $work/b/lists/sources.ini" "dataplane = $spec" \
  "policy = $policy" >"$work/b/sluiced.ini"

e2e_check "sluiced --check accepts site A's configuration" "$sluiced" --config "$work/a/sluiced.ini" --check
e2e_check "sluiced --check accepts site B's configuration" "$sluiced" --config "$work/b/sluiced.ini" --check
rig_bg bump site-a "$sluiced" --config "$work/a/sluiced.ini"
rig_bg bump site-b "$sluiced" --config "$work/b/sluiced.ini"
e2e_check "site B brings its data plane to its table" wait_for 20 in_sync
e2e_check "site A connected to the feed" \
  wait_for 20 feed_site_connected "$sluicectl" "$work/a/sluiced.sock"
e2e_check "site B connected to the feed" \
  wait_for 20 feed_site_connected "$sluicectl" "$work/b/sluiced.sock"
if ((E2E_FAILS > 0)); then
  logs
  e2e_finish
fi

# ---- before the report: the sender is unshaped at B -------------------------------------------
explain_b() { ctl_b table explain "$addr" --json 2>/dev/null; }
e2e_check "B's table explain: no feed source for $addr yet" \
  test "$(explain_b | py '[s["name"] for s in j["sources"] if s["name"].startswith("feed:")]')" == "[]"
lookups0=$(lookups) shaped0=$(shaped_syns)
measure before
e2e_check "before: the session ran ($(e2e_json "$out/before.json" error))" py_check before "r['ok']"
e2e_check "before: B's data plane looked the sender up" wait_for 5 rose lookups "$lookups0"
e2e_expect_eq "before: SYNs at B's shaping levels" "$shaped0" "$(shaped_syns)"
e2e_check "before: the client sees the server's window $(e2e_json "$out/before.json" tcp_info.snd_wnd) (> $window_clamp)" \
  py_check before "r['tcp_info'].get('snd_wnd', 0) > $window_clamp"
e2e_check "before: the client's MSS $(e2e_json "$out/before.json" tcp_info.snd_mss) is unclamped (> $mss_clamp)" \
  py_check before "r['tcp_info']['snd_mss'] > $mss_clamp"

# ---- the report at A reaches B's data plane -----------------------------------------------------
version0=$(dp_version)
# A watcher polls B's data plane from before the report (its control socket, or the table the
# XDP instance keeps after a map update: bench/feed/feed_e2e_latency.py --watch), for the time
# the report takes to get there. Information only; bounded by its own deadline.
rig_exec bump "$E2E_PYTHON" "$E2E_ROOT/bench/feed/feed_e2e_latency.py" --watch "$work/watch.ready" \
  --dataplane "$spec" --deadline 30 >"$work/watch.out" 2>&1 &
watch_pid=$!
wait_for 10 test -e "$work/watch.ready"
t0=$(date +%s%N)
e2e_check "sluicectl --daemon A report $addr --kind complaint" \
  ctl_a report "$addr" --kind complaint --evidence "$evidence"
changed() { v=$(dp_version) && [[ -n $v && $v != "$version0" ]]; }
if wait_for 20 changed; then
  e2e_pass "B's data plane runs a new table ($version0 -> $v)"
else
  e2e_fail "B's data plane's table did not change after the report"
  logs
fi
if wait "$watch_pid" && t1=$(<"$work/watch.out") && [[ $t1 =~ ^[0-9]+$ ]]; then
  e2e_info "report at A -> B's data plane running the entry: $(((t1 - t0) / 1000000)).$((((t1 - t0) / 100000) % 10)) ms (from the start of sluicectl report)"
else
  e2e_info "report at A -> B's data plane: not measured ($(head -c 200 "$work/watch.out"))"
fi
watch_pid=""
e2e_check "B's data plane runs sluiced B's table" wait_for 10 in_sync
e2e_check "A published a batch" test "$(ctl_a feed status --json | py 'j["published_batches"]')" -ge 1
e2e_check "B accepted a batch" test "$(ctl_b feed status --json | py 'j["accepted_batches"]')" -ge 1
e2e_expect_eq "B refused no batch" 0 "$(ctl_b feed status --json | py 'sum(j["refused"].values())')"
e2e_expect_eq "B's feed explain: participant, weight, evidence" "isp-a 4 $evidence" \
  "$(ctl_b feed explain "$addr" --json | py '" ".join(str(c[k]) for c in j["contributions"] for k in ("participant", "weight", "last_evidence"))')"
e2e_check "B's table explain names participant A (feed:isp-a)" \
  bash -c "'$sluicectl' --daemon '$work/b/sluiced.sock' table explain '$addr' | grep -q 'feed:isp-a'"
e2e_expect_eq "B's table explain: the feed's source and the score" "['feed:isp-a'] 4" \
  "$(explain_b | py '[s["name"] for s in j["sources"] if s["name"].startswith("feed:")], j["score"]' | tr -d '(),')"

# ---- after: a new connection from the sender is shaped at B ------------------------------------
throttle1=$(syns 1)
measure after
e2e_check "after: the session ran ($(e2e_json "$out/after.json" error))" py_check after "r['ok']"
e2e_check "after: throttle-level SYNs rose at B's data plane (from $throttle1)" \
  wait_for 5 rose syns 1 "$throttle1"
e2e_check "after: the client sees the clamped window $(e2e_json "$out/after.json" tcp_info.snd_wnd) (1..$window_clamp)" \
  py_check after "0 < r['tcp_info'].get('snd_wnd', 0) <= $window_clamp"
e2e_check "after: the client's MSS $(e2e_json "$out/after.json" tcp_info.snd_mss) is clamped (<= $mss_clamp)" \
  py_check after "0 < r['tcp_info']['snd_mss'] <= $mss_clamp"

# ---- nothing left behind ------------------------------------------------------------------------
# stop_site NAME: SIGTERM, bounded wait; its exit status in $rc ("timeout" if it hung).
stop_site() {
  local pid
  rc=timeout
  pid=$(<"$RIG_STATE/$1.pid")
  kill -TERM "$pid"
  if wait_for 10 bash -c "! kill -0 $pid 2>/dev/null"; then
    wait "$pid"
    rc=$?
  fi
  rm -f "$RIG_STATE/$1.pid"
}
stop_site site-a
e2e_expect_eq "SIGTERM stops site A with exit status" 0 "$rc"
stop_site site-b
e2e_expect_eq "SIGTERM stops site B with exit status" 0 "$rc"
e2e_check "the sites removed their sockets" test ! -e "$work/a/sluiced.sock" -a ! -e "$work/b/sluiced.sock"
nats_pid=$(<"$nats/n0.pid")
feed_nats_down "$nats"
e2e_check "nats-server stopped" bash -c "! kill -0 $nats_pid 2>/dev/null"
if ((E2E_FAILS > 0)); then logs; fi
if [[ -n $dp_stop ]]; then
  e2e_check "data plane stopped" rig_exec bump bash -c "$dp_stop"
  dp_stop=""
fi
rig_bg_stop dataplane
e2e_check "no BPF pins left" test ! -e "/sys/fs/bpf/sluice/sl$RIG_ID"
[[ -n $xdp_state ]] && rm -rf "$xdp_state"
e2e_check "no process left in the bump namespace" test -z "$(ip netns pids "$RIG_NS_BUMP" 2>/dev/null)"
e2e_end
