#!/usr/bin/env python3
"""Draws docs/img/scale.svg from docs/scale.json (the output of
`roster bench scale --local 3,10,30,100 --json docs/scale.json`, one or
more runs concatenated); with --table, prints the Markdown table of
docs/scale.md instead. --profile NAME keeps the results of one gossip
profile (default: shared).

Four panels against the number of nodes (log scale): bytes each node sends
per second (idle: gossip and peer traffic; under load), CPU per node, RSS
per node, and the times (members converged, write visible p99, SIGKILL
detected). Python 3 standard library only.
"""
import json
import math
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
W, H = 900, 620
PW, PH = 380, 220  # one panel's plot area
COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd"]


def esc(s):
    return s.replace("&", "&amp;").replace("<", "&lt;")


def panel(out, x0, y0, title, xs, series, unit, ylog=False):
    """One panel at (x0, y0): series is [(label, [y per x])]."""
    ys = [v for _, vals in series for v in vals if v is not None]
    lo = min(ys) if ylog else 0.0
    hi = max(ys) if ys else 1.0
    if ylog:
        lo, hi = math.log10(max(lo, 1e-9)) - 0.1, math.log10(max(hi, 1e-9)) + 0.1
    else:
        hi = hi * 1.1 or 1.0
    lx0, lx1 = math.log10(min(xs)) - 0.1, math.log10(max(xs)) + 0.1

    def px(x):
        return x0 + (math.log10(x) - lx0) / (lx1 - lx0) * PW

    def py(y):
        v = math.log10(max(y, 1e-9)) if ylog else y
        return y0 + PH - (v - lo) / (hi - lo) * PH

    out.append(f'<text x="{x0}" y="{y0 - 12}" font-weight="bold">{esc(title)}</text>')
    out.append(f'<rect x="{x0}" y="{y0}" width="{PW}" height="{PH}" fill="none" stroke="#999"/>')
    for x in xs:
        out.append(f'<line x1="{px(x):.1f}" y1="{y0}" x2="{px(x):.1f}" y2="{y0 + PH}" stroke="#eee"/>')
        out.append(f'<text x="{px(x):.1f}" y="{y0 + PH + 16}" text-anchor="middle">{x}</text>')
    for i in range(5):
        v = lo + (hi - lo) * i / 4
        label = 10 ** v if ylog else v
        out.append(f'<text x="{x0 - 6}" y="{y0 + PH - PH * i / 4 + 4:.1f}" text-anchor="end">{fmt(label)}</text>')
    out.append(f'<text x="{x0 + PW / 2}" y="{y0 + PH + 34}" text-anchor="middle">nodes</text>')
    out.append(f'<text x="{x0 + PW}" y="{y0 - 12}" text-anchor="end" fill="#666">{esc(unit)}</text>')
    for k, (label, vals) in enumerate(series):
        pts = [(px(x), py(v)) for x, v in zip(xs, vals) if v is not None]
        c = COLORS[k % len(COLORS)]
        out.append('<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>'
                   % (c, " ".join(f"{a:.1f},{b:.1f}" for a, b in pts)))
        for a, b in pts:
            out.append(f'<circle cx="{a:.1f}" cy="{b:.1f}" r="3" fill="{c}"/>')
        out.append(f'<text x="{x0 + 8}" y="{y0 + 18 + 16 * k}" fill="{c}">{esc(label)}</text>')


def fmt(v):
    if v >= 1e6:
        return f"{v / 1e6:.3g}M"
    if v >= 1e3:
        return f"{v / 1e3:.3g}k"
    return f"{v:.3g}"


TABLE = [  # (JSON key, row label, format)
    ("members_converged_ms", "all members seen, from the last start (ms)", "{:,.0f}"),
    ("ready_ms", "all ready (ms)", "{:,.0f}"),
    ("start_heard_requests_per_node", "last-heard requests a node sent during the start", "{:,.0f}"),
    ("start_cpu_per_node_s", "CPU a node used during the start (s)", "{:.2f}"),
    ("write_visible_p50_ms", "write visible on every node, p50 (ms)", "{:,.1f}"),
    ("write_visible_p99_ms", "write visible on every node, p99 (ms)", "{:,.1f}"),
    ("write_visible_max_ms", "write visible on every node, max (ms)", "{:,.1f}"),
    ("idle_settle_ms", "last-heard reports settled, after all were ready (ms)", "{:,.0f}"),
    ("idle_bytes_per_node_per_s", "idle: bytes a node sends per s", "{:,.0f}"),
    ("idle_gossip_bytes_per_node_per_s", "of which gossip", "{:,.0f}"),
    ("idle_heard_bytes_per_node_per_s", "of which last-heard reports", "{:,.0f}"),
    ("idle_ping_bytes_per_node_per_s", "stream pings a node writes (bytes per s)", "{:,.0f}"),
    ("idle_heard_requests_per_node_per_s", "last-heard requests a node sends per s", "{:.2f}"),
    ("idle_heard_body_bytes_per_request", "bodies of a last-heard request and its answer (bytes)", "{:,.0f}"),
    ("antientropy_bytes_per_exchange", "anti-entropy exchange in sync (bytes)", "{:,.0f}"),
    ("antientropy_body_bytes_per_exchange", "of which bodies", "{:,.0f}"),
    ("cpu_per_node", "idle: CPU per node (cores)", "{:.3f}"),
    ("rss_per_node_mb", "idle: RSS per node (MiB)", "{:.1f}"),
    ("load_register_s", "registering the beating instances (s)", "{:,.1f}"),
    ("load_ops_per_s", "load achieved (beats + writes per s, all nodes)", "{:,.0f}"),
    ("load_beats_per_s", "beats the agents received per s", "{:,.0f}"),
    ("load_bytes_per_node_per_s", "load: bytes a node sends per s", "{:,.0f}"),
    ("bytes_per_record_sent", "bytes per replicated record sent", "{:,.0f}"),
    ("handed_off_share", "beats handed off to the owner", "{:.2f}"),
    ("bytes_per_handed_off_beat", "bytes per handed-off beat", "{:,.0f}"),
    ("load_cpu_per_node", "load: CPU per node (cores)", "{:.3f}"),
    ("load_rss_per_node_mb", "load: RSS per node (MiB)", "{:.1f}"),
    ("moved_fraction_join", "partitions moved by a join", "{:.3f}"),
    ("join_settled_ms", "rings agree after the join (ms)", "{:,.0f}"),
    ("moved_fraction_leave", "partitions moved by a leave", "{:.3f}"),
    ("leave_settled_ms", "rings agree after the leave (ms)", "{:,.0f}"),
    ("detect_ms", "SIGKILLed node dropped by all (ms)", "{:,.0f}"),
    ("false_suspicions", "suspicions while all were alive", "{:.0f}"),
    ("loadavg", "machine load average (1, 5, 15 min) at the end", "{}"),
]


def table(rows):
    print("| nodes | " + " | ".join(str(r["nodes"]) for r in rows) + " |")
    print("|---|" + "---:|" * len(rows))
    for key, label, f in TABLE:
        cells = [f.format(r[key]) if r.get(key) is not None else "–" for r in rows]
        print(f"| {label} | " + " | ".join(cells) + " |")


def main():
    argv, profile = sys.argv[1:], "shared"
    if "--profile" in argv:
        i = argv.index("--profile")
        profile = argv[i + 1]
        del argv[i:i + 2]
    args = [a for a in argv if a != "--table"]
    src = args[0] if args else os.path.join(HERE, "scale.json")
    dst = args[1] if len(args) > 1 else os.path.join(HERE, "img", "scale.svg")
    with open(src) as f:
        rows = sorted((r for r in json.load(f) if r.get("gossip_profile") == profile), key=lambda r: r["nodes"])
    for r in rows:
        # A size whose run stopped early (error) has only the figures of
        # the phases before; the rest are zero, shown as missing. A start
        # that did not converge has no convergence figure.
        if r.get("error"):
            for k, v in list(r.items()):
                if v == 0 and k not in ("false_suspicions", "refutations", "writes_not_visible", "load_failed",
                                          "idle_heard_bytes_per_node_per_s"):
                    r[k] = None
        if r.get("members_not_converged"):
            r["members_converged_ms"] = None
    rows = [r for r in rows if r.get("ready_ms")]  # no figures at all without a start
    if "--table" in sys.argv:
        table(rows)
        return
    xs = [r["nodes"] for r in rows]
    col = lambda k: [r.get(k) for r in rows]
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" '
           f'font-family="sans-serif" font-size="12"><rect width="100%" height="100%" fill="white"/>']
    panel(out, 60, 40, "Bytes each node sends per second", xs,
          [("idle: gossip", col("idle_gossip_bytes_per_node_per_s")),
           ("idle: peer (HTTP)", col("idle_peer_bytes_per_node_per_s")),
           ("under load: all", col("load_bytes_per_node_per_s"))], "bytes/s, log", ylog=True)
    panel(out, 510, 40, "CPU per node", xs,
          [("idle", col("cpu_per_node")), ("under load", col("load_cpu_per_node"))], "cores")
    panel(out, 60, 350, "Resident memory per node", xs,
          [("idle", col("rss_per_node_mb")), ("under load", col("load_rss_per_node_mb"))], "MiB")
    panel(out, 510, 350, "Times", xs,
          [("all members seen (from last start)", col("members_converged_ms")),
           ("write visible everywhere, p99", col("write_visible_p99_ms")),
           ("SIGKILL dropped by all", col("detect_ms"))], "ms, log", ylog=True)
    out.append("</svg>")
    with open(dst, "w") as f:
        f.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
