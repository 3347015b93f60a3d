#!/usr/bin/env bash
# Functions called through traps look unreachable to shellcheck:
# shellcheck disable=SC2317
# The feed's multi-site layout (docs/feed.md, "Multi-site layout"): the exchange's three-node
# nats-server -js cluster with one account per participant, and a leaf nats-server per operator
# site (scripts/feed/leaf-lib.sh), TLS on the routes and the leaf connections, on loopback. Each
# site's real sluiced connects to its own leaf only.
#
#   feed_leaf_e2e_test.sh --sluiced BIN --sluicectl BIN
#
# Asserts:
#   (a) `sluicectl report` at site A reaches site B's sluiced through A's leaf, the hub and B's
#       leaf: B's feed explain shows isp-a's contribution with the evidence id, B's table explain
#       names feed:isp-a; and the other way round;
#   (b) through A's leaf, a batch published on isp-b's subject is refused by the hub (no route in
#       isp-a's account: "no responders") and never lands in the stream (isp-b's subject count
#       and the stream's message count unchanged), while the same client's batch on isp-a's own
#       subject is stored and accepted by B;
#   (c) through A's leaf, the JetStream API calls outside A's own durable are refused by the hub:
#       deleting the stream, reading or deleting isp-b's consumer, fetching from it, creating a
#       stream; the stream and isp-b's consumer are still there (the administrator's view), and a
#       report at A still reaches B afterwards;
#   SIGTERM stops both sluiced with exit 0; no server is left running.
# No root needed. Every wait is bounded. Exit 0 pass, 1 fail, 77 skip (no nats-server, openssl
# or python3; a failure under CI=true).
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
sluiced="" ctl=""
while (($# > 0)); do
  case $1 in
    --sluiced) sluiced=$2; shift 2 ;;
    --sluicectl) ctl=$2; shift 2 ;;
    *) echo "usage: $0 --sluiced BIN --sluicectl BIN" >&2; exit 2 ;;
  esac
done
[[ -x $sluiced && -x $ctl ]] || { echo "usage: $0 --sluiced BIN --sluicectl BIN" >&2; exit 2; }
# shellcheck source-path=SCRIPTDIR source=../../scripts/feed/leaf-lib.sh
. "$root/scripts/feed/leaf-lib.sh"
# wait_for SECONDS CMD...: polls CMD every 0.1 s until it succeeds; false after SECONDS.
# e2e_cannot_run: the skip (a failure under CI=true).
# shellcheck source-path=SCRIPTDIR source=e2e_lib.sh
. "$root/tests/e2e/e2e_lib.sh"

missing=""
feed_find_nats_server >/dev/null || missing="no nats-server (scripts/install-deps unpacks one)"
command -v openssl >/dev/null || missing="${missing:+$missing; }no openssl"
command -v "$FEED_PYTHON" >/dev/null || missing="${missing:+$missing; }no $FEED_PYTHON"
e2e_cannot_run "$missing" "the feed's leaf test"

work=$(mktemp -d /tmp/sluice-feed-leaf.XXXXXX) || exit 1
feed=$work/feed
declare -A pid=()
cleanup() {
  local s
  for s in "${!pid[@]}"; do kill -9 "${pid[$s]}" 2>/dev/null; done
  feed_leaf_down "$feed"
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
fails=0
pass() { echo "PASS: $*"; }
logs() {
  local f
  for f in "$work"/a/log "$work"/b/log "$feed"/site-*/n0.log "$feed"/hub/n0.log; do
    [[ -f $f ]] && { echo "--- $f" >&2; tail -n 12 "$f" >&2; }
  done
}
fail() {
  echo "FAIL: $*" >&2
  fails=$((fails + 1))
}
fatal() {
  fail "$@"
  logs
  exit 1
}
# check DESCRIPTION CMD...: CMD succeeds.
check() {
  local what=$1
  shift
  if "$@"; then pass "$what"; else fail "$what"; fi
}
expect_eq() { # DESCRIPTION EXPECTED ACTUAL
  if [[ $2 == "$3" ]]; then pass "$1: $3"; else fail "$1: expected '$2', got '$3'"; fi
}

t0=$SECONDS
feed_leaf_up "$feed" isp-a isp-b ||
  fatal "the hub cluster with its accounts, the stream, or the two leaves did not come up"
pass "hub: three nodes, TLS routes and leafnode port, accounts FEED, isp-a, isp-b, stream SLUICE_OBS (R3); leaves for isp-a and isp-b connected over TLS ($((SECONDS - t0)) s)"

# keygen NAME: an Ed25519 key as a PEM (for the raw client) and as sluiced's base64 seed in the
# site's folder (the DER forms end with the raw keys, as feed_keygen reads them); the public key
# printed.
keygen() {
  (umask 077 && mkdir -p "$work/$1" &&
    openssl genpkey -algorithm ed25519 -out "$work/$1.pem" 2>/dev/null &&
    openssl pkey -in "$work/$1.pem" -outform DER | tail -c 32 | base64 >"$work/$1/feed.key") &&
    openssl pkey -in "$work/$1.pem" -pubout -outform DER | tail -c 32 | base64
}
{ pub_a=$(keygen a) && pub_b=$(keygen b); } || fatal "openssl: Ed25519 keys"

# site NAME PEER PEER-KEY: sluiced for participant isp-NAME in $work/NAME, connected to its own
# leaf only, trusting isp-PEER with weight 1.
site() {
  local n=$1 d=$work/$1
  mkdir -p "$d/state"
  feed_trust_ini "isp-$2" "$3" weight=1 >"$d/trust.ini"
  {
    feed_site_ini --servers "$(<"$feed/site-isp-$n/url")" \
      --credentials "$feed/site-isp-$n/client.creds" "" "$d" "isp-$n"
    printf '[metrics]\nenabled = false\n'
  } >"$d/sluiced.ini"
  "$sluiced" --config "$d/sluiced.ini" --check >/dev/null 2>&1 || fatal "sluiced --check: site $n"
  "$sluiced" --config "$d/sluiced.ini" >>"$d/log" 2>&1 &
  pid[$n]=$!
}
c() { local n=$1; shift; "$ctl" --daemon "$work/$n/sluiced.sock" "$@"; }
# status NAME PYTHON-EXPRESSION: `feed status --json` of NAME (as s) holds.
status() {
  c "$1" feed status --json 2>/dev/null |
    "$FEED_PYTHON" -c "import json,sys; s=json.load(sys.stdin); sys.exit(0 if ($2) else 1)" 2>/dev/null
}
# py EXPR: EXPR over the JSON document j on stdin, printed ("" on any error).
py() { "$FEED_PYTHON" -c "import json, sys; j = json.load(sys.stdin); print($1)" 2>/dev/null; }
# The administrator's view of the stream (account FEED, on the hub directly).
stream() {
  feed_leaf_admin request "\$JS.API.STREAM.INFO.SLUICE_OBS" '{"subjects_filter": "sluice.obs.>"}' |
    py "$1"
}
msgs() { stream 'j["state"]["messages"]'; }
subject_msgs() { stream "j['state'].get('subjects', {}).get('sluice.obs.$1', 0)"; }
# at_a ARGS...: the raw NATS client (scripts/feed/feed-nats) connected to site A's leaf with the
# site's own credentials: what anything at site A can send to the exchange.
at_a() {
  feed_leaf_nats --server "$(<"$feed/site-isp-a/url")" \
    --credentials "$feed/site-isp-a/client.creds" "$@"
}

site a b "$pub_b"
site b a "$pub_a"
wait_for 30 status a 's["connected"]' || fatal "site A never connected to its leaf"
wait_for 30 status b 's["connected"]' || fatal "site B never connected to its leaf"
pass "both sites connected to their own leaf"

# ---- (a) a report at A reaches B through both leaves and the hub --------------------------------
addr=198.18.61.7 evidence=leaf-$$
check "sluicectl --daemon A report $addr --kind complaint" \
  c a report "$addr" --kind complaint --evidence "$evidence"
wait_for 20 status b 's["accepted_batches"] >= 1' || fail "B accepted no batch"
expect_eq "B's feed explain: participant, weight, evidence" "isp-a 5 $evidence" \
  "$(c b feed explain "$addr" --json | py '" ".join(str(c[k]) for c in j["contributions"] for k in ("participant", "weight", "last_evidence"))')"
check "B's table explain names feed:isp-a" \
  bash -c "'$ctl' --daemon '$work/b/sluiced.sock' table explain '$addr' | grep -q 'feed:isp-a'"
check "sluicectl --daemon B report 198.18.61.8 --kind trap_hit" \
  c b report 198.18.61.8 --kind trap_hit --evidence "$evidence-b"
wait_for 20 status a 's["accepted_batches"] >= 1' || fail "A accepted no batch"
expect_eq "A's feed explain: participant and evidence" "isp-b $evidence-b" \
  "$(c a feed explain 198.18.61.8 --json | py '" ".join(str(c[k]) for c in j["contributions"] for k in ("participant", "last_evidence"))')"
((fails == 0)) || fatal "the feed does not run through the leaves"

# ---- (b) site A's account cannot publish on isp-b's subject ------------------------------------
# B's batches are all in (accepted above); the counts before the attempts.
msgs0=$(msgs) b0=$(subject_msgs isp-b) a0=$(subject_msgs isp-a)
[[ $msgs0 =~ ^[0-9]+$ && $b0 =~ ^[0-9]+$ && $a0 =~ ^[0-9]+$ ]] ||
  fatal "the administrator cannot read the stream: $(feed_leaf_admin request "\$JS.API.STREAM.INFO.SLUICE_OBS" '{}' 2>&1)"
accepted_b0=$(c b feed status --json | py 'j["accepted_batches"]')
# A signed batch in isp-b's name, on isp-b's subject (signed with A's key: the server must stop it
# before any signature is looked at).
out=$(at_a fill --participant isp-b --key-pem "$work/a.pem" --observations 1 --batch 1 \
  --subject sluice.obs.isp-b 2>&1)
rc=$?
expect_eq "a batch on sluice.obs.isp-b through A's leaf: refused by the hub" "4 no responders" "$rc $out"
# The same client, its own subject and key: stored, and B accepts it.
out=$(at_a fill --participant isp-a --key-pem "$work/a.pem" --observations 3 --batch 3 2>&1)
rc=$?
expect_eq "a batch on sluice.obs.isp-a through A's leaf: acknowledged" 0 "$rc"
wait_for 20 status b "s['accepted_batches'] >= $accepted_b0 + 1" ||
  fail "B did not accept the raw client's batch on isp-a's subject"
expect_eq "stream: messages on sluice.obs.isp-b" "$b0" "$(subject_msgs isp-b)"
expect_eq "stream: messages on sluice.obs.isp-a" "$((a0 + 1))" "$(subject_msgs isp-a)"
expect_eq "stream: messages" "$((msgs0 + 1))" "$(msgs)"
expect_eq "B refused nothing" 0 "$(c b feed status --json | py 'sum(j["refused"].values())')"

# ---- (c) site A's account reaches its own durable, nothing else of the JetStream API -----------
out=$(at_a request "\$JS.API.CONSUMER.INFO.SLUICE_OBS.sluice-isp-a" 2>&1)
expect_eq "A's leaf: info on its own consumer sluice-isp-a" "sluice-isp-a" \
  "$(py 'j["name"]' <<<"$out")"
b_delivered0=$(feed_leaf_admin request "\$JS.API.CONSUMER.INFO.SLUICE_OBS.sluice-isp-b" | py 'j["delivered"]["stream_seq"]')
# refused SUBJECT [DATA]: through A's leaf, nothing in isp-a's account at the hub serves SUBJECT:
# "no responders", or no answer at all (a clustered hub holds interest in $JS.API.> in every
# account and drops what no import of the account serves). Anything answering fails: a reply, a
# JetStream error, a 404 "no messages" from another's consumer. The answers of the calls that are
# served come within milliseconds on loopback (the own consumer's info above).
refused() {
  local out rc
  out=$(at_a --timeout 2 request "$@" 2>&1)
  rc=$?
  case "$rc $out" in
    "4 no responders" | "5 no answer") pass "A's leaf: $1 refused ($out)" ;;
    *) fail "A's leaf: $1 answered (exit $rc): $out" ;;
  esac
}
refused "\$JS.API.STREAM.DELETE.SLUICE_OBS"
refused "\$JS.API.STREAM.PURGE.SLUICE_OBS"
refused "\$JS.API.CONSUMER.INFO.SLUICE_OBS.sluice-isp-b"
refused "\$JS.API.CONSUMER.MSG.NEXT.SLUICE_OBS.sluice-isp-b" '{"batch": 10, "no_wait": true}'
refused "\$JS.API.CONSUMER.DELETE.SLUICE_OBS.sluice-isp-b"
refused "\$JS.API.STREAM.CREATE.OWN" '{"name": "OWN", "subjects": ["own.>"]}'
refused "\$JS.API.INFO"
expect_eq "stream still there, messages" "$((msgs0 + 1))" "$(msgs)"
expect_eq "consumer sluice-isp-b still there, delivered up to" "$b_delivered0" \
  "$(feed_leaf_admin request "\$JS.API.CONSUMER.INFO.SLUICE_OBS.sluice-isp-b" | py 'j["delivered"]["stream_seq"]')"
check "sluicectl --daemon A report 198.18.61.9 afterwards" \
  c a report 198.18.61.9 --kind pregreet --evidence "$evidence-2"
wait_for 20 bash -c "'$ctl' --daemon '$work/b/sluiced.sock' feed explain 198.18.61.9 --json | grep -q '\"last_evidence\": \"$evidence-2\"'" ||
  fail "B never saw A's report after the refused calls"

# ---- nothing left behind ------------------------------------------------------------------------
for s in a b; do
  kill -TERM "${pid[$s]}"
  if wait_for 15 bash -c "! kill -0 ${pid[$s]} 2>/dev/null"; then
    wait "${pid[$s]}"
    expect_eq "SIGTERM stops site ${s^^} with exit status" 0 "$?"
  else
    fail "site ${s^^} did not stop on SIGTERM"
  fi
  unset "pid[$s]"
done
servers=$(cat "$feed"/hub/n*.pid "$feed"/site-*/n0.pid)
feed_leaf_down "$feed"
for p in $servers; do
  kill -0 "$p" 2>/dev/null && fail "nats-server $p still running"
done
((fails == 0)) || { logs; exit 1; }
echo "feed through leaf nodes: shared across two sites; another's subject, the stream's deletion and another's consumer refused by the hub"
