"""Step 3: export the trained network to ONNX (FP32) with dynamic batch and length.

``python -m model.export --run model/runs/main`` -> ``<run>/model.fp32.onnx``.
The exported graph is run at several batch sizes and lengths (with padding)
and compared with torch; any difference above 1e-4 fails the step.
"""

from __future__ import annotations

import argparse
import json
import logging
import warnings
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch

from model.checkpoint import load_with_origin
from model.network import ExportWrapper, SentimentNet
from model.paths import RUNS_DIR

log = logging.getLogger(__name__)
INPUT_NAMES = ["input_ids", "attention_mask"]
OUTPUT_NAMES = ["positivity", "rating_probs"]
OPSET = 17
SHAPES = ((1, 1), (1, 7), (1, 33), (3, 16), (8, 64), (2, 128), (2, 256))


def export_onnx(module: torch.nn.Module, out: Path) -> None:
    """Trace ``module`` to ONNX with dynamic ``batch`` and ``sequence`` axes."""
    ids = torch.randint(2, 100, (2, 12))
    mask = torch.ones_like(ids)
    axes = {
        "input_ids": {0: "batch", 1: "sequence"},
        "attention_mask": {0: "batch", 1: "sequence"},
        "positivity": {0: "batch"},
        "rating_probs": {0: "batch"},
    }
    with warnings.catch_warnings():  # tracer chatter about LSTM shapes; the result is checked
        warnings.simplefilter("ignore")
        torch.onnx.export(
            module,
            (ids, mask),
            str(out),
            input_names=INPUT_NAMES,
            output_names=OUTPUT_NAMES,
            dynamic_axes=axes,
            opset_version=OPSET,
            dynamo=False,
            do_constant_folding=True,
        )


def random_batch(batch: int, length: int, vocab: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Random ids with random true lengths (row 0 always full length), right-padded."""
    rng = np.random.default_rng(seed)
    ids = rng.integers(2, vocab, (batch, length), dtype=np.int64)
    lengths = rng.integers(1, length + 1, batch)
    lengths[0] = length
    mask = (np.arange(length)[None, :] < lengths[:, None]).astype(np.int64)
    return ids * mask, mask


def max_difference(module: torch.nn.Module, onnx_path: Path, vocab: int) -> float:
    """Largest |torch - onnx| over all outputs and the test shapes."""
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    worst = 0.0
    for seed, (batch, length) in enumerate(SHAPES):
        ids, mask = random_batch(batch, length, vocab, seed)
        with torch.no_grad():
            expected = [t.numpy() for t in module(torch.from_numpy(ids), torch.from_numpy(mask))]
        got = session.run(OUTPUT_NAMES, {"input_ids": ids, "attention_mask": mask})
        diffs = (float(np.abs(e - g).max()) for e, g in zip(expected, got, strict=True))
        worst = max(worst, *diffs)
    return worst


def export_net(net: SentimentNet, out: Path, *more: SentimentNet) -> float:
    """Export (averaging over ``net`` and ``more``) and verify; returns the max |torch - onnx|."""
    wrapper = ExportWrapper(net, *more).eval()
    export_onnx(wrapper, out)
    diff = max_difference(wrapper, out, net.config.vocab_size)
    if diff > 1e-4:
        raise RuntimeError(f"ONNX export differs from torch by {diff:.2e}")
    return diff


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--run", type=Path, default=RUNS_DIR / "main")
    parser.add_argument(
        "--checkpoint",
        nargs="+",
        default=["best.pt"],
        help="one checkpoint, or several whose probabilities are averaged",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    torch.set_num_threads(2)
    nets, members = zip(
        *(load_with_origin(args.run / name) for name in args.checkpoint), strict=True
    )
    diff = export_net(nets[0], args.run / "model.fp32.onnx", *nets[1:])
    record = {"members": list(members), "max_abs_diff_vs_torch": diff}
    (args.run / "export.json").write_text(json.dumps(record, indent=2) + "\n")
    log.info("exported %s; max |torch - onnx| = %.2e", args.run / "model.fp32.onnx", diff)


if __name__ == "__main__":
    main()
