"""Per-epoch reseeding: a resumed run draws the same randomness as an uninterrupted one."""
import random

import numpy as np
import torch
from mmengine.dist import get_rank
from mmengine.hooks import Hook

from hpekit.registry import HOOKS


def seed_everything(seed):
    """Seed Python's ``random``, numpy's global RNG and torch (CPU and CUDA) with ``seed``."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


@HOOKS.register_module()
class EpochSeedHook(Hook):
    """Reseed every RNG at the start of each training epoch from (seed, epoch, rank).

    mmengine seeds once per run, so a run resumed from a checkpoint draws different
    augmentations and dropout masks than the uninterrupted run. Seeding each epoch
    from ``randomness.seed`` + epoch (+ rank) makes an epoch's randomness independent
    of what ran before it: resuming at an epoch boundary continues exactly. DataLoader
    workers derive their seeds from torch's RNG (see ``seed_worker``), so they follow.

    Does nothing when the config sets no seed.
    """

    priority = 'VERY_HIGH'

    def before_train_epoch(self, runner):
        seed = runner.seed
        if seed is None:
            return
        seed_everything(seed + 100_003 * runner.epoch + 7_919 * get_rank())
