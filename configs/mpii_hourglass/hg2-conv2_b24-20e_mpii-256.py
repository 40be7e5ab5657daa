# Two plain 3×3 convs in→out/2→out, no bottleneck (17.95 M).
# Reference PCKh@0.5 mean on MPII val: 78.52 (20 epochs).
_base_ = ['./hg2-bottleneck_b24-20e_mpii-256.py']

model = dict(backbone=dict(block=dict(type='TwoConv3x3')))
