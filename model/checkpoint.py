"""Loading a trained network from a run's checkpoint."""

from __future__ import annotations

from pathlib import Path

import torch

from model.network import NetConfig, SentimentNet


def load_net(path: Path) -> SentimentNet:
    """The network stored in ``path`` (``best.pt`` or ``last.pt``), in eval mode."""
    ckpt = torch.load(path, weights_only=False, map_location="cpu")
    net = SentimentNet(NetConfig(**ckpt["net_config"]))
    net.load_state_dict(ckpt["net"])
    return net.eval()
