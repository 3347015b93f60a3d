#!/usr/bin/env bash
# Every command of every binary answers --help (exit 0, the help names the command) and
# --version (exit 0, "<binary> <project version>"), and refuses an unknown flag with exit 2.
# sluicectl's and sluice-xdp's commands are found by walking their own --help ("Commands:"), so
# a new command is covered without touching this file.
#
#   cli_surface_test.sh VERSION SLUICECTL [SLUICE_XDP|-] [SLUICE_DP|-]
set -uo pipefail
version=$1 ctl=$2 xdp=${3:--} dp=${4:--}
failures=0 checked=0
tmp=$(mktemp -d /tmp/sluice-cli-surface.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}

# check BINARY_NAME MENTION ARGV...: the three answers of one command.
check() {
  local name=$1 mention=$2
  shift 2
  checked=$((checked + 1))
  "$@" --help >"$tmp/out" 2>"$tmp/err"
  local rc=$?
  [[ $rc == 0 ]] || fail "'$* --help' exits $rc: $(head -3 "$tmp/err")"
  grep -qF -- "$mention" "$tmp/out" || fail "'$* --help' does not mention '$mention'"
  "$@" --version >"$tmp/out" 2>"$tmp/err"
  rc=$?
  [[ $rc == 0 ]] || fail "'$* --version' exits $rc: $(head -3 "$tmp/err")"
  [[ $(cat "$tmp/out") == "$name $version" ]] ||
    fail "'$* --version' prints '$(head -1 "$tmp/out")', not '$name $version'"
  "$@" --no-such-flag >"$tmp/out" 2>"$tmp/err"
  rc=$?
  [[ $rc == 2 ]] || fail "'$* --no-such-flag' exits $rc, not 2"
  [[ -s $tmp/err ]] || fail "'$* --no-such-flag' says nothing on stderr"
}

# The command names listed under "Commands:" in a help text.
commands_in() {
  awk '/^Commands:/ {on = 1; next} on && /^$/ {exit} on && /^  [a-z]/ {print $1}' "$1"
}

# sluicectl: walk the groups.
walk_sluicectl() {
  local path=("$@")
  local mention=sluicectl
  [[ ${#path[@]} == 0 ]] || mention="${path[*]}"
  check sluicectl "$mention" "$ctl" "${path[@]}"
  "$ctl" "${path[@]}" --help >"$tmp/help" 2>/dev/null
  local subs
  subs=$(commands_in "$tmp/help")
  for sub in $subs; do walk_sluicectl "${path[@]}" "$sub"; done
}
walk_sluicectl
for expected in "table build" "table lookup" "table explain" "table diff" "table stats" \
  "dataplane table load" "dataplane table delta" "dataplane policy set" "dataplane stats" \
  "dataplane flows" "host set" "host unset" "host list" "clear" "policy recent" \
  "maillog recent"; do
  # shellcheck disable=SC2086
  "$ctl" $expected --help >/dev/null 2>&1 || fail "sluicectl $expected --help"
done
"$ctl" >/dev/null 2>&1
[[ $? == 2 ]] || fail "sluicectl without a command does not exit 2"
"$ctl" table >/dev/null 2>&1
[[ $? == 2 ]] || fail "sluicectl table without a subcommand does not exit 2"
"$ctl" dataplane frob >/dev/null 2>&1
[[ $? == 2 ]] || fail "sluicectl dataplane frob does not exit 2"
"$ctl" dataplane stats >/dev/null 2>&1
[[ $? == 2 ]] || fail "sluicectl dataplane stats without --dataplane does not exit 2"
for spec in nosuch:x no-colon; do
  "$ctl" --dataplane "$spec" dataplane stats >/dev/null 2>&1
  [[ $? == 2 ]] || fail "sluicectl --dataplane $spec dataplane stats does not exit 2"
done

if [[ $xdp != - ]]; then
  check sluice-xdp "sluice-xdp COMMAND" "$xdp"
  "$xdp" --help >"$tmp/help"
  subs=$(commands_in "$tmp/help")
  [[ $(echo $subs) == "attach detach status replay watch peer-pass" ]] ||
    fail "sluice-xdp commands are '$(echo $subs)'"
  for sub in $subs; do check sluice-xdp "sluice-xdp $sub" "$xdp" "$sub"; done
  # Moved to sluicectl --dataplane xdp:NAME dataplane ...
  for gone in table-load table-delta policy flows; do
    "$xdp" "$gone" --help >/dev/null 2>&1
    [[ $? == 2 ]] || fail "sluice-xdp $gone still exists"
  done
  "$xdp" >/dev/null 2>&1
  [[ $? == 2 ]] || fail "sluice-xdp without a command does not exit 2"
  "$xdp" attach --name x --outside a --inside b --mode turbo >/dev/null 2>&1
  [[ $? == 2 ]] || fail "sluice-xdp attach --mode turbo does not exit 2"
  "$xdp" replay --input a --output b --direction up >/dev/null 2>&1
  [[ $? == 2 ]] || fail "sluice-xdp replay --direction up does not exit 2"
fi

if [[ $dp != - ]]; then
  check sluice-dp "sluice-dp [EAL options] --" "$dp"
  check sluice-dp "sluice-dp replay" "$dp" replay
  "$dp" -- --outside 0 --inside 1 --no-such-flag >/dev/null 2>&1
  [[ $? == 2 ]] || fail "sluice-dp -- --no-such-flag does not exit 2"
  "$dp" -- --inside 1 >/dev/null 2>&1
  [[ $? == 2 ]] || fail "sluice-dp without --outside does not exit 2"
  "$dp" -- --outside 0 --inside 1 --burst 0 >/dev/null 2>&1
  [[ $? == 2 ]] || fail "sluice-dp --burst 0 does not exit 2"
  "$dp" -- --outside 0 --inside 1 --table a --table-if-present b >/dev/null 2>&1
  [[ $? == 2 ]] || fail "sluice-dp --table with --table-if-present does not exit 2"
  "$dp" replay --input a --inside-net 198.18.0.0/24 >/dev/null 2>&1
  [[ $? == 2 ]] || fail "sluice-dp replay without --output does not exit 2"
fi

echo "$checked commands checked, $failures failure(s)"
[[ $failures == 0 ]]
