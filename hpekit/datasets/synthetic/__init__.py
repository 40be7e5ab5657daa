"""The synthetic twins: small rendered datasets written in the real datasets' on-disk
formats (Human3.6M clips and MMPose's layout, MPII, COCO), learnable by a model."""
