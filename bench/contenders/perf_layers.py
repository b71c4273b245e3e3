#!/usr/bin/env python3
"""µs of CPU per connection by process role and layer, from `perf report --sort pid,dso -F sample,pid,dso -t ';'`.

usage: perf_layers.py REPORT CONNECTIONS TIDS_FILE [--threads]
TIDS_FILE holds one "role=tid,tid,..." line per role (perf counts threads, so each role lists its processes' threads).
Prints one markdown row per role, then one for the openssl clients: "| role | total | libcrypto | ... | other |".
With --threads: per role, µs per connection by thread name instead (which threads of a process do the work).
Samples are at 999 Hz (bench/profile.sh's perf record -F 999).
"""
import re
import sys

US_PER_SAMPLE = 1e6 / 999
LAYERS = ["libcrypto", "libssl", "kernel", "libc", ".NET code", "coreclr", "other"]


def layer(dso):
    if dso.startswith("[kernel") or dso == "[vdso]":
        return "kernel"
    if "libcrypto" in dso:
        return "libcrypto"
    if "libssl" in dso:
        return "libssl"
    if dso.startswith(("libc.so", "libc-", "libm.so")):
        return "libc"
    if "libcoreclr" in dso or "libclrjit" in dso:
        return "coreclr"
    if dso.startswith(("[JIT]", "perf-")) or dso.endswith(".dll") or dso == "[unknown]" or "doublemapper" in dso:
        return ".NET code"
    return "other"


def main(report, connections, tids_file, mode=None):
    connections = max(int(connections), 1)
    roles = {}
    for line in open(tids_file):
        role, _, tids = line.strip().partition("=")
        roles[role] = {int(t) for t in tids.split(",") if t}
    order = list(roles) + ["openssl s_time"]
    totals = {role: dict.fromkeys(LAYERS, 0) for role in order}
    threads = {role: {} for role in order}
    for line in open(report):
        m = re.match(r"\s*(\d+)\s*;\s*(\d+):(.*?)\s*;(.+?)\s*$", line)
        if not m:
            continue
        samples, tid, comm, dso = int(m[1]), int(m[2]), m[3], m[4].strip()
        role = next((r for r, tids in roles.items() if tid in tids), "openssl s_time" if comm == "openssl" else None)
        if role is not None:
            totals[role][layer(dso)] += samples
            threads[role][comm] = threads[role].get(comm, 0) + samples
    if mode == "--threads":
        for role in order:
            named = sorted(threads[role].items(), key=lambda item: -item[1])
            print(f"{role}: " + ", ".join(f"{name} {n * US_PER_SAMPLE / connections:.0f}" for name, n in named if n * US_PER_SAMPLE / connections >= 1))
        return
    for role in order:
        per = {k: v * US_PER_SAMPLE / connections for k, v in totals[role].items()}
        print(f"| {role} | {sum(per.values()):.0f} | " + " | ".join(f"{per[k]:.0f}" for k in LAYERS) + " |")


if __name__ == "__main__":
    main(*sys.argv[1:])
