# RTMPose-l on COCO person keypoints, MMPose's rtmpose-l_8xb256-420e_coco-256x192:
# rtmpose-m_b256-420e_coco-256x192.py (head, codec, data, schedule, weight decay 0.05,
# EMA, stage-2 switch) with CSPNeXt-l (deepen 1.0, widen 1.0; a 1024-channel map)
# (27.7 M parameters).
# MMPose reports 75.8 AP on COCO val2017 (rtmpose_coco.yml); its published checkpoint
# rtmpose-l_simcc-coco_pt-aic-coco_420e-256x192-1352a4d2_20230127.pth loads as it is.
# Backbone initialisation: MMPose starts from its pose-trained
# cspnext-l_udp-aic-coco_210e-256x192-273b7631_20230130.pth, not ImageNet weights, so
# none is named here (see rtmpose-m_b256-420e_coco-256x192.py for the init_cfg to add).
_base_ = ['./rtmpose-m_b256-420e_coco-256x192.py']

model = dict(backbone=dict(deepen_factor=1., widen_factor=1.), head=dict(in_channels=1024))
