# Bottleneck blocks whose middle 3×3 conv has dilation 2 (6.73 M parameters).
_base_ = ['./hg2-bottleneck_b24-20e_mpii-256.py']

model = dict(backbone=dict(block=dict(type='PreActBottleneck', dilation=2)))
