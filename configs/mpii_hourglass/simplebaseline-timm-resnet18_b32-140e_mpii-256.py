# SimpleBaseline on a timm backbone: timm's ResNet-18 feature extractor (its stride-32
# level, 512 channels) → three 4×4 stride-2 transposed convs (256, BN, ReLU) → 1×1 conv
# to 16 heatmaps; 256×256 in, 64×64 out (15.4 M). Schedule of the ResNet-50 config.
# Any timm model with features_only works: change model_name, out_indices and the
# head's in_channels (TimmBackbone.out_channels). Needs timm: pip install 'hpekit[timm]'.
# Weights are local only: ImageNet weights of timm's resnet18 saved beforehand at
# checkpoints/timm_resnet18.pth (or .safetensors) load with
#   --cfg-options model.backbone.checkpoint=checkpoints/timm_resnet18.pth
_base_ = ['./simplebaseline-res50_b32-140e_mpii-256.py']

model = dict(
    backbone=dict(_delete_=True, type='TimmBackbone', model_name='resnet18',
                  out_indices=(4, ), checkpoint=None),
    head=dict(in_channels=512))
