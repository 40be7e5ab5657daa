"""Functions configs name by ``type`` (registered in ``hpekit.registry.FUNCTIONS``)."""
import random

import numpy as np
import torch

from hpekit.registry import FUNCTIONS


@FUNCTIONS.register_module()
def seed_worker(worker_id):
    """DataLoader ``worker_init_fn``: seed numpy and ``random`` from torch's worker seed.

    PyTorch gives each worker the seed ``base_seed + worker_id``, with ``base_seed``
    drawn from the main process's torch RNG each time an epoch's iterator starts. Using
    it for numpy too gives every worker, every epoch, distinct but reproducible
    augmentations (mmengine's default reuses the same seeds every epoch).
    ``worker_id`` is unused: torch's seed already includes it.
    """
    seed = torch.initial_seed() % 2**32
    np.random.seed(seed)
    random.seed(seed)
