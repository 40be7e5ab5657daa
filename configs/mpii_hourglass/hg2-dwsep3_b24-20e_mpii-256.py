# Bottleneck whose three convs are all 3×3 depthwise + 1×1 pointwise (2.92 M).
# Reference PCKh@0.5 mean on MPII val: 78.67 (20 epochs).
_base_ = ['./hg2-bottleneck_b24-20e_mpii-256.py']

model = dict(backbone=dict(block=dict(type='DWSepBottleneck')))
