#!/usr/bin/env bash
# Interoperability: a publisher that is not sluice's code (tests/feed/interop_publish.py: Python's
# standard library and the openssl command, written from docs/feed.md alone) publishes to a real
# nats-server -js; the real sluiced consumes it. Its observations apply (IPv4, IPv6, a prefix),
# a kind the schema does not know is skipped, and the server and sluiced refuse what they must:
# the same message again (replay), a body changed after signing (bad_signature), a batch on
# another participant's subject (refused by the server). No data plane.
#   interop_test.sh SLUICED SLUICECTL
# Exit 0 pass, 1 fail, 77 skip (no nats-server).
set -uo pipefail
sluiced=$1 ctl=$2
root=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source-path=SCRIPTDIR source=../../scripts/feed/feed-lib.sh
. "$root/scripts/feed/feed-lib.sh"
feed_find_nats_server >/dev/null || { echo "SKIP: no nats-server" >&2; exit 77; }
pub=$root/tests/feed/interop_publish.py

work=$(mktemp -d /tmp/sluice-feed-interop.XXXXXX)
pid=""
cleanup() {
  [[ -n $pid ]] && kill -9 "$pid" 2>/dev/null
  feed_nats_down "$work/nats"
  rm -rf "$work"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*" >&2
  [[ -f $work/log ]] && tail -20 "$work/log" >&2
  exit 1
}

feed_nats_up "$work/nats" 1 isp-a isp-x || fail "nats-server did not start"
url=$(<"$work/nats/urls")
site=$work/a
mkdir -p "$site/state"
feed_keygen "$site/feed.key" >/dev/null || fail "keygen"
(umask 077 && openssl genpkey -algorithm ed25519 -out "$work/x.pem" 2>/dev/null) || fail "openssl genpkey"
x_pub=$(openssl pkey -in "$work/x.pem" -pubout -outform DER | tail -c 32 | base64)
feed_trust_ini isp-x "$x_pub" >"$site/trust.ini"
# No metrics listener: the default port belongs to the host's own sluiced, if any.
{
  feed_site_ini "$work/nats" "$site" isp-a
  printf '[metrics]\nenabled = false\n'
} >"$site/sluiced.ini"
"$sluiced" --config "$site/sluiced.ini" >>"$work/log" 2>&1 &
pid=$!
c() { "$ctl" --daemon "$site/sluiced.sock" "$@"; }
status() { c feed status --json 2>/dev/null; }
# wait_for PYTHON-EXPRESSION: polls `feed status --json` (as s) until it holds, 20 s at most.
wait_for() {
  local k
  for ((k = 0; k < 400; k++)); do
    status | python3 -c "import json,sys; s=json.load(sys.stdin); sys.exit(0 if ($1) else 1)" \
      2>/dev/null && return 0
    kill -0 "$pid" 2>/dev/null || fail "sluiced exited"
    sleep 0.05
  done
  fail "never: $1; status: $(status)"
}
wait_for 's["connected"]'
publish() {
  "$pub" --server "$url" --credentials "$work/nats/isp-x.creds" --participant isp-x \
    --key-pem "$work/x.pem" "$@"
}

seq1=$(($(date +%s) * 1000000))
out=$(publish --seq "$seq1" --out "$work/batch1" 198.18.7.7:complaint:2 2001:2::7:trap_hit:1 \
  198.18.8.0/24:pregreet:1 198.18.7.8:some_later_kind:1) || fail "publish: $out"
[[ $out == "ack SLUICE_OBS "* ]] || fail "publish said: $out"
wait_for 's["accepted_batches"] == 1'
wait_for 's["skipped"]["unknown_kind"] == 1'
explain=$(c feed explain 198.18.7.7 --json) || fail "feed explain"
python3 -c '
import json, sys
e = json.loads(sys.argv[1])
c = e["contributions"]
assert len(c) == 1 and c[0]["participant"] == "isp-x" and c[0]["weight"] == 10, e
assert c[0]["last_kind"] == "complaint" and c[0]["last_evidence"] == "interop-'"$seq1"'", e
' "$explain" || fail "explain 198.18.7.7: $explain"
c feed explain 2001:2::7 --json | grep -q '"last_kind": "trap_hit"' || fail "IPv6 observation missing"
c feed explain 198.18.8.9 --json | grep -q '"subject": "198.18.8.0/24"' || fail "prefix observation missing"
c table explain 198.18.7.7 | grep -q "feed:isp-x" || fail "table explain: $(c table explain 198.18.7.7)"

# The same message again, under a new Nats-Msg-Id so that JetStream stores it: sluiced refuses
# it by its sequence.
out=$(publish --seq 0 --replay "$work/batch1" --msg-id "isp-x:replayed") || fail "replay publish: $out"
wait_for 's["refused"]["replay"] == 1'
# A body changed after signing.
out=$(publish --seq $((seq1 + 1)) --tamper 198.18.9.9:complaint:1) || fail "tampered publish: $out"
wait_for 's["refused"]["bad_signature"] == 1'
c feed explain 198.18.9.9 --json | grep -q '"contributions": \[\]' || fail "a tampered batch applied"
# Another participant's subject: the server refuses it (docs/feed.md section 4).
out=$(publish --seq $((seq1 + 2)) --subject sluice.obs.isp-a 198.18.9.10:complaint:1)
rc=$?
[[ $rc == 3 && $out == "refused: Permissions Violation"* ]] || fail "spoofed subject: exit $rc: $out"
# And after all that, a good batch still applies.
out=$(publish --seq $((seq1 + 3)) 198.18.9.11:complaint:1) || fail "publish: $out"
wait_for 's["accepted_batches"] == 2'
wait_for 's["participants"][0]["batches"] == 2'
kill -TERM "$pid"
wait "$pid" || fail "sluiced did not stop cleanly"
pid=""
echo "feed interop: a publisher from docs/feed.md alone applied; replay, tampering, spoofing refused"
