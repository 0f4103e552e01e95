#!/bin/sh
# An etcd client for splitbrain in POSIX sh, built on etcdctl (Debian's etcd-client,
# API v3): the register workload only (read, write, cas), speaking splitbrain's
# JSON-lines client protocol on stdin/stdout (docs/client-protocol.md).
#
#   client:
#     type: process
#     command: [sh, ../clients/etcd_register.sh]
#     options:
#       read-consistency: linearizable   # or serializable (etcdctl --consistency=s)
#       request-timeout: 1.5             # seconds per etcdctl; keep it below op-timeout - 0.5
#       prefix: /splitbrain
#
# Needs sh, sed, awk, grep, mktemp, timeout (coreutils) and etcdctl; no jq. Its JSON
# reading is deliberately small: it reads the messages as splitbrain writes them (one
# compact object per line, `node` before `nodes`, `options` before `test`), and values
# and keys that are integers or null (what the register workload generates). Anything
# else is refused before anything is sent: fail.
#
# The same keys and stored text as the built-in Rust client and clients/etcd_gateway.py:
# key `{prefix}/register/{key}`, the value's JSON text. cas is an `etcdctl txn` that
# compares the value with the old one; a failed comparison wrote nothing: fail.
#
# Outcomes: etcdctl runs with --debug so that its gRPC log tells whether a connection
# ever became READY. A failure without one (connection refused, no route) sent nothing:
# fail. Any other failure of a write or cas (timeout, reset, a server error) may have
# been applied: info, unless etcd rejected the request (a known rejection message) or
# etcdctl refused its input (exit 3 or 128). A read that went wrong is fail (no effect).
# etcdctl 3.4 gives `txn` no deadline, so `timeout` bounds every etcdctl run.

set -u
ETCDCTL_API=3
export ETCDCTL_API

endpoint=
prefix=/splitbrain
consistency=l
request_timeout=1.5
opened=

tmp=$(mktemp -d "${TMPDIR:-/tmp}/etcd_register.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

log() {
  printf 'etcd_register.sh: %s\n' "$*" >&2
}

# $1 as the inside of a JSON string: backslashes and quotes escaped, control
# characters (newlines included) as spaces.
json_escape() {
  printf '%s' "$1" | tr '\n\r\t' '   ' | tr -d '\000-\037' | sed 's/\\/\\\\/g; s/"/\\"/g'
}

reply() {
  printf '%s\n' "$1"
}

# reply_error TYPE ID MESSAGE
reply_error() {
  reply "{\"type\":\"$1\",\"id\":$2,\"error\":\"$(json_escape "$3")\"}"
}

# The raw JSON text of field $1 in $2: a string's contents (without escapes), a flat
# array, or a scalar (number, null, true, false). Empty when absent or not that simple.
field() {
  printf '%s\n' "$2" | sed -n \
    -e "s/.*\"$1\":[[:space:]]*\"\\([^\"\\\\]*\\)\".*/\\1/p" \
    -e "t" \
    -e "s/.*\"$1\":[[:space:]]*\\(\\[[^]]*\\]\\).*/\\1/p" \
    -e "t" \
    -e "s/.*\"$1\":[[:space:]]*\\([-+.0-9a-zA-Z]*\\).*/\\1/p"
}

# A message's type: its first field, as splitbrain writes it (so that a "type" inside
# `options` cannot be taken for it), else wherever it is.
msg_type() {
  t=$(printf '%s\n' "$1" | sed -n 's/^{[[:space:]]*"type":[[:space:]]*"\([a-z_]*\)".*/\1/p')
  printf '%s' "${t:-$(field type "$1")}"
}

# Whether $1 is a JSON integer or null: the values this client stores and compares.
simple_value() {
  case $1 in
    null) return 0 ;;
    -*) v=${1#-} ;;
    *) v=$1 ;;
  esac
  case $v in
    '' | *[!0-9]*) return 1 ;;
  esac
  return 0
}

# Runs etcdctl "$@" with $tmp/in as its stdin; $tmp/out and $tmp/err hold its output.
ctl() {
  timeout -k 1 "$outer_timeout" etcdctl --debug --endpoints="$endpoint" \
    --dial-timeout="${request_timeout}s" --command-timeout="${request_timeout}s" \
    "$@" <"$tmp/in" >"$tmp/out" 2>"$tmp/err"
}

# etcdctl's own error line, else a description of how it ended ($1: its exit status).
ctl_message() {
  msg=$(grep '^Error:' "$tmp/err" | tail -n 1)
  case $1 in
    124 | 137) printf 'timeout: etcdctl gave no answer within %ss' "$outer_timeout" ;;
    *) printf '%s' "${msg:-etcdctl exited with status $1}" ;;
  esac
}

# The outcome of a failed etcdctl run ($1: exit status, $2: read or write) in
# $outcome (fail or info), with what was wrong in $why.
classify() {
  why=$(ctl_message "$1")
  if grep -q 'createTransport failed to connect' "$tmp/err" &&
    ! grep -q 'Connectivity change to READY' "$tmp/err"; then
    # No connection ever became ready: gRPC cannot have sent the request.
    outcome=fail
    why="not sent: no connection to $endpoint ($(grep -o 'connect: [a-z ]*' "$tmp/err" | tail -n 1)): $why"
    return
  fi
  outcome=fail
  if [ "$2" = read ]; then
    return
  fi
  case $1 in
    # ExitBadConnection (client not built), ExitInvalidInput, ExitBadArgs: nothing sent.
    2 | 3 | 128) return ;;
  esac
  # Messages of etcd's rejecting gRPC codes (see REJECTING_GRPC_CODES in
  # workloads/src/etcd/mod.rs): the request was not applied.
  if grep -q -e 'etcdserver: too many requests' -e 'etcdserver: mvcc: database space exceeded' \
    -e 'etcdserver: key is not provided' -e 'etcdserver: request is too large' \
    -e 'etcdserver: permission denied' -e 'etcdserver: invalid auth token' \
    -e 'etcdserver: user name is empty' -e 'etcdserver: authentication failed' \
    -e 'code = InvalidArgument' -e 'code = ResourceExhausted' -e 'code = PermissionDenied' \
    -e 'code = FailedPrecondition' -e 'code = Unauthenticated' "$tmp/err"; then
    return
  fi
  outcome=info
}

# A stored text as a JSON value: integers, null, booleans and plain strings as they
# are (they are JSON), anything else as a JSON string, as the Rust client decodes
# text that is not JSON.
stored_as_json() {
  if simple_value "$1"; then
    printf '%s' "$1"
    return
  fi
  case $1 in
    true | false) printf '%s' "$1" ;;
    \"*\")
      inner=${1#\"}
      inner=${inner%\"}
      case $inner in
        *[\"\\]*) printf '"%s"' "$(json_escape "$1")" ;;
        *) printf '%s' "$1" ;;
      esac
      ;;
    *) printf '"%s"' "$(json_escape "$1")" ;;
  esac
}

do_open() {
  # `node` is written before `nodes`: its host and port are the first ones.
  node=${1%%\"nodes\":*}
  host=$(field host "$node")
  port=$(field client "$node")
  workload=$(field workload "${1##*\"test\":}")
  options=${1#*\"options\":}
  options=${options%%\"test\":*}
  if [ -z "$host" ]; then
    reply '{"type":"error","error":"open: no node.host"}'
    return
  fi
  if [ "$workload" != register ]; then
    reply "{\"type\":\"error\",\"error\":\"this client serves the register workload only, not \`$(json_escape "$workload")\`\"}"
    return
  fi
  if [ "$(field reference "$options")" = true ]; then
    reply '{"type":"error","error":"etcd_register.sh has no reference mode: it runs etcdctl against etcd (client-check can check clients/etcd_gateway.py)"}'
    return
  fi
  rc=$(field read-consistency "$options")
  case ${rc:-linearizable} in
    linearizable) consistency=l ;;
    serializable) consistency=s ;;
    *)
      reply "{\"type\":\"error\",\"error\":\"unknown read consistency \`$(json_escape "$rc")\`; expected linearizable or serializable\"}"
      return
      ;;
  esac
  t=$(field request-timeout "$options")
  if [ -n "$t" ]; then
    if ! awk -v t="$t" 'BEGIN { exit !(t ~ /^[0-9]*\.?[0-9]+$/ && t > 0) }'; then
      reply "{\"type\":\"error\",\"error\":\"request-timeout: expected seconds > 0, got $(json_escape "$t")\"}"
      return
    fi
    request_timeout=$t
  fi
  p=$(field prefix "$options")
  if [ -n "$p" ]; then
    prefix=$p
  fi
  outer_timeout=$(awk -v t="$request_timeout" 'BEGIN { print t + 0.5 }')
  endpoint="http://$host:${port:-2379}"
  opened=1
  : >"$tmp/in"
  reply '{"type":"open_ok"}'
}

do_invoke() {
  id=$(field id "$1")
  case $id in
    '' | *[!0-9]*)
      log "an invoke without a numeric id: $1"
      return
      ;;
  esac
  if [ -z "$opened" ]; then
    reply_error info "$id" "invoke before open"
    return
  fi
  f=$(field f "$1")
  value=$(field value "$1")
  key=$(field key "$1")
  case $1 in
    *\"key\":*) ;;
    *) key=nil ;;
  esac
  if [ -z "$key" ] || ! { simple_value "$key" || [ "$key" = nil ]; }; then
    reply_error fail "$id" "this shell client handles integer keys only: $1"
    return
  fi
  k="$prefix/register/$key"
  case $f in
    read)
      : >"$tmp/in"
      if ctl get --consistency="$consistency" -- "$k"; then
        stored=$(sed -n 2p "$tmp/out")
        if [ "$(sed -n 1p "$tmp/out")" = "$k" ]; then
          reply "{\"type\":\"ok\",\"id\":$id,\"value\":$(stored_as_json "$stored")}"
        else
          reply "{\"type\":\"ok\",\"id\":$id,\"value\":null}"
        fi
      else
        classify $? read
        reply_error "$outcome" "$id" "read: $why"
      fi
      ;;
    write)
      if ! simple_value "$value"; then
        reply_error fail "$id" "this shell client writes integers or null only, got $value"
        return
      fi
      : >"$tmp/in"
      if ctl put -- "$k" "$value"; then
        reply "{\"type\":\"ok\",\"id\":$id,\"value\":$value}"
      else
        classify $? write
        reply_error "$outcome" "$id" "write: $why"
      fi
      ;;
    cas)
      pair=$(printf '%s' "$value" | tr -d ' ')
      old=${pair#\[}
      old=${old%%,*}
      new=${pair%\]}
      new=${new#*,}
      if [ "$pair" != "[$old,$new]" ] || ! simple_value "$old" || ! simple_value "$new"; then
        reply_error fail "$id" "cas needs an [old new] pair of integers, got $value"
        return
      fi
      printf 'value("%s") = "%s"\n\nput %s -- %s\n\n\n' "$k" "$old" "$k" "$new" >"$tmp/in"
      if ctl txn; then
        case $(sed -n 1p "$tmp/out") in
          SUCCESS) reply "{\"type\":\"ok\",\"id\":$id,\"value\":[$old,$new]}" ;;
          FAILURE) reply_error fail "$id" "cas: the value differs" ;;
          *) reply_error info "$id" "cas: unexpected etcdctl txn output: $(head -c 200 "$tmp/out")" ;;
        esac
      else
        classify $? write
        reply_error "$outcome" "$id" "cas: $why"
      fi
      ;;
    *)
      reply_error fail "$id" "the register workload has no function \`$f\`"
      ;;
  esac
}

while IFS= read -r line || [ -n "$line" ]; do
  case $line in
    *[![:space:]]*) ;;
    *) continue ;;
  esac
  kind=$(msg_type "$line")
  case $kind in
    open) do_open "$line" ;;
    setup) reply '{"type":"setup_ok"}' ;;
    teardown) reply '{"type":"teardown_ok"}' ;;
    invoke) do_invoke "$line" ;;
    close) break ;;
    *) log "ignored a message of unknown type '$kind': $line" ;;
  esac
  line=
done
exit 0
