"""Top-level model of the video → 3D pipeline: CNN per frame, temporal neck, head."""
from hpekit.config.checks import codec_not_set
from hpekit.models.estimators.base import (TASK_VIDEO3D, BasePoseEstimator, EstimatorSpec,
                                           build_part, preprocessor_stats)
from hpekit.registry import MODELS
from hpekit.structures import PoseDataSample


@MODELS.register_module()
class VideoPoseRegressor(BasePoseEstimator):
    """Regress 3D joints for every frame of a clip.

    Frames are folded into the batch for the backbone and the spatial neck
    ([B·T, 3, H, W] → [B·T, D]), unfolded to [B, T, D] for the temporal neck, and
    the head maps [B, T, D'] to [B, T, K, 3] (metres).

    Args:
        backbone (dict): backbone config, e.g. ``dict(type='ResNet', depth=18)``.
        spatial_neck (dict): ``ChannelReduction`` or ``GlobalAveragePooling``
            config: feature maps [B·T, C, h, w] → vectors [B·T, D].
        temporal_neck (dict, optional): ``RecurrentNeck`` / ``TemporalConvNeck``
            config, [B, T, D] → [B, T, D']; None means identity.
        head (dict): ``JointRegressionHead`` config; its ``decoder`` codec
            (``RootRelativeJoints3D``) gives the frame size and the frames per clip.
        data_preprocessor (dict, optional): defaults to
            ``dict(type='ClipDataPreprocessor')`` (ImageNet mean/std).
        init_cfg (dict, optional): mmengine init config.

    Shapes:
        forward(inputs [B, T, 3, H, W] float (normalised), data_samples, mode):
        'tensor' → [B, T, K, 3]; 'loss' → ``{'loss_joints': scalar}``;
        'predict' → list of B ``PoseDataSample`` with ``pred_joints_3d`` [T, K, 3].
    """

    sweep_example = dict(
        cfg=dict(backbone=dict(type='ResNet', depth=18, base_channels=8),
                 spatial_neck=dict(type='GlobalAveragePooling'),
                 temporal_neck=dict(type='RecurrentNeck', in_channels=64, hidden_size=8),
                 head=dict(type='JointRegressionHead', in_channels=8, num_joints=3,
                           decoder=dict(type='RootRelativeJoints3D', input_size=(32, 32),
                                        num_frames=2))),
        inputs=[(1, 2, 3, 32, 32)])

    def __init__(self, backbone, spatial_neck, temporal_neck, head,
                 data_preprocessor=None, init_cfg=None):
        if data_preprocessor is None:
            data_preprocessor = dict(type='ClipDataPreprocessor')
        super().__init__(data_preprocessor=build_part(data_preprocessor),
                         init_cfg=init_cfg)
        self.backbone = build_part(backbone)
        self.spatial_neck = build_part(spatial_neck)
        self.temporal_neck = build_part(temporal_neck)
        self.head = build_part(head)

    @property
    def spec(self) -> EstimatorSpec:
        """Task 'video3d': clips [B, T, 3, H, W] → joints [B, T, K, 3] metres."""
        mean, std = preprocessor_stats(self)
        decoder = self.head.decoder
        if decoder is None:   # the spec needs the frame size and the frames per clip
            raise codec_not_set('model.head.decoder',
                                f'{type(self.head).__name__} of VideoPoseRegressor')
        return EstimatorSpec(task=TASK_VIDEO3D, input_size=decoder.input_size,
                             num_keypoints=self.head.num_joints,
                             num_frames=decoder.num_frames, mean=mean, std=std,
                             input_name='clip', output_names=('joints_3d',),
                             output_layouts=('[B, T, K, 3] metres',))

    def forward_tensor(self, inputs):
        """Normalised clips → joints [B, T, K, 3] metres."""
        return self.head(self.extract_feat(inputs))

    def extract_feat(self, inputs):
        """[B, T, 3, H, W] → per-frame features after the temporal neck [B, T, D']."""
        if inputs.dim() != 5:
            raise ValueError(f'expected inputs of shape [B, T, 3, H, W], '
                             f'got {tuple(inputs.shape)}')
        batch, frames = inputs.shape[:2]
        feats = self.backbone(inputs.flatten(0, 1))
        feats = self.spatial_neck(feats).reshape(batch, frames, -1)
        if self.temporal_neck is not None:
            feats = self.temporal_neck(feats)
        return feats

    def forward(self, inputs, data_samples=None, mode='tensor'):
        """Dispatch on ``mode``: 'tensor', 'loss' or 'predict' (see class doc)."""
        if mode == 'tensor':
            return self.head(self.extract_feat(inputs))
        if mode == 'loss':
            if data_samples is None:
                raise ValueError("mode='loss' needs data_samples with gt_joints_3d")
            return self.head.loss(self.extract_feat(inputs), data_samples)
        if mode == 'predict':
            if data_samples is None:
                data_samples = [PoseDataSample() for _ in range(inputs.shape[0])]
            return self.head.predict(self.extract_feat(inputs), data_samples)
        raise ValueError(f"mode must be 'tensor', 'loss' or 'predict', got {mode!r}")

    def predict_exported(self, run, clips, data_samples):
        """``predict`` with the joints computed by ``run`` (the exported graph)."""
        if data_samples is None:
            data_samples = [PoseDataSample() for _ in range(clips.shape[0])]
        return self.head.decode_joints(run(clips)[0], data_samples)
