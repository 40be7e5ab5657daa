"""hpekit's Runner: mmengine's, with a log dir of its own for every run."""
import os
import os.path as osp

from mmengine.dist import broadcast_object_list, get_rank
from mmengine.runner import Runner


def claim_log_dir(work_dir: str, timestamp: str) -> str:
    """The first of ``timestamp``, ``timestamp_1``, ``timestamp_2`` … that is not yet a
    folder in ``work_dir``, created here (``os.mkdir`` is atomic: of two runs started
    in the same second, one gets ``timestamp`` and the other ``timestamp_1``)."""
    os.makedirs(work_dir, exist_ok=True)
    name, n = timestamp, 0
    while True:
        try:
            os.mkdir(osp.join(work_dir, name))
            return name
        except FileExistsError:
            n += 1
            name = f'{timestamp}_{n}'


class HpekitRunner(Runner):
    """mmengine's Runner whose log dir ``<work_dir>/<timestamp>/`` is never shared: a
    second run started in the same second in the same work dir logs to
    ``<timestamp>_1/`` (log file, ``vis_data/``) instead of appending to the first
    run's files. Rank 0 picks the name; the other ranks take it from rank 0.
    ``tools/train.py`` and ``tools/test.py`` build it with ``HpekitRunner.from_cfg``."""

    def setup_env(self, env_cfg):
        super().setup_env(env_cfg)
        name = [claim_log_dir(self._work_dir, self._timestamp) if get_rank() == 0
                else None]
        broadcast_object_list(name)
        self._timestamp = name[0]
