"""Tokenise and run the ONNX graph: batching, length bucketing, dynamic padding.

A sub-batch is padded to its own longest text and no further: every padded step is a
whole LSTM step for every row. Widths rounded up to a multiple of 8 (until 2026-12-05)
cost ~15% more CPU per text in upload-sized batches for outputs equal within 2e-7, and
uploads ran ~10% slower (README, "Measured figures").

``Engine`` holds no mutable tokenizer state (padding is done in numpy), so one
instance is safe to call from many threads; the ONNX Runtime session is created
once, lazily, behind a lock.

``threads`` (MODEL_THREADS: the CPUs the model may use) is how many of a batch's
sub-batches run side by side, each on one ONNX Runtime thread (a session is safe to run
from many threads, and releases the GIL while it runs); ``start`` returns while they run,
so a pooled artifact's n-gram member is computed meanwhile. On 2 cores an upload of 100k
lines ran ~16% faster with 2 than with 1 (bench/bench_upload.py, three interleaved pairs:
6,761 vs 5,843 lines/s), where one run on 2 intra-op threads gained ~6%: a BiLSTM's
per-step work is too small to share well. One text always runs alone, on one thread.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from typing import TYPE_CHECKING

import numpy as np
from tokenizers import Tokenizer

if TYPE_CHECKING:
    import onnxruntime as ort


@dataclass(frozen=True)
class Outputs:
    """Per-text model outputs, in input order."""

    positivity: np.ndarray  # (n,) float32
    rating_probs: np.ndarray | None  # (n, 10) float32, or None without a rating head


def session_options() -> ort.SessionOptions:
    """One thread per run (runs go side by side: Engine.runs), sequential execution, no
    spinning."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.add_session_config_entry("session.inter_op.allow_spinning", "0")
    return options


def _gathered(n: int, batches: list[np.ndarray], outputs: list[Outputs]) -> Outputs:
    """The sub-batches' outputs back in input order (``batches`` hold input positions)."""
    positivity = np.zeros(n, dtype=np.float32)
    probs = None
    for rows, out in zip(batches, outputs, strict=True):
        positivity[rows] = out.positivity
        if out.rating_probs is not None:
            if probs is None:
                probs = np.zeros((n, out.rating_probs.shape[1]), dtype=np.float32)
            probs[rows] = out.rating_probs
    return Outputs(positivity, probs)


class Engine:
    """Model bytes + tokenizer JSON -> positivity (and rating probabilities)."""

    def __init__(
        self,
        model: bytes,
        tokenizer_json: str,
        *,
        max_length: int,
        inputs: Sequence[str],
        outputs: Sequence[str],
        threads: int = 1,
        pad_id: int = 0,
        unk_id: int = 1,
        batch_size: int = 64,
    ) -> None:
        self._model = model
        self.tokenizer = Tokenizer.from_str(tokenizer_json)
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(max_length=max_length)
        # the same tokenizer without its normaliser, for texts normalised once already
        # (a pooled artifact's n-gram member reads them too: normalise once, not twice)
        self.prenormalised = Tokenizer.from_str(self.tokenizer.to_str())
        self.prenormalised.normalizer = None
        self.max_length, self.threads, self.batch_size = max_length, threads, batch_size
        self.inputs, self.outputs = tuple(inputs), tuple(outputs)
        self._output_names = list(self.outputs)
        self.pad_id, self.unk_id = pad_id, unk_id
        self._session: ort.InferenceSession | None = None
        self._lock = threading.Lock()
        self._runs: ThreadPoolExecutor | None = None  # sub-batches side by side (threads > 1)

    @property
    def session(self) -> ort.InferenceSession:
        """The one ONNX Runtime session, created on first use."""
        if self._session is None:
            with self._lock:
                if self._session is None:
                    # imported here, not at module load: an onnxruntime imported before
                    # gunicorn forks its worker makes the worker hang at exit
                    import onnxruntime as ort

                    self._session = ort.InferenceSession(
                        self._model,
                        sess_options=session_options(),
                        providers=["CPUExecutionProvider"],
                    )
        return self._session

    def normalised(self, texts: Sequence[str]) -> list[str]:
        """The texts as the tokenizer's normaliser leaves them (the n-gram member's input)."""
        normalizer = self.tokenizer.normalizer
        if normalizer is None:
            return list(texts)
        return [normalizer.normalize_str(t) for t in texts]

    def encode(self, texts: Sequence[str], *, normalised: bool = False) -> list[list[int]]:
        """Token ids per text (truncated); an empty encoding becomes one unknown token.

        ``normalised``: the texts come from ``normalised()`` (the normaliser is skipped).
        """
        tokenizer = self.prenormalised if normalised else self.tokenizer
        if len(texts) == 1:
            encodings = [tokenizer.encode(texts[0])]
        else:
            encodings = tokenizer.encode_batch(list(texts))
        return [e.ids or [self.unk_id] for e in encodings]

    def run(self, texts: Sequence[str], *, normalised: bool = False) -> Outputs:
        """Score ``texts``: one text at its true length, many sorted and bucketed."""
        return self.start(texts, normalised=normalised)()

    def start(self, texts: Sequence[str], *, normalised: bool = False) -> Callable[[], Outputs]:
        """``run``, begun: the call returned waits for the outputs. With ``threads`` > 1 the
        sub-batches run on their threads meanwhile, so the caller's own work (a pooled
        artifact's n-gram member) overlaps them; otherwise all is done before it returns."""
        ids = self.encode(texts, normalised=normalised)
        if len(ids) == 1:
            row = np.asarray(ids, dtype=np.int64)
            done = self._run_arrays(row, np.ones_like(row))
            return lambda: done
        order = np.argsort([len(row) for row in ids], kind="stable")
        batches = [order[i : i + self.batch_size] for i in range(0, len(order), self.batch_size)]

        def run(rows: np.ndarray) -> Outputs:
            chunk = [ids[i] for i in rows]
            return self._run_padded(chunk, max(map(len, chunk)))

        if self.threads == 1 or len(batches) == 1:
            done = _gathered(len(ids), batches, [run(rows) for rows in batches])
            return lambda: done
        futures = [self.runs.submit(run, rows) for rows in batches]
        return lambda: _gathered(len(ids), batches, [future.result() for future in futures])

    @property
    def runs(self) -> ThreadPoolExecutor:
        """The threads that run sub-batches side by side, started on first use."""
        if self._runs is None:
            with self._lock:
                if self._runs is None:
                    self._runs = ThreadPoolExecutor(self.threads, thread_name_prefix="model-run")
        return self._runs

    def _run_padded(self, rows: list[list[int]], width: int) -> Outputs:
        input_ids = np.full((len(rows), width), self.pad_id, dtype=np.int64)
        mask = np.zeros((len(rows), width), dtype=np.int64)
        for i, row in enumerate(rows):
            input_ids[i, : len(row)] = row
            mask[i, : len(row)] = 1
        return self._run_arrays(input_ids, mask)

    def _run_arrays(self, input_ids: np.ndarray, mask: np.ndarray) -> Outputs:
        feeds = {"input_ids": input_ids, "attention_mask": mask}
        if "token_type_ids" in self.inputs:
            feeds["token_type_ids"] = np.zeros_like(input_ids)
        results = self.session.run(self._output_names, {k: feeds[k] for k in self.inputs})
        named = dict(zip(self.outputs, results, strict=True))
        positivity = np.asarray(named["positivity"], dtype=np.float32).reshape(-1)
        probs = named.get("rating_probs")
        return Outputs(positivity, None if probs is None else np.asarray(probs, dtype=np.float32))
