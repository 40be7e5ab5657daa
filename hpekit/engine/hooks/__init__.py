"""The hooks hpekit adds to mmengine's Runner, one concern per module (registered in
``hpekit.registry.HOOKS``; ``configs/_base_/default_runtime.py`` names them)."""
from hpekit.engine.hooks.channels_last import ChannelsLastHook
from hpekit.engine.hooks.checkpoint import SafeCheckpointHook
from hpekit.engine.hooks.checkpoint_keys import CheckpointKeysHook, CheckpointMismatchError
from hpekit.engine.hooks.curve_plot import CurvePlotHook
from hpekit.engine.hooks.dump_predictions import DumpPredictionsHook
from hpekit.engine.hooks.keypoint_count import KeypointCountError, KeypointCountHook
from hpekit.engine.hooks.metrics_json import MetricsJsonHook
from hpekit.engine.hooks.nonfinite_loss import NonFiniteLossError, NonFiniteLossHook
from hpekit.engine.hooks.pipeline_switch import PipelineSwitchHook
from hpekit.engine.hooks.seeding import EpochSeedHook, seed_everything
from hpekit.engine.hooks.setup import HpekitSetupHook
from hpekit.engine.hooks.visualization import PoseVisualizationHook

__all__ = ['ChannelsLastHook', 'CheckpointKeysHook', 'CheckpointMismatchError',
           'CurvePlotHook', 'DumpPredictionsHook', 'EpochSeedHook', 'HpekitSetupHook',
           'KeypointCountError', 'KeypointCountHook', 'MetricsJsonHook',
           'NonFiniteLossError', 'NonFiniteLossHook', 'PipelineSwitchHook',
           'PoseVisualizationHook', 'SafeCheckpointHook', 'seed_everything']
