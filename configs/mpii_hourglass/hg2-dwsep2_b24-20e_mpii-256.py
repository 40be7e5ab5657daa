# Two 3×3 depthwise-separable convs in→out/2→out, no bottleneck (2.37 M).
_base_ = ['./hg2-bottleneck_b24-20e_mpii-256.py']

model = dict(backbone=dict(block=dict(type='TwoDWSepConv')))
