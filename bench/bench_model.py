"""Latency / throughput / size / cold-load of the sentiment artifact vs a BERT-base shape.

``python bench/bench_model.py [--artifact DIR] [--skip-bert]``

Figures (printed, and written as JSON to .local/bench/results.json):
* single review p50/p99 at 1 thread, tokenisation included, for a typical (~30 token)
  and a max-length review (scorer.score([text]), i.e. batch 1 at true length), beside
  the bare graph's p50 (tokenise + ``session.run``, nothing else; timed interleaved with
  the scorer) and their ratio: the scorer's own per-call work (decision, rating,
  pooling, result objects) is what the ratio shows; for a pooled artifact also the
  floor of both members (normalise once, graph, n-gram member's logits);
* batch throughput at 2 threads (reviews/s over a few thousand reviews);
* artifact size on disk and cold load (fetch + verify + session + first score).
The BERT-base-shaped classifier (12 layers, hidden 768, vocab 32k, random weights)
is built, exported and INT8-quantised with model.convert_hf, cached under .local/bench/.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from model.data import read_reviews  # noqa: E402
from model.paths import split_file  # noqa: E402
from shared.sentiment import Scorer, load_scorer  # noqa: E402

CACHE = REPO / ".local" / "bench"
FIXTURE = REPO / "tests" / "fixtures" / "nsmc" / "reviews-test.tsv.gz"


def default_artifact() -> Path:
    found = sorted(p.parent for p in (REPO / "model" / "artifacts").glob("*/manifest.json"))
    return found[-1]


def corpus(limit: int) -> list[str]:
    path = split_file("test") if split_file("test").exists() else FIXTURE
    return read_reviews(path, limit).texts


def pick_texts(artifact: Path, texts: list[str]) -> tuple[str, str]:
    """A review of ~30 tokens and one that reaches max_length, for this artifact's tokenizer."""
    scorer = load_scorer(str(artifact))
    lengths = [len(ids) for ids in scorer.engine.encode(texts)]
    typical = min(range(len(texts)), key=lambda i: abs(lengths[i] - 30))
    longest = max(texts, key=len)
    return texts[typical], (longest + " ") * 8


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]


def bare_graph(scorer: Scorer) -> Callable[[str], object]:
    """Tokenise one text and run the ONNX graph on it, nothing else (the scorer's floor)."""
    engine = scorer.engine
    session, names = engine.session, list(engine.outputs)

    def run(text: str) -> object:
        ids = np.asarray([engine.tokenizer.encode(text).ids or [engine.unk_id]], dtype=np.int64)
        feeds = {
            "input_ids": ids,
            "attention_mask": np.ones_like(ids),
            "token_type_ids": np.zeros_like(ids),
        }
        return session.run(names, {name: feeds[name] for name in engine.inputs})

    return run


def bare_members(scorer: Scorer) -> Callable[[str], object] | None:
    """A pooled artifact's floor: normalise once, the graph and the n-gram member's logits."""
    engine, member = scorer.engine, scorer.ngram
    if member is None:
        return None
    session, names = engine.session, list(engine.outputs)

    def run(text: str) -> object:
        normalised = engine.normalised([text])
        ids = np.asarray(engine.encode(normalised, normalised=True), dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": np.ones_like(ids)}
        return session.run(names, feeds), member.logits(normalised)

    return run


def single_latency(artifact: Path, text: str, runs: int) -> dict[str, float]:
    """Scorer and bare graph (and members) on one text, interleaved call by call."""
    scorer = load_scorer(str(artifact), threads=1)
    calls: dict[str, Callable[[str], object]] = {
        "scorer": lambda t: scorer.score([t]),
        "bare_graph": bare_graph(scorer),
    }
    members = bare_members(scorer)
    if members is not None:
        calls["bare_members"] = members
    times: dict[str, list[float]] = {name: [] for name in calls}
    order = list(calls)
    for run in range(runs + 10):
        for name in order if run % 2 else order[::-1]:  # alternate the order
            start = time.perf_counter()
            calls[name](text)
            if run >= 10:  # warm-up
                times[name].append((time.perf_counter() - start) * 1000)
    p50, p99 = percentiles(times["scorer"])
    figures = {
        "tokens": len(scorer.engine.encode([text])[0]),
        "p50_ms": round(p50, 3),
        "p99_ms": round(p99, 3),
    }
    for name in order[1:]:
        floor = percentiles(times[name])[0]
        figures[f"{name}_p50_ms"] = round(floor, 3)
        figures[f"scorer_vs_{name}"] = round(p50 / floor, 3)
    return figures


def throughput(artifact: Path, texts: list[str], threads: int = 2) -> float:
    scorer = load_scorer(str(artifact), threads=threads)
    scorer.engine.batch_size = 64
    scorer.score(texts[:64])
    start = time.perf_counter()
    scorer.score(texts)
    return round(len(texts) / (time.perf_counter() - start), 1)


def cold_load_ms(artifact: Path, repeats: int = 5) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        load_scorer(str(artifact), threads=1).score(["첫 리뷰"])
        times.append((time.perf_counter() - start) * 1000)
    return round(statistics.median(times), 1)


def size_mb(artifact: Path) -> float:
    return round(sum(f.stat().st_size for f in artifact.iterdir()) / 1e6, 2)


def measure(artifact: Path, texts: list[str], runs: int, batch_n: int) -> dict[str, object]:
    typical, longest = pick_texts(artifact, texts)
    return {
        "artifact": str(artifact.relative_to(REPO) if artifact.is_relative_to(REPO) else artifact),
        "size_mb": size_mb(artifact),
        "cold_load_ms": cold_load_ms(artifact),
        "single_typical": single_latency(artifact, typical, runs),
        "single_max_length": single_latency(artifact, longest, runs),
        "batch_reviews_per_s_2_threads": throughput(artifact, texts[:batch_n]),
    }


def bert_base_artifact() -> Path:
    """Random BERT-base-shaped classifier + 32k WordPiece, converted like any HF model."""
    out = CACHE / "bert-base-int8"
    if (out / "manifest.json").exists():
        return out
    from model.convert_hf import convert
    from model.random_bert import save_random_bert

    src = CACHE / "bert-base-src"
    save_random_bert(src, corpus(200_000), vocab_size=32_000)  # 12 x 768, 3072 FFN
    convert(src, out, "bert-base-random-int8", (0.35, 0.65), max_length=128)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--artifact", type=Path, default=None)
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--batch", type=int, default=4000)
    parser.add_argument("--skip-bert", action="store_true")
    args = parser.parse_args()
    texts = corpus(max(args.batch, 2000))
    ours = measure(args.artifact or default_artifact(), texts, args.runs, args.batch)
    results: dict[str, object] = {"ours": ours}
    print(json.dumps({"ours": ours}, ensure_ascii=False, indent=2))
    if not args.skip_bert:
        bert = measure(bert_base_artifact(), texts, max(args.runs // 5, 30), 256)
        ratio = {
            k: round(bert[k]["p50_ms"] / ours[k]["p50_ms"], 1)  # type: ignore[index]
            for k in ("single_typical", "single_max_length")
        }
        ratio["batch_throughput"] = round(
            ours["batch_reviews_per_s_2_threads"] / bert["batch_reviews_per_s_2_threads"],  # type: ignore[operator]
            1,
        )
        results |= {"bert_base": bert, "speedup": ratio}
        print(json.dumps({"bert_base": bert, "speedup": ratio}, ensure_ascii=False, indent=2))
    CACHE.mkdir(parents=True, exist_ok=True)
    (CACHE / "results.json").write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
