# RTMPose-s on COCO person keypoints, MMPose's rtmpose-s_8xb256-420e_coco-256x192:
# rtmpose-m_b256-420e_coco-256x192.py (head, codec, data, schedule, EMA, stage-2
# switch) with CSPNeXt-s (deepen 0.33, widen 0.5; a 512-channel map) and no weight
# decay (5.5 M parameters).
# MMPose reports 71.6 AP on COCO val2017 (rtmpose_coco.yml); its published checkpoint
# rtmpose-s_simcc-coco_pt-aic-coco_420e-256x192-8edcf0d7_20230127.pth loads as it is.
# Backbone initialisation: MMPose starts from its pose-trained
# cspnext-s_udp-aic-coco_210e-256x192-92f5a029_20230130.pth, not ImageNet weights, so
# none is named here (see rtmpose-m_b256-420e_coco-256x192.py for the init_cfg to add).
_base_ = ['./rtmpose-m_b256-420e_coco-256x192.py']

model = dict(backbone=dict(deepen_factor=0.33, widen_factor=0.5),
             head=dict(in_channels=512))
optim_wrapper = dict(optimizer=dict(weight_decay=0.))
