#!/usr/bin/env bash
# Where a new connection's CPU goes: perf over the whole machine while openssl s_time makes full handshakes (one
# /hello request each) against Baton, then against nginx serving /hello itself (the reference for the front's cost),
# one after the other in the same run. Reports µs of CPU per connection by process (front, workers, nginx, the
# clients) and by layer (libcrypto, libssl, kernel, libc, .NET code, coreclr). Writes bench/results/profile.md (and
# profile-symbols.txt, the top symbols) and prints it.
#
# usage: [WARMUP=S] [KEEP=1] bench/profile.sh [--seconds S] [--clients N] [--mode handoff|passthrough] [--no-nginx]
#   WARMUP (default 30 s of the same load): a .NET worker's tiered JIT stays busy for about 20 s of it.
#   KEEP=1 keeps the work directory (perf.data of each server, the raw report, the thread ids).
# Needs root (perf over every process), perf (linux-perf), nginx and the .NET 10 SDK. Run on a quiet machine. The
# clients' own cost is in the table too: it is the same work in every run, so it shows how fast the machine was.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SECONDS_LOADED=15 CLIENTS=4 MODE=handoff WARMUP=${WARMUP:-30} WITH_NGINX=1
while (($#)); do
    case $1 in
        --seconds) SECONDS_LOADED=$2; shift ;;
        --clients) CLIENTS=$2; shift ;;
        --mode) MODE=$2; shift ;;
        --no-nginx) WITH_NGINX=0 ;;
        -h|--help) sed -n '2,13p' "${BASH_SOURCE[0]}"; exit 0 ;;
        *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
    shift
done
command -v perf >/dev/null || apt-get install -y -q linux-perf >/dev/null || { echo "perf is missing" >&2; exit 1; }
((WITH_NGINX)) && { command -v nginx >/dev/null || apt-get install -y -q nginx >/dev/null || { echo "nginx is missing" >&2; exit 1; }; }

WORK=$(mktemp -d /tmp/baton-profile.XXXXXX)
SERVER_PID=
stop_server() {
    [[ -n $SERVER_PID ]] && kill -TERM "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
    SERVER_PID=
}
cleanup() {
    stop_server
    if [[ -n ${KEEP:-} ]]; then echo "kept $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

echo "building Baton (Release)" >&2
dotnet build -c Release "$ROOT/src/Baton.Cli" >"$WORK/build.log" 2>&1 || { cat "$WORK/build.log" >&2; exit 1; }
BATON=$(find "$ROOT/src/Baton.Cli/bin/Release" -name baton -type f -perm -u+x | head -1)
openssl ecparam -name prime256v1 -genkey -noout -out "$WORK/key.pem" 2>/dev/null
openssl req -x509 -new -key "$WORK/key.pem" -subj /CN=localhost -days 2 -out "$WORK/cert.pem" 2>/dev/null

start_baton() { # sets SERVER_PID, PORT and ROLES ("role=pid,pid ...": whose threads count as what)
    # JIT frames named in perf's report (perf-PID.map), as docs/benchmarks.md's earlier profiles were taken.
    DOTNET_PerfMapEnabled=1 DOTNET_EnableWriteXorExecute=0 "$BATON" serve --listen 127.0.0.1:0 --workers 2 \
        --cert "$WORK/cert.pem" --key "$WORK/key.pem" --mode "$MODE" >"$WORK/baton.log" 2>&1 </dev/null &
    SERVER_PID=$!
    local i
    for ((i = 0; i < 600; i++)); do
        grep -qE 'baton ready: https://127\.0\.0\.1:[0-9]+' "$WORK/baton.log" && break
        kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/baton.log" >&2; return 1; }
        sleep 0.1
    done
    PORT=$(grep -oE 'baton ready: https://127\.0\.0\.1:[0-9]+' "$WORK/baton.log" | head -1 | grep -oE '[0-9]+$')
    [[ -n $PORT ]] || { echo "baton did not become ready" >&2; cat "$WORK/baton.log" >&2; return 1; }
    ROLES="front=$SERVER_PID workers=$(pgrep -P "$SERVER_PID" | paste -sd, -)"
}

start_nginx() { # the bench's own nginx configuration (2 workers, /hello from the config), on a free port
    PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    mkdir -p "$WORK/nginx" "$WORK/docroot"
    sed -e "s|@DIR@|$WORK/nginx|g; s|@PORT@|$PORT|g; s|@CERT@|$WORK/cert.pem|g; s|@KEY@|$WORK/key.pem|g; s|@DOCROOT@|$WORK/docroot|g" \
        "$ROOT/bench/contenders/nginx-tls.conf" >"$WORK/nginx/nginx.conf"
    nginx -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" -e "$WORK/nginx/error.log" >"$WORK/nginx/stdout.log" 2>&1 </dev/null &
    SERVER_PID=$!
    local i
    for ((i = 0; i < 600; i++)); do
        (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break
        kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/nginx/error.log" >&2; return 1; }
        sleep 0.1
    done
    ROLES="nginx=$SERVER_PID,$(pgrep -P "$SERVER_PID" | paste -sd, -)"
}

load() { # load SECONDS: CLIENTS s_time processes; prints the total connections made
    local i pids=()
    for ((i = 0; i < CLIENTS; i++)); do
        openssl s_time -connect "127.0.0.1:$PORT" -new -time "$1" -www /hello >"$WORK/stime.$i" 2>&1 &
        pids+=($!)
    done
    wait "${pids[@]}"
    cat "$WORK"/stime.* | awk '/connections in [0-9.]+ real/ { n += $1 } END { print n + 0 }'
}

profile() { # profile NAME: warm-up, then perf under the same load; writes NAME.rows (the table's rows)
    local name=$1 role pid connections
    echo "$name: warming up ${WARMUP}s, then perf for ${SECONDS_LOADED}s under $CLIENTS clients ($ROLES)" >&2
    load "$WARMUP" >/dev/null
    perf record -F 999 -a -g -o "$WORK/$name.perf.data" -- sleep "$((SECONDS_LOADED + 1))" 2>"$WORK/$name.perf.log" &
    local perf_pid=$!
    connections=$(load "$SECONDS_LOADED")
    # perf names threads, not processes: every thread of each role, taken while they all still run.
    local tids
    for role in $ROLES; do
        tids=
        for pid in $(tr , ' ' <<<"${role#*=}"); do tids+=$(ls "/proc/$pid/task" 2>/dev/null | paste -sd, -),; done
        echo "${role%%=*}=$(tr -s , <<<"${tids%,}")" >>"$WORK/$name.tids"
    done
    wait "$perf_pid"
    perf report -i "$WORK/$name.perf.data" --stdio --no-children -g none --sort pid,dso -F sample,pid,dso -t ';' 2>/dev/null \
        >"$WORK/$name.report.txt"
    python3 "$ROOT/bench/contenders/perf_layers.py" "$WORK/$name.report.txt" "$connections" "$WORK/$name.tids" >"$WORK/$name.rows"
    echo "$name: $connections connections in ${SECONDS_LOADED}s" >>"$WORK/counts"
    { echo "## $name: µs per connection by thread name"
      python3 "$ROOT/bench/contenders/perf_layers.py" "$WORK/$name.report.txt" "$connections" "$WORK/$name.tids" --threads
    } >>"$ROOT/bench/results/profile-symbols.txt"
    while IFS='=' read -r role tids; do
        echo "## $name, $role: top symbols (% of all samples on the machine)"
        perf report -i "$WORK/$name.perf.data" --stdio --no-children -g none --tid "$tids" --sort dso,sym \
            --percent-limit 0.3 2>/dev/null | grep -E "^ +[0-9.]+%" | head -25
    done <"$WORK/$name.tids" >>"$ROOT/bench/results/profile-symbols.txt"
}

: >"$ROOT/bench/results/profile-symbols.txt"
start_baton || exit 1
profile "baton-$MODE"
stop_server
if ((WITH_NGINX)); then
    start_nginx || exit 1
    profile nginx
    stop_server
fi

{
    echo "# Profile: new connections, Baton $MODE$( ((WITH_NGINX)) && echo ' and nginx serving itself')"
    echo
    echo "$CLIENTS × \`openssl s_time -new -www /hello\` for ${SECONDS_LOADED} s after ${WARMUP} s of the same load;" \
        "\`perf record -F 999 -a -g\`. $(paste -sd ';' "$WORK/counts" | sed 's/;/; /g'). µs of CPU per connection:"
    echo
    echo "| server | process | total | libcrypto | libssl | kernel | libc | .NET code | coreclr | other |"
    echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"
    for rows in "$WORK"/*.rows; do
        sed "s/^/| $(basename "$rows" .rows) /" "$rows"
    done
} >"$ROOT/bench/results/profile.md"
cat "$ROOT/bench/results/profile.md"
echo "top symbols: bench/results/profile-symbols.txt" >&2
