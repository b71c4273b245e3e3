#!/usr/bin/env bash
# Baton side by side with what users would pick instead, on 127.0.0.1, same certificate, same two resources
# (/hello -> "hello\n", /1mb -> the same 1 MiB everywhere). Writes the markdown report to bench/results/latest.md
# (raw tool output in bench/results/latest-raw/) and prints it.
#
# usage: bench/compare.sh [--quick] [--runs N] [--duration S] [--idle N] [--only name,name,...] [--no-idle] [--no-speed]
#   --quick      3-second runs, one run each, 300 idle connections, 1-second openssl speed (~5 minutes)
#   --runs N     runs of each measure (default 3); the report gives the median and the range (min-max)
#   --only       contenders, any of: nginx nginx-rsa (nginx serving itself: the reference for the TLS machinery),
#                nginx-proxy hitch-proxy haproxy-proxy yarp-proxy (TLS in front of the shared plain-HTTP Kestrel
#                app bench/KestrelBackend), kestrel (Kestrel HTTPS), baton-passthrough baton-handoff baton-handoff-rsa,
#                and the TCP relays in front of the same app: hitch-proxy haproxy-tcp baton-proxy (Baton's proxy mode)
#
# Every figure is also given per core of SERVER CPU: utime+stime of the server's whole process tree (for a proxy,
# the proxy plus the backend app, as Baton's figures include its workers) over the run, because wrk / openssl
# s_time share the same cores as the servers.
# Needs root (installs nginx, hitch, haproxy, wrk, openssl with apt-get when missing) and the .NET 10 SDK.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CONTENDERS_DIR=$ROOT/bench/contenders
RESULTS=$ROOT/bench/results

RUNS=3 WARMUP=10 DURATION=10 HS_DURATION=10 HS_CLIENTS=4 BIG_CONNECTIONS=8 IDLE=5000 SPEED_SECONDS=3
ALL="nginx nginx-rsa nginx-proxy hitch-proxy haproxy-proxy haproxy-tcp yarp-proxy kestrel baton-passthrough baton-handoff baton-handoff-rsa baton-proxy"
PROXIES="nginx-proxy hitch-proxy haproxy-proxy haproxy-tcp yarp-proxy baton-proxy"
ONLY=${ALL// /,}
DO_IDLE=1 DO_SPEED=1
while (($#)); do
    case $1 in
        --quick) RUNS=1 WARMUP=1 DURATION=3 HS_DURATION=3 IDLE=300 SPEED_SECONDS=1 ;;
        --runs) RUNS=$2; shift ;;
        --duration) DURATION=$2 HS_DURATION=$2; shift ;;
        --idle) IDLE=$2; shift ;;
        --only) ONLY=$2; shift ;;
        --no-idle) DO_IDLE=0 ;;
        --no-speed) DO_SPEED=0 ;;
        -h|--help) sed -n '2,16p' "${BASH_SOURCE[0]}"; exit 0 ;;
        *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
    shift
done
# The names before the proxies moved to the shared Kestrel app (hitch -> nginx, HAProxy -> nginx) still work.
ONLY=$(echo ",$ONLY," | sed -e 's/,hitch,/,hitch-proxy,/g; s/,haproxy,/,haproxy-proxy,/g; s/^,//; s/,$//')
for name in ${ONLY//,/ }; do
    [[ " $ALL " == *" $name "* ]] || { echo "unknown contender: $name (known: $ALL)" >&2; exit 2; }
done
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || { echo "--runs takes a positive number" >&2; exit 2; }

log() { printf '[%s] %s\n' "$(date +%T)" "$*" >&2; }
die() { log "error: $*"; exit 1; }
wanted() { [[ ",$ONLY," == *",$1,"* ]]; }
any_wanted() { local n; for n in "$@"; do wanted "$n" && return 0; done; return 1; }

# ---------------------------------------------------------------- processes: track, wait, stop exactly ours
PIDS=()
WORK=$(mktemp -d /tmp/baton-compare.XXXXXX)

start_bg() { # start_bg LOGFILE CMD... ; sets STARTED_PID
    : >"$1" # truncate here, not in the child: a reader must never see the previous run's lines
    "${@:2}" >"$1" 2>&1 </dev/null &
    STARTED_PID=$!
    PIDS+=("$STARTED_PID")
}

stop_pid() { # SIGTERM, wait up to 15 s, then SIGKILL; only pids this script started
    local pid=$1 i
    kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null
    for ((i = 0; i < 150; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -0 "$pid" 2>/dev/null && { log "pid $pid ignored SIGTERM, killing"; kill -KILL "$pid" 2>/dev/null; }
    wait "$pid" 2>/dev/null
    return 0
}

cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do stop_pid "$pid"; done
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_port() { # wait_port PORT PID: until PORT accepts, PID dies, or 60 s pass
    local port=$1 pid=$2 deadline=$((SECONDS + 60))
    while ((SECONDS < deadline)); do
        kill -0 "$pid" 2>/dev/null || return 1
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
        sleep 0.05
    done
    return 1
}

wait_line() { # wait_line FILE REGEX PID [SECONDS]: until FILE holds a line matching REGEX, PID dies, or the deadline (60 s)
    local file=$1 regex=$2 pid=$3 deadline=$((SECONDS + ${4:-60}))
    while ((SECONDS < deadline)); do
        grep -qE "$regex" "$file" 2>/dev/null && return 0
        kill -0 "$pid" 2>/dev/null || return 1
        sleep 0.05
    done
    return 1
}

tree_cpu() { python3 "$CONTENDERS_DIR/proctree.py" cpu "$@"; }
tree_mem() { python3 "$CONTENDERS_DIR/proctree.py" mem "$@"; }

# ---------------------------------------------------------------- setup: packages, builds, certificates, files
install_missing() {
    local need=() pkg bin
    for pair in nginx:nginx hitch:hitch haproxy:haproxy wrk:wrk openssl:openssl curl:curl python3:python3; do
        bin=${pair%%:*} pkg=${pair#*:}
        command -v "$bin" >/dev/null || [[ -x /usr/sbin/$bin ]] || need+=("$pkg")
    done
    ((${#need[@]})) || return 0
    log "installing ${need[*]}"
    [[ $(id -u) == 0 ]] || die "need root to install ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y "${need[@]}" >"$WORK/apt.log" 2>&1 \
        || { apt-get update >>"$WORK/apt.log" 2>&1 && apt-get install -y "${need[@]}" >>"$WORK/apt.log" 2>&1; } \
        || die "apt-get install ${need[*]} failed (see $WORK/apt.log)"
}

install_missing
export PATH=$PATH:/usr/sbin
ulimit -n "$(ulimit -Hn)" 2>/dev/null || ulimit -n 65536 2>/dev/null || true

BATON=$ROOT/src/Baton.Cli/bin/Release/net10.0/baton
KESTREL=$ROOT/bench/KestrelHttps/bin/Release/net10.0/KestrelHttps
BACKEND=$ROOT/bench/KestrelBackend/bin/Release/net10.0/KestrelBackend
YARP=$ROOT/bench/YarpProxy/bin/Release/net10.0/YarpProxy
build() { # build LABEL PROJECT_DIR
    log "building $1 (Release)"
    dotnet build -c Release "$ROOT/$2" >"$WORK/build-$1.log" 2>&1 || die "$1 build failed: $WORK/build-$1.log"
}
if any_wanted baton-passthrough baton-handoff baton-handoff-rsa baton-proxy; then build Baton src/Baton.Cli; fi
if wanted kestrel; then build KestrelHttps bench/KestrelHttps; fi
if any_wanted $PROXIES; then build KestrelBackend bench/KestrelBackend; fi
if wanted yarp-proxy; then build YarpProxy bench/YarpProxy; fi

log "certificates and files in $WORK"
openssl ecparam -name prime256v1 -genkey -noout -out "$WORK/ecdsa.key" 2>/dev/null
openssl req -x509 -new -key "$WORK/ecdsa.key" -subj /CN=localhost -addext subjectAltName=DNS:localhost \
    -days 2 -out "$WORK/ecdsa.crt" 2>/dev/null || die "openssl req (ECDSA) failed"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$WORK/rsa.key" 2>/dev/null
openssl req -x509 -new -key "$WORK/rsa.key" -subj /CN=localhost -addext subjectAltName=DNS:localhost \
    -days 2 -out "$WORK/rsa.crt" 2>/dev/null || die "openssl req (RSA) failed"
cat "$WORK/ecdsa.crt" "$WORK/ecdsa.key" >"$WORK/ecdsa.pem"
# Baton's ticket keys (nginx's 80-byte format) in a file, so a passthrough pool's two workers resume each other's
# sessions as nginx's two workers do (without it each worker has its own keys); the handoff front uses it too.
head -c 80 /dev/urandom >"$WORK/ticket.key"
mkdir -p "$WORK/docroot"
printf 'hello\n' >"$WORK/docroot/hello"
# The bytes of Baton's built-in worker's /1mb (0, 1, ..., 255, 0, ...); bench/KestrelBackend and KestrelHttps serve the same.
python3 -c 'import sys; sys.stdout.buffer.write(bytes(i % 256 for i in range(1 << 20)))' >"$WORK/docroot/1mb"
BIG_SHA=$(sha256sum <"$WORK/docroot/1mb" | cut -d' ' -f1)

fill_template() { # fill_template TEMPLATE OUT KEY=VALUE...
    local template=$1 out=$2 args=() kv
    for kv in "${@:3}"; do args+=(-e "s|@${kv%%=*}@|${kv#*=}|g"); done
    sed "${args[@]}" "$template" >"$out"
}

# ---------------------------------------------------------------- contenders: start_X sets PORT, ROOTS, SUITE
start_nginx() { # start_nginx NAME TEMPLATE PORT [CERT KEY] (a proxy template gets BACKEND_PORT too)
    local dir=$WORK/$1
    mkdir -p "$dir"
    fill_template "$CONTENDERS_DIR/$2" "$dir/nginx.conf" DIR="$dir" PORT="$3" CERT="${4:-}" KEY="${5:-}" DOCROOT="$WORK/docroot" \
        BACKEND_PORT="$BACKEND_PORT"
    start_bg "$dir/stdout.log" nginx -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log"
    wait_port "$3" "$STARTED_PID" || { cat "$dir/stdout.log" "$dir/error.log" >&2; return 1; }
}

# The plain-HTTP Kestrel app behind every proxy contender: started once, shared, its CPU counted in each proxy's
# tree during that proxy's runs (sampled before and after each run, so what it does between runs counts for no one).
BACKEND_PID="" BACKEND_PORT=""
ensure_backend() {
    [[ -n $BACKEND_PID ]] && kill -0 "$BACKEND_PID" 2>/dev/null && return 0
    local dir=$WORK/backend raw=$RESULTS/latest-raw/backend-warmup.txt
    mkdir -p "$dir"
    BACKEND_PORT=$(free_port)
    start_bg "$dir/stdout.log" "$BACKEND" "$BACKEND_PORT"
    wait_line "$dir/stdout.log" '^backend ready' "$STARTED_PID" || { cat "$dir/stdout.log" >&2; return 1; }
    BACKEND_PID=$STARTED_PID
    [[ $(curl -s "http://127.0.0.1:$BACKEND_PORT/hello") == hello ]] || { log "backend: /hello is not hello"; return 1; }
    # Its JIT warm-up once, directly (not measured), so the first proxy in line does not pay for it.
    log "backend: port $BACKEND_PORT, pid $BACKEND_PID, warming up"
    wrk -t1 -c50 -d"${WARMUP}s" "http://127.0.0.1:$BACKEND_PORT/hello" >"$raw" 2>&1
    wrk -t1 -c"$BIG_CONNECTIONS" -d"${WARMUP}s" "http://127.0.0.1:$BACKEND_PORT/1mb" >>"$raw" 2>&1
}

start_baton() { # start_baton LOGFILE ARGS...: `baton ARGS` until its ready line; sets STARTED_PID and PORT
    local log=$1
    start_bg "$log" "$BATON" "${@:2}"
    wait_line "$log" 'baton ready: https://127\.0\.0\.1:[0-9]+' "$STARTED_PID" || { cat "$log" >&2; return 1; }
    PORT=$(grep -oE 'baton ready: https://127\.0\.0\.1:[0-9]+' "$log" | head -1 | grep -oE '[0-9]+$')
}

start_contender() { # start_contender NAME; sets PORT, ROOTS (pids whose trees are the server), PATH_PREFIX
    local name=$1 dir=$WORK/$1
    mkdir -p "$dir"
    PORT=$(free_port) ROOTS=() CERT=$WORK/ecdsa.crt KEY=$WORK/ecdsa.key
    case $name in
        nginx) start_nginx "$name" nginx-tls.conf "$PORT" "$CERT" "$KEY" || return 1; ROOTS=("$STARTED_PID") ;;
        nginx-rsa) start_nginx "$name" nginx-tls.conf "$PORT" "$WORK/rsa.crt" "$WORK/rsa.key" || return 1; ROOTS=("$STARTED_PID") ;;
        nginx-proxy)
            ensure_backend || return 1
            start_nginx "$name" nginx-proxy.conf "$PORT" "$CERT" "$KEY" || return 1
            ROOTS=("$STARTED_PID" "$BACKEND_PID") ;;
        hitch-proxy)
            ensure_backend || return 1
            fill_template "$CONTENDERS_DIR/hitch.conf" "$dir/hitch.conf" PORT="$PORT" BACKEND_PORT="$BACKEND_PORT" PEM="$WORK/ecdsa.pem"
            start_bg "$dir/stdout.log" hitch --config="$dir/hitch.conf"
            wait_port "$PORT" "$STARTED_PID" || { cat "$dir/stdout.log" >&2; return 1; }
            ROOTS=("$STARTED_PID" "$BACKEND_PID") ;;
        haproxy-proxy | haproxy-tcp)
            # HTTP mode with pooled keep-alive connections, or TCP mode: one backend connection per client connection.
            local template=haproxy.cfg
            [[ $name == haproxy-tcp ]] && template=haproxy-tcp.cfg
            ensure_backend || return 1
            fill_template "$CONTENDERS_DIR/$template" "$dir/haproxy.cfg" PORT="$PORT" BACKEND_PORT="$BACKEND_PORT" PEM="$WORK/ecdsa.pem"
            start_bg "$dir/stdout.log" haproxy -db -f "$dir/haproxy.cfg"
            wait_port "$PORT" "$STARTED_PID" || { cat "$dir/stdout.log" >&2; return 1; }
            ROOTS=("$STARTED_PID" "$BACKEND_PID") ;;
        baton-proxy)
            # The front terminates TLS and hands each session to one of 2 relay workers, which relay to the shared app.
            ensure_backend || return 1
            fill_template "$CONTENDERS_DIR/baton-proxy.json" "$dir/baton.json" BACKEND_PORT="$BACKEND_PORT" TICKET_KEY="$WORK/ticket.key"
            start_baton "$dir/stdout.log" serve --config "$dir/baton.json" --listen 127.0.0.1:0 --cert "$CERT" --key "$KEY" || return 1
            ROOTS=("$STARTED_PID" "$BACKEND_PID") ;;
        yarp-proxy)
            ensure_backend || return 1
            start_bg "$dir/stdout.log" env OPENSSL_CONF="$CONTENDERS_DIR/openssl-server.cnf" "$YARP" "$PORT" "$CERT" "$KEY" "$BACKEND_PORT"
            wait_line "$dir/stdout.log" '^yarp ready' "$STARTED_PID" || { cat "$dir/stdout.log" >&2; return 1; }
            ROOTS=("$STARTED_PID" "$BACKEND_PID") ;;
        kestrel)
            start_bg "$dir/stdout.log" env OPENSSL_CONF="$CONTENDERS_DIR/openssl-server.cnf" "$KESTREL" "$PORT" "$CERT" "$KEY"
            wait_line "$dir/stdout.log" '^kestrel ready' "$STARTED_PID" || { cat "$dir/stdout.log" >&2; return 1; }
            ROOTS=("$STARTED_PID") ;;
        baton-passthrough | baton-handoff | baton-handoff-rsa)
            local mode=${name#baton-}
            mode=${mode%-rsa}
            [[ $name == *-rsa ]] && CERT=$WORK/rsa.crt KEY=$WORK/rsa.key
            Baton__SessionTickets__KeyFile="$WORK/ticket.key" start_baton "$dir/stdout.log" \
                serve --listen 127.0.0.1:0 --workers 2 --cert "$CERT" --key "$KEY" --mode "$mode" || return 1
            ROOTS=("$STARTED_PID") ;;
        *) die "unknown contender $name" ;;
    esac
    SERVER_PID=$STARTED_PID
}

stop_contender() { stop_pid "$SERVER_PID"; }

# ---------------------------------------------------------------- measurements
to_ms() { # wrk latency "812.00us" / "1.20ms" / "1.01s" -> milliseconds
    awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n += 0; else if (v ~ /s$/) n *= 1000; printf "%.2f", n }'
}

run_wrk() { # run_wrk URL CONNECTIONS RAWFILE -> "requests seconds req_per_s p50_ms p99_ms cpu_s errors"
    local url=$1 conns=$2 raw=$3 before after
    before=$(tree_cpu "${ROOTS[@]}")
    wrk -t1 -c"$conns" -d"${DURATION}s" --latency "$url" >"$raw" 2>&1
    after=$(tree_cpu "${ROOTS[@]}")
    local requests secs rps p50 p99 errors
    read -r requests secs < <(awk '/requests in/ { gsub(/,/, "", $1); gsub(/s,$/, "", $4); print $1, $4 }' "$raw")
    rps=$(awk '/^Requests\/sec:/ { print $2 }' "$raw")
    p50=$(to_ms "$(awk '$1 == "50%" { print $2 }' "$raw")")
    p99=$(to_ms "$(awk '$1 == "99%" { print $2 }' "$raw")")
    errors=$(awk '/Socket errors|Non-2xx/ { printf "%s ", $0 }' "$raw" | tr -s ' ' | tr ' ' '_')
    echo "${requests:-0} ${secs:-0} ${rps:-0} $p50 $p99 $(awk -v a="$after" -v b="$before" 'BEGIN { printf "%.3f", a - b }') ${errors:-none}"
}

handshake_client() { # handshake_client new|resume PORT PATH SECONDS: one client process, output on stdout
    if [[ $1 == new ]]; then
        # -new: a full handshake every time (never resumes). -www: one HTTP/1.0 request per connection, so
        # Baton's handoff mode hands each connection to a worker (its front reads the first request first).
        openssl s_time -connect "127.0.0.1:$2" -new -time "$4" -www "$3"
    else
        # One full handshake, then each connection resumes with the newest ticket (PSK with X25519, no
        # certificate); see resume_clients.py for why not `s_time -reuse`.
        python3 "$CONTENDERS_DIR/resume_clients.py" 127.0.0.1 "$2" "$3" "$4"
    fi
}

run_handshakes() { # run_handshakes PORT PATH RAWPREFIX new|resume [SECONDS] -> "handshakes wall_s cpu_s resumed failed"
    local port=$1 path=$2 raw=$3 mode=$4 seconds=${5:-$HS_DURATION} before after start end i pids=()
    before=$(tree_cpu "${ROOTS[@]}")
    start=$(date +%s.%N)
    for ((i = 0; i < HS_CLIENTS; i++)); do
        handshake_client "$mode" "$port" "$path" "$seconds" >"$raw.$i" 2>&1 &
        pids+=($!)
    done
    wait "${pids[@]}"
    end=$(date +%s.%N)
    after=$(tree_cpu "${ROOTS[@]}")
    local total resumed failed
    # s_time: "N connections in T real seconds" and one character per connection, 'r' where SSL_session_reused()
    # said the server accepted the offered session; resume_clients.py: "connections N resumed R ...".
    total=$(cat "$raw".* | awk '/connections in .* real seconds/ { n += $1 } /^connections [0-9]+ resumed/ { n += $2 } END { print n + 0 }')
    resumed=$(cat "$raw".* | awk '/^[*rt0-9]+$/ { n += gsub(/r/, "") } /^connections [0-9]+ resumed/ { n += $4 } END { print n + 0 }')
    failed=$(cat "$raw".* | awk '/^connections [0-9]+ resumed/ { n += $6 } END { print n + 0 }')
    echo "$total $(awk -v a="$end" -v b="$start" 'BEGIN { printf "%.3f", a - b }') $(awk -v a="$after" -v b="$before" 'BEGIN { printf "%.3f", a - b }') $resumed $failed"
}

negotiated_suite() {
    openssl s_client -connect "127.0.0.1:$1" -servername localhost </dev/null 2>/dev/null \
        | awk '/^New, / { gsub(/,/, ""); print $2 "/" $5; exit }'
}

# Result fields: R[NAME.MEASURE.RUN] = one line per run (report.py takes the median and the range of each figure).
declare -A R

measure_contender() {
    local name=$1 raw=$RESULTS/latest-raw/$1 base hello_path=/hello big_path=/1mb run lines
    mkdir -p "$raw"
    start_contender "$name" || { log "$name did not start"; R[$name.status]="did not start"; return 1; }
    base=https://127.0.0.1:$PORT
    R[$name.suite]=$(negotiated_suite "$PORT")
    R[$name.note]=""
    if [[ $(curl -sk "$base/hello") != hello ]]; then
        hello_path=/
        R[$name.note]+="/hello not served: keep-alive and handshakes measured on / ($(curl -sk "$base/" | wc -c) bytes). "
    fi
    if [[ $(curl -sk "$base/1mb" | wc -c) != 1048576 ]]; then
        big_path=""
        R[$name.note]+="/1mb not served: no transfer figure. "
    elif [[ $(curl -sk "$base/1mb" | sha256sum | cut -d' ' -f1) != "$BIG_SHA" ]]; then
        R[$name.note]+="/1mb serves other bytes than the others. "
    fi
    log "$name: port $PORT, suite ${R[$name.suite]}, server pids $(python3 "$CONTENDERS_DIR/proctree.py" pids "${ROOTS[@]}" | tr '\n' ' ')"

    # Warm-up, not measured: JIT tiering in the .NET servers (Kestrel, Baton), caches and pools everywhere. New
    # connections warm up under the measured load for three times as long: a .NET server's tiered JIT was still busy
    # after 8 s of it (bench/profile.sh showed a worker spending a third of its CPU in the JIT), and every later
    # connection path (handshake, handoff, Kestrel's connection setup) only tiers up under that load.
    wrk -t1 -c50 -d"${WARMUP}s" "$base$hello_path" >"$raw/warmup.txt" 2>&1
    run_handshakes "$PORT" "$hello_path" "$raw/warmup-new" new "$((3 * WARMUP))" >/dev/null
    handshake_client resume "$PORT" "$hello_path" "$WARMUP" >>"$raw/warmup.txt" 2>&1
    [[ -n $big_path ]] && wrk -t1 -c"$BIG_CONNECTIONS" -d"${WARMUP}s" "$base$big_path" >>"$raw/warmup.txt" 2>&1

    # RUNS rounds of the four measures, so the runs of one measure are spread over the contender's time
    # (the machine's noise drifts) rather than back to back.
    for ((run = 1; run <= RUNS; run++)); do
        R[$name.hello.$run]=$(run_wrk "$base$hello_path" 50 "$raw/wrk-hello.$run.txt")
        log "$name keep-alive run $run: ${R[$name.hello.$run]}"
        R[$name.hs_new.$run]=$(run_handshakes "$PORT" "$hello_path" "$raw/handshakes-new.$run" new)
        log "$name new handshakes run $run: ${R[$name.hs_new.$run]}"
        R[$name.hs_reuse.$run]=$(run_handshakes "$PORT" "$hello_path" "$raw/handshakes-resumed.$run" resume)
        log "$name resumed handshakes run $run: ${R[$name.hs_reuse.$run]}"
        if [[ -n $big_path ]]; then
            R[$name.big.$run]=$(run_wrk "$base$big_path" "$BIG_CONNECTIONS" "$raw/wrk-1mb.$run.txt")
            log "$name 1 MiB run $run: ${R[$name.big.$run]}"
        fi
    done
    stop_contender
    R[$name.status]=ok
}

# ---------------------------------------------------------------- idle connections: memory per connection
pss_of() { awk '/^Pss:/ { print $2 }' "/proc/$1/smaps_rollup" 2>/dev/null; }

measure_idle() { # measure_idle NAME: PSS of the server tree (and of its root alone) before/after IDLE idle TLS connections
    local name=$1 path=/hello before after root_before root_after out client opened
    start_contender "$name" || { log "$name did not start"; return 1; }
    [[ $(curl -sk "https://127.0.0.1:$PORT/hello") == hello ]] || path=/
    before=$(tree_mem "${ROOTS[@]}") root_before=$(pss_of "$SERVER_PID")
    out=$WORK/$name/idle.out
    start_bg "$out" python3 "$CONTENDERS_DIR/idle_clients.py" 127.0.0.1 "$PORT" "$IDLE" "$path"
    client=$STARTED_PID
    wait_line "$out" '^opened' "$client" 300 || log "$name idle: client did not finish: $(cat "$out")"
    opened=$(awk '/^opened/ { print $2 }' "$out")
    after=$(tree_mem "${ROOTS[@]}") root_after=$(pss_of "$SERVER_PID")
    # fields: opened, tree pss/rss/nprocs before, tree pss/rss/nprocs after, root pss before, root pss after
    R[$name.idle]="${opened:-0} $before $after $root_before $root_after"
    log "$name idle: $(head -2 "$out" | tr '\n' ' ') -> ${R[$name.idle]}"
    stop_pid "$client"
    stop_contender
}

# ---------------------------------------------------------------- openssl speed: the physical limits, one core
measure_speed() {
    local raw=$RESULTS/latest-raw/openssl-speed.txt
    openssl speed -seconds "$SPEED_SECONDS" ecdsap256 ecdhx25519 rsa2048 >"$raw" 2>/dev/null
    R[speed.ECDSA P-256 sign]=$(awk '/ecdsa \(nistp256\)/ { printf "%.0f", $(NF-1) }' "$raw")
    R[speed.X25519 derive]=$(awk '/ecdh \(X25519\)/ { printf "%.0f", $NF }' "$raw")
    R[speed.RSA-2048 sign]=$(awk '/^rsa 2048 bits/ { printf "%.0f", $(NF-1) }' "$raw")
    local cipher label
    for cipher in aes-256-gcm aes-128-gcm chacha20-poly1305; do
        openssl speed -seconds "$SPEED_SECONDS" -bytes 16384 -evp "$cipher" >>"$raw" 2>/dev/null
        label=$(tail -1 "$raw" | awk '{ printf "%.0f MiB/s", ($2 + 0) * 1000 / 1048576 }')
        R[speed.$cipher 16 KiB]=$label
    done
}

# ---------------------------------------------------------------- main
rm -rf "$RESULTS/latest-raw"
mkdir -p "$RESULTS/latest-raw"
R[meta.date]=$(date -u +'%Y-%m-%d %H:%M UTC')
R[meta.runs]=$RUNS
R[meta.line1]="machine: $(lscpu | awk -F: '/^Model name/ { gsub(/^ +/, "", $2); print $2 }'), $(nproc) CPUs; kernel $(uname -r); $(openssl version | cut -d' ' -f1-2); .NET SDK $(dotnet --version 2>/dev/null)"
R[meta.line2]="$(nginx -v 2>&1 | cut -d' ' -f3); hitch $(hitch --version 2>&1 | awk '{ print $2 }'); HAProxy $(haproxy -v | awk 'NR == 1 { print $3 }'); YARP $(grep -oE 'Yarp.ReverseProxy" Version="[^"]+' "$ROOT/bench/YarpProxy/YarpProxy.csproj" | cut -d'"' -f3); wrk $(wrk -v 2>&1 | awk 'NR == 1 { print $2 }')"
R[meta.line3]="settings: ${WARMUP}s warm-up of each load per contender ($((3 * WARMUP))s of new connections under the measured load; not measured), then wrk -t1 -c50 -d${DURATION}s (/hello), $HS_CLIENTS × openssl s_time -new -time $HS_DURATION -www /hello, $HS_CLIENTS × resume_clients.py /hello $HS_DURATION s, wrk -t1 -c$BIG_CONNECTIONS -d${DURATION}s (/1mb); $RUNS run(s) each"
R[meta.line4]="load average at start: $(cut -d' ' -f1-3 /proc/loadavg); busiest other processes: $(ps -eo pcpu,comm --sort=-pcpu --no-headers | head -4 | awk '{ printf "%s %s%%; ", $2, $1 }')"

if ((DO_SPEED)); then log "openssl speed"; measure_speed; fi
for name in $ALL; do
    wanted "$name" || continue
    log "== $name"
    measure_contender "$name"
done
[[ -n $BACKEND_PID ]] && { stop_pid "$BACKEND_PID"; BACKEND_PID=""; }
if ((DO_IDLE)); then
    for name in nginx baton-handoff hitch-proxy baton-proxy; do
        wanted "$name" || continue
        log "== $name: $IDLE idle connections"
        measure_idle "$name"
    done
fi
R[meta.line5]="load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"

for key in "${!R[@]}"; do printf '%s\t%s\n' "$key" "${R[$key]}"; done >"$RESULTS/latest-raw/results.tsv"
python3 "$CONTENDERS_DIR/report.py" "$RESULTS/latest-raw/results.tsv" >"$RESULTS/latest.md" || die "report failed"
cat "$RESULTS/latest.md"
