"""Top-level model of 2D → 3D lifting: temporal convolutions over 2D keypoints."""
from hpekit.config.checks import codec_not_set
from hpekit.models.estimators.base import (INPUT_KEYPOINTS, TASK_LIFTING, BasePoseEstimator,
                                           EstimatorSpec, build_part)
from hpekit.registry import MODELS
from hpekit.structures import PoseDataSample

LIFTING_INPUT = ('x / w · 2 − 1, y / w · 2 − h / w (image px; w, h the camera frame '
                 'size)')


@MODELS.register_module()
class PoseLifter(BasePoseEstimator):
    """Lift sequences of 2D keypoints to 3D joints (task 'lifting').

    The backbone (``TemporalConvNet``) maps T input frames of K normalised 2D
    keypoints to T - R + 1 feature vectors (R: its receptive field), one per output
    frame; the head (``JointRegressionHead`` with no hidden layers: the 1×1
    convolution of VideoPose3D) regresses K × 3 root-relative metres from each.

    Args:
        backbone (dict): ``TemporalConvNet`` config.
        head (dict): ``JointRegressionHead`` config; its ``decoder`` codec
            (``VideoPoseLifting``) gives the input frames (the receptive field).
        data_preprocessor (dict, optional): default ``KeypointDataPreprocessor``.
        init_cfg (dict, optional): mmengine init config.

    Shapes:
        forward(inputs [B, T, K, 2] normalised keypoints, data_samples, mode):
        'tensor' → [B, T - R + 1, K, 3]; 'loss' → ``{'loss_joints': scalar}`` against
        ``gt_joints_3d`` [T - R + 1, K, 3]; 'predict' → data samples with
        ``pred_joints_3d``.

    The exported graph (``export_forward``, spec ``input_kind='keypoints'``) takes the
    normalised keypoints [B, R, K, 2] and returns ``joints_3d`` [B, 1, K, 3] metres of
    the centre frame (more input frames give more outputs: T is dynamic).
    """

    sweep_example = dict(
        cfg=dict(backbone=dict(type='TemporalConvNet', num_keypoints=3, channels=8,
                               kernel_sizes=(3, 3)),
                 head=dict(type='JointRegressionHead', in_channels=8, num_joints=3,
                           hidden_dims=(), decoder=dict(type='VideoPoseLifting',
                                                        num_frames=9))),
        inputs=[(2, 9, 3, 2)])

    def __init__(self, backbone, head, data_preprocessor=None, init_cfg=None):
        if data_preprocessor is None:
            data_preprocessor = dict(type='KeypointDataPreprocessor')
        super().__init__(data_preprocessor=build_part(data_preprocessor), init_cfg=init_cfg)
        self.backbone = build_part(backbone)
        self.head = build_part(head)

    @property
    def receptive_field(self):
        return getattr(self.backbone, 'receptive_field', None)

    @property
    def spec(self) -> EstimatorSpec:
        """Task 'lifting': keypoints [B, R, K, 2] → joints [B, 1, K, 3] metres."""
        decoder = self.head.decoder
        frames = decoder.num_frames if decoder is not None else self.receptive_field
        if frames is None:   # the spec needs the input frames
            raise codec_not_set('model.head.decoder', f'{type(self.head).__name__} of PoseLifter')
        return EstimatorSpec(task=TASK_LIFTING, input_size=None,
                             num_keypoints=self.head.num_joints, num_frames=frames,
                             mean=(0.0, ), std=(1.0, ), input_name='keypoints',
                             output_names=('joints_3d', ),
                             output_layouts=('[B, T - R + 1, K, 3] metres, root-relative',),
                             input_kind=INPUT_KEYPOINTS, input_description=LIFTING_INPUT)

    def forward_tensor(self, inputs):
        """Normalised keypoints [B, T, K, 2] → joints [B, T - R + 1, K, 3] metres."""
        return self.head(self.backbone(inputs))

    def export_forward(self, keypoints):
        """The exported graph: normalised 2D keypoints in (no pixels), joints out."""
        return self.forward_tensor(keypoints)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        """Dispatch on ``mode``: 'tensor', 'loss' or 'predict' (see class doc)."""
        if mode == 'tensor':
            return self.forward_tensor(inputs)
        feats = self.backbone(inputs)
        if mode == 'loss':
            if data_samples is None:
                raise ValueError("mode='loss' needs data_samples with gt_joints_3d")
            return self.head.loss(feats, data_samples)
        if mode == 'predict':
            if data_samples is None:
                data_samples = [PoseDataSample() for _ in range(inputs.shape[0])]
            return self.head.predict(feats, data_samples)
        raise ValueError(f"mode must be 'tensor', 'loss' or 'predict', got {mode!r}")
