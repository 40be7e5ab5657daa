# Baseline blocks; the stem's first conv is 3×3 stride 2 instead of 7×7 (6.72 M).
_base_ = ['./hg2-bottleneck_b24-20e_mpii-256.py']

model = dict(backbone=dict(stem='patchify'))
