"""When a run changes its learning rate and when it scores itself: pure functions of the epoch,
so a resumed run needs no scheduler state."""
from __future__ import annotations

import math

import torch


def set_epoch_lr(optimizer: torch.optim.Optimizer, optim, epochs_done: int) -> None:
    """StepLR in closed form: lr x factor^(epochs done // every), so a resumed run needs no
    scheduler state. As Yang et al. call StepLR(step_size=100).step(epoch): epochs 1-100 train
    at lr, 101-200 at lr x 0.1."""
    if optim.lr_drop_every is None:
        return
    lr = optim.lr * optim.lr_drop_factor ** (epochs_done // optim.lr_drop_every)
    for group in optimizer.param_groups:
        group["lr"] = lr


def is_scored_epoch(epoch: int, total: int, schedule: str, per_decade: int = 20) -> bool:
    """Whether the end of `epoch` (1-based) is scored: every epoch, or ("log") the epochs
    round(10^(i / per_decade)), i = 0, 1, .. (1, 2, .., 10, 11, 13, .. ~20 per decade) and the last."""
    if schedule == "every" or epoch >= total:
        return True
    i = math.floor(per_decade * math.log10(epoch))
    return any(round(10 ** (j / per_decade)) == epoch for j in (i - 1, i, i + 1))
