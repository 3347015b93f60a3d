# shellcheck shell=bash
# Helpers for the end-to-end tests on the network-namespace rig (scripts/rig/rig.sh).
#
# Conventions (ctest): exit 0 = pass, 77 = skipped (SKIP_RETURN_CODE), anything else = fail.
# Without root a test skips; with CI=true in the environment a skip is a failure instead.

E2E_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
E2E_PYTHON=${SLUICE_PYTHON:-python3}
E2E_FAILS=0
# shellcheck source-path=SCRIPTDIR source=../../scripts/rig/rig.sh
. "$E2E_ROOT/scripts/rig/rig.sh"

# e2e_cannot_run MISSING WHAT [TEXT]: nothing when MISSING (why the test cannot run) is empty;
# else the test ends, on stderr: under CI=true a failure, "FAIL: WHAT cannot run under CI=true:
# MISSING" (exit 1); otherwise a skip, "SKIP: TEXT" (default MISSING) (exit 77).
e2e_cannot_run() {
  [[ -z $1 ]] && return 0
  if [[ ${CI:-} == true ]]; then
    echo "FAIL: $2 cannot run under CI=true: $1" >&2
    exit 1
  fi
  echo "SKIP: ${3:-$1}" >&2
  exit 77
}

# e2e_require_privileged: skip (77) without root or without the tools; fail under CI=true.
e2e_require_privileged() {
  local reason="" tool
  [[ $(id -u) -eq 0 ]] || reason="not root"
  for tool in ip nsenter ethtool ss "$E2E_PYTHON"; do
    command -v "$tool" >/dev/null 2>&1 || reason="${reason:+$reason; }missing $tool"
  done
  # Postfix's smtp-sink/smtp-source: the unpacked copy (scripts/install-deps), never the system's.
  pft_find 2>/dev/null || reason="${reason:+$reason; }no unpacked Postfix tools in $SLUICE_TOOLS_DIR (scripts/install-deps)"
  e2e_cannot_run "$reason" "privileged test" "needs root and the rig tools: $reason"
}

# e2e_dataplane_args NAME ARGS...: the options of a script that runs one data plane on the rig,
#   --dataplane-cmd CMD --dataplane SPEC --sluicectl BIN [--dataplane-stop-cmd CMD]
#   [--policy FILE]
# into dp_cmd, dp_spec, sluicectl, dp_stop and policy (default: the demo policy). Exits 2,
# naming NAME, on another option or when CMD, SPEC or BIN is missing.
# shellcheck disable=SC2034 # the variables are the caller's
e2e_dataplane_args() {
  local name=$1
  shift
  dp_cmd="" dp_stop="" dp_spec="" sluicectl="" policy=$E2E_ROOT/scripts/demo-data/policy.ini
  while [[ $# -gt 0 ]]; do
    case $1 in
      --dataplane-cmd) dp_cmd=$2; shift 2 ;;
      --dataplane-stop-cmd) dp_stop=$2; shift 2 ;;
      --dataplane) dp_spec=$2; shift 2 ;;
      --sluicectl) sluicectl=$2; shift 2 ;;
      --policy) policy=$2; shift 2 ;;
      *) echo "$name: unknown argument '$1'" >&2; exit 2 ;;
    esac
  done
  if [[ -z $dp_cmd || -z $dp_spec || ! -x $sluicectl ]]; then
    echo "$name: needs --dataplane-cmd, --dataplane and --sluicectl" >&2
    exit 2
  fi
}

# e2e_begin NAME ID_LETTER: a scratch folder ($work, the caller removes it), the results folder
# $SLUICE_E2E_OUT/NAME ($out, emptied of old results) and a rig id unique to this run.
e2e_begin() {
  work=$(mktemp -d)
  out=${SLUICE_E2E_OUT:-$PWD/e2e-results}/$1
  mkdir -p "$out" && rm -f "$out"/*.json
  rig_init "$2$$"
}

# e2e_sluiced_args NAME "$@": the arguments of a script that runs sluiced beside a data plane:
#   --sluiced BIN --sluicectl BIN --dataplane-spec SPEC --dataplane-cmd CMD
#   [--dataplane-stop-cmd CMD] [--dataplane-restart-cmd CMD] [--policy FILE]
# into sluiced, sluicectl, spec, dp_cmd, dp_stop, dp_restart and policy (default the demo's);
# then e2e_require_privileged. A usage error (exit 2) names NAME.
# shellcheck disable=SC2034 # the variables are the caller's
e2e_sluiced_args() {
  local name=$1
  shift
  sluiced="" sluicectl="" spec="" dp_cmd="" dp_stop="" dp_restart=""
  policy=$E2E_ROOT/scripts/demo-data/policy.ini
  while [[ $# -gt 0 ]]; do
    case $1 in
      --sluiced) sluiced=$2; shift 2 ;;
      --sluicectl) sluicectl=$2; shift 2 ;;
      --dataplane-spec) spec=$2; shift 2 ;;
      --dataplane-cmd) dp_cmd=$2; shift 2 ;;
      --dataplane-stop-cmd) dp_stop=$2; shift 2 ;;
      --dataplane-restart-cmd) dp_restart=$2; shift 2 ;;
      --policy) policy=$2; shift 2 ;;
      *) echo "$name: unknown argument '$1'" >&2; exit 2 ;;
    esac
  done
  e2e_require_privileged
  if [[ -z $sluiced || -z $sluicectl || -z $spec || -z $dp_cmd ]]; then
    echo "$name: needs --sluiced, --sluicectl, --dataplane-spec and --dataplane-cmd" >&2
    exit 2
  fi
}

# e2e_dataplane_specs: @RIG_ID@ and @WORK@ in $spec, @WORK@ in $dp_cmd (the conventions of the
# scripts that run a data plane beside sluiced; after e2e_begin, which sets RIG_ID and work).
e2e_dataplane_specs() {
  spec=${spec//@RIG_ID@/$RIG_ID}
  spec=${spec//@WORK@/$work}
  dp_cmd=${dp_cmd//@WORK@/$work}
}

# e2e_start_dataplane [--dump] [--greet-delay S] [--reach ROLE]: the rig (bare) with the MTA
# (smtp-sink; --dump keeps every message for e2e_check_mail, --greet-delay greets S seconds after
# a connection), $dp_cmd run in the bump namespace as the background job "dataplane", and a
# bounded wait until ROLE (default clean) reaches the MTA through it. Ends the test (FAIL, the
# data plane's last log lines) when any of it fails.
# shellcheck disable=SC2120 # its arguments are optional
e2e_start_dataplane() {
  local sink=() reach=clean
  while [[ $# -gt 0 ]]; do
    case $1 in
      --dump) sink+=(--dump); shift ;;
      --greet-delay) sink+=(--greet-delay "$2"); shift 2 ;;
      --reach) reach=$2; shift 2 ;;
      *) echo "e2e_start_dataplane: unknown argument '$1'" >&2; exit 2 ;;
    esac
  done
  if ! { rig_up --bare && rig_sink_start "${sink[@]}"; }; then
    echo "FAIL: rig" >&2
    exit 1
  fi
  rig_bg bump dataplane bash -c "$dp_cmd"
  if ! rig_wait_reach "$reach"; then
    echo "FAIL: the data plane does not forward; log:" >&2
    tail -n 20 "$RIG_STATE/dataplane.log" >&2
    exit 1
  fi
}

# e2e_stop_dataplane: runs $dp_stop (if given) in the bump namespace while it exists: a data
# plane that outlives its process (XDP pins) is stopped on failures too.
e2e_stop_dataplane() {
  if [[ -n ${dp_stop:-} && -e /run/netns/$RIG_NS_BUMP ]]; then
    rig_exec bump bash -c "$dp_stop" >/dev/null 2>&1
  fi
}

# e2e_wait_policy CTL...: waits (bounded: 10 s) until the data plane that CTL... reaches (a
# command taking sluicectl's `dataplane` subcommands) reports a policy with levels. The XDP
# start script attaches first and loads the table and the policy after; traffic passes
# unshaped until then, so a test's first shaped connection must wait for it.
e2e_wait_policy() {
  local i
  for ((i = 0; i < 100; i++)); do
    if "$@" stats --json 2>/dev/null | "$E2E_PYTHON" -c \
      'import json, sys; sys.exit(0 if len(json.load(sys.stdin)["levels"]) > 1 else 1)' 2>/dev/null
    then
      return 0
    fi
    sleep 0.1
  done
  return 1
}

# wait_for SECONDS CMD...: polls CMD every $E2E_POLL_SECONDS (0.1 s unless the caller sets it)
# until it succeeds; after SECONDS, CMD once more decides. Bounded: no root or rig needed, so
# the scripts that run no rig (feed_leaf_e2e_test.sh, bench/feed/run_feed_e2e_bench.sh) use it
# too.
wait_for() {
  local deadline=$((SECONDS + $1))
  shift
  while ((SECONDS < deadline)); do
    "$@" && return 0
    sleep "${E2E_POLL_SECONDS:-0.1}"
  done
  "$@"
}

# e2e_end_dataplane: the data plane stopped at the end of a test, checked: by its stop command
# (dp_stop) when it has one, else it must still be running then; its background job reaped.
e2e_end_dataplane() {
  if [[ -n ${dp_stop:-} ]]; then
    e2e_check "data plane stopped" rig_exec bump bash -c "$dp_stop"
    dp_stop=""
  else
    e2e_check "data plane still running at the end" rig_bg_running dataplane
  fi
  rig_bg_stop dataplane
}

# e2e_sluiced_cleanup: what a test of sluiced beside a data plane leaves to its EXIT trap:
# sluiced stopped, the data plane stopped, the rig and the scratch directory removed.
e2e_sluiced_cleanup() {
  rig_bg_stop sluiced >/dev/null 2>&1
  e2e_stop_dataplane
  rig_down >/dev/null 2>&1
  rm -rf "$work"
}

# e2e_check_mail DELIVERED [smtp_verify.py options]: every message the rig's MTA dumped is
# intact, at least DELIVERED of them (warm-up messages are dumped too), none corrupt or cut.
e2e_check_mail() {
  local delivered=$1 v=$out/verify.json
  shift
  "$E2E_PYTHON" "$E2E_ROOT/bench/smtp/smtp_verify.py" --json "$@" "$RIG_DUMP_DIR" >"$v"
  e2e_check "every delivered message received intact ($(e2e_json "$v" ok) >= $delivered)" \
    test "$(e2e_json "$v" ok)" -ge "$delivered"
  e2e_expect_eq "messages corrupt or truncated" 0 \
    "$(($(e2e_json "$v" corrupt) + $(e2e_json "$v" truncated)))"
}

# e2e_end: removes the rig, checks nothing of it is left, and exits with the verdict.
e2e_end() {
  rig_down
  e2e_expect_eq "namespaces left" "" "$(rig_leftovers "$RIG_ID")"
  e2e_finish
}

e2e_pass() { echo "  ok: $*"; }
# e2e_info TEXT: a figure shown for information (timings), never a verdict.
e2e_info() { echo "  info: $*"; }
e2e_fail() {
  echo "  FAIL: $*" >&2
  E2E_FAILS=$((E2E_FAILS + 1))
}

# e2e_check DESCRIPTION CMD...: run CMD, count a failure when it fails.
e2e_check() {
  local what=$1
  shift
  if "$@"; then e2e_pass "$what"; else e2e_fail "$what"; fi
}

# e2e_expect_eq DESCRIPTION EXPECTED ACTUAL
e2e_expect_eq() {
  if [[ $2 == "$3" ]]; then e2e_pass "$1 ($3)"; else e2e_fail "$1: expected '$2', got '$3'"; fi
}

# e2e_json FILE KEY[.KEY...]: one value from a JSON result file ("null" when absent).
e2e_json() {
  "$E2E_PYTHON" -c '
import json, sys
v = json.load(open(sys.argv[1]))
for k in sys.argv[2].split("."):
    v = v.get(k) if isinstance(v, dict) else None
print("null" if v is None else v)' "$1" "$2"
}

# e2e_finish: the test's exit status.
e2e_finish() {
  if [[ $E2E_FAILS -eq 0 ]]; then
    echo "PASS"
    exit 0
  fi
  echo "FAILED: $E2E_FAILS check(s)" >&2
  exit 1
}
