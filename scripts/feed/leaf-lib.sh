# shellcheck shell=bash
# The feed's multi-site layout on one machine (docs/feed.md, "Multi-site layout"), for
# tests/e2e/feed_leaf_e2e_test.sh: the exchange's three-node nats-server -js cluster (the hub)
# with one NATS account per participant, and one small leaf nats-server per operator site that
# the site's sluiced connects to. Loopback only.
#
#   . scripts/feed/leaf-lib.sh         (sources feed-lib.sh)
#   feed_leaf_up DIR PARTICIPANT...
#       DIR/hub: the hub, nodes n0..n2, with
#         - account FEED: JetStream, the stream SLUICE_OBS (three replicas), the administrator
#           (DIR/hub/admin.creds); it exports to each participant's account only that
#           participant's subject and the JetStream API subjects of its own durable consumer;
#         - one account per PARTICIPANT, holding nothing but those imports; the participant's
#           leaf connection authenticates as leaf-PARTICIPANT (bound to the account);
#         - TLS with verified certificates on the client port, the routes and the leafnode port
#           (the certificates of feed_tls_certs, under DIR/hub/tls).
#       DIR/site-PARTICIPANT: the site's leaf server (node n0): clients on a loopback port
#         without TLS (DIR/site-PARTICIPANT/url, user "sluiced" in
#         DIR/site-PARTICIPANT/client.creds), its remote to the hub's three leafnode ports over
#         TLS with the participant's client certificate. Returns once each leaf answers a
#         JetStream request of its participant (bounded).
#   feed_leaf_down DIR      stop the leaves, then the hub (TERM, KILL after 5 s); safe to repeat
#   feed_leaf_hub_conf DIR PARTICIPANT...
#                           print the hub's accounts block (the configuration docs/feed.md shows)
#   feed_leaf_nats ARGS...  scripts/feed/feed-nats (a raw NATS client) in $FEED_NETNS
#   feed_leaf_admin ARGS... feed-nats as the administrator on hub node n0, over TLS
#
# Every wait is bounded; functions return non-zero on failure and never exit the caller.

# shellcheck source-path=SCRIPTDIR source=feed-lib.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/feed-lib.sh"

# What a participant's sluiced calls (cnats 3.4: js_Publish, js_PullSubscribe with a durable,
# fetch and ack) beyond its own subject, each an export of account FEED for that participant.
# @P@ is the participant. The stream's name is found by its subject (STREAM.NAMES); the durable
# is looked up, and created on its first start (CONSUMER.CREATE, or DURABLE.CREATE by older
# clients); a fetch (MSG.NEXT) is answered by a stream of messages, hence response_type stream.
# shellcheck disable=SC2016 # NATS subjects, not expansions
FEED_LEAF_JS_EXPORTS=(
  '$JS.API.CONSUMER.INFO.SLUICE_OBS.sluice-@P@'
  '$JS.API.CONSUMER.CREATE.SLUICE_OBS.sluice-@P@'
  '$JS.API.CONSUMER.DURABLE.CREATE.SLUICE_OBS.sluice-@P@'
  '$JS.API.CONSUMER.MSG.NEXT.SLUICE_OBS.sluice-@P@'
  '$JS.ACK.SLUICE_OBS.sluice-@P@.>'
)
# Exported to every participant: the stream lookup by subject.
# shellcheck disable=SC2016
FEED_LEAF_JS_SHARED=('$JS.API.STREAM.NAMES')

feed_leaf_nats() { feed_in "$FEED_PYTHON" "$FEED_LIB_DIR/feed-nats" "$@"; }

# feed_leaf_hub_conf DIR PARTICIPANT...: the accounts (and the leafnode users) of the hub, with
# the passwords in DIR/hub/*.secret. Printed as nats-server configuration.
feed_leaf_hub_conf() {
  local dir=$1 p s all="" exports="" imports
  shift
  for p in "$@"; do all+="${all:+, }\"$p\""; done
  for s in "${FEED_LEAF_JS_SHARED[@]}"; do
    exports+="      { service: \"$s\", accounts: [ $all ] }"$'\n'
  done
  for p in "$@"; do
    exports+="      { service: \"sluice.obs.$p\", accounts: [ \"$p\" ] }"$'\n'
    for s in "${FEED_LEAF_JS_EXPORTS[@]}"; do
      s=${s//@P@/$p}
      if [[ $s == *MSG.NEXT* ]]; then
        exports+="      { service: \"$s\", accounts: [ \"$p\" ], response_type: stream }"$'\n'
      else
        exports+="      { service: \"$s\", accounts: [ \"$p\" ] }"$'\n'
      fi
    done
  done
  cat <<EOF
accounts {
  FEED: {
    jetstream: enabled
    users: [ { user: "admin", password: "$(<"$dir/hub/admin.secret")" } ]
    exports: [
$exports    ]
  }
EOF
  for p in "$@"; do
    imports="      { service: { account: FEED, subject: \"sluice.obs.$p\" } }"$'\n'
    for s in "${FEED_LEAF_JS_SHARED[@]}" "${FEED_LEAF_JS_EXPORTS[@]}"; do
      imports+="      { service: { account: FEED, subject: \"${s//@P@/$p}\" } }"$'\n'
    done
    printf '  "%s": {\n    imports: [\n%s    ]\n  }\n' "$p" "$imports"
  done
  echo "}"
}

# The hub's leafnode users: one per participant, bound to its account.
feed_leaf_hub_leaf_users() {
  local dir=$1 p
  shift
  for p in "$@"; do
    printf '    { user: "leaf-%s", password: "%s", account: "%s" }\n' "$p" \
      "$(<"$dir/hub/leaf-$p.secret")" "$p"
  done
}

feed_leaf_admin() {
  local hub=$FEED_LEAF_DIR/hub
  feed_leaf_nats --server "$(cut -d, -f1 "$hub/urls")" --credentials "$hub/admin.creds" \
    --tls-ca "$hub/tls/ca.pem" --tls-cert "$hub/tls/admin.pem" --tls-key "$hub/tls/admin.key" \
    "$@"
}

feed_leaf_up() {
  local dir=$1 bin hub p i j k ports routes tls urls="" js_domains="" leaf_port
  shift
  (($# > 0)) || { feed_log "feed_leaf_up: no participant"; return 2; }
  FEED_LEAF_DIR=$dir
  bin=$(feed_find_nats_server) || {
    feed_log "no nats-server binary (scripts/install-deps unpacks one into $SLUICE_TOOLS_DIR)"
    return 1
  }
  hub=$dir/hub
  mkdir -p "$hub" || return 1
  (
    umask 077
    for u in admin "${@/#/leaf-}"; do
      pw=$(feed_secret) || exit 1
      printf '%s' "$pw" >"$hub/$u.secret" || exit 1
    done
    printf 'user = admin\npassword = %s\n' "$(<"$hub/admin.secret")" >"$hub/admin.creds"
  ) || return 1
  feed_tls_certs "$hub/tls" admin "${@/#/leaf-}" || return 1
  tls="tls { cert_file: \"$hub/tls/server.pem\", key_file: \"$hub/tls/server.key\", ca_file: \"$hub/tls/ca.pem\", verify: true, timeout: 5 }"
  # Per node: client, route and leafnode ports; then one client port per site.
  mapfile -t ports < <(feed_free_ports $((9 + $#)))
  [[ ${#ports[@]} -eq $((9 + $#)) ]] || return 1
  for p in "$@"; do js_domains+="${js_domains:+, }\"$p\": \"\""; done
  for ((i = 0; i < 3; i++)); do
    routes=""
    for ((j = 0; j < 3; j++)); do
      ((j == i)) || routes+=" \"nats-route://127.0.0.1:${ports[3 * j + 1]}\","
    done
    mkdir -p "$hub/n$i" || return 1
    # default_js_domain "" for the participants' accounts: otherwise the hub denies the
    # JetStream API ($JS.API.>) on every leaf connection of an account that is not the system
    # account (nats-server 2.9: "Adding deny [$JS.API.> ...]"), and the sites' consumers could not
    # reach their durables.
    (umask 077 && cat >"$hub/n$i.conf" <<EOF
server_name: hub$i
listen: "127.0.0.1:${ports[3 * i]}"
$tls
jetstream { store_dir: "$hub/n$i", max_memory_store: 64MB, max_file_store: 1GB }
cluster { name: sluice-exchange, listen: "127.0.0.1:${ports[3 * i + 1]}", routes: [$routes ], $tls }
leafnodes {
  listen: "127.0.0.1:${ports[3 * i + 2]}"
  $tls
  authorization { users: [
$(feed_leaf_hub_leaf_users "$dir" "$@")
  ] }
}
default_js_domain: { $js_domains }
$(feed_leaf_hub_conf "$dir" "$@")
EOF
    ) || return 1
    urls+="${urls:+,}nats://127.0.0.1:${ports[3 * i]}"
  done
  echo "$urls" >"$hub/urls"
  for ((i = 0; i < 3; i++)); do
    feed_nats_start_node "$hub" "$i" "$bin" || return 1
  done
  feed_in "$FEED_PYTHON" "$FEED_LIB_DIR/create-stream" --server "${urls%%,*}" \
    --credentials "$hub/admin.creds" --replicas 3 --timeout 30 --tls-ca "$hub/tls/ca.pem" \
    --tls-cert "$hub/tls/admin.pem" --tls-key "$hub/tls/admin.key" >&2 || return 1
  k=9
  for p in "$@"; do
    leaf_port=${ports[k]}
    k=$((k + 1))
    mkdir -p "$dir/site-$p" || return 1
    (
      umask 077
      pw=$(feed_secret) || exit 1
      printf 'user = sluiced\npassword = %s\n' "$pw" >"$dir/site-$p/client.creds" || exit 1
      # The site's own server: no JetStream; its global account is bound to the participant's
      # account at the hub, so the site's clients see exactly what that account imports.
      # A leaf remote takes its user and password from its URLs (the file is mode 0600).
      urls=""
      for ((i = 0; i < 3; i++)); do
        urls+="${urls:+, }\"tls://leaf-$p:$(<"$hub/leaf-$p.secret")@127.0.0.1:${ports[3 * i + 2]}\""
      done
      cat >"$dir/site-$p/n0.conf" <<EOF
server_name: leaf-$p
listen: "127.0.0.1:$leaf_port"
authorization { users: [ { user: "sluiced", password: "$pw" } ] }
default_js_domain: { "\$G": "" }
leafnodes {
  remotes: [ {
    urls: [ $urls ]
    tls { cert_file: "$hub/tls/leaf-$p.pem", key_file: "$hub/tls/leaf-$p.key", ca_file: "$hub/tls/ca.pem", timeout: 5 }
  } ]
}
EOF
    ) || return 1
    echo "nats://127.0.0.1:$leaf_port" >"$dir/site-$p/url"
    feed_nats_start_node "$dir/site-$p" 0 "$bin" || return 1
  done
  for p in "$@"; do
    feed_leaf_wait "$dir/site-$p" "$p" || return 1
  done
}

# feed_leaf_wait SITEDIR PARTICIPANT: the leaf's remote is up when its participant's consumer
# info request crosses it and the hub answers (any JetStream reply; "no responders" until the
# leaf connection and the import's interest are there). 30 s at most.
feed_leaf_wait() {
  local site=$1 p=$2 k out
  for ((k = 0; k < 60; k++)); do
    out=$(feed_leaf_nats --server "$(<"$site/url")" --credentials "$site/client.creds" \
      --timeout 1 request "\$JS.API.CONSUMER.INFO.SLUICE_OBS.sluice-$p" 2>&1)
    [[ $out == *'"type":"io.nats.jetstream.api.v1.consumer_info_response"'* ]] && return 0
    sleep 0.5
  done
  feed_log "the leaf of $p never reached the hub: $out; its log:"
  tail -n 15 "$site/n0.log" >&2
  return 1
}

feed_leaf_down() {
  local d
  for d in "$1"/site-*; do
    [[ -d $d ]] && feed_nats_down "$d"
  done
  [[ -d $1/hub ]] && feed_nats_down "$1/hub"
  return 0
}
