#!/usr/bin/env bash
# Where a new connection's CPU goes in Baton handoff mode: perf over the whole machine while openssl s_time makes
# full handshakes (one /hello request each), then µs of CPU per connection by process (front, workers, clients) and
# by layer (libcrypto, libssl, kernel, libc, .NET code, coreclr). Writes bench/results/profile.md and prints it.
#
# usage: [WARMUP=S] [KEEP=1] bench/profile.sh [--seconds S] [--clients N] [--mode handoff|passthrough]
#   WARMUP (default 15 s): the workers' tiered JIT is busy for about 20 s of load; KEEP=1 keeps perf.data.
# Needs root (perf over every process), perf (linux-perf) and the .NET 10 SDK. Run on a quiet machine.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SECONDS_LOADED=15 CLIENTS=4 MODE=handoff WARMUP=${WARMUP:-15}
while (($#)); do
    case $1 in
        --seconds) SECONDS_LOADED=$2; shift ;;
        --clients) CLIENTS=$2; shift ;;
        --mode) MODE=$2; shift ;;
        -h|--help) sed -n '2,7p' "${BASH_SOURCE[0]}"; exit 0 ;;
        *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
    shift
done
command -v perf >/dev/null || apt-get install -y -q linux-perf >/dev/null || { echo "perf is missing" >&2; exit 1; }

WORK=$(mktemp -d /tmp/baton-profile.XXXXXX)
BATON_PID=
cleanup() {
    [[ -n $BATON_PID ]] && kill -TERM "$BATON_PID" 2>/dev/null && wait "$BATON_PID" 2>/dev/null
    if [[ -n ${KEEP:-} ]]; then echo "kept $WORK (perf.data, report.txt, tids)" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

echo "building Baton (Release)" >&2
dotnet build -c Release "$ROOT/src/Baton.Cli" >"$WORK/build.log" 2>&1 || { cat "$WORK/build.log" >&2; exit 1; }
BATON=$(find "$ROOT/src/Baton.Cli/bin/Release" -name baton -type f -perm -u+x | head -1)
openssl ecparam -name prime256v1 -genkey -noout -out "$WORK/key.pem" 2>/dev/null
openssl req -x509 -new -key "$WORK/key.pem" -subj /CN=localhost -days 2 -out "$WORK/cert.pem" 2>/dev/null

# JIT frames named in perf's report (perf-PID.map), as docs/benchmarks.md's earlier profiles were taken.
DOTNET_PerfMapEnabled=1 DOTNET_EnableWriteXorExecute=0 "$BATON" serve --listen 127.0.0.1:0 --workers 2 \
    --cert "$WORK/cert.pem" --key "$WORK/key.pem" --mode "$MODE" >"$WORK/baton.log" 2>&1 </dev/null &
BATON_PID=$!
for ((i = 0; i < 600; i++)); do
    grep -qE 'baton ready: https://127\.0\.0\.1:[0-9]+' "$WORK/baton.log" && break
    kill -0 "$BATON_PID" 2>/dev/null || { cat "$WORK/baton.log" >&2; exit 1; }
    sleep 0.1
done
PORT=$(grep -oE 'baton ready: https://127\.0\.0\.1:[0-9]+' "$WORK/baton.log" | head -1 | grep -oE '[0-9]+$')
[[ -n $PORT ]] || { echo "baton did not become ready" >&2; cat "$WORK/baton.log" >&2; exit 1; }
WORKERS=$(pgrep -P "$BATON_PID" | paste -sd, -)

load() { # load SECONDS: CLIENTS s_time processes; prints the total connections made
    local i pids=()
    for ((i = 0; i < CLIENTS; i++)); do
        openssl s_time -connect "127.0.0.1:$PORT" -new -time "$1" -www /hello >"$WORK/stime.$i" 2>&1 &
        pids+=($!)
    done
    wait "${pids[@]}"
    cat "$WORK"/stime.* | awk '/connections in [0-9.]+ real/ { n += $1 } END { print n + 0 }'
}

echo "warming up ${WARMUP}s, then perf for ${SECONDS_LOADED}s under $CLIENTS clients (front $BATON_PID, workers $WORKERS)" >&2
load "$WARMUP" >/dev/null
perf record -F 999 -a -g -o "$WORK/perf.data" -- sleep "$((SECONDS_LOADED + 1))" 2>"$WORK/perf-record.log" &
PERF_PID=$!
CONNECTIONS=$(load "$SECONDS_LOADED")
# perf names threads, not processes: every thread of the front and of each worker, taken while they all still run.
ls "/proc/$BATON_PID/task" | paste -sd, - >"$WORK/front.tids"
for w in ${WORKERS//,/ }; do ls "/proc/$w/task"; done | paste -sd, - >"$WORK/worker.tids"
wait "$PERF_PID"

perf report -i "$WORK/perf.data" --stdio --no-children -g none --sort pid,dso -F sample,pid,dso -t ';' 2>/dev/null \
    >"$WORK/report.txt"
python3 - "$WORK/report.txt" "$CONNECTIONS" "$(cat "$WORK/front.tids")" "$(cat "$WORK/worker.tids")" "$MODE" "$SECONDS_LOADED" "$CLIENTS" >"$ROOT/bench/results/profile.md" <<'PY'
import re, sys
report, connections, front, workers, mode, seconds, clients = sys.argv[1:]
connections = int(connections)
front, workers = ({int(t) for t in tids.split(",") if t} for tids in (front, workers))
US_PER_SAMPLE = 1e6 / 999

def layer(dso):
    if dso.startswith("[kernel") or dso in ("[vdso]",): return "kernel"
    if "libcrypto" in dso: return "libcrypto"
    if "libssl" in dso: return "libssl"
    if dso.startswith("libc.so") or dso.startswith("libc-") or "libm.so" in dso: return "libc"
    if "libcoreclr" in dso or "libclrjit" in dso or "System.Private.CoreLib" in dso and dso.endswith(".so"): return "coreclr"
    if dso.startswith(("[JIT]", "perf-")) or dso.endswith(".dll") or dso == "[unknown]" or "doublemapper" in dso: return ".NET code"
    return "other"

LAYERS = ["libcrypto", "libssl", "kernel", "libc", ".NET code", "coreclr", "other"]
rows = {}
for line in open(report):
    m = re.match(r"\s*(\d+)\s*;\s*(\d+):(.*?)\s*;(.+?)\s*$", line)
    if not m: continue
    samples, pid, comm, dso = int(m[1]), int(m[2]), m[3], m[4].strip()
    who = "front" if pid in front else "workers" if pid in workers else "openssl s_time" if comm == "openssl" else None
    if who is None: continue
    rows.setdefault(who, dict.fromkeys(LAYERS, 0))[layer(dso)] += samples

print(f"# Profile: Baton {mode}, new connections\n")
print(f"{clients} × `openssl s_time -new -www /hello` for {seconds} s: {connections} connections; "
      f"`perf record -F 999 -a -g`. µs of CPU per connection:\n")
print("| process | total | " + " | ".join(LAYERS) + " |")
print("|---|---:|" + "---:|" * len(LAYERS))
for who in ("front", "workers", "openssl s_time"):
    if who not in rows: continue
    per = {k: v * US_PER_SAMPLE / max(connections, 1) for k, v in rows[who].items()}
    print(f"| {who} | {sum(per.values()):.0f} | " + " | ".join(f"{per[k]:.0f}" for k in LAYERS) + " |")
PY
cat "$ROOT/bench/results/profile.md"
# The top symbols of the front and of the workers, for the reader who wants the detail behind the table.
for role in front worker; do
    echo "## $role: top symbols (% of all samples on the machine)"
    perf report -i "$WORK/perf.data" --stdio --no-children -g none --tid "$(cat "$WORK/$role.tids")" --sort dso,sym \
        --percent-limit 0.3 2>/dev/null | grep -E "^ +[0-9.]+%" | head -40
done >"$ROOT/bench/results/profile-symbols.txt"
echo "top symbols: bench/results/profile-symbols.txt" >&2
