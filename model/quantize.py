"""Step 4: dynamic INT8 quantisation with onnxruntime, checked against FP32 on dev.

``python -m model.quantize --run model/runs/main`` -> ``<run>/model.int8.onnx`` and
``<run>/quantize.json`` (label agreement at 0.5 and max |delta positivity| on dev).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import tempfile
from pathlib import Path

import numpy as np
from onnxruntime.quantization import QuantType, quantize_dynamic
from onnxruntime.quantization.shape_inference import quant_pre_process

from model.paths import RUNS_DIR, split_file

log = logging.getLogger(__name__)


def quantize(fp32: Path, int8: Path, per_channel: bool = False, symbolic: bool = True) -> None:
    """``quant_pre_process`` then dynamic INT8 (signed weights) into ``int8``.

    Runs inside a temporary directory: a failed symbolic shape inference leaves
    ``sym_shape_infer_temp.onnx`` and external-data files in the working directory.
    """
    fp32, int8 = fp32.resolve(), int8.resolve()
    with tempfile.TemporaryDirectory() as tmp, contextlib.chdir(tmp):
        prepped = Path(tmp) / "prepped.onnx"
        try:
            quant_pre_process(str(fp32), str(prepped), skip_symbolic_shape=not symbolic)
        except Exception:
            log.info("symbolic shape inference failed; pre-processing without it")
            quant_pre_process(str(fp32), str(prepped), skip_symbolic_shape=True)
        quantize_dynamic(
            str(prepped),
            str(int8),
            weight_type=QuantType.QInt8,
            per_channel=per_channel,
            op_types_to_quantize=["MatMul", "Gemm", "LSTM", "Gather"],
        )


def compare(fp32: Path, int8: Path, tokenizer: Path, data: Path, limit: int | None) -> dict:
    """Positivity of both graphs on ``data``: label agreement at 0.5 and max |delta|."""
    from model.onnx_predict import predict_file

    a = predict_file(fp32, tokenizer, data, limit)
    b = predict_file(int8, tokenizer, data, limit)
    delta = np.abs(a.positivity - b.positivity)
    return {
        "n": len(delta),
        "label_agreement_0.5": float(np.mean((a.positivity >= 0.5) == (b.positivity >= 0.5))),
        "max_abs_delta_positivity": float(delta.max()),
        "mean_abs_delta_positivity": float(delta.mean()),
        "max_abs_delta_rating": float(np.abs(a.rating - b.rating).max()),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--run", type=Path, default=RUNS_DIR / "main")
    parser.add_argument("--dev", type=Path, default=None)
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--per-channel", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    fp32, int8 = args.run / "model.fp32.onnx", args.run / "model.int8.onnx"
    quantize(fp32, int8, args.per_channel)
    dev = args.dev or split_file("dev")
    report = compare(fp32, int8, args.run / "tokenizer.json", dev, args.limit)
    report |= {"fp32_bytes": fp32.stat().st_size, "int8_bytes": int8.stat().st_size}
    (args.run / "quantize.json").write_text(json.dumps(report, indent=2) + "\n")
    log.info("quantised -> %s: %s", int8, report)


if __name__ == "__main__":
    main()
