#!/usr/bin/env python3
"""Coupling overhead and the split of a coupling step, with the release binaries.

    .venv/bin/python scripts/bench_coupling.py overhead [--days 10] [--repeats 3]
    .venv/bin/python scripts/bench_coupling.py split [--days 2]
    .venv/bin/python scripts/bench_coupling.py soak [--steps 10000]

overhead: the 128² double gyre on 2 ocean ranks, coupled at every step (u, v out; sx, sy
back) to the analytic zero model, in 1 ml-server rank (server) and inside every ocean rank
([ml] placement = "embedded"), against the same ocean standalone. Runs alternate
(standalone, server, embedded, standalone, …) so that all see the same machine; the
overhead is the ratio of median wall times.

split: the same ocean coupled every hour to GZ21's FullyCNN on the CPU (weights from
../shared/gz21, or EDDYLINK_ML_WEIGHTS): wall time split into ocean compute, time in the
coupler (put + waiting in get, on the ocean side) and inference (ML wall time minus its
own waiting), from summary.json and the coupler's timing files.

soak: the default 64² experiment coupled at every step for 10,000 steps; both programs'
resident memory after the first exchange and at the end (the coupler records it).

Every figure comes from the run directories (summary.json, coupler_timing_*.json).
"""

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def mpiexec() -> str:
    env = ROOT / ".venv" / "eddylink.env"
    if "EDDYLINK_MPIEXEC" in os.environ:
        return os.environ["EDDYLINK_MPIEXEC"]
    if env.exists():
        m = re.search(r"EDDYLINK_MPIEXEC=['\"]?([^'\"\n]+)", env.read_text())
        if m:
            return m.group(1)
    return shutil.which("mpiexec") or sys.exit("no mpiexec: run make setup")


def bins() -> Path:
    b = Path(os.environ.get("EDDYLINK_BIN_DIR") or ROOT / "target" / "release")
    for name in ["ocean-model", "ml-server"]:
        if not (b / name).exists():
            sys.exit(f"{b / name} is missing: run make build")
    return b


def set_key(text: str, key: str, value: str, count: int = 0) -> str:
    """Replace `key = …` lines (the first `count`, or all) keeping their comments."""
    pattern = re.compile(rf"^{re.escape(key)} = [^#\n]*?(\s*#.*)?$", re.M)
    new, n = pattern.subn(lambda m: f"{key} = {value}{m.group(1) or ''}", text, count=count)
    if n == 0:
        sys.exit(f"bench_coupling.py: no '{key} =' line to change")
    return new


def without_tables(text: str, prefixes: list[str]) -> str:
    """Drop the tables whose names start with one of `prefixes`."""
    out, skip = [], False
    for line in text.splitlines():
        header = re.match(r"^\[\[?([^\]]+)\]\]?", line)
        if header:
            skip = any(header.group(1).startswith(p) for p in prefixes)
        if not skip:
            out.append(line)
    return "\n".join(out) + "\n"


def overhead_configs(work: Path, days: int, lag: bool = False) -> tuple[Path, Path, Path]:
    text = (ROOT / "configs" / "double_gyre_64.toml").read_text()
    text = set_key(text, "duration", f'"{days}d"')
    text = set_key(text, "output_dir", f'"{work}"')
    text = set_key(text, "grid", "[128, 128]", count=1)
    text = set_key(text, "nx", "128")
    text = set_key(text, "ny", "128")
    text = set_key(text, "period", '"144s"')  # every step; the masks go back to static below
    text = set_key(text, "kind", '"zero"')
    text = set_key(text, "snapshot_interval", "0")
    text = set_key(text, "diagnostics_interval", f'"{days}d"')
    text = set_key(text, "checkpoint_interval", f'"{days}d"')
    text = set_key(text, "progress_interval_s", "1000.0")
    # The static masks must stay static.
    text = re.sub(
        r'(from = "ocean\.mask_[uv]"\nto = "ml\.mask_[uv]"\ngrid = "[UV]"\n)period = "144s"',
        r'\1period = "static"',
        text,
    )
    if lag:
        # The forcing computed from step n's velocities is used at step n + 1: the ML's
        # work overlaps a whole ocean step (OASIS's LAG).
        text = re.sub(
            r'(from = "ml\.s[xy]"\nto = "ocean\.s[xy]"\ngrid = "[UV]"\nperiod = "144s"[^\n]*\n)',
            r'\1lag = "144s"\n',
            text,
        )
    coupled = set_key(text, "name", '"coupled"')
    alone = without_tables(set_key(text, "name", '"standalone"'), ["coupling", "ml"])
    embedded = set_key(text, "name", '"embedded"').replace("[ml]\n", '[ml]\nplacement = "embedded"\n', 1)
    paths = (work / "coupled.toml", work / "standalone.toml", work / "embedded.toml")
    paths[0].write_text(coupled)
    paths[1].write_text(alone)
    paths[2].write_text(embedded)
    return paths


def run(cmd: list[str]) -> None:
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if r.returncode != 0:
        sys.exit(f"failed ({r.returncode}): {' '.join(cmd)}\n{r.stdout[-3000:]}")


def read_json(path: Path) -> dict:
    return json.loads(path.read_text())


def overhead(args) -> None:
    work = Path(tempfile.mkdtemp(prefix="eddylink-bench-"))
    coupled, alone, embedded = overhead_configs(work, args.days, args.lag)
    b, m = bins(), mpiexec()
    walls = {"standalone": [], "server": [], "embedded": []}
    shares = {"server": [], "embedded": []}
    n = str(args.ocean_ranks)
    for k in range(args.repeats):
        run([m, "-n", n, str(b / "ocean-model"), "--config", str(alone)])
        walls["standalone"].append(read_json(work / "standalone" / "summary.json")["wall_s"])
        run([m, "-n", n, str(b / "ocean-model"), "--config", str(coupled),
             ":", "-n", "1", str(b / "ml-server"), "--config", str(coupled)])
        run([m, "-n", n, str(b / "ocean-model"), "--config", str(embedded)])
        for mode, name in (("server", "coupled"), ("embedded", "embedded")):
            s = read_json(work / name / "summary.json")
            walls[mode].append(s["wall_s"])
            shares[mode].append(s["coupling_share"])
        print(f"repeat {k + 1}: standalone {walls['standalone'][-1]:.2f} s, "
              f"server {walls['server'][-1]:.2f} s, embedded {walls['embedded'][-1]:.2f} s",
              flush=True)
    steps = read_json(work / "coupled" / "summary.json")["steps"]
    med = {mode: statistics.median(w) for mode, w in walls.items()}
    a = med["standalone"]
    print(f"128² × {args.days} d = {steps} steps on {args.ocean_ranks} ocean rank(s), coupled "
          f"every step (u, v → ml; sx, sy → ocean{', lagged one step' if args.lag else ''}) "
          f"to the analytic zero model: in 1 ml-server rank (server) or in every ocean rank "
          f"(embedded)")
    print("| mode | median wall (s) | over standalone | ms per step | coupling share |")
    print("|---|---|---|---|---|")
    for mode in ("standalone", "server", "embedded"):
        share = f"{100 * statistics.median(shares[mode]):.1f} %" if mode in shares else "–"
        print(f"| {mode} | {med[mode]:.2f} | {100 * (med[mode] / a - 1):+.1f} % | "
              f"{1e3 * med[mode] / steps:.3f} | {share} |")
    shutil.rmtree(work)


def split(args) -> None:
    work = Path(tempfile.mkdtemp(prefix="eddylink-bench-"))
    text = (ROOT / "configs" / "double_gyre_gz21.toml").read_text()
    text = set_key(text, "duration", f'"{args.days}d"')
    text = set_key(text, "output_dir", f'"{work}"')
    text = set_key(text, "device", '"cpu"')
    text = set_key(text, "snapshot_interval", "0")
    text = set_key(text, "diagnostics_interval", f'"{args.days}d"')
    text = set_key(text, "checkpoint_interval", f'"{args.days}d"')
    weights = os.environ.get("EDDYLINK_ML_WEIGHTS") or str(
        (ROOT / ".." / "shared" / "gz21" / "trained_model.pth").resolve())
    text = set_key(text, "weights", json.dumps(weights))
    cfg = work / "gz21.toml"
    cfg.write_text(text)
    b, m = bins(), mpiexec()
    run([m, "-n", "2", str(b / "ocean-model"), "--config", str(cfg),
         ":", "-n", "1", str(b / "ml-server"), "--config", str(cfg)])
    rd = work / "double_gyre_gz21"
    s = read_json(rd / "summary.json")
    ocean = read_json(rd / "coupler_timing_ocean.json")
    ml = read_json(rd / "coupler_timing_ml.json")
    calls = max(f["exchanges"] for f in ml["fields"] if f["direction"] == "get")
    coupler = sum(f["seconds"] for f in ocean["fields"])
    ml_wait = sum(f["seconds"] for f in ml["fields"] if f["direction"] == "get")
    ml_put = sum(f["seconds"] for f in ml["fields"] if f["direction"] == "put")
    inference = ml["wall_seconds"] - ml_wait - ml_put
    wall = s["wall_s"]
    print(f"GZ21 FullyCNN on the CPU, 128², 2 ocean ranks + 1 ML rank, {args.days} d "
          f"= {s['steps']} steps, {calls} coupling calls (every hour)")
    print(f"ocean wall {wall:.2f} s: compute {wall - coupler:.2f} s "
          f"({100 * (1 - coupler / wall):.1f} %), coupler put + wait in get {coupler:.2f} s "
          f"({100 * coupler / wall:.1f} %)")
    print(f"ML: inference and its staging {inference:.2f} s = {1e3 * inference / calls:.0f} ms "
          f"per call; waiting for the ocean {ml_wait:.2f} s; sending {ml_put:.3f} s")
    shutil.rmtree(work)


def soak(args) -> None:
    """The default 64² experiment coupled at every step for `--steps` steps: resident
    memory of both programs after the first exchange and at the end."""
    work = Path(tempfile.mkdtemp(prefix="eddylink-bench-"))
    text = (ROOT / "configs" / "double_gyre_64.toml").read_text()
    text = set_key(text, "duration", f'"{288 * args.steps}s"')
    text = set_key(text, "output_dir", f'"{work}"')
    text = set_key(text, "period", '"288s"')
    text = re.sub(
        r'(from = "ocean\.mask_[uv]"\nto = "ml\.mask_[uv]"\ngrid = "[UV]"\n)period = "288s"',
        r'\1period = "static"',
        text,
    )
    text = set_key(text, "snapshot_interval", "0")
    text = set_key(text, "checkpoint_interval", "0")
    text = set_key(text, "progress_interval_s", "1000.0")
    cfg = work / "soak.toml"
    cfg.write_text(text)
    b, m = bins(), mpiexec()
    run([m, "-n", "2", str(b / "ocean-model"), "--config", str(cfg),
         ":", "-n", "1", str(b / "ml-server"), "--config", str(cfg)])
    rd = work / "double_gyre_64"
    s = read_json(rd / "summary.json")
    print(f"soak: 64², 2 ocean ranks + 1 ML rank (analytic backscatter), coupled every step, "
          f"{s['steps']} steps in {s['wall_s']:.1f} s")
    for component in ["ocean", "ml"]:
        mem = read_json(rd / f"coupler_timing_{component}.json")["memory"]
        print(f"{component:>6}: resident {mem['at_enddef_mb']:.1f} MB at enddef, "
              f"{mem['after_first_get_mb']:.1f} MB after the first exchange, "
              f"{mem['at_finalize_mb']:.1f} MB after {s['steps']} exchanges: growth "
              f"{mem['at_finalize_mb'] - mem['after_first_get_mb']:+.1f} MB")
    shutil.rmtree(work)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="what", required=True)
    o = sub.add_parser("overhead")
    o.add_argument("--days", type=int, default=10)
    o.add_argument("--repeats", type=int, default=3)
    o.add_argument("--ocean-ranks", type=int, default=2)
    o.add_argument("--lag", action="store_true",
                   help="use step n's forcing at step n + 1 (lag = dt on sx, sy)")
    s = sub.add_parser("split")
    s.add_argument("--days", type=int, default=2)
    k = sub.add_parser("soak")
    k.add_argument("--steps", type=int, default=10_000)
    args = p.parse_args()
    {"overhead": overhead, "split": split, "soak": soak}[args.what](args)


if __name__ == "__main__":
    main()
