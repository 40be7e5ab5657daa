"""Batching and device transfer of 2D keypoint sequences (the lifting models' inputs)."""
import torch
from mmengine.model import BaseDataPreprocessor

from hpekit.models.data_preprocessors.image_preprocessor import move_samples
from hpekit.registry import MODELS


@MODELS.register_module()
class KeypointDataPreprocessor(BaseDataPreprocessor):
    """Stack keypoint sequences and copy them to the model's device as float32.

    The keypoints arrive normalised (the codec's ``encode``), so nothing is rescaled.

    Shapes:
        forward(data, training=False): ``data = {'inputs': list of B float
        [T, K, 2] tensors (or one [B, T, K, 2] tensor), 'data_samples': list or
        None}`` → ``{'inputs': float32 [B, T, K, 2] on the device, 'data_samples'}``.
    """

    sweep_example = dict(cfg=dict(), data=[(5, 3, 2)])

    def forward(self, data, training=False):
        inputs = data['inputs']
        if isinstance(inputs, (list, tuple)):
            if not inputs:
                raise ValueError('expected a non-empty list of [T, K, 2] keypoint tensors')
            shapes = {tuple(item.shape) for item in inputs}
            if len(shapes) != 1:
                raise ValueError(f'expected keypoint sequences of one shape to stack, got '
                                 f'{sorted(shapes)}')
            inputs = torch.stack(list(inputs))
        if inputs.dim() != 4 or inputs.shape[-1] != 2:
            raise ValueError(f'expected inputs [B, T, K, 2], got {tuple(inputs.shape)}')
        inputs = inputs.to(self.device, non_blocking=self._non_blocking).float()
        return {'inputs': inputs, 'data_samples': move_samples(self, data.get('data_samples'))}
