# Bottleneck whose middle 3×3 conv only is depthwise-separable (2.80 M).
_base_ = ['./hg2-bottleneck_b24-20e_mpii-256.py']

model = dict(backbone=dict(block=dict(type='DWSepMidBottleneck')))
