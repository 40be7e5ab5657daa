# As tcn-rf243_b1024-80e_h36m-gt2d.py, trained and tested on 2D detections instead of
# the ground-truth 2D joints: npz files with 'imgname' [N] (the annotation files'
# names) and 'keypoints' [N, 17, 2 or 3] px, in the Human3.6M joint order, e.g. the
# CPN detections converted once. Reference (MMPose): 47.9 mm MPJPE with CPN detections.
_base_ = ['./tcn-rf243_b1024-80e_h36m-gt2d.py']

train_dataloader = dict(dataset=dict(
    keypoint_2d_file='annotation_body3d/fps50/h36m_train_det2d.npz'))
val_dataloader = dict(dataset=dict(
    keypoint_2d_file='annotation_body3d/fps50/h36m_test_det2d.npz'))
test_dataloader = val_dataloader
