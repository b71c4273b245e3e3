#!/usr/bin/env python3
"""CPU time and memory of whole process trees, read from /proc, for bench/compare.sh.

usage: proctree.py cpu PID...   -> CPU seconds (utime+stime, plus reaped children) of PIDs and all descendants
       proctree.py mem PID...   -> "PSS_KB RSS_KB NPROCS" summed over PIDs and all descendants
       proctree.py pids PID...  -> the pids of the trees, one per line
A server's cost is its whole tree (nginx master + workers, Baton front + workers), and for a proxy contender
the proxy's tree plus the backend app's (compare.sh passes both pids), so every figure per server core in the
report divides by this sum.
"""
import os
import sys

TICKS = os.sysconf("SC_CLK_TCK")


def stat_fields(pid):
    with open(f"/proc/{pid}/stat") as f:
        text = f.read()
    # The command name may hold spaces and parentheses: split after the LAST ')'.
    return text[text.rindex(")") + 2:].split()


def tree(roots):
    children = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                children.setdefault(int(stat_fields(entry)[1]), []).append(int(entry))
            except (OSError, ValueError):
                pass  # exited while scanning
    seen, todo = [], [int(r) for r in roots]
    while todo:
        pid = todo.pop()
        if pid not in seen and os.path.exists(f"/proc/{pid}"):
            seen.append(pid)
            todo.extend(children.get(pid, []))
    return seen


def cpu_seconds(pids):
    total = 0
    for pid in pids:
        try:
            f = stat_fields(pid)
        except OSError:
            continue
        # utime, stime, cutime, cstime (fields 14-17); cutime/cstime only hold children already reaped,
        # which are no longer in the tree, so nothing is counted twice.
        total += sum(int(x) for x in f[11:15])
    return total / TICKS


def memory_kb(pids):
    pss = rss = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Pss:"):
                        pss += int(line.split()[1])
                    elif line.startswith("Rss:"):
                        rss += int(line.split()[1])
        except OSError:
            continue
    return pss, rss


def main(argv):
    if len(argv) < 3 or argv[1] not in ("cpu", "mem", "pids"):
        print(__doc__, file=sys.stderr)
        return 2
    pids = tree(argv[2:])
    if argv[1] == "cpu":
        print(f"{cpu_seconds(pids):.3f}")
    elif argv[1] == "mem":
        pss, rss = memory_kb(pids)
        print(pss, rss, len(pids))
    else:
        print("\n".join(str(p) for p in pids))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
