"""Upload throughput of this tree against an older commit's, in one run on one machine.

    .venv/bin/python bench/compare_upload.py [--old dbe0196] [--lines 100000] [--rounds 2]
        [--v2] [--flat 1000000] [--model-threads N]

Checks out `--old` into a temporary `git worktree` (removed at the end) and runs its own
bench/bench_upload.py (its code, its default model: v2 for dbe0196) and then ours, with
the same line count, alternating for `--rounds` rounds so that drifting load hits both
alike. `--v2` adds a run of ours with the old tree's v2 model (same model, new code).
`--flat N` adds a run of ours with N lines (the flat per-line cost: N lines at >= 0.90x the
lines/s of `--lines`). Every run gets the same MODEL_THREADS (`--model-threads`; default
the machine's cores, as `make run` gives it): the old tree spends them on intra-op threads
of one ONNX run, ours on sub-batches side by side. Prints every run's own output, then one
table: lines/s end to end and ingest only, handler CPU per 1,000 lines, peak RSS, and each
run against the old one.

Targets (issue 20): ours >= 1.05x the old commit's end-to-end lines/s at 100k lines;
`--flat 1000000` >= 0.90x our 100k lines/s with peak RSS <= 300 MB. Run it on an idle
machine (the figures are wall-clock); the load average is printed with each run.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # runnable as `python bench/compare_upload.py`: infra.stack
V2 = "model/artifacts/nsmc-bilstm-v2-20261123"


@dataclass
class Run:
    label: str
    lines: int
    end_to_end: float
    ingest: float
    cpu_seconds: float
    rss_mb: float
    load: float


def run_bench(label: str, tree: Path, lines: int, env: dict[str, str]) -> Run:
    """One bench_upload.py run of `tree`'s own code; its output is shown as it is."""
    command = [sys.executable, str(tree / "bench" / "bench_upload.py"), "--lines", str(lines)]
    print(f"\n=== {label}: {' '.join(command[1:])}", flush=True)
    out = subprocess.run(
        command, cwd=tree, env={**os.environ, **env}, capture_output=True, text=True, check=False
    )
    print(out.stdout, end="")
    if out.returncode != 0:
        sys.exit(f"{label} failed:\n{out.stderr[-4000:]}")
    text = out.stdout
    throughput = re.search(r"end to end: ([\d,]+) lines/s \(ingest only: ([\d,]+)", text)
    cpu = re.search(r"handler CPU: ([\d.]+) s", text)
    rss = re.search(r"peak RSS: (\d+) MB", text)
    load = re.search(r"load average at the end: ([\d.]+)", text)
    if not (throughput and cpu and rss and load):
        sys.exit(f"{label}: could not read the bench's figures")
    return Run(
        label,
        lines,
        float(throughput.group(1).replace(",", "")),
        float(throughput.group(2).replace(",", "")),
        float(cpu.group(1)),
        float(rss.group(1)),
        float(load.group(1)),
    )


def old_tree(commit: str, root: Path) -> Path:
    """`commit` checked out beside a link to the corpus (bench_upload reads ../shared/data)."""
    (root / "shared").symlink_to(REPO.parent / "shared")
    tree = root / "old"
    subprocess.run(
        ["git", "-C", str(REPO), "worktree", "add", "--detach", str(tree), commit],
        check=True,
        capture_output=True,
    )
    return tree


def table(runs: list[Run]) -> None:
    old = [r.end_to_end for r in runs if r.label.startswith("old")]
    baseline = statistics.fmean(old) if old else None
    print(
        f"\n{'run':<28}{'lines':>9}{'e2e lines/s':>13}{'ingest l/s':>12}"
        f"{'CPU s/1k':>10}{'RSS MB':>8}{'load':>6}{'vs old':>8}"
    )
    for r in runs:
        ratio = f"{r.end_to_end / baseline:.2f}x" if baseline else "-"
        print(
            f"{r.label:<28}{r.lines:>9}{r.end_to_end:>13,.0f}{r.ingest:>12,.0f}"
            f"{1000 * r.cpu_seconds / r.lines:>10.3f}{r.rss_mb:>8.0f}{r.load:>6.1f}{ratio:>8}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old", default="dbe0196", help="the commit to compare with")
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--v2", action="store_true", help="also ours with the old v2 model")
    parser.add_argument("--flat", type=int, default=None, help="also ours with this many lines")
    parser.add_argument("--model-threads", default=None, help="MODEL_THREADS of every run")
    args = parser.parse_args()
    from infra.stack import LOCAL_MODEL_THREADS

    threads = args.model_threads or LOCAL_MODEL_THREADS
    os.environ["MODEL_THREADS"] = threads  # every run's, old and new alike
    print(f"MODEL_THREADS={threads} for every run")
    runs: list[Run] = []
    with tempfile.TemporaryDirectory(prefix="compare-upload-") as tmp:
        tree = old_tree(args.old, Path(tmp))
        try:
            for round_ in range(1, args.rounds + 1):
                runs.append(run_bench(f"old {args.old} #{round_}", tree, args.lines, {}))
                runs.append(run_bench(f"new #{round_}", REPO, args.lines, {}))
                if args.v2:
                    v2 = {"MODEL_URI": str(tree / V2)}
                    runs.append(run_bench(f"new, v2 model #{round_}", REPO, args.lines, v2))
        finally:
            subprocess.run(
                ["git", "-C", str(REPO), "worktree", "remove", "--force", str(tree)], check=False
            )
    if args.flat:
        runs.append(run_bench("new (flat)", REPO, args.flat, {}))
        ours = [r.end_to_end for r in runs if r.label.startswith("new #")]
        print(f"\nflat: {args.flat} lines at {runs[-1].end_to_end / statistics.fmean(ours):.2f}x")
    table(runs)


if __name__ == "__main__":
    main()
