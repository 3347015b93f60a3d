#!/usr/bin/env bash
# Postfix's tools run from the unpacked copy (scripts/lib/postfix-tools.sh), never from a
# system-wide Postfix, and scripts/install-deps never replaces an installed package:
#   - pft_find resolves smtp-sink, smtp-source, postconf, master and smtpd inside
#     $SLUICE_TOOLS_DIR, and every one of them loads Postfix's libraries from there (ldd);
#   - the rig's smtp-sink and smtp_measure.py --client smtp-source run the copy even when
#     another smtp-sink/smtp-source comes first on PATH (a decoy that records any call), and a
#     message goes through; the running smtp-sink maps libpostfix-*.so from the copy;
#   - a private Postfix instance (master + smtpd from the copy, own config and queue in a
#     scratch folder) accepts two messages in a namespace of its own; its smtpd process is the
#     copy's binary and maps the copy's libraries;
#   - install-deps --dry-run, asked for an MTA that conflicts with an installed one, refuses
#     and names the package it would remove (when an MTA is installed).
# Exit 0 pass, 77 skip (not root), 1 fail. Everything is named with the pid and removed on exit.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
if [[ $(id -u) -ne 0 ]]; then
  [[ ${CI:-} == true ]] && { echo "FAIL: privileged test cannot run under CI=true: not root"; exit 1; }
  echo "SKIP: needs root"
  exit 77
fi
# shellcheck source-path=SCRIPTDIR source=../../scripts/rig/rig.sh
. "$root/scripts/rig/rig.sh"

fails=0
ok() { echo "  ok: $*"; }
bad() {
  echo "  FAIL: $*" >&2
  fails=$((fails + 1))
}
check() { # DESCRIPTION CMD...
  local d=$1
  shift
  if "$@"; then ok "$d"; else bad "$d"; fi
}

work=$(mktemp -d /tmp/sluice_pft.XXXXXX)
chmod 755 "$work"
ns=slpft$$
master_pid=
cleanup() {
  [[ -n $master_pid ]] && kill -TERM "$master_pid" 2>/dev/null
  rig_down >/dev/null 2>&1
  ip netns pids "$ns" 2>/dev/null | xargs -r kill -KILL 2>/dev/null
  ip netns del "$ns" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

if ! pft_find; then
  [[ ${CI:-} == true ]] && exit 1
  echo "SKIP: no unpacked Postfix (scripts/install-deps)"
  exit 77
fi
copy=$(realpath "$SLUICE_TOOLS_DIR")

echo "== the programs resolve into $copy and load its libraries"
inside() { [[ $(realpath "$1") == "$copy"/* ]]; }
libs_inside() { # BIN: it loads libpostfix-*, every one of them the copy's
  local n=0 f
  while read -r f; do
    n=$((n + 1))
    inside "$f" || return 1
  done < <(env -u LD_LIBRARY_PATH ldd "$1" | awk '/libpostfix-/ { print $3 }')
  [[ $n -gt 0 ]]
}
ns_proc() { # NS NAME: the pid of a process in network namespace NS whose binary is NAME
  local p
  for p in $(ip netns pids "$1" 2>/dev/null); do
    [[ $(realpath "/proc/$p/exe" 2>/dev/null) == */"$2" ]] && { echo "$p"; return 0; }
  done
  return 0
}
for bin in "$PFT_SMTP_SINK" "$PFT_SMTP_SOURCE" "$PFT_POSTCONF" "$PFT_MASTER" "$PFT_DAEMON_DIR/smtpd"; do
  check "${bin##*/} is in the copy ($bin)" inside "$bin"
  check "${bin##*/} loads libpostfix-* from the copy" libs_inside "$bin"
done
check "SLUICE_SMTP_SOURCE is the copy's smtp-source" test "$SLUICE_SMTP_SOURCE" = "$PFT_SMTP_SOURCE"

echo "== the rig's smtp-sink and smtp-source are the copy's, whatever PATH says"
mkdir -p "$work/decoy"
for t in smtp-sink smtp-source; do
  printf '#!/bin/sh\necho "%s $*" >>%s/decoy.calls\nexit 1\n' "$t" "$work" >"$work/decoy/$t"
  chmod +x "$work/decoy/$t"
done
PATH=$work/decoy:$PATH
rig_init "pft$$"
rig_up --baseline >/dev/null 2>&1 || bad "rig up"
check "rig_sink_start" rig_sink_start --dump
sink=$(ns_proc "$RIG_NS_SRV" smtp-sink)
check "smtp-sink runs in the rig's server namespace (pid ${sink:-none})" test -n "$sink"
if [[ -n $sink ]]; then
  check "the running smtp-sink is the copy's binary" inside "/proc/$sink/exe"
  check "the running smtp-sink maps libpostfix-util.so from the copy" \
    grep -q "$copy/.*libpostfix-util.so" "/proc/$sink/maps"
  check "the running smtp-sink maps nothing from /usr/lib/postfix" \
    bash -c "! grep -q ' /usr/lib/postfix/' /proc/$sink/maps"
fi
rig_exec clean python3 "$root/bench/smtp/smtp_measure.py" --json "$work/ss.json" --quiet send \
  --client smtp-source --server "$RIG_SERVER4" --count 1 --timeout 10 --deadline 20
check "a message through smtp-source was delivered" \
  test "$(jq -r .delivered "$work/ss.json" 2>/dev/null)" = 1
check "no decoy smtp-sink/smtp-source was called" test ! -e "$work/decoy.calls"
PATH=${PATH#"$work/decoy:"}
rig_down >/dev/null 2>&1

echo "== a private Postfix instance: master and smtpd from the copy, own config and queue"
if ! { ip netns add "$ns" && ip -n "$ns" link set lo up && pft_netns_prepare "$ns"; }; then
  bad "namespace $ns"
fi
check "pft_instance_init" pft_instance_init "$work/pf" 127.0.0.1:25
check "main.cf names the scratch queue" grep -q "^queue_directory = $work/pf/queue$" "$work/pf/etc/main.cf"
setsid nsenter --net="/run/netns/$ns" -- "$PFT_MASTER" -c "$work/pf/etc" -d \
  >"$work/master.out" 2>&1 </dev/null &
master_pid=$!
listening=0
for ((i = 0; i < 100; i++)); do
  if nsenter --net="/run/netns/$ns" -- ss -Hltn 'sport = :25' | grep -q .; then
    listening=1
    break
  fi
  sleep 0.1
done
check "master listens on 127.0.0.1:25 in $ns" test $listening = 1
nsenter --net="/run/netns/$ns" -- "$PFT_SMTP_SOURCE" -m 2 -f a@sluice.test -t b@sluice.test \
  127.0.0.1:25 >"$work/source.out" 2>&1
check "smtp-source to the instance succeeded" test $? = 0
smtpd=$(ns_proc "$ns" smtpd)
check "an smtpd process runs in $ns (${smtpd:-none})" test -n "$smtpd"
if [[ -n $smtpd ]]; then
  check "that smtpd is the copy's binary" inside "/proc/$smtpd/exe"
  check "that smtpd maps libpostfix-master.so from the copy" \
    grep -q "$copy/.*libpostfix-master.so" "/proc/$smtpd/maps"
fi
sent=0
for ((i = 0; i < 100; i++)); do
  sent=$(grep -c 'status=sent' "$work/pf/maillog" 2>/dev/null)
  [[ $sent -ge 2 ]] && break
  sleep 0.1
done
check "the instance's log shows both messages accepted and discarded ($sent)" test "$sent" -ge 2
kill -TERM "$master_pid" 2>/dev/null
wait "$master_pid" 2>/dev/null
master_pid=
[[ $fails == 0 ]] || { echo "-- master.out:"; cat "$work/master.out"; echo "-- maillog:"; cat "$work/pf/maillog"; }

echo "== install-deps refuses what would remove an installed package"
probe=
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
if installed postfix; then probe=exim4-daemon-light victim=postfix; fi
if installed exim4-base; then probe=postfix victim=exim4; fi
if [[ -n $probe ]]; then
  out=$(SLUICE_EXTRA_PACKAGES=$probe "$root/scripts/install-deps" --dry-run 2>&1)
  rc=$?
  check "install-deps --dry-run with $probe fails" test $rc -ne 0
  check "and says it refuses because $victim would be removed" \
    grep -q "REFUSING: .*REMOVE installed packages:.*$victim" <<<"$out"
else
  echo "  (no MTA installed here: the refusal check needs one)"
fi

[[ $fails == 0 ]] && echo "PASS" || echo "FAILED: $fails"
[[ $fails == 0 ]]
