"""The sentiment network: BiLSTM with max+mean pooling plus a hashed n-gram bag.

Padding never changes a row's result: the backward LSTM reads each row reversed
within its own length, and every pooling is masked. So a review scores the same
alone or padded in a batch, and the graph exports to ONNX with dynamic axes.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import Tensor, nn

HASH_PRIME = 1_000_003
N_RATINGS = 10
NEG_INF = -1e4


@dataclass(frozen=True)
class NetConfig:
    """Architecture hyper-parameters (stored in checkpoints)."""

    vocab_size: int = 8000
    embed_dim: int = 128
    hidden: int = 160
    ngram_buckets: int = 100_003
    ngram_dim: int = 64
    ngram_max: int = 3
    head_dim: int = 128
    dropout: float = 0.3

    def to_dict(self) -> dict[str, int | float]:
        return asdict(self)


def reverse_within_length(x: Tensor, lengths: Tensor) -> Tensor:
    """Reverse each row's first ``length`` steps, leaving padding in place."""
    steps = torch.arange(x.shape[1], device=x.device).unsqueeze(0)
    last = lengths.unsqueeze(1) - 1
    index = torch.where(steps <= last, last - steps, steps)
    return torch.gather(x, 1, index.unsqueeze(-1).expand(-1, -1, x.shape[2]))


def hashed_ngrams(
    ids: Tensor, mask: Tensor, buckets: int, max_order: int = 3
) -> tuple[Tensor, Tensor]:
    """Bucket ids of the 2..max_order-grams of token ids, with their validity mask.

    The hash is reduced modulo ``buckets`` after every token so int64 never overflows.
    """
    grams, valid = [], []
    running = ids
    for order in range(2, max_order + 1):
        offset = 7 * (order - 2)
        running = (running[:, :-1] * HASH_PRIME + ids[:, order - 1 :] + offset) % buckets
        grams.append(running)
        valid.append(mask[:, order - 1 :])
    return torch.cat(grams, dim=1), torch.cat(valid, dim=1)


class SentimentNet(nn.Module):
    """Returns (positivity logit (B,), rating logits (B, 10))."""

    def __init__(self, config: NetConfig) -> None:
        super().__init__()
        self.config = config
        self.embed = nn.Embedding(config.vocab_size, config.embed_dim, padding_idx=0)
        self.fwd = nn.LSTM(config.embed_dim, config.hidden, batch_first=True)
        self.bwd = nn.LSTM(config.embed_dim, config.hidden, batch_first=True)
        self.ngrams = nn.Embedding(max(config.ngram_buckets, 1), config.ngram_dim)
        features = 4 * config.hidden + (config.ngram_dim if config.ngram_buckets else 0)
        self.drop = nn.Dropout(config.dropout)
        self.proj = nn.Sequential(nn.Linear(features, config.head_dim), nn.GELU())
        self.polarity_head = nn.Linear(config.head_dim, 1)
        self.rating_head = nn.Linear(config.head_dim, N_RATINGS)

    def encode(self, input_ids: Tensor, attention_mask: Tensor) -> Tensor:
        """Pooled features of shape (B, features)."""
        mask = attention_mask.to(torch.float32).unsqueeze(-1)
        lengths = attention_mask.sum(dim=1).clamp(min=1)
        x = self.drop(self.embed(input_ids))
        fwd, _ = self.fwd(x)
        bwd, _ = self.bwd(reverse_within_length(x, lengths))
        states = torch.cat([fwd, reverse_within_length(bwd, lengths)], dim=-1)
        pooled_max = (states + (1.0 - mask) * NEG_INF).max(dim=1).values
        pooled_mean = (states * mask).sum(dim=1) / lengths.unsqueeze(1).to(torch.float32)
        parts = [pooled_max, pooled_mean]
        if self.config.ngram_buckets:
            parts.append(self._ngram_bag(input_ids, attention_mask))
        return torch.cat(parts, dim=-1)

    def _ngram_bag(self, input_ids: Tensor, attention_mask: Tensor) -> Tensor:
        grams, valid = hashed_ngrams(
            input_ids, attention_mask, self.config.ngram_buckets, self.config.ngram_max
        )
        weights = valid.to(torch.float32).unsqueeze(-1)
        total = (self.ngrams(grams) * weights).sum(dim=1)
        return total / weights.sum(dim=1).clamp(min=1.0)

    def forward(self, input_ids: Tensor, attention_mask: Tensor) -> tuple[Tensor, Tensor]:
        hidden = self.proj(self.drop(self.encode(input_ids, attention_mask)))
        hidden = self.drop(hidden)
        return self.polarity_head(hidden).squeeze(-1), self.rating_head(hidden)


class ExportWrapper(nn.Module):
    """Inference graph: probabilities instead of logits, as the runtime expects.

    With several networks (checkpoints of one run) the probabilities are averaged.
    """

    def __init__(self, *nets: SentimentNet) -> None:
        super().__init__()
        self.nets = nn.ModuleList(nets)

    def forward(self, input_ids: Tensor, attention_mask: Tensor) -> tuple[Tensor, Tensor]:
        positivity, rating_probs = [], []
        for net in self.nets:
            logit, rating_logits = net(input_ids, attention_mask)
            positivity.append(torch.sigmoid(logit))
            rating_probs.append(torch.softmax(rating_logits, dim=-1))
        if len(self.nets) == 1:
            return positivity[0], rating_probs[0]
        return torch.stack(positivity).mean(dim=0), torch.stack(rating_probs).mean(dim=0)
