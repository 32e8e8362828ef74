"""Loading a trained network from a run's checkpoint."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from model.network import NetConfig, SentimentNet


def load_net(path: Path) -> SentimentNet:
    """The network stored in ``path`` (``best.pt`` or ``last.pt``), in eval mode."""
    ckpt = torch.load(path, weights_only=False, map_location="cpu")
    net = SentimentNet(NetConfig(**ckpt["net_config"]))
    net.load_state_dict(ckpt["net"])
    return net.eval()


def describe(path: Path) -> dict[str, Any]:
    """Where a checkpoint comes from: its epoch, step, dev scores and network shape."""
    ckpt = torch.load(path, weights_only=False, map_location="cpu")
    return {"checkpoint": os.path.normpath(path), "epoch": ckpt["epoch"], "step": ckpt["step"],
            "dev": ckpt.get("dev"), "net_config": ckpt["net_config"],
            "ema": ckpt["train_config"].get("ema", 0.0)}
