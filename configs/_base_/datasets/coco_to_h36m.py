# COCO-17 → Human3.6M-17: how each Human3.6M keypoint (configs/_base_/datasets/h36m.py)
# is formed from COCO's (configs/_base_/datasets/coco.py), to feed a 2D COCO model's
# keypoints to a lifter trained on Human3.6M. Read at run time by
# hpekit.core.keypoint_mapping.load_keypoint_mapping; applied by map_keypoints.
#
# Each target keypoint is an affine combination of source keypoints: {source name:
# weight}, weights summing to 1 (a mean when equal). Its score is the lowest score of
# its sources. The rules are MMPose's (mmpose.apis.convert_keypoint_definition for
# 'coco' → 'h36m', used by demo/body3d_pose_lifter_demo.py and Pose3DInferencer):
#   root (pelvis)  = mean of the hips
#   thorax         = mean of the shoulders
#   spine          = mean of root and thorax = mean of hips and shoulders
#   neck_base      = the nose (COCO has no neck; MMPose takes the nose)
#   head           = mean of the eyes
#   feet           = the ankles; hips, knees, shoulders, elbows, wrists as named.
keypoint_mapping = dict(
    source='coco',
    target='h36m',
    keypoints={
        'root': {'left_hip': 0.5, 'right_hip': 0.5},
        'right_hip': {'right_hip': 1.0},
        'right_knee': {'right_knee': 1.0},
        'right_foot': {'right_ankle': 1.0},
        'left_hip': {'left_hip': 1.0},
        'left_knee': {'left_knee': 1.0},
        'left_foot': {'left_ankle': 1.0},
        'spine': {'left_hip': 0.25, 'right_hip': 0.25,
                  'left_shoulder': 0.25, 'right_shoulder': 0.25},
        'thorax': {'left_shoulder': 0.5, 'right_shoulder': 0.5},
        'neck_base': {'nose': 1.0},
        'head': {'left_eye': 0.5, 'right_eye': 0.5},
        'left_shoulder': {'left_shoulder': 1.0},
        'left_elbow': {'left_elbow': 1.0},
        'left_wrist': {'left_wrist': 1.0},
        'right_shoulder': {'right_shoulder': 1.0},
        'right_elbow': {'right_elbow': 1.0},
        'right_wrist': {'right_wrist': 1.0},
    },
)
