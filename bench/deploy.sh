#!/usr/bin/env bash
# A rolling deploy under load (issue 13): Baton in handoff mode on its embedded default, wrk keep-alive on 50
# connections plus a loop of new connections (curl, one per request), and `baton restart default` twice while they
# run. Reports wrk's requests and errors (connect/read/write/timeout, non-2xx), the new-connection loop's failures,
# and the connections the deploys moved (baton_connections_handed_back_total from the front's metrics endpoint).
#
# usage: bench/deploy.sh [--duration S] [--connections N]
# Needs the .NET 10 SDK, curl, and wrk (installed with apt-get when missing and run as root).
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DURATION=20 CONNECTIONS=50
while (($#)); do
    case $1 in
        --duration) DURATION=$2; shift ;;
        --connections) CONNECTIONS=$2; shift ;;
        -h|--help) sed -n '2,9p' "${BASH_SOURCE[0]}"; exit 0 ;;
        *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
    shift
done
log() { printf '[%s] %s\n' "$(date +%T)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

command -v wrk >/dev/null || { [[ $(id -u) == 0 ]] && { apt-get update -qq; apt-get install -y -qq wrk; } >/dev/null 2>&1; } || die "wrk is missing"
WORK=$(mktemp -d /tmp/baton-deploy.XXXXXX)
FRONT=""
cleanup() {
    [[ -n $FRONT ]] && kill -TERM "$FRONT" 2>/dev/null && wait "$FRONT" 2>/dev/null
    jobs -p | xargs -r kill 2>/dev/null
}
trap cleanup EXIT

log "building Baton (Release)"
dotnet build -c Release "$ROOT/src/Baton.Cli" >"$WORK/build.log" 2>&1 || die "build failed: $WORK/build.log"
BATON=$ROOT/src/Baton.Cli/bin/Release/net10.0/baton
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PORT=$(free_port) METRICS=$(free_port) CONTROL=$WORK/baton.sock

Baton__Control__Socket=$CONTROL Baton__Metrics__Prometheus__Address=127.0.0.1:$METRICS \
    "$BATON" serve --listen "127.0.0.1:$PORT" --mode handoff --workers 1 >"$WORK/baton.log" 2>&1 &
FRONT=$!
for _ in $(seq 300); do grep -q "baton ready:" "$WORK/baton.log" && break; sleep 0.1; done
grep -q "baton ready:" "$WORK/baton.log" || die "baton did not start: $WORK/baton.log"
log "baton ready on $PORT (metrics on $METRICS)"

URL=https://127.0.0.1:$PORT/hello
wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency "$URL" >"$WORK/wrk.txt" 2>&1 &
WRK=$!
: >"$WORK/new.txt"
( while kill -0 "$WRK" 2>/dev/null; do
      curl -sk -o /dev/null -w '%{http_code}\n' --max-time 10 "$URL" >>"$WORK/new.txt" || echo "curl-failed" >>"$WORK/new.txt"
  done ) &
NEWLOOP=$!

sleep $((DURATION / 4))
for deploy in 1 2; do
    log "baton restart default ($deploy)"
    "$BATON" restart default --control "$CONTROL" | tee -a "$WORK/restarts.txt" >&2 || die "restart $deploy failed"
    sleep $((DURATION / 4))
done
wait "$WRK"
wait "$NEWLOOP" 2>/dev/null
moved=$(curl -s "http://127.0.0.1:$METRICS/metrics" | awk '/^baton_connections_handed_back_total/ { n += $NF } END { print n + 0 }')

requests=$(awk '/requests in/ { print $1 }' "$WORK/wrk.txt")
errors=$(grep -E "Socket errors|Non-2xx" "$WORK/wrk.txt" || echo "none")
new_total=$(wc -l <"$WORK/new.txt")
new_failed=$(grep -vc '^200$' "$WORK/new.txt")
cat <<EOF
## Rolling deploy under load ($(date -u +%F), $(nproc) CPUs)

- wrk keep-alive, $CONNECTIONS connections, ${DURATION} s: $requests requests; socket errors / non-2xx: $errors
- new-connection loop (curl): $new_total requests, $new_failed failed
- two \`baton restart default\` during the run; connections handed back to the front and moved: $moved
- restarts: $(tr '\n' ' ' <"$WORK/restarts.txt")
EOF
log "raw output in $WORK"
