"""Top-level model of the top-down 2D pipeline: person crop → heatmaps → keypoints."""
import torch

from hpekit.config.checks import codec_not_set
from hpekit.models.estimators.base import (TASK_TOPDOWN, BasePoseEstimator, EstimatorSpec,
                                           build_part, preprocessor_stats)
from hpekit.registry import MODELS
from hpekit.structures import PoseDataSample

DEFAULT_TEST_CFG = dict(flip_test=True, shift_heatmap=False, output_heatmaps=False,
                        flip_indices=None)


def _merge_test_cfg(test_cfg):
    """The defaults updated with ``test_cfg``; unknown keys raise ``ValueError``."""
    test_cfg = dict(test_cfg or {})
    unknown = sorted(set(test_cfg) - set(DEFAULT_TEST_CFG))
    if unknown:
        raise ValueError(f'unknown test_cfg keys {unknown}; allowed: '
                         f'{sorted(DEFAULT_TEST_CFG)}')
    return dict(DEFAULT_TEST_CFG, **test_cfg)


@MODELS.register_module()
class TopDownPoseEstimator(BasePoseEstimator):
    """Heatmap-based 2D pose estimation on person crops.

    Args:
        backbone (dict): e.g. ``dict(type='StackedHourglass')`` (returns per-stack
            heatmaps) or ``dict(type='ResNet', depth=50)`` (returns feature maps).
        head (dict): ``MultiStageHeatmapHead`` (hourglass) or ``DeconvHeatmapHead``
            (SimpleBaseline) config; its ``decoder`` codec (``decoder=codec`` in a
            config; required, ``CodecNotSetError`` naming ``model.head.decoder``
            otherwise) decodes the heatmaps and gives the input size.
        neck (dict, optional): applied to the backbone's output; None: identity.
        data_preprocessor (dict, optional): defaults to
            ``dict(type='ImageDataPreprocessor')`` (ImageNet mean/std).
        test_cfg (dict, optional): updates the defaults
            ``flip_test=True``: also predict the horizontally mirrored crop, flip
            its heatmaps back (``torch.flip`` on W, joints swapped by the samples'
            ``flip_indices`` metainfo, else ``flip_indices`` here) and average;
            ``shift_heatmap=False``: shift the flipped-back heatmaps one heatmap
            pixel right. HRNet's code needs this because its affine flips as
            x → W − x; hpekit's affine (``hpekit.core.affine``) flips exactly as
            x → W − 1 − x, so a flipped heatmap aligns with no shift — keep False
            unless the weights were trained with such a biased transform;
            ``output_heatmaps=False``: also store ``pred_heatmaps`` [K, h, w];
            ``flip_indices=None``: fallback joint permutation for flip test.
        init_cfg (dict, optional): mmengine init config.

    Shapes:
        forward(inputs [B, 3, H, W] float (normalised), data_samples, mode):
        'tensor' → tuple of heatmaps [B, K, h, w] (one per stack / one for
        SimpleBaseline); 'loss' → ``{'loss_kpt': scalar}`` (data samples with
        ``gt_heatmaps`` [K, h, w] and ``target_weight`` [K]); 'predict' → the B data
        samples with ``pred_keypoints`` float32 numpy [K, 2] (0-based image px, from
        each sample's ``center``/``bbox_size``/``heatmap_size`` metainfo) and
        ``keypoint_scores`` float32 numpy [K] (heatmap maxima).
    """

    sweep_example = dict(
        cfg=dict(backbone=dict(type='ResNet', depth=18, base_channels=8),
                 head=dict(type='DeconvHeatmapHead', in_channels=64, num_joints=3,
                           deconv_channels=(8,), deconv_kernels=(4,),
                           decoder=dict(type='MSRAHeatmap', input_size=(64, 64),
                                        heatmap_size=(4, 4)))),
        inputs=[(2, 3, 64, 64)])

    def __init__(self, backbone, head, neck=None, data_preprocessor=None,
                 test_cfg=dict(flip_test=True, shift_heatmap=False), init_cfg=None):
        if data_preprocessor is None:
            data_preprocessor = dict(type='ImageDataPreprocessor')
        super().__init__(data_preprocessor=build_part(data_preprocessor),
                         init_cfg=init_cfg)
        self.backbone = build_part(backbone)
        self.neck = build_part(neck)
        if isinstance(head, dict) and head.get('decoder') is None:
            raise codec_not_set('model.head.decoder', head.get('type'))
        self.head = build_part(head)
        self.test_cfg = _merge_test_cfg(test_cfg)

    @property
    def spec(self) -> EstimatorSpec:
        """Task 'topdown2d': crops [B, 3, H, W] → heatmaps [B, K, h, w]."""
        mean, std = preprocessor_stats(self)
        return EstimatorSpec(task=TASK_TOPDOWN, input_size=self.head.decoder.input_size,
                             num_keypoints=self.head.num_joints, mean=mean, std=std,
                             input_name='image', output_names=tuple(self.head.output_names),
                             output_layouts=tuple(self.head.output_layouts))

    def forward_tensor(self, inputs):
        """Normalised crops → the outputs ``predict`` decodes (no flip test): heatmaps
        [B, K, h, w], or ``(simcc_x, simcc_y)`` for a SimCC head."""
        return self.head.predict_outputs(self.extract_feat(inputs))

    def extract_feat(self, inputs):
        """[B, 3, H, W] → backbone (+ neck) output (tuple of maps)."""
        if inputs.dim() != 4 or inputs.shape[1] != 3:
            raise ValueError(f'expected inputs of shape [B, 3, H, W], '
                             f'got {tuple(inputs.shape)}')
        feats = self.backbone(inputs)
        return feats if self.neck is None else self.neck(feats)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        """Dispatch on ``mode``: 'tensor', 'loss' or 'predict' (see class doc)."""
        if mode == 'tensor':
            return self.head(self.extract_feat(inputs))
        if mode == 'loss':
            if data_samples is None:
                raise ValueError("mode='loss' needs data_samples with gt_heatmaps and "
                                 'target_weight')
            return self.head.loss(self.extract_feat(inputs), data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        raise ValueError(f"mode must be 'tensor', 'loss' or 'predict', got {mode!r}")

    def predict(self, inputs, data_samples=None):
        """[B, 3, H, W] + B data samples (with crop metainfo) → the data samples with
        ``pred_keypoints`` and ``keypoint_scores`` set (see class doc)."""
        if data_samples is None:
            data_samples = [PoseDataSample() for _ in range(inputs.shape[0])]
        feats = self.extract_feat(inputs)
        flipped = None
        if self.test_cfg['flip_test']:
            flipped = self.extract_feat(torch.flip(inputs, dims=[3]))
        return self.head.predict(feats, data_samples, self.test_cfg,
                                 flipped_feats=flipped)

    def predict_exported(self, run, pixels, data_samples):
        """``predict`` with the outputs computed by ``run`` (the exported graph): with
        flip test, the crops and their mirrors go through in one call; flip-back and
        decoding are the head's own (``decode_outputs``)."""
        if data_samples is None:
            data_samples = [PoseDataSample() for _ in range(pixels.shape[0])]
        if not self.test_cfg['flip_test']:
            return self.head.decode_outputs(run(pixels), data_samples, self.test_cfg)
        both = run(torch.cat([pixels, torch.flip(pixels, dims=[3])]))
        count = pixels.shape[0]
        return self.head.decode_outputs([out[:count] for out in both], data_samples,
                                        self.test_cfg,
                                        flipped_outputs=[out[count:] for out in both])
