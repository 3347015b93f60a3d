# shellcheck shell=bash
# The collaboration feed's moving parts on one machine (docs/feed.md), for the end-to-end test
# (tests/e2e/feed_e2e_test.sh) and the benchmark (bench/feed/run_feed_e2e_bench.sh): a
# nats-server -js on loopback (one node or a three-node cluster) with one user per participant
# allowed to publish only on its own subject (docs/feed.md section 4) and an administrator, the
# stream, and each site's key and credentials files.
#
#   . scripts/feed/feed-lib.sh
#   FEED_NETNS=NAME          run the servers (and the helpers that reach them) in network
#                            namespace NAME (nsenter); empty: the caller's namespace
#   FEED_TLS=1               the servers require TLS and verify clients' certificates, and the
#                            cluster's routes run over TLS: a CA, a server certificate for
#                            127.0.0.1 and one client certificate per user are made under
#                            DIR/tls (ca.pem, server.pem/.key, USER.pem/.key) by feed_nats_up
#   feed_find_nats_server    print the nats-server binary ($SLUICE_NATS_SERVER, else the unpacked
#                            $SLUICE_TOOLS_DIR/nats-server/usr/bin/nats-server, else PATH)
#   feed_nats_up DIR NODES PARTICIPANT...
#                            configs, passwords and stores under DIR (made by the caller), free
#                            loopback ports, the servers started (each in its own process group,
#                            pids in DIR/nI.pid) and the stream created with NODES replicas.
#                            Afterwards: DIR/urls (every node, comma separated), DIR/USER.creds
#   feed_nats_down DIR       stop the servers (TERM, KILL after 5 s); safe to repeat
#   feed_nats_kill DIR I     kill -9 node I (benchmarks of a failing node)
#   feed_keygen KEYFILE      an Ed25519 key: the seed (base64, mode 0600) to KEYFILE, the public
#                            key (base64) printed
#   feed_trust_ini PARTICIPANT PUBKEY [KEY=VALUE...]
#                            a trust file's section for PARTICIPANT (docs/feed.md section 7)
#   feed_site_ini [--servers URLS] [--credentials FILE] NATS_DIR SITE_DIR PARTICIPANT [LINE...]
#                            a site's sluiced.ini on stdout: [sluiced] (state SITE_DIR/state,
#                            socket SITE_DIR/sluiced.sock, then the LINEs) and [feed] as
#                            PARTICIPANT on the servers feed_nats_up made in NATS_DIR, with the
#                            key SITE_DIR/feed.key and the trust file SITE_DIR/trust.ini; [feed]
#                            comes last, so lines the caller appends belong to it. --servers
#                            and --credentials stand for NATS_DIR/urls and
#                            NATS_DIR/PARTICIPANT.creds (a leaf server of leaf-lib.sh); with
#                            both, NATS_DIR is not read and may be ""
#   feed_site_connected SLUICECTL SOCKET
#                            true when the sluiced on SOCKET says it is connected to the feed
#
# Every wait is bounded; functions return non-zero on failure and never exit the caller.

FEED_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SLUICE_TOOLS_DIR=${SLUICE_TOOLS_DIR:-/var/cache/sluice-tools}
FEED_NETNS=${FEED_NETNS:-}
FEED_TLS=${FEED_TLS:-0}
FEED_PYTHON=${SLUICE_PYTHON:-python3}

feed_log() { echo "feed-lib: $*" >&2; }

# feed_in CMD...: CMD in $FEED_NETNS (or here).
feed_in() {
  if [[ -n $FEED_NETNS ]]; then
    nsenter --net="/run/netns/$FEED_NETNS" -- "$@"
  else
    "$@"
  fi
}

feed_find_nats_server() {
  local c
  if [[ -n ${SLUICE_NATS_SERVER:-} ]]; then
    [[ -x $SLUICE_NATS_SERVER ]] && echo "$SLUICE_NATS_SERVER"
    return
  fi
  for c in "$SLUICE_TOOLS_DIR/nats-server/usr/bin/nats-server" "$(command -v nats-server)"; do
    if [[ -n $c && -x $c ]]; then
      echo "$c"
      return 0
    fi
  done
  return 1
}

# feed_free_ports N: N distinct free TCP ports on 127.0.0.1 (in $FEED_NETNS), one a line.
feed_free_ports() {
  feed_in "$FEED_PYTHON" -c '
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
for s in socks:
    print(s.getsockname()[1])' "$1"
}

feed_secret() { od -An -tx1 -N16 /dev/urandom | tr -d ' \n'; }

# The permissions of docs/feed.md section 4 for participant $1 with password $2.
feed_nats_user() {
  cat <<EOF
    { user: "$1", password: "$2", permissions: {
        publish: { allow: [ "sluice.obs.$1",
                            "\$JS.API.INFO", "\$JS.API.STREAM.INFO.SLUICE_OBS",
                            "\$JS.API.STREAM.NAMES",
                            "\$JS.API.CONSUMER.INFO.SLUICE_OBS.sluice-$1",
                            "\$JS.API.CONSUMER.CREATE.SLUICE_OBS.sluice-$1",
                            "\$JS.API.CONSUMER.DURABLE.CREATE.SLUICE_OBS.sluice-$1",
                            "\$JS.API.CONSUMER.MSG.NEXT.SLUICE_OBS.sluice-$1",
                            "\$JS.ACK.SLUICE_OBS.sluice-$1.>" ] }
        subscribe: { allow: [ "_INBOX.>" ] } } }
EOF
}

# feed_tls_certs DIR USER...: a CA, a server certificate (127.0.0.1, localhost; for the routes
# too) and a client certificate per USER under DIR, with openssl; keys mode 0600.
feed_tls_certs() {
  local dir=$1 u
  shift
  mkdir -p "$dir" || return 1
  (
    umask 077
    cd "$dir" || exit 1
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
      -subj "/CN=sluice feed test CA" -keyout ca.key -out ca.pem 2>/dev/null || exit 1
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
      -subj "/CN=127.0.0.1" -keyout server.key -out server.csr 2>/dev/null || exit 1
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n' \
      >server.ext
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
      -extfile server.ext -out server.pem 2>/dev/null || exit 1
    for u in "$@"; do
      openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=$u" \
        -keyout "$u.key" -out "$u.csr" 2>/dev/null || exit 1
      printf 'extendedKeyUsage=clientAuth\n' >client.ext
      openssl x509 -req -in "$u.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
        -extfile client.ext -out "$u.pem" 2>/dev/null || exit 1
    done
  ) || {
    feed_log "openssl could not make the test certificates"
    return 1
  }
}

feed_nats_up() {
  local dir=$1 nodes=$2 bin i j u pw users="" routes cluster urls="" ports tls="" tls_args=()
  shift 2
  if [[ $nodes != 1 && $nodes != 3 ]]; then
    feed_log "feed_nats_up: 1 or 3 nodes, not '$nodes'"
    return 2
  fi
  bin=$(feed_find_nats_server) || {
    feed_log "no nats-server binary (scripts/install-deps unpacks one into $SLUICE_TOOLS_DIR)"
    return 1
  }
  mkdir -p "$dir" || return 1
  for u in admin "$@"; do
    pw=$(feed_secret)
    (umask 077 && printf 'user = %s\npassword = %s\n' "$u" "$pw" >"$dir/$u.creds") || return 1
    if [[ $u == admin ]]; then
      users+="    { user: \"admin\", password: \"$pw\" }"$'\n'
    else
      users+=$(feed_nats_user "$u" "$pw")$'\n'
    fi
  done
  if [[ $FEED_TLS == 1 ]]; then
    feed_tls_certs "$dir/tls" admin "$@" || return 1
    tls="tls { cert_file: \"$dir/tls/server.pem\", key_file: \"$dir/tls/server.key\", ca_file: \"$dir/tls/ca.pem\", verify: true, timeout: 5 }"
    tls_args=(--tls-ca "$dir/tls/ca.pem" --tls-cert "$dir/tls/admin.pem"
      --tls-key "$dir/tls/admin.key")
  fi
  mapfile -t ports < <(feed_free_ports $((2 * nodes)))
  [[ ${#ports[@]} -eq $((2 * nodes)) ]] || return 1
  for ((i = 0; i < nodes; i++)); do
    cluster=""
    if ((nodes > 1)); then
      routes=""
      for ((j = 0; j < nodes; j++)); do
        ((j == i)) || routes+=" \"nats-route://127.0.0.1:${ports[2 * j + 1]}\","
      done
      cluster="cluster { name: sluice-feed, listen: \"127.0.0.1:${ports[2 * i + 1]}\", routes: [$routes ]${tls:+, $tls} }"
    fi
    mkdir -p "$dir/n$i" || return 1
    (umask 077 && cat >"$dir/n$i.conf" <<EOF
server_name: n$i
listen: "127.0.0.1:${ports[2 * i]}"
jetstream { store_dir: "$dir/n$i", max_memory_store: 64MB, max_file_store: 512MB }
$tls
$cluster
authorization {
  users: [
$users  ]
}
EOF
    ) || return 1
    urls+="${urls:+,}nats://127.0.0.1:${ports[2 * i]}"
  done
  echo "$urls" >"$dir/urls"
  for ((i = 0; i < nodes; i++)); do
    feed_nats_start_node "$dir" "$i" "$bin" || return 1
  done
  feed_in "$FEED_PYTHON" "$FEED_LIB_DIR/create-stream" --server "${urls%%,*}" \
    --credentials "$dir/admin.creds" --replicas "$nodes" --timeout 30 "${tls_args[@]}" >&2
}

# feed_nats_start_node DIR I BIN: starts node I and waits (bounded) until it listens.
feed_nats_start_node() {
  local dir=$1 i=$2 bin=$3 port k
  port=$(sed -n 's/^listen: "127.0.0.1:\([0-9]*\)"$/\1/p' "$dir/n$i.conf")
  if [[ -n $FEED_NETNS ]]; then
    setsid nsenter --net="/run/netns/$FEED_NETNS" -- "$bin" -c "$dir/n$i.conf" \
      >>"$dir/n$i.log" 2>&1 </dev/null &
  else
    setsid "$bin" -c "$dir/n$i.conf" >>"$dir/n$i.log" 2>&1 </dev/null &
  fi
  echo $! >"$dir/n$i.pid"
  for ((k = 0; k < 200; k++)); do # 20 s at most
    # shellcheck disable=SC2016 # expanded by the inner shell
    feed_in bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$0"' "$port" 2>/dev/null && return 0
    kill -0 "$(<"$dir/n$i.pid")" 2>/dev/null || break
    sleep 0.1
  done
  feed_log "nats-server n$i does not listen on 127.0.0.1:$port; its log:"
  tail -n 15 "$dir/n$i.log" >&2
  return 1
}

# feed_nats_stop_pid PIDFILE SIGNAL: signals the process group, waits (bounded), KILLs.
feed_nats_stop_pid() {
  local pidfile=$1 sig=$2 pid k
  [[ -f $pidfile ]] || return 0
  pid=$(<"$pidfile")
  rm -f "$pidfile"
  [[ $pid =~ ^[0-9]+$ ]] || return 0
  kill "-$sig" -- "-$pid" 2>/dev/null || kill "-$sig" "$pid" 2>/dev/null || return 0
  for ((k = 0; k < 50; k++)); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
}

feed_nats_down() {
  local f
  for f in "$1"/n*.pid; do
    [[ -e $f ]] && feed_nats_stop_pid "$f" TERM
  done
  return 0
}

feed_nats_kill() { feed_nats_stop_pid "$1/n$2.pid" KILL; }

# The DER forms openssl writes for Ed25519 end with the raw key: a PKCS#8 private key (48 bytes)
# with the 32-byte seed, a SubjectPublicKeyInfo (44 bytes) with the 32-byte public key.
feed_keygen() {
  local key=$1 pem=$1.pem pub
  (umask 077 && openssl genpkey -algorithm ed25519 -out "$pem" 2>/dev/null) || {
    feed_log "openssl cannot make an Ed25519 key"
    return 1
  }
  if [[ $(openssl pkey -in "$pem" -outform DER | wc -c) != 48 ]] ||
    ! (umask 077 && openssl pkey -in "$pem" -outform DER | tail -c 32 | base64 >"$key"); then
    feed_log "unexpected Ed25519 private key form from openssl"
    rm -f "$pem" "$key"
    return 1
  fi
  pub=$(openssl pkey -in "$pem" -pubout -outform DER | tail -c 32 | base64)
  rm -f "$pem"
  [[ ${#pub} == 44 ]] || return 1
  echo "$pub"
}

feed_trust_ini() {
  local kv
  printf '[%s]\nkey = %s\n' "$1" "$2"
  for kv in "${@:3}"; do
    printf '%s = %s\n' "${kv%%=*}" "${kv#*=}"
  done
}

feed_site_ini() {
  local servers="" creds="" nats site participant
  while [[ ${1:-} == --servers || ${1:-} == --credentials ]]; do
    case $1 in
      --servers) servers=$2 ;;
      --credentials) creds=$2 ;;
    esac
    shift 2 || return 2
  done
  nats=$1 site=$2 participant=$3
  shift 3
  [[ -n $servers ]] || servers=$(<"$nats/urls")
  [[ -n $creds ]] || creds=$nats/$participant.creds
  cat <<EOF
[sluiced]
state_dir = $site/state
socket = $site/sluiced.sock
socket_mode = 0600
check_interval = 300ms
$(printf '%s\n' "$@")
[feed]
servers = $servers
credentials = $creds
participant = $participant
key = $site/feed.key
trust = $site/trust.ini
EOF
}

feed_site_connected() {
  [[ $("$1" --daemon "$2" feed status --json 2>/dev/null | "$FEED_PYTHON" -c \
    'import json, sys; print(json.load(sys.stdin)["connected"])' 2>/dev/null) == True ]]
}
