#!/usr/bin/env python3
"""Turns the raw figures bench/compare.sh collected into the markdown report.

usage: report.py RESULTS.tsv   (lines "key<TAB>value"; keys described in compare.sh) -> markdown on stdout
"""
import sys

ORDER = ["nginx", "nginx-rsa", "hitch", "haproxy", "kestrel",
         "baton-passthrough", "baton-handoff", "baton-handoff-rsa"]
LABEL = {
    "nginx": "nginx (TLS itself, 2 workers)",
    "nginx-rsa": "nginx, RSA-2048 certificate",
    "hitch": "hitch (2 workers) → nginx",
    "haproxy": "HAProxy (2 threads) → nginx",
    "kestrel": "Kestrel HTTPS",
    "baton-passthrough": "Baton passthrough (2 workers)",
    "baton-handoff": "Baton handoff (2 workers)",
    "baton-handoff-rsa": "Baton handoff, RSA-2048 certificate",
}


def load(path):
    values = {}
    with open(path) as f:
        for line in f:
            key, _, value = line.rstrip("\n").partition("\t")
            values[key] = value
    return values


def fields(values, key):
    text = values.get(key, "")
    return text.split() if text else None


def figures(values, name):
    """Rates and per-server-core rates of the best run of each measure; None where not measured."""
    out = {}
    hello = fields(values, f"{name}.hello")
    if hello:
        requests, _, rps, p50, p99, cpu = (float(x) for x in hello[:6])
        out.update(rps=rps, p50=p50, p99=p99, rps_core=requests / cpu if cpu > 0 else None,
                   cores_hello=cpu / float(hello[1]) if float(hello[1]) > 0 else None)
        out["wrk_errors"] = hello[6] if hello[6] != "none" else None
    hs = fields(values, f"{name}.hs")
    if hs:
        count, wall, cpu = (float(x) for x in hs)
        out.update(hs=count / wall if wall > 0 else None, hs_core=count / cpu if cpu > 0 else None,
                   cores_hs=cpu / wall if wall > 0 else None)
    big = fields(values, f"{name}.big")
    if big:
        requests, secs, rps, _, _, cpu = (float(x) for x in big[:6])
        out.update(mib=rps, mib_core=requests / cpu if cpu > 0 else None, cores_big=cpu / secs if secs > 0 else None)
    return out


def fmt(value, digits=0):
    if value is None:
        return "n/a"
    return f"{value:,.{digits}f}"


def ratio(a, b):
    return None if a is None or b is None or b == 0 else a / b


def main_table(values, names, figs):
    rows = ["| contender | TLS | keep-alive req/s | p50 ms | p99 ms | full handshakes/s | 1 MiB: MiB/s "
            "| req/s per server core | handshakes/s per server core | MiB/s per server core "
            "| server cores busy (keep-alive / handshakes / 1 MiB) |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for name in names:
        if values.get(f"{name}.status") != "ok":
            rows.append(f"| {LABEL[name]} | {values.get(name + '.status', 'not run')} |" + " |" * 9)
            continue
        f = figs[name]
        busy = " / ".join(fmt(f.get(k), 2) for k in ("cores_hello", "cores_hs", "cores_big"))
        rows.append(f"| {LABEL[name]} | {values.get(name + '.suite', '?')} | {fmt(f.get('rps'))} | {fmt(f.get('p50'), 2)} "
                    f"| {fmt(f.get('p99'), 2)} | {fmt(f.get('hs'))} | {fmt(f.get('mib'))} | {fmt(f.get('rps_core'))} "
                    f"| {fmt(f.get('hs_core'))} | {fmt(f.get('mib_core'))} | {busy} |")
    return rows


def ratio_table(figs, subject, others):
    rows = [f"| {LABEL[subject]} ÷ | req/s | req/s per core | handshakes/s | handshakes/s per core | MiB/s | MiB/s per core |",
            "|---|---:|---:|---:|---:|---:|---:|"]
    s = figs.get(subject, {})
    for other in others:
        o = figs.get(other)
        if not o or other == subject:
            continue
        cells = [fmt(ratio(s.get(k), o.get(k)), 2) for k in ("rps", "rps_core", "hs", "hs_core", "mib", "mib_core")]
        rows.append(f"| {LABEL[other]} | " + " | ".join(cells) + " |")
    return rows


def verdict(value, target):
    if value is None:
        return "not measured"
    return f"{'met' if value >= target else 'missed'} ({value:.2f}×)"


def targets(figs, idle):
    h, p = figs.get("baton-handoff", {}), figs.get("baton-passthrough", {})
    n, k, hi = figs.get("nginx", {}), figs.get("kestrel", {}), figs.get("hitch", {})
    rows = ["| measure (Baton handoff, per server core) | target | result |", "|---|---|---|",
            f"| full handshakes/s per core | ≥ 1.0× nginx | {verdict(ratio(h.get('hs_core'), n.get('hs_core')), 1.0)} |",
            f"| keep-alive req/s per core | ≥ 1.0× nginx | {verdict(ratio(h.get('rps_core'), n.get('rps_core')), 1.0)} |",
            f"| keep-alive req/s per core | ≥ 1.3× Kestrel | {verdict(ratio(h.get('rps_core'), k.get('rps_core')), 1.3)} |",
            f"| 1 MiB MiB/s per core | ≥ 1.0× nginx | {verdict(ratio(h.get('mib_core'), n.get('mib_core')), 1.0)} |",
            f"| 1 MiB MiB/s per core | ≥ 1.5× hitch→nginx | {verdict(ratio(h.get('mib_core'), hi.get('mib_core')), 1.5)} |"]
    for key, what in (("hs_core", "handshakes/s per core"), ("rps_core", "req/s per core"), ("mib_core", "MiB/s per core")):
        rows.append(f"| passthrough {what} | ≥ 0.9× handoff | {verdict(ratio(p.get(key), h.get(key)), 0.9)} |")
    if idle.get("nginx") and idle.get("baton-handoff"):
        nginx_kib = idle["nginx"]["tree"]
        baton_kib = idle["baton-handoff"]["workers"]
        ok = baton_kib <= nginx_kib / 2
        rows.append(f"| worker PSS per idle handed-off connection | ≤ ½ nginx's | {'met' if ok else 'missed'} "
                    f"({baton_kib:.1f} KiB vs nginx {nginx_kib:.1f} KiB) |")
    return rows


def idle_figures(values):
    out = {}
    for name in ORDER:
        f = fields(values, f"{name}.idle")
        if not f or len(f) < 9:
            continue
        opened = int(f[0])
        pss0, rss0, n0, pss1, rss1, n1, root0, root1 = (float(x) for x in f[1:9])
        if opened <= 0:
            continue
        tree = (pss1 - pss0) / opened
        # Baton's root is the front; the workers are the rest of the tree. nginx's root is the master (idle).
        workers = ((pss1 - root1) - (pss0 - root0)) / opened
        out[name] = dict(opened=opened, pss0=pss0, pss1=pss1, rss0=rss0, rss1=rss1, tree=tree, workers=workers,
                         root=(root1 - root0) / opened)
    return out


def idle_table(idle):
    rows = ["| server | idle TLS connections | tree PSS before → after (MiB) | tree RSS before → after (MiB) "
            "| PSS per connection, whole tree | root process | the rest (workers) |",
            "|---|---:|---|---|---:|---:|---:|"]
    for name, i in idle.items():
        rows.append(f"| {LABEL[name]} | {i['opened']:,} | {i['pss0'] / 1024:.1f} → {i['pss1'] / 1024:.1f} "
                    f"| {i['rss0'] / 1024:.1f} → {i['rss1'] / 1024:.1f} | {i['tree']:.1f} KiB | {i['root']:.1f} KiB "
                    f"| {i['workers']:.1f} KiB |")
    return rows


def main(argv):
    values = load(argv[1])
    names = [n for n in ORDER if f"{n}.status" in values]
    figs = {n: figures(values, n) for n in names if values.get(f"{n}.status") == "ok"}
    idle = idle_figures(values)
    out = [f"# Baton vs nginx, hitch, HAProxy, Kestrel — {values.get('meta.date', '')}", ""]
    out += [f"- {values[k]}" for k in sorted(values) if k.startswith("meta.line")]
    out += ["", "## Throughput, latency, handshakes", ""] + main_table(values, names, figs)
    out += ["", f"Best of {values.get('meta.runs', '?')} run(s) of each measure, by its throughput; p50/p99 and server "
            "CPU from that same run. Per server core = count ÷ CPU seconds of the server's whole process tree "
            "(backends included) during the run.", ""]
    for subject in ("baton-handoff", "baton-passthrough"):
        if subject in figs:
            out += ["", f"## Ratios: {LABEL[subject]} ÷ contender (same run)", ""] + ratio_table(figs, subject, names)
    if "baton-handoff-rsa" in figs and "nginx-rsa" in figs:
        out += ["", "## Ratios with RSA-2048 certificates", ""] + ratio_table(figs, "baton-handoff-rsa", ["nginx-rsa"])
    if idle:
        out += ["", "## Memory per idle TLS connection (PSS, from /proc/PID/smaps_rollup)", ""] + idle_table(idle)
    out += ["", "## Against the issue's targets", ""] + targets(figs, idle)
    speed = sorted((k[len("speed."):], v) for k, v in values.items() if k.startswith("speed."))
    if speed:
        out += ["", "## Physical limits: `openssl speed`, one core", "", "| operation | per second |", "|---|---:|"]
        out += [f"| {k} | {v} |" for k, v in speed]
    notes = [f"- {LABEL[n]}: {values[n + '.note']}" for n in names if values.get(n + ".note")]
    notes += [f"- {LABEL[n]}: wrk reported {figs[n]['wrk_errors'].replace('_', ' ')}" for n in figs if figs[n].get("wrk_errors")]
    if notes:
        out += ["", "## Notes", ""] + notes
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
