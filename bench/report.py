#!/usr/bin/env python3
"""report.py RAW.jsonl OUT.json - the table of `make bench`.

Reads the raw lines bench/run.sh wrote ({"name", "side", "data"}), prints one
table (synack, Linux kernel from the same run, ratio) and writes every figure,
with the machine it was taken on, to OUT.json for later comparison.
"""
import json
import os
import platform
import sys
import time


def load(path):
    res = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            try:
                r = json.loads(line)
            except ValueError:
                continue
            res[(r["name"], r["side"])] = r["data"]
    return res


def machine():
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "kernel": platform.release(),
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}


def fmt(v, unit=""):
    if v is None:
        return "-"
    if isinstance(v, float):
        if abs(v) >= 1000:
            s = f"{v:,.0f}"
        elif abs(v) >= 100:
            s = f"{v:.0f}"
        elif abs(v) >= 10:
            s = f"{v:.1f}"
        else:
            s = f"{v:.2f}"
    else:
        s = f"{v:,}"
    return s + unit


def main():
    raw, out = sys.argv[1], sys.argv[2]
    res = load(raw)
    rows = []  # (benchmark, metric, synack, kernel, ratio, note, higher_is_better)

    def get(name, side, key):
        d = res.get((name, side))
        return d.get(key) if d else None

    def row(label, metric, s, k, better_high=True, note=""):
        ratio = None
        if s is not None and k is not None and s and k:
            ratio = s / k if better_high else k / s
        rows.append({"benchmark": label, "metric": metric, "synack": s, "kernel": k,
                     "ratio": ratio, "note": note})

    # MTU 1500: synack with the memlink's offload mode (TSO and checksum
    # offload, as veth has), then without; both against the kernel's veth.
    for n, label, knote in (
            ("bulk_mtu1500", "bulk, 1 flow, MTU 1500, offload", "synack: memlink offload mode (TSO, csum)"),
            ("bulk_mtu1500_nooffload", "bulk, 1 flow, MTU 1500, no offload", "synack: memlink, 1448-byte segments"),
            ("bulk_mtu9000", "bulk, 1 flow, MTU 9000", "synack: memlink; kernel: loopback MTU 9000"),
            ("bulk_mtu65535", "bulk, 1 flow, MTU 65535", "synack: memlink; kernel: loopback MTU 65536")):
        k = "bulk_mtu1500" if n.startswith("bulk_mtu1500") else n
        if n.startswith("bulk_mtu1500"):
            knote += "; kernel: veth (GSO), both ends on 1 core"
        row(label, "Gbit/s", get(n, "synack", "gbps"), get(k, "kernel", "gbps"), note=knote)
        row(label, "CPU s per GB", get(n, "synack", "cpu_s_per_gb"),
            get(k, "kernel", "cpu_s_per_gb"), better_high=False)
    row("short connections, offload", "conns/s", get("crr", "synack", "conns_per_s"),
        get("crr", "kernel", "conns_per_s"),
        note="connect, 64 B request, 64 B response, close; memlink checksum offload; "
             "kernel over loopback (no checksums); median of the rounds of each side")
    # The machine's speed moves between rounds; a synack round and the
    # kernel round after it share more of it than the two medians do.
    sr, kr = get("crr", "synack", "rounds"), get("crr", "kernel", "rounds")
    if sr and kr and len(sr) == len(kr):
        pairs = sorted(s / k for s, k in zip(sr, kr) if s and k)
        if pairs:
            rows.append({"benchmark": "short connections, offload: ratio of each round pair",
                         "metric": "median ratio", "synack": None, "kernel": None,
                         "ratio": pairs[len(pairs) // 2],
                         "note": "rounds: " + ", ".join(f"{p:.1f}x" for p in pairs)})
    row("short connections, no offload", "conns/s", get("crr_nooffload", "synack", "conns_per_s"),
        get("crr", "kernel", "conns_per_s"), note="synack: every segment checksummed and verified")
    kn = get("mem_estab_kernel", "kernel", "n")
    for n in (10000, 100000, 1000000):
        s = get(f"mem_estab_{n}", "synack", "bytes_per_conn")
        if s is None:
            continue
        row(f"idle established, N={n:,}", "bytes/conn", s,
            get("mem_estab_kernel", "kernel", "bytes_per_conn"), better_high=False,
            note=f"kernel at N={kn:,} (open-file limit); per endpoint" if kn else "per endpoint")
    ktw = get("mem_tw_kernel", "kernel", "tw_entries")
    for n in (10000, 100000, 1000000):
        s = get(f"mem_tw_{n}", "synack", "bytes_per_tw")
        if s is None:
            continue
        row(f"TIME-WAIT, N={n:,}", "bytes/entry", s, get("mem_tw_kernel", "kernel", "bytes_per_tw"),
            better_high=False, note=f"kernel at N={ktw:,}" if ktw else "")
    for n in (1000000, 100000):
        d = res.get((f"mem_estab_{n}", "synack"))
        if d:
            row(f"{n:,} established", "MiB per side", d["total_mib_per_side"], None,
                note="target < 2048")
            break
    sz = res.get(("mem_estab_10000", "synack"))
    if sz:
        row("sizeof(struct sn_sock)", "bytes", sz["sizeof_sock"], None, note="target <= 512")
    tw = res.get(("mem_tw_10000", "synack"))
    if tw:
        row("sizeof(struct sn_tw)", "bytes", tw["sizeof_tw"], None, note="target <= 64")
    base = res.get(("scale_0", "synack"))
    for n in (0, 10000, 100000, 1000000):
        d = res.get((f"scale_{n}", "synack"))
        if not d:
            continue
        rel = d["ns_per_seg"] / base["ns_per_seg"] if base and base["ns_per_seg"] else None
        row(f"scaling, N={n:,} idle", "Gbit/s", d["gbps"], None,
            note="bulk flow beside N idle connections, keepalive armed")
        row(f"scaling, N={n:,} idle", "ns/segment", d["ns_per_seg"], None,
            note=(f"{rel:.3f} x N=0; " if rel else "") + "CPU per segment, best of 3 windows")
    row("TAP: Linux -> synack listen", "Gbit/s", get("tap_to_synack_tool", "synack", "gbps"),
        get("tap_to_synack", "kernel", "gbps"),
        note="synack listen --discard --no-hash; kernel: same client to Linux over veth")
    bufs = res.get(("tap_bufs", "kernel")) or {}
    big = "SO_SNDBUF %s, SO_RCVBUF %s (tcp_wmem/tcp_rmem max)" % (
        fmt(bufs.get("tcp_wmem_max")), fmt(bufs.get("tcp_rmem_max")))
    row("TAP: Linux -> synack (library)", "Gbit/s", get("tap_to_synack", "synack", "gbps"),
        get("tap_to_synack", "kernel", "gbps"),
        note="sn_bench tap-recv, default 64 KiB buffers, no hashing; kernel over veth")
    row("TAP: Linux -> synack, big bufs", "Gbit/s", get("tap_to_synack_bigbuf", "synack", "gbps"),
        get("tap_to_synack", "kernel", "gbps"), note="sn_bench tap-recv, " + big)
    row("TAP: synack -> Linux", "Gbit/s", get("tap_from_synack", "synack", "gbps"),
        get("tap_from_synack", "kernel", "gbps"),
        note="sn_bench tap-send, default 64 KiB buffers; kernel over veth")
    row("TAP: synack -> Linux, big bufs", "Gbit/s", get("tap_from_synack_bigbuf", "synack", "gbps"),
        get("tap_from_synack", "kernel", "gbps"), note="sn_bench tap-send, " + big)
    for name, label in (("bulk_mtu1500", "bulk MTU 1500, offload"),
                        ("bulk_mtu1500_nooffload", "bulk MTU 1500, no offload"),
                        ("bulk_mtu65535", "bulk MTU 65535")):
        d = res.get((f"instr_{name}", "synack"))
        if d and d.get("bytes"):
            row(f"instructions, {label}", "per 64 KiB", d["instructions"] / (d["bytes"] / 65536),
                None, note="callgrind, measured region only; data delivered")
    for name, label, per in (("bulk_mtu1500", "bulk MTU 1500, offload", "segments"),
                             ("bulk_mtu1500_nooffload", "bulk MTU 1500, no offload", "segments"),
                             ("bulk_mtu65535", "bulk MTU 65535", "segments"),
                             ("scale_0", "scaling N=0", "segments"),
                             ("scale_100000", "scaling N=100,000", "segments"),
                             ("crr", "short connection, offload", "conns"),
                             ("crr_nooffload", "short connection, no offload", "conns")):
        d = res.get((f"instr_{name}", "synack"))
        if d and d.get(per):
            row(f"instructions, {label}", "per " + per.rstrip("s").replace("conn", "connection"),
                d["instructions"] / d[per], None, note="callgrind, measured region only")

    w = [36, 14, 11, 11, 8]
    head = ["benchmark", "metric", "synack", "kernel", "ratio"]
    print()
    print("  ".join(h.ljust(w[i]) if i < 2 else h.rjust(w[i]) for i, h in enumerate(head)) + "  note")
    print("-" * 110)
    for r in rows:
        ratio = "-" if r["ratio"] is None else f"{r['ratio']:.2f}x"
        cells = [r["benchmark"], r["metric"], fmt(r["synack"]), fmt(r["kernel"]), ratio]
        print("  ".join(c.ljust(w[i]) if i < 2 else c.rjust(w[i]) for i, c in enumerate(cells)) +
              "  " + r["note"])
    print("\nratio: synack's advantage (>1 = synack better; for bytes and CPU, kernel/synack)")
    with open(out, "w") as f:
        json.dump({"machine": machine(), "table": rows,
                   "raw": [{"name": k[0], "side": k[1], "data": v} for k, v in res.items()]},
                  f, indent=1)
    print(f"results: {out}")


if __name__ == "__main__":
    main()
