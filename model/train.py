"""Step 2: train the network on the train split, selecting on dev.

``python -m model.train --run model/runs/main`` (resumable: rerun the same
command after an interruption and it continues from ``<run>/last.pt``).
Writes ``last.pt`` every few minutes, ``best.pt`` whenever dev improves, and
one JSON line per evaluation to ``<run>/history.jsonl``.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import json
import logging
import math
import random
import time
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tokenizers import Tokenizer
from torch.nn import functional as F
from tqdm import tqdm

from model.data import fold_ids, polarity, read_reviews
from model.encoded import Encoded, cached_encode
from model.metrics import balanced_accuracy, rating_mae
from model.network import NetConfig, SentimentNet
from model.paths import RUNS_DIR, split_file
from model.soft_targets import SoftTargets, load
from model.tokenizer import UNK_ID
from shared.sentiment.decision import median_ratings

log = logging.getLogger(__name__)
RATINGS = torch.arange(1, 11, dtype=torch.float32)
# Positivity targets for neutral ratings 5..8 (down-weighted), so the neutral band has room.
SOFT_TARGETS = torch.tensor([0, 0, 0, 0, 0.2, 0.35, 0.5, 0.65, 1, 1], dtype=torch.float32)


def option(default: Any, help: str = "") -> Any:
    """A config field that also becomes a command-line option (see ``parse_args``)."""
    return field(default=default, metadata={"help": help})


@dataclass
class TrainConfig:
    """Optimisation settings (stored in checkpoints); each is a ``--option`` of the CLI."""

    epochs: int = option(3)
    batch_size: int = option(256)
    lr: float = option(3e-3, "peak learning rate (AdamW)")
    weight_decay: float = option(0.01)
    rating_l1: float = option(0.1, "weight of the L1 on the expected rating")
    rating_weight: float = option(1.0, "weight of the rating loss against the positivity loss")
    neutral_weight: float = option(0.3, "positivity-loss weight of 5-8 reviews")
    warmup: float = option(0.05, "share of the schedule spent warming up")
    ema: float = option(0.0, "decay of the weight average evaluated and exported (0: off)")
    time_budget_minutes: float | None = option(
        None, "end training (LR fully decayed) after this much training time"
    )
    seed: int = option(13)
    limit: int | None = option(None, "use the first N train rows")
    dev_limit: int | None = option(None, "use the first N dev rows")
    distill: float = option(
        0.0, "weight of the teachers' soft targets against the gold labels (needs --soft-targets)"
    )
    token_dropout: float = option(0.0, "share of tokens replaced by [UNK] in training batches")
    fold: int | None = option(
        None, "cross-fitting: train without this fold of the train rows (see --folds)"
    )
    folds: int = option(2, "number of cross-fitting folds (model.data.fold_ids)")
    net: dict[str, Any] = field(default_factory=dict)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def epoch_batches(lengths: np.ndarray, batch_size: int, seed: int) -> list[np.ndarray]:
    """Shuffled batches of similar length (sorted within blocks of 50 batches)."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(lengths))
    block = batch_size * 50
    batches: list[np.ndarray] = []
    for start in range(0, len(order), block):
        chunk = order[start : start + block]
        chunk = chunk[np.argsort(lengths[chunk], kind="stable")]
        batches.extend(chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size))
    rng.shuffle(batches)
    return batches


Teacher = tuple[torch.Tensor, torch.Tensor]  # P(positive) (B,), rating distribution (B, 10)


def multitask_loss(
    net: SentimentNet,
    batch: tuple[torch.Tensor, torch.Tensor],
    ratings: torch.Tensor,
    pos_weight: float,
    cfg: TrainConfig,
    *,
    teacher: Teacher | None = None,
) -> torch.Tensor:
    """Positivity BCE + rating CE (all rows) + L1 on the expected rating.

    BCE: 1-4 -> 0 and 9-10 -> 1, the negatives up-weighted to balance the classes;
    5-8 -> soft targets with weight ``neutral_weight``. With a ``teacher``, both the
    BCE and the CE mix the gold targets with the teacher's (weight ``cfg.distill``),
    the row weights staying those of the gold classes.
    """
    logit, rating_logits = net(*batch)
    target = torch.from_numpy(polarity(ratings.numpy()))
    polar = ~torch.isnan(target)
    weights = torch.where(target == 1.0, 1.0, pos_weight)
    weights = torch.where(polar, weights, cfg.neutral_weight)
    target = torch.where(polar, target, SOFT_TARGETS[ratings.clamp(1, 10) - 1])
    bce = F.binary_cross_entropy_with_logits(logit, target, weight=weights)
    ce = F.cross_entropy(rating_logits, ratings - 1)
    if teacher is not None and cfg.distill:
        soft_pos, soft_probs = teacher
        soft_bce = F.binary_cross_entropy_with_logits(logit, soft_pos, weight=weights)
        soft_ce = -(soft_probs * F.log_softmax(rating_logits, dim=-1)).sum(dim=-1).mean()
        bce = (1.0 - cfg.distill) * bce + cfg.distill * soft_bce
        ce = (1.0 - cfg.distill) * ce + cfg.distill * soft_ce
    expected = (torch.softmax(rating_logits, dim=-1) * RATINGS).sum(dim=-1)
    l1 = (expected - ratings.float()).abs().mean()
    return bce + cfg.rating_weight * (ce + cfg.rating_l1 * l1)


def drop_tokens(ids: torch.Tensor, mask: torch.Tensor, rate: float) -> torch.Tensor:
    """``ids`` with a random ``rate`` of the real tokens replaced by [UNK] (augmentation)."""
    if rate <= 0.0:
        return ids
    dropped = (torch.rand(ids.shape) < rate) & mask.bool()
    return ids.masked_fill(dropped, UNK_ID)


@torch.no_grad()
def predict_outputs(
    net: SentimentNet, data: Encoded, batch_size: int = 512
) -> tuple[np.ndarray, np.ndarray]:
    """(P(positive) (n,), rating distribution (n, 10)) for every row, in row order."""
    net.eval()
    order = np.argsort(data.lengths, kind="stable")
    pos = np.zeros(len(data), dtype=np.float32)
    probs = np.zeros((len(data), RATINGS.numel()), dtype=np.float32)
    for start in range(0, len(order), batch_size):
        rows = order[start : start + batch_size]
        logit, rating_logits = net(*data.batch(rows))
        pos[rows] = torch.sigmoid(logit).numpy()
        probs[rows] = torch.softmax(rating_logits, dim=-1).numpy()
    net.train()
    return pos, probs


def predict(net: SentimentNet, data: Encoded) -> tuple[np.ndarray, np.ndarray]:
    """(positivity, expected rating) for every row, in row order."""
    pos, probs = predict_outputs(net, data)
    return pos, probs @ RATINGS.numpy()


def dev_scores(net: SentimentNet, dev: Encoded) -> dict[str, float]:
    pos, probs = predict_outputs(net, dev)
    acc = balanced_accuracy(pos, dev.ratings)
    mae = rating_mae(median_ratings(probs), dev.ratings)  # the served rating
    return {"dev_acc": acc, "dev_mae": mae, "dev_score": acc - 0.02 * mae}


def save_atomic(obj: dict[str, Any], path: Path) -> None:
    tmp = path.with_suffix(".tmp")
    torch.save(obj, tmp)
    tmp.replace(path)


def learning_rate(cfg: TrainConfig, progress: float) -> float:
    """Linear warm-up then cosine decay to 2% of the peak, over progress in [0, 1]."""
    if progress < cfg.warmup:
        return cfg.lr * max(progress / cfg.warmup, 0.02)
    rest = (progress - cfg.warmup) / (1.0 - cfg.warmup)
    return cfg.lr * (0.02 + 0.98 * 0.5 * (1.0 + math.cos(math.pi * min(rest, 1.0))))


class Trainer:
    """Holds the model, optimiser and schedule; checkpoints and resumes.

    Schedule progress is the fraction of planned steps done or, with a time budget,
    of the budget spent (whichever is larger): a slow machine still ends on time
    with a fully decayed learning rate.
    """

    def __init__(
        self,
        run: Path,
        cfg: TrainConfig,
        train: Encoded,
        dev: Encoded,
        teacher: SoftTargets | None = None,
    ) -> None:
        self.run, self.cfg, self.train, self.dev, self.teacher = run, cfg, train, dev, teacher
        if teacher is not None:
            teacher.check_rows(train.ratings, "train")
        seed_everything(cfg.seed)
        self.net = SentimentNet(NetConfig(**cfg.net))
        # Evaluated and exported weights: an exponential moving average when cfg.ema > 0.
        self.ema = copy.deepcopy(self.net).eval() if cfg.ema else self.net
        self.opt = torch.optim.AdamW(
            self.net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay
        )
        self.steps_per_epoch = math.ceil(len(train) / cfg.batch_size)
        pol = polarity(train.ratings)
        self.pos_weight = float(np.sum(pol == 1.0) / max(np.sum(pol == 0.0), 1))
        self.epoch, self.step, self.best, self.elapsed = 0, 0, -math.inf, 0.0

    def progress(self) -> float:
        planned = self.cfg.epochs * self.steps_per_epoch
        done = (self.epoch * self.steps_per_epoch + self.step) / planned
        if self.cfg.time_budget_minutes:
            done = max(done, self.elapsed / (60.0 * self.cfg.time_budget_minutes))
        return done

    def state(self) -> dict[str, Any]:
        state = {
            "net": self.ema.state_dict(),
            "opt": self.opt.state_dict(),
            "epoch": self.epoch,
            "step": self.step,
            "best": self.best,
            "elapsed": self.elapsed,
            "train_config": self.cfg.__dict__,
            "net_config": self.net.config.to_dict(),
            "torch_rng": torch.get_rng_state(),
        }
        if self.ema is not self.net:  # the trained weights, needed to resume
            state["live"] = self.net.state_dict()
        return state

    def resume(self, path: Path) -> None:
        ckpt = torch.load(path, weights_only=False)
        self.net.load_state_dict(ckpt.get("live", ckpt["net"]))
        self.ema.load_state_dict(ckpt["net"])
        self.opt.load_state_dict(ckpt["opt"])
        self.epoch, self.step, self.best = ckpt["epoch"], ckpt["step"], ckpt["best"]
        self.elapsed = ckpt["elapsed"]
        torch.set_rng_state(ckpt["torch_rng"])
        log.info("resumed from %s at epoch %d step %d", path, self.epoch, self.step)

    def evaluate(self) -> None:
        scores = dev_scores(self.ema, self.dev)
        scores |= {
            "epoch": self.epoch,
            "step": self.step,
            "progress": round(self.progress(), 4),
            "elapsed_s": round(self.elapsed),
            "time": time.time(),
        }
        with open(self.run / "history.jsonl", "a") as handle:
            handle.write(json.dumps(scores) + "\n")
        log.info("dev %s", scores)
        if scores["dev_score"] > self.best:
            self.best = scores["dev_score"]
            save_atomic(self.state() | {"dev": scores}, self.run / "best.pt")

    def train_step(self, rows: np.ndarray) -> float:
        for group in self.opt.param_groups:
            group["lr"] = learning_rate(self.cfg, self.progress())
        ids, mask = self.train.batch(rows)
        ids = drop_tokens(ids, mask, self.cfg.token_dropout)
        ratings = torch.from_numpy(self.train.ratings[rows])
        teacher = None
        if self.teacher is not None:
            teacher = (
                torch.from_numpy(self.teacher.positivity[rows]),
                torch.from_numpy(self.teacher.rating_probs[rows]),
            )
        loss = multitask_loss(
            self.net, (ids, mask), ratings, self.pos_weight, self.cfg, teacher=teacher
        )
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.net.parameters(), 1.0)
        self.opt.step()
        self.step += 1
        self.update_ema()
        return float(loss.item())

    @torch.no_grad()
    def update_ema(self) -> None:
        if self.ema is self.net:
            return
        steps = self.epoch * self.steps_per_epoch + self.step
        decay = min(self.cfg.ema, (1 + steps) / (10 + steps))  # short memory early on
        live = [p.detach() for p in self.net.parameters()]
        torch._foreach_lerp_(list(self.ema.parameters()), live, 1.0 - decay)

    def fit(self, checkpoint_s: float, eval_s: float, stop_after: int | None = None) -> None:
        """Train to the end of the schedule (or for ``stop_after`` steps, then checkpoint)."""
        last_ckpt = last_eval = tick = time.time()
        budget = stop_after if stop_after is not None else math.inf
        while self.epoch < self.cfg.epochs and self.progress() < 1.0 and budget > 0:
            seed = self.cfg.seed + self.epoch
            batches = epoch_batches(self.train.lengths, self.cfg.batch_size, seed)
            bar = tqdm(
                total=len(batches),
                initial=self.step,
                mininterval=20,
                desc=f"epoch {self.epoch + 1}/{self.cfg.epochs}",
            )
            for rows in batches[self.step :]:
                loss = self.train_step(rows)
                budget -= 1
                now = time.time()
                self.elapsed, tick = self.elapsed + (now - tick), now
                bar.update(1)
                bar.set_postfix(
                    loss=f"{loss:.3f}", lr=f"{self.opt.param_groups[0]['lr']:.1e}", refresh=False
                )
                if now - last_eval > eval_s:
                    self.evaluate()
                    last_eval = tick = time.time()
                if now - last_ckpt > checkpoint_s:
                    save_atomic(self.state(), self.run / "last.pt")
                    last_ckpt = tick = time.time()
                if self.progress() >= 1.0 or budget <= 0:
                    break
            bar.close()
            if self.step >= len(batches):
                self.epoch, self.step = self.epoch + 1, 0
            self.evaluate()
            last_eval = tick = time.time()
            save_atomic(self.state(), self.run / "last.pt")
        summary = {
            "epochs_done": self.epoch + self.step / self.steps_per_epoch,
            "train_seconds": round(self.elapsed),
            "best_dev_score": self.best,
        }
        (self.run / "train_summary.json").write_text(json.dumps(summary) + "\n")


def load_split(tokenizer: Tokenizer, path: Path, cache: Path, limit: int | None) -> Encoded:
    reviews = read_reviews(path, limit=limit)
    return cached_encode(tokenizer, reviews, cache)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Run options, plus one option per ``TrainConfig`` and ``NetConfig`` field."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--run", type=Path, default=RUNS_DIR / "main")
    parser.add_argument("--train", type=Path, default=None)
    parser.add_argument("--dev", type=Path, default=None)
    parser.add_argument(
        "--soft-targets", type=Path, default=None, help="folder with the teachers' train.npz"
    )
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--checkpoint-minutes", type=float, default=3.0)
    parser.add_argument("--eval-minutes", type=float, default=12.0)
    parser.add_argument(
        "--stop-after-steps",
        type=int,
        default=None,
        help="checkpoint and exit after this many steps (rerun to resume)",
    )
    hints = typing.get_type_hints(TrainConfig)
    for item in dataclasses.fields(TrainConfig):
        if item.name != "net":
            # "int | None" parses as int; a plain type as itself
            kind = (typing.get_args(hints[item.name]) or (hints[item.name],))[0]
            parser.add_argument(
                f"--{item.name.replace('_', '-')}",
                type=kind,
                default=item.default,
                help=item.metadata.get("help"),
            )
    for name, default in NetConfig().to_dict().items():
        parser.add_argument(f"--{name.replace('_', '-')}", type=type(default), default=default)
    return parser.parse_args(argv)


def config_from(args: argparse.Namespace, vocab_size: int) -> TrainConfig:
    net = {k: getattr(args, k) for k in NetConfig().to_dict()} | {"vocab_size": vocab_size}
    names = [f.name for f in dataclasses.fields(TrainConfig) if f.name != "net"]
    return TrainConfig(**{name: getattr(args, name) for name in names}, net=net)


def load_teacher(path: Path | None, rows: int) -> SoftTargets | None:
    """The teachers' train targets, cut to the first ``rows`` (``--limit``)."""
    if path is None:
        return None
    full = load(path / "train.npz")
    return SoftTargets(full.positivity[:rows], full.rating_probs[:rows], full.ratings[:rows])


def without_fold(
    train: Encoded, teacher: SoftTargets | None, fold: int, folds: int
) -> tuple[Encoded, SoftTargets | None]:
    """The train rows outside ``fold`` (so the model can predict that fold out of sample)."""
    if not 0 <= fold < folds:
        raise SystemExit(f"--fold must be in 0..{folds - 1}")
    keep = np.flatnonzero(fold_ids(len(train), folds) != fold)
    if teacher is not None:
        teacher = SoftTargets(
            teacher.positivity[keep], teacher.rating_probs[keep], teacher.ratings[keep]
        )
    return train.subset(keep), teacher


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    torch.set_num_threads(args.threads)
    tokenizer = Tokenizer.from_file(str(args.run / "tokenizer.json"))
    cfg = config_from(args, tokenizer.get_vocab_size())
    if cfg.distill and args.soft_targets is None:
        raise SystemExit("--distill needs --soft-targets")
    train_path = args.train or split_file("train")
    train = load_split(tokenizer, train_path, args.run / "train.npz", cfg.limit)
    dev = load_split(tokenizer, args.dev or split_file("dev"), args.run / "dev.npz", cfg.dev_limit)
    teacher = load_teacher(args.soft_targets, len(train))
    if cfg.fold is not None:
        train, teacher = without_fold(train, teacher, cfg.fold, cfg.folds)
    log.info("train %d rows, dev %d rows, config %s", len(train), len(dev), cfg)
    trainer = Trainer(args.run, cfg, train, dev, teacher)
    if (args.run / "last.pt").exists():
        trainer.resume(args.run / "last.pt")
    trainer.fit(args.checkpoint_minutes * 60, args.eval_minutes * 60, args.stop_after_steps)
    log.info("done; best dev score %.4f", trainer.best)


if __name__ == "__main__":
    main()
