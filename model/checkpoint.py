"""Loading a trained network from a run's checkpoint."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from model.network import NetConfig, SentimentNet


def load_with_origin(path: Path) -> tuple[SentimentNet, dict[str, Any]]:
    """The network stored in ``path`` (in eval mode) and where it comes from:
    its epoch, step, dev scores, network shape and weight-averaging decay."""
    ckpt = torch.load(path, weights_only=False, map_location="cpu")
    net = SentimentNet(NetConfig(**ckpt["net_config"]))
    net.load_state_dict(ckpt["net"])
    origin = {
        "checkpoint": os.path.normpath(path),
        "epoch": ckpt["epoch"],
        "step": ckpt["step"],
        "dev": ckpt.get("dev"),
        "net_config": ckpt["net_config"],
        "ema": ckpt["train_config"].get("ema", 0.0),
    }
    return net.eval(), origin


def load_net(path: Path) -> SentimentNet:
    """The network stored in ``path`` (``best.pt`` or ``last.pt``), in eval mode."""
    return load_with_origin(path)[0]
