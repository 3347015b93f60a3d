#!/usr/bin/env bash
# The feed over TLS: a three-node nats-server -js cluster on loopback that requires TLS from its
# clients, verifies their certificates, and runs its routes over TLS (the stream, replicated
# three times, exists only if the routes work). Two real sluiced sites connect with [feed]
# tls_ca, tls_cert and tls_key; a report at A reaches B. A site without a client certificate, and
# one that does not speak TLS, are refused by the servers; one whose tls_ca is another CA refuses
# the servers (their logs say so, and they retry).
#   tls_test.sh SLUICED SLUICECTL
# Exit 0 pass, 1 fail, 77 skip (no nats-server).
set -uo pipefail
sluiced=$1 ctl=$2
root=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source-path=SCRIPTDIR source=../../scripts/feed/feed-lib.sh
. "$root/scripts/feed/feed-lib.sh"
feed_find_nats_server >/dev/null || { echo "SKIP: no nats-server" >&2; exit 77; }

work=$(mktemp -d /tmp/sluice-feed-tls.XXXXXX)
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
  feed_nats_down "$work/nats"
  rm -rf "$work"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*" >&2
  local f
  for f in "$work"/*/log; do
    [[ -f $f ]] && { echo "--- $f" >&2; tail -8 "$f" >&2; }
  done
  exit 1
}

FEED_TLS=1 feed_nats_up "$work/nats" 3 isp-a isp-b isp-c isp-d isp-e ||
  fail "the TLS cluster did not start (or the stream was not created over its routes)"
urls=$(<"$work/nats/urls")
tls=$work/nats/tls
# Every site trusts every other; keys made here.
for s in a b c d e; do
  { mkdir -p "$work/$s/state" && feed_keygen "$work/$s/feed.key" >"$work/$s.pub"; } || fail "keygen"
done

# site NAME EXTRA-FEED-KEYS: sluiced for participant isp-NAME in $work/NAME.
site() {
  local n=$1 extra=$2 d=$work/$1 peer
  : >"$d/trust.ini"
  for peer in a b c d e; do
    [[ $peer == "$n" ]] || feed_trust_ini "isp-$peer" "$(<"$work/$peer.pub")" >>"$d/trust.ini"
  done
  {
    feed_site_ini "$work/nats" "$d" "isp-$n"
    echo "$extra" # in [feed], the last section
    printf '[metrics]\nenabled = false\n'
  } >"$d/sluiced.ini"
  "$sluiced" --config "$d/sluiced.ini" >>"$d/log" 2>&1 &
  pids+=($!)
}
c() { local n=$1; shift; "$ctl" --daemon "$work/$n/sluiced.sock" "$@"; }
# wait_status NAME PYTHON-EXPRESSION: `feed status --json` of NAME (as s) holds, 20 s at most.
wait_status() {
  local k
  for ((k = 0; k < 400; k++)); do
    c "$1" feed status --json 2>/dev/null |
      python3 -c "import json,sys; s=json.load(sys.stdin); sys.exit(0 if ($2) else 1)" \
        2>/dev/null && return 0
    sleep 0.05
  done
  fail "site $1 never: $2; status: $(c "$1" feed status --json 2>&1)"
}
# wait_log NAME PATTERN: NAME's log shows PATTERN (grep -E), 20 s at most.
wait_log() {
  local k
  for ((k = 0; k < 400; k++)); do
    grep -Eq "$2" "$work/$1/log" 2>/dev/null && return 0
    sleep 0.05
  done
  fail "site $1's log never showed: $2"
}

site a "tls_ca = $tls/ca.pem
tls_cert = $tls/isp-a.pem
tls_key = $tls/isp-a.key"
site b "tls_ca = $tls/ca.pem
tls_cert = $tls/isp-b.pem
tls_key = $tls/isp-b.key"
site c "tls_ca = $tls/ca.pem"  # no client certificate
site d ""                      # no TLS at all
# A CA the servers' certificate does not chain to: sluiced must not trust the server.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
  -subj "/CN=another CA" -keyout "$work/other-ca.key" -out "$work/other-ca.pem" 2>/dev/null ||
  fail "openssl: another CA"
site e "tls_ca = $work/other-ca.pem
tls_cert = $tls/isp-e.pem
tls_key = $tls/isp-e.key"
wait_status a 's["connected"]'
wait_status b 's["connected"]'
c a report 198.18.44.4 --kind trap_hit --evidence tls-1 >/dev/null || fail "report at A"
wait_status b 's["accepted_batches"] >= 1'
c b feed explain 198.18.44.4 --json | grep -q '"last_evidence": "tls-1"' ||
  fail "B: $(c b feed explain 198.18.44.4 --json)"
wait_log c "feed: .*retrying every"
wait_log d "feed: .*retrying every"
c c feed status --json | grep -q '"connected": false' || fail "C connected without a certificate"
c d feed status --json | grep -q '"connected": false' || fail "D connected without TLS"
wait_log e "feed: .*retrying every"
c e feed status --json | grep -q '"connected": false' || fail "E trusted a server outside its CA"

# A configuration mistake is refused before anything starts.
printf '[sluiced]\nstate_dir = %s\n[feed]\nservers = %s\nparticipant = isp-a\nkey = %s\ntrust = %s\ntls_cert = %s\n' \
  "$work/a/state" "$urls" "$work/a/feed.key" "$work/a/trust.ini" "$tls/isp-a.pem" >"$work/bad.ini"
out=$("$sluiced" --config "$work/bad.ini" --check 2>&1) && fail "--check accepted tls_cert alone"
[[ $out == *"feed.tls_cert: a client certificate and its key go together"* ]] || fail "--check said: $out"
echo "feed over TLS: a three-node cluster with TLS routes; verified clients share; no certificate, no TLS: refused"
