# shellcheck shell=bash
# $demo is the caller's:
# shellcheck disable=SC2154
# What the tests of scripts/demo share (demo_feed_test.sh, demo_interrupt_test.sh): the skip (a
# failure under CI=true), the checks' verdicts, the SIGINT that stops the demo, the checks that
# nothing of it is left, and the verdict. Sourced; $demo is the demo's pid, the leader of its own
# process group (setsid). Every wait is bounded.
#
#   demo_cannot_run MISSING TEXT   when MISSING (why the test cannot run) is not empty: under
#                                  CI=true a failure naming MISSING (exit 1), else "SKIP: TEXT"
#                                  (exit 77)
#   ok TEXT, bad TEXT              a check passed, failed (counted in $fails)
#   demo_interrupt TENTHS          SIGINT to the demo's process group; true when the demo ended
#                                  within TENTHS tenths of a second
#   demo_tmp_folders               the demo's scratch folders in /tmp, one a line, sorted
#   demo_check_rig ID              no namespace and no state of the rig ID left
#   demo_check_tmp BEFORE          no scratch folder left beyond BEFORE (demo_tmp_folders then)
#   demo_settled CMD...            CMD's output once it is empty, or after 5 s: what is still left
#                                  of processes that may still be exiting
#   demo_finish OUT [LOG]          exits: "PASS" (0) when no check failed; else the demo's output
#                                  OUT, the end of its log LOG, and 1

fails=0

demo_cannot_run() {
  [[ -z $1 ]] && return 0
  [[ ${CI:-} == true ]] && { echo "FAIL: privileged test cannot run under CI=true: $1"; exit 1; }
  echo "SKIP: $2"
  exit 77
}

ok() { echo "  ok: $*"; }
bad() {
  echo "  FAIL: $*" >&2
  fails=$((fails + 1))
}

demo_interrupt() {
  local i
  kill -INT -- "-$demo"
  for ((i = 0; i < $1; i++)); do
    kill -0 "$demo" 2>/dev/null || return 0
    sleep 0.1
  done
  ! kill -0 "$demo" 2>/dev/null
}

demo_tmp_folders() { find /tmp -maxdepth 1 -name 'sluice-demo.*' | sort; }

demo_check_rig() {
  local left
  left=$(ip netns list | awk '{print $1}' | grep "^slrig$1-" | tr '\n' ' ')
  if [[ -z $left ]]; then ok "no namespace slrig$1-* left"; else bad "namespaces left: $left"; fi
  if [[ ! -e /run/sluice-rig/$1 ]]; then ok "no rig state left"; else bad "/run/sluice-rig/$1 left"; fi
}

demo_check_tmp() {
  local after
  after=$(demo_tmp_folders)
  if [[ $after == "$1" ]]; then
    ok "no temporary folder left"
  else
    bad "new temporary folders: $(comm -13 <(echo "$1") <(echo "$after") | tr '\n' ' ')"
  fi
}

demo_settled() {
  local i left
  for ((i = 0; i < 50; i++)); do
    left=$("$@")
    [[ -z $left ]] && break
    sleep 0.1
  done
  echo "$left"
}

demo_finish() {
  if [[ $fails != 0 ]]; then
    echo "-- demo output:"
    cat "$1"
    if [[ -n ${2:-} ]]; then
      echo "-- demo log ends:"
      tail -n 60 "$2"
    fi
    echo "PASS: no, $fails failed"
    exit 1
  fi
  echo "PASS"
  exit 0
}
