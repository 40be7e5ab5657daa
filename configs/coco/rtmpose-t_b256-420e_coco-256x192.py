# RTMPose-t on COCO person keypoints, MMPose's rtmpose-t_8xb256-420e_coco-256x192:
# rtmpose-m_b256-420e_coco-256x192.py (head, codec, data, schedule, stage-2 switch)
# with CSPNeXt-t (deepen 0.167, widen 0.375; a 384-channel map), no weight decay, and
# no EMA (MMPose turns it off for the tiny model) (3.3 M parameters).
# MMPose reports 68.2 AP on COCO val2017 (rtmpose_coco.yml); its published checkpoint
# rtmpose-tiny_simcc-coco_pt-aic-coco_420e-256x192-e613ba3f_20230127.pth loads as it is.
# Backbone initialisation: MMPose starts from its pose-trained
# cspnext-tiny_udp-aic-coco_210e-256x192-cbed682d_20230130.pth, not ImageNet weights,
# so none is named here (see rtmpose-m_b256-420e_coco-256x192.py for the init_cfg to add).
_base_ = ['./rtmpose-m_b256-420e_coco-256x192.py']

model = dict(backbone=dict(deepen_factor=0.167, widen_factor=0.375),
             head=dict(in_channels=384))
optim_wrapper = dict(optimizer=dict(weight_decay=0.))
custom_hooks = [hook for hook in _base_.custom_hooks if hook['type'] != 'EMAHook']
