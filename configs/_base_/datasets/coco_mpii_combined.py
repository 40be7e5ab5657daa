# COCO's 17 person keypoints followed by the four MPII joints COCO does not label
# (pelvis, thorax, upper_neck, head_top): the keypoint set of a model trained on COCO
# and MPII together (MMPose metainfo format). Keypoints 0-16 are COCO's, in COCO's
# order, with COCO's joint weights and OKS sigmas; 17-20 take MPII's values. See
# "Mixing datasets" in docs/config.md: each dataset's samples are mapped into this
# order by a KeypointConverter, COCO's as they are:
#   coco  → [(i, i) for i in range(17)]
#   mpii  → [(0, 16), (1, 14), (2, 12), (3, 11), (4, 13), (5, 15), (6, 17), (7, 18),
#            (8, 19), (9, 20), (10, 10), (11, 8), (12, 6), (13, 5), (14, 7), (15, 9)]
dataset_info = dict(
    dataset_name='coco_mpii_combined',
    paper_info=dict(
        author='Lin, Tsung-Yi and others; Andriluka, Mykhaylo and others',
        title='Microsoft COCO: Common Objects in Context; 2D Human Pose Estimation: '
              'New Benchmark and State of the Art Analysis',
        container='ECCV; CVPR',
        year='2014',
        homepage='http://cocodataset.org/, http://human-pose.mpi-inf.mpg.de/',
    ),
    keypoint_info={
        0: dict(name='nose', id=0, color=[240, 200, 40], type='upper', swap=''),
        1: dict(name='left_eye', id=1, color=[60, 110, 230], type='upper', swap='right_eye'),
        2: dict(name='right_eye', id=2, color=[230, 60, 60], type='upper', swap='left_eye'),
        3: dict(name='left_ear', id=3, color=[60, 110, 230], type='upper', swap='right_ear'),
        4: dict(name='right_ear', id=4, color=[230, 60, 60], type='upper', swap='left_ear'),
        5: dict(name='left_shoulder', id=5, color=[60, 110, 230], type='upper', swap='right_shoulder'),
        6: dict(name='right_shoulder', id=6, color=[230, 60, 60], type='upper', swap='left_shoulder'),
        7: dict(name='left_elbow', id=7, color=[60, 110, 230], type='upper', swap='right_elbow'),
        8: dict(name='right_elbow', id=8, color=[230, 60, 60], type='upper', swap='left_elbow'),
        9: dict(name='left_wrist', id=9, color=[60, 110, 230], type='upper', swap='right_wrist'),
        10: dict(name='right_wrist', id=10, color=[230, 60, 60], type='upper', swap='left_wrist'),
        11: dict(name='left_hip', id=11, color=[60, 110, 230], type='lower', swap='right_hip'),
        12: dict(name='right_hip', id=12, color=[230, 60, 60], type='lower', swap='left_hip'),
        13: dict(name='left_knee', id=13, color=[60, 110, 230], type='lower', swap='right_knee'),
        14: dict(name='right_knee', id=14, color=[230, 60, 60], type='lower', swap='left_knee'),
        15: dict(name='left_ankle', id=15, color=[60, 110, 230], type='lower', swap='right_ankle'),
        16: dict(name='right_ankle', id=16, color=[230, 60, 60], type='lower', swap='left_ankle'),
        17: dict(name='pelvis', id=17, color=[240, 200, 40], type='lower', swap=''),
        18: dict(name='thorax', id=18, color=[240, 200, 40], type='upper', swap=''),
        19: dict(name='upper_neck', id=19, color=[240, 200, 40], type='upper', swap=''),
        20: dict(name='head_top', id=20, color=[240, 200, 40], type='upper', swap=''),
    },
    skeleton_info={
        0: dict(link=('left_ankle', 'left_knee'), id=0, color=[60, 110, 230]),
        1: dict(link=('left_knee', 'left_hip'), id=1, color=[60, 110, 230]),
        2: dict(link=('right_ankle', 'right_knee'), id=2, color=[230, 60, 60]),
        3: dict(link=('right_knee', 'right_hip'), id=3, color=[230, 60, 60]),
        4: dict(link=('left_hip', 'pelvis'), id=4, color=[60, 110, 230]),
        5: dict(link=('pelvis', 'right_hip'), id=5, color=[230, 60, 60]),
        6: dict(link=('pelvis', 'thorax'), id=6, color=[240, 200, 40]),
        7: dict(link=('thorax', 'left_shoulder'), id=7, color=[60, 110, 230]),
        8: dict(link=('thorax', 'right_shoulder'), id=8, color=[230, 60, 60]),
        9: dict(link=('left_shoulder', 'left_elbow'), id=9, color=[60, 110, 230]),
        10: dict(link=('right_shoulder', 'right_elbow'), id=10, color=[230, 60, 60]),
        11: dict(link=('left_elbow', 'left_wrist'), id=11, color=[60, 110, 230]),
        12: dict(link=('right_elbow', 'right_wrist'), id=12, color=[230, 60, 60]),
        13: dict(link=('thorax', 'upper_neck'), id=13, color=[240, 200, 40]),
        14: dict(link=('upper_neck', 'head_top'), id=14, color=[240, 200, 40]),
        15: dict(link=('left_eye', 'right_eye'), id=15, color=[60, 110, 230]),
        16: dict(link=('nose', 'left_eye'), id=16, color=[60, 110, 230]),
        17: dict(link=('nose', 'right_eye'), id=17, color=[230, 60, 60]),
        18: dict(link=('left_eye', 'left_ear'), id=18, color=[60, 110, 230]),
        19: dict(link=('right_eye', 'right_ear'), id=19, color=[230, 60, 60]),
    },
    joint_weights=[1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.2, 1.2, 1.5, 1.5, 1.0, 1.0, 1.2, 1.2,
                   1.5, 1.5, 1.0, 1.0, 1.0, 1.0],
    sigmas=[0.026, 0.025, 0.025, 0.035, 0.035, 0.079, 0.079, 0.072, 0.072, 0.062, 0.062,
            0.107, 0.107, 0.087, 0.087, 0.089, 0.089, 0.026, 0.026, 0.026, 0.026],
)
