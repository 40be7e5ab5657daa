# Bottleneck blocks without the shortcut (no identity, no projection convs): 6.69 M.
_base_ = ['./hg2-bottleneck_b24-20e_mpii-256.py']

model = dict(backbone=dict(block=dict(type='PreActBottleneck', skip=False)))
