# Baseline hourglass; the prediction merges the stacks' heatmaps 0.7 · first + 0.3 · last.
_base_ = ['./hg2-bottleneck_b24-20e_mpii-256.py']

model = dict(head=dict(merge_weights=[0.7, 0.3]))
