# Baseline hourglass; the prediction merges the stacks' heatmaps 0.3 · first + 0.7 · last.
_base_ = ['./hg2-bottleneck_b24-20e_mpii-256.py']

model = dict(head=dict(merge_weights=[0.3, 0.7]))
