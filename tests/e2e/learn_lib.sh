# shellcheck shell=bash
# Functions called through traps and e2e_check look unreachable to shellcheck; $work and the rig's
# variables are set by e2e_lib.sh, and dp_stop is read there:
# shellcheck disable=SC2317,SC2154,SC2034
# What the local-learning end-to-end tests share (heavy_hitters_e2e_test.sh,
# pregreet_e2e_test.sh): a real data plane in the rig's bump namespace, sluiced beside it with
# [heavy_hitters] and [learning] at their defaults, and bounded polls of what both say. Sourced
# after e2e_lib.sh.
#
#   (the arguments: e2e_sluiced_args; @WORK@ and @RIG_ID@ in SPEC and CMD)
#   learn_start [e2e_start_dataplane options]   after e2e_begin: the demo lists built into a
#                          table, the rig and the data plane, sluiced started and in sync with
#                          it, its heavy-hitter module answering (a data plane that does not count
#                          skips: a failure under CI=true)
#   learn_stop             sluiced and the data plane stopped, checked

ctl() { "$sluicectl" --daemon "$sock" "$@"; }
status_value() {
  ctl status --json 2>/dev/null | "$E2E_PYTHON" -c "import json, sys; s = json.load(sys.stdin); print($1)" 2>/dev/null
}
# learn_value ADDR PYTHON_EXPR: over `learn explain ADDR --json` (x).
learn_value() {
  ctl learn explain "$1" --json 2>/dev/null |
    "$E2E_PYTHON" -c "import json, sys; x = json.load(sys.stdin); print($2)" 2>/dev/null
}
# learn_kinds ADDR: "KIND ORIGIN" of each kind that scores ADDR, space separated, or "none".
learn_kinds() {
  learn_value "$1" '" ".join(k["kind"] + " " + k["origin"] for k in x["kinds"]) or "none"'
}
dp_stats() { rig_exec bump "$sluicectl" --dataplane "$spec" dataplane stats --json 2>/dev/null; }
# dp_stat KEY: one top-level counter of the data plane's stats.
dp_stat() { dp_stats | "$E2E_PYTHON" -c "import json, sys; print(json.load(sys.stdin)[\"$1\"])" 2>/dev/null; }
dp_version() {
  dp_stats | "$E2E_PYTHON" -c 'import json, sys; print("%016x" % json.load(sys.stdin)["table"]["version"])' 2>/dev/null
}
# SYNs the data plane counted at levels above 0 (shaped, tarpitted or blocked).
shaped_syns() {
  dp_stats | "$E2E_PYTHON" -c '
import json, sys
print(sum(l.get("syns", 0) for l in json.load(sys.stdin).get("levels", []) if l.get("level", 0) > 0))' 2>/dev/null
}
# wait_for (e2e_lib.sh) polls every 0.2 s here: each poll asks sluiced and the data plane.
E2E_POLL_SECONDS=0.2
in_sync() { [[ -n $(dp_version) && $(dp_version) == "$(status_value 's["table"]["version"]')" ]]; }
sluiced_log() { tail -n 20 "$RIG_STATE/sluiced.log" >&2; }
# A table score at a shaping level (the demo policy's first threshold is 3).
learn_scored() { [[ $(learn_value "$1" 'x["table_score"]') -ge 3 ]] 2>/dev/null; }

# shellcheck disable=SC2120 # its arguments are optional
learn_start() {
  e2e_dataplane_specs
  lists=$work/lists
  mkdir -p "$lists"
  cp "$E2E_ROOT"/scripts/demo-data/{sources.ini,dnsbl.ip4set,dnsbl.ip6trie,drop.txt,allow.list} "$lists/"
  export SLUICE_TABLE=$work/demo.table SLUICE_POLICY=$policy
  "$sluicectl" table build --sources "$lists/sources.ini" --output "$SLUICE_TABLE" >/dev/null ||
    { echo "FAIL: sluicectl table build" >&2; exit 1; }
  sock=$work/sluiced.sock
  cat >"$work/sluiced.ini" <<EOF
[sluiced]
state_dir = $work/state
socket = $sock
socket_mode = 0600
sources = $lists/sources.ini
check_interval = 1s
dataplane = $spec
dataplane_timeout = 2s
policy = $policy

[metrics]
enabled = false

[decision_log]
enabled = false
EOF
  echo "== rig $RIG_ID, data plane $spec: $dp_cmd"
  e2e_start_dataplane "$@"
  e2e_check "sluiced --check accepts the configuration" "$sluiced" --config "$work/sluiced.ini" --check
  rig_bg bump sluiced "$sluiced" --config "$work/sluiced.ini"
  e2e_check "sluiced brings the data plane to its table" wait_for 20 in_sync || sluiced_log
  local error
  polled() { [[ $(status_value 's["modules"]["heavy_hitters"]["dataplanes"][0]["polls"]') -ge 1 ]] 2>/dev/null; }
  wait_for 10 polled
  error=$(status_value 's["modules"]["heavy_hitters"]["dataplanes"][0]["error"]')
  if [[ $error == *"does not count heavy SYN senders"* ]]; then
    if [[ ${CI:-} == true ]]; then e2e_fail "the data plane does not count heavy SYN senders"; else
      echo "SKIP: the data plane does not count heavy SYN senders: $error" >&2
      exit 77
    fi
  fi
}

learn_stop() {
  if ((E2E_FAILS > 0)); then sluiced_log; fi
  rig_bg_stop sluiced
  e2e_end_dataplane
}
