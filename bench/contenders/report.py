#!/usr/bin/env python3
"""Turns the raw figures bench/compare.sh collected into the markdown report.

usage: report.py RESULTS.tsv   (lines "key<TAB>value"; keys described in compare.sh) -> markdown on stdout

Per contender and measure there is one line per run (NAME.hello.N, NAME.hs_new.N, NAME.hs_reuse.N, NAME.big.N).
Every figure (a rate, a latency, a rate per server core) is computed per run; the tables show its median over
the runs and, with more than one run, the range (min–max). Ratios divide medians.
"""
import statistics
import sys

ORDER = ["nginx", "nginx-rsa", "nginx-proxy", "hitch-proxy", "haproxy-proxy", "haproxy-tcp", "yarp-proxy", "kestrel",
         "baton-passthrough", "baton-handoff", "baton-handoff-rsa", "baton-proxy"]
# TLS terminators in front of the one shared plain-HTTP app (bench/KestrelBackend): Baton's direct competition.
PROXIES = ["nginx-proxy", "hitch-proxy", "haproxy-proxy", "haproxy-tcp", "yarp-proxy"]
# The TCP relays (one backend connection per client connection): what Baton's proxy mode is measured against.
TCP_RELAYS = ["hitch-proxy", "haproxy-tcp"]
LABEL = {
    "nginx": "nginx serving itself (reference)",
    "nginx-rsa": "nginx serving itself, RSA-2048",
    "nginx-proxy": "nginx → app",
    "hitch-proxy": "hitch → app",
    "haproxy-proxy": "HAProxy → app",
    "haproxy-tcp": "HAProxy TCP mode → app",
    "baton-proxy": "Baton proxy → app",
    "yarp-proxy": "YARP → app",
    "kestrel": "Kestrel HTTPS (app with TLS)",
    "baton-passthrough": "Baton passthrough",
    "baton-handoff": "Baton handoff",
    "baton-handoff-rsa": "Baton handoff, RSA-2048",
}
# A resumed-handshake figure only counts as one when at least this share of its resumption attempts resumed.
RESUMED_ENOUGH = 0.9


def load(path):
    values = {}
    with open(path) as f:
        for line in f:
            key, _, value = line.rstrip("\n").partition("\t")
            values[key] = value
    return values


def run_lines(values, name, measure):
    """The split lines of NAME.MEASURE.1, .2, ... in run order."""
    runs, n = [], 1
    while f"{name}.{measure}.{n}" in values:
        text = values[f"{name}.{measure}.{n}"]
        if text:
            runs.append(text.split())
        n += 1
    return runs


def per_run(values, name):
    """{figure: [value of run 1, run 2, ...]} for one contender; a figure that cannot be computed is left out."""
    out = {}

    def add(key, value):
        if value is not None:
            out.setdefault(key, []).append(value)

    for f in run_lines(values, name, "hello"):
        requests, secs, rps, p50, p99, cpu = (float(x) for x in f[:6])
        add("rps", rps)
        add("p50", p50)
        add("p99", p99)
        add("rps_core", requests / cpu if cpu > 0 else None)
        add("cores_hello", cpu / secs if secs > 0 else None)
        if f[6] != "none":
            out.setdefault("wrk_errors", []).append(f[6])
    for measure, prefix in (("hs_new", "new"), ("hs_reuse", "res")):
        for f in run_lines(values, name, measure):
            count, wall, cpu = (float(x) for x in f[:3])
            resumed = float(f[3]) if len(f) > 3 else 0.0
            if len(f) > 4 and float(f[4]) > 0:
                out.setdefault(f"{prefix}_failed", []).append(int(float(f[4])))
            add(prefix, count / wall if wall > 0 else None)
            add(f"{prefix}_core", count / cpu if cpu > 0 else None)
            add(f"cores_{prefix}", cpu / wall if wall > 0 else None)
            add(f"{prefix}_resumed", resumed / count if count > 0 else None)
    for f in run_lines(values, name, "big"):
        requests, secs, rps, _, _, cpu = (float(x) for x in f[:6])
        add("mib", rps)
        add("mib_core", requests / cpu if cpu > 0 else None)
        add("cores_big", cpu / secs if secs > 0 else None)
    return out


def median(runs, key):
    v = runs.get(key)
    return statistics.median(v) if v else None


def fmt(value, digits=0):
    if value is None:
        return "n/a"
    return f"{value:,.{digits}f}"


def cell(runs, key, digits=0):
    """'median (min–max)', or the one value of a single run."""
    v = runs.get(key)
    if not v:
        return "n/a"
    if len(v) == 1:
        return fmt(v[0], digits)
    return f"{fmt(statistics.median(v), digits)} ({fmt(min(v), digits)}–{fmt(max(v), digits)})"


def resumed(runs):
    """Whether the resumed-handshake runs really resumed (the server accepted the session in ≥ RESUMED_ENOUGH of them)."""
    share = median(runs, "res_resumed")
    return share is not None and share >= RESUMED_ENOUGH


def resumed_cell(runs, key, digits=0):
    text = cell(runs, key, digits)
    if text != "n/a" and not resumed(runs):
        text += " ‡"
    return text


def ratio(a, b):
    return None if a is None or b is None or b == 0 else a / b


def rates_table(values, names, figs):
    rows = ["| contender | TLS | keep-alive req/s | p50 ms | p99 ms | new handshakes/s | resumed handshakes/s "
            "| resumed | 1 MiB: MiB/s |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for name in names:
        if values.get(f"{name}.status") != "ok":
            rows.append(f"| {LABEL[name]} | {values.get(name + '.status', 'not run')} |" + " |" * 7)
            continue
        r = figs[name]
        share = median(r, "res_resumed")
        rows.append(f"| {LABEL[name]} | {values.get(name + '.suite', '?')} | {cell(r, 'rps')} | {cell(r, 'p50', 2)} "
                    f"| {cell(r, 'p99', 2)} | {cell(r, 'new')} | {resumed_cell(r, 'res')} "
                    f"| {'n/a' if share is None else f'{share:.0%}'} | {cell(r, 'mib')} |")
    return rows


def core_table(values, names, figs):
    rows = ["| contender | req/s per server core | new handshakes/s per server core "
            "| resumed handshakes/s per server core | MiB/s per server core "
            "| server cores busy (keep-alive / new / resumed / 1 MiB) |",
            "|---|---:|---:|---:|---:|---|"]
    for name in names:
        if values.get(f"{name}.status") != "ok":
            continue
        r = figs[name]
        busy = " / ".join(fmt(median(r, k), 2) for k in ("cores_hello", "cores_new", "cores_res", "cores_big"))
        rows.append(f"| {LABEL[name]} | {cell(r, 'rps_core')} | {cell(r, 'new_core')} | {resumed_cell(r, 'res_core')} "
                    f"| {cell(r, 'mib_core')} | {busy} |")
    return rows


MEASURES = [("rps", "keep-alive req/s"), ("rps_core", "keep-alive req/s per server core"),
            ("new", "new handshakes/s"), ("new_core", "new handshakes/s per server core"),
            ("res", "resumed handshakes/s"), ("res_core", "resumed handshakes/s per server core"),
            ("mib", "1 MiB: MiB/s"), ("mib_core", "1 MiB: MiB/s per server core")]


def best_proxy(figs, key):
    """(name, median) of the proxy → app contender with the highest median for KEY; for resumed handshakes only
    among those that resumed."""
    best = None
    for name in PROXIES:
        r = figs.get(name)
        if not r or (key.startswith("res") and not resumed(r)):
            continue
        m = median(r, key)
        if m is not None and (best is None or m > best[1]):
            best = (name, m)
    return best


def best_proxy_table(figs):
    subjects = [s for s in ("baton-handoff", "baton-passthrough") if s in figs]
    if not subjects or not any(p in figs for p in PROXIES):
        return []
    rows = ["| measure | best proxy → same app (median) | " + " | ".join(f"{LABEL[s]} ÷ it" for s in subjects) + " |",
            "|---|---|" + "---:|" * len(subjects)]
    for key, what in MEASURES:
        best = best_proxy(figs, key)
        if best is None:
            rows.append(f"| {what} | n/a |" + " n/a |" * len(subjects))
            continue
        cells = []
        for s in subjects:
            value = median(figs[s], key)
            text = fmt(ratio(value, best[1]), 2)
            if key.startswith("res") and not resumed(figs[s]):
                text += " ‡"
            cells.append(text)
        rows.append(f"| {what} | {LABEL[best[0]]}: {fmt(best[1])} | " + " | ".join(cells) + " |")
    return rows


def ratio_table(figs, subject, others):
    rows = [f"| {LABEL[subject]} ÷ | req/s | req/s per core | new hs/s | new hs/s per core | resumed hs/s "
            "| resumed hs/s per core | MiB/s | MiB/s per core |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    s = figs.get(subject, {})
    for other in others:
        o = figs.get(other)
        if not o or other == subject:
            continue
        cells = []
        for key in ("rps", "rps_core", "new", "new_core", "res", "res_core", "mib", "mib_core"):
            text = fmt(ratio(median(s, key), median(o, key)), 2)
            if key.startswith("res") and text != "n/a" and not (resumed(s) and resumed(o)):
                text += " ‡"
            cells.append(text)
        rows.append(f"| {LABEL[other]} | " + " | ".join(cells) + " |")
    return rows


def verdict(value, target):
    if value is None:
        return "not measured"
    return f"{'met' if value >= target else 'missed'} ({value:.2f}×)"


def targets(figs, idle):
    def m(name, key):
        return median(figs.get(name, {}), key)

    h, p, n, k, hi = "baton-handoff", "baton-passthrough", "nginx", "kestrel", "hitch-proxy"
    rows = ["| measure (Baton handoff, per server core, medians) | target | result |", "|---|---|---|",
            f"| new handshakes/s per core | ≥ 1.0× nginx serving itself | {verdict(ratio(m(h, 'new_core'), m(n, 'new_core')), 1.0)} |",
            f"| keep-alive req/s per core | ≥ 1.0× nginx serving itself | {verdict(ratio(m(h, 'rps_core'), m(n, 'rps_core')), 1.0)} |",
            f"| keep-alive req/s per core | ≥ 1.3× Kestrel HTTPS | {verdict(ratio(m(h, 'rps_core'), m(k, 'rps_core')), 1.3)} |",
            f"| 1 MiB MiB/s per core | ≥ 1.0× nginx serving itself | {verdict(ratio(m(h, 'mib_core'), m(n, 'mib_core')), 1.0)} |",
            f"| 1 MiB MiB/s per core | ≥ 1.5× hitch → app | {verdict(ratio(m(h, 'mib_core'), m(hi, 'mib_core')), 1.5)} |"]
    for key, what in (("new_core", "new handshakes/s per core"), ("rps_core", "req/s per core"),
                      ("mib_core", "MiB/s per core")):
        rows.append(f"| passthrough {what} | ≥ 0.9× handoff | {verdict(ratio(m(p, key), m(h, key)), 0.9)} |")
    if idle.get("nginx") and idle.get("baton-handoff"):
        nginx_kib = idle["nginx"]["tree"]
        baton_kib = idle["baton-handoff"]["workers"]
        ok = baton_kib <= nginx_kib / 2
        rows.append(f"| worker PSS per idle handed-off connection | ≤ ½ nginx's | {'met' if ok else 'missed'} "
                    f"({baton_kib:.1f} KiB vs nginx {nginx_kib:.1f} KiB) |")
    return rows


def proxy_targets(figs, idle):
    """Baton's proxy mode against the better of hitch and HAProxy in TCP mode, in front of the same app."""
    rows = []
    for key, what in (("new_core", "new handshakes/s per core"), ("rps_core", "keep-alive req/s per core"),
                      ("mib_core", "1 MiB MiB/s per core")):
        best = best_proxy({n: figs[n] for n in TCP_RELAYS if n in figs}, key)
        value = median(figs.get("baton-proxy", {}), key)
        target = f"≥ 1.2× the better of hitch and HAProxy TCP ({LABEL[best[0]]})" if best else "≥ 1.2× hitch / HAProxy TCP"
        rows.append(f"| proxy mode {what} | {target} | {verdict(ratio(value, best[1]) if best else None, 1.2)} |")
    if idle.get("hitch-proxy") and idle.get("baton-proxy"):
        hitch_kib, baton_kib = idle["hitch-proxy"]["tree"], idle["baton-proxy"]["tree"]
        rows.append(f"| proxy mode PSS per idle proxied connection (whole tree) | ≤ hitch's | "
                    f"{'met' if baton_kib <= hitch_kib else 'missed'} ({baton_kib:.1f} KiB vs hitch {hitch_kib:.1f} KiB) |")
    return rows


def idle_figures(values):
    out = {}
    for name in ORDER:
        text = values.get(f"{name}.idle", "")
        f = text.split()
        if len(f) < 9:
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
    figs = {n: per_run(values, n) for n in names if values.get(f"{n}.status") == "ok"}
    idle = idle_figures(values)
    runs = values.get("meta.runs", "?")
    spread = "median of 1 run" if runs == "1" else f"median (min–max) of {runs} runs"
    out = [f"# Baton vs what users would pick instead — {values.get('meta.date', '')}", ""]
    out += [f"- {values[k]}" for k in sorted(values) if k.startswith("meta.line")]
    out += ["- \"→ app\": TLS terminated by the proxy, requests forwarded to the one shared plain-HTTP Kestrel app "
            "(bench/KestrelBackend), which runs the same code and serves the same bytes as Baton's built-in worker; "
            "nginx, HAProxy and YARP keep pooled keep-alive connections to it, hitch (a TCP proxy) opens one per "
            "client connection. \"nginx serving itself\" answers from its own config and disk: the reference for the "
            "TLS machinery, not an app."]
    out += ["", "## Rates and latency", ""] + rates_table(values, names, figs)
    out += ["", f"Each cell: {spread} of that measure. New handshakes: `openssl s_time -new`; resumed: "
            "`resume_clients.py` (one full handshake, then each connection offers the newest ticket). \"resumed\": the "
            "share of those connections the server resumed (`SSL_session_reused`: its ServerHello accepted the "
            f"ticket); ‡ marks a \"resumed\" figure where fewer than {RESUMED_ENOUGH:.0%} resumed, i.e. mostly full "
            "handshakes."]
    out += ["", "## Per core of server CPU", ""] + core_table(values, names, figs)
    out += ["", "Per server core = count ÷ CPU seconds (utime + stime) of the server's whole process tree during the "
            "run: for \"→ app\" rows the proxy plus the backend app, for Baton its front plus its workers. "
            "\"cores busy\" = that CPU time ÷ wall time (medians)."]
    best = best_proxy_table(figs)
    if best:
        out += ["", "## Baton ÷ best proxy → same app", ""] + best
        out += ["", "Per measure the proxy → app contender with the highest median, and Baton's median ÷ it "
                "(for resumed handshakes only proxies that resumed)."]
    for subject in ("baton-handoff", "baton-passthrough", "baton-proxy"):
        if subject in figs:
            out += ["", f"## Ratios: {LABEL[subject]} ÷ contender (medians, same invocation)", ""]
            out += ratio_table(figs, subject, names)
    if "baton-handoff-rsa" in figs and "nginx-rsa" in figs:
        out += ["", "## Ratios with RSA-2048 certificates", ""] + ratio_table(figs, "baton-handoff-rsa", ["nginx-rsa"])
    if idle:
        out += ["", "## Memory per idle TLS connection (PSS, from /proc/PID/smaps_rollup)", ""] + idle_table(idle)
    out += ["", "## Against the issue's targets", ""] + targets(figs, idle)
    if "baton-proxy" in figs:
        out += proxy_targets(figs, idle)
    speed = sorted((k[len("speed."):], v) for k, v in values.items() if k.startswith("speed."))
    if speed:
        out += ["", "## Physical limits: `openssl speed`, one core", "", "| operation | per second |", "|---|---:|"]
        out += [f"| {k} | {v} |" for k, v in speed]
    notes = [f"- {LABEL[n]}: {values[n + '.note']}" for n in names if values.get(n + ".note")]
    for n, r in figs.items():
        if r.get("wrk_errors"):
            notes.append(f"- {LABEL[n]}: wrk reported {'; '.join(e.replace('_', ' ').strip() for e in r['wrk_errors'])}")
        if r.get("res_resumed") and not resumed(r):
            notes.append(f"- {LABEL[n]}: {median(r, 'res_resumed'):.0%} of the resumption attempts resumed: "
                         "its \"resumed\" figures are (mostly) full handshakes (‡)")
        if r.get("res_failed"):
            notes.append(f"- {LABEL[n]}: resume_clients.py had {sum(r['res_failed'])} failed connection(s) "
                         "(first error in latest-raw/)")
        if r.get("new_resumed") and max(r["new_resumed"]) > 0:
            notes.append(f"- {LABEL[n]}: {max(r['new_resumed']):.0%} of the s_time -new connections resumed (should be none)")
    if notes:
        out += ["", "## Notes", ""] + notes
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
