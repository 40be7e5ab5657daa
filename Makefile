# hpekit — `make demo` and `make test` are the two quick-start commands.
# Both install first (into ./.venv; set VENV= to use the current Python instead).
VENV ?= .venv
ifeq ($(strip $(VENV)),)
PY := python3
else
PY := $(VENV)/bin/python
endif
# The import contract of .importlinter (the rooms' layers, docs/architecture.md).
LINT_IMPORTS := $(if $(strip $(VENV)),$(VENV)/bin/lint-imports,lint-imports)
DEMO_CONFIG := configs/h36m_video/r18-lstm_synthetic-quick.py
DEMO_DIR := work_dirs/demo
# The slowest tests' times are printed after every run (CI logs show where time goes).
# Two worker processes (pytest-xdist), each test file in one of them (its module
# fixtures made once): each pytest process runs torch on one thread (tests/conftest.py),
# so two keep a 2-core machine busy. PYTEST_ARGS=--durations=30 runs in one process.
PYTEST_ARGS ?= --durations=30 -n 2 --dist loadfile

.PHONY: install demo test clean-demo

$(VENV)/bin/python:
	python3 -m venv $(VENV)

install: $(if $(strip $(VENV)),$(VENV)/bin/python)
	bash tools/install.sh $(PY)

# Synthetic Human3.6M-format clips → train ResNet-18 + LSTM → evaluate → compare with
# the mean-pose baseline. Writes $(DEMO_DIR)/: log, checkpoints, metrics.json,
# curves.png, test_metrics.json, predictions.npz, poses3d.png, baseline.json.
demo: install
	$(PY) tools/make_synthetic_data.py h36m --out data/h36m_synthetic --train 1500 --val 300 --skip-existing
	$(PY) tools/train.py $(DEMO_CONFIG) --work-dir $(DEMO_DIR)
	$(PY) tools/test.py $(DEMO_CONFIG) $$(cat $(DEMO_DIR)/last_checkpoint) --work-dir $(DEMO_DIR) \
		--dump $(DEMO_DIR)/predictions.npz
	$(PY) tools/plot_pose3d.py $(DEMO_DIR)/predictions.npz --out $(DEMO_DIR)/poses3d.png
	$(PY) tools/mean_pose_baseline.py $(DEMO_CONFIG) --work-dir $(DEMO_DIR)

test: install
	$(LINT_IMPORTS)
	$(PY) -m pytest tests $(PYTEST_ARGS)

clean-demo:
	rm -rf $(DEMO_DIR)

# Synthetic MPII (images, JSON, mpii_gt_val.mat) → train a small 2-stack hourglass →
# PCKh on the synthetic val set → predicted skeletons. Writes work_dirs/demo-mpii/:
# log, checkpoints, metrics.json, curves.png, test_metrics.json, predictions.png.
.PHONY: demo-mpii
demo-mpii: install
	$(PY) tools/make_synthetic_data.py mpii --out data/mpii_synthetic --train 600 --val 100 --skip-existing
	$(PY) tools/train.py configs/mpii_hourglass/hg2_synthetic-quick.py --work-dir work_dirs/demo-mpii
	$(PY) tools/test.py configs/mpii_hourglass/hg2_synthetic-quick.py $$(cat work_dirs/demo-mpii/last_checkpoint) --work-dir work_dirs/demo-mpii
	$(PY) tools/visualize_predictions.py configs/mpii_hourglass/hg2_synthetic-quick.py $$(cat work_dirs/demo-mpii/last_checkpoint) --out work_dirs/demo-mpii/predictions.png --num 6

# The documentation site (mkdocs.yml, requirements/docs.txt) built strictly into site/;
# `$(PY) -m mkdocs serve` to browse while editing.
.PHONY: docs
docs: install
	$(PY) -m mkdocs build --strict --site-dir site

# Synthetic COCO → train a tiny HRNet (MMPose's 'origin' grid, heatmaps) or a tiny
# RTMPose (CSPNeXt + SimCC head, EMA, stage-2 pipeline switch) for about a minute →
# COCO AP on the synthetic val set → predicted skeletons → the mean-pose baseline beside
# the model's AP. Writes work_dirs/demo-hrnet/ (or demo-rtmpose/): log, checkpoints,
# metrics.json, curves.png, test_metrics.json, predictions.png, baseline_2d.json.
.PHONY: demo-hrnet demo-rtmpose
demo-hrnet demo-rtmpose: demo-%: install
	$(PY) tools/make_synthetic_data.py coco --out data/coco_synthetic --train 400 --val 100 --skip-existing
	$(PY) tools/train.py configs/coco/$*_synthetic-quick.py --work-dir work_dirs/demo-$*
	$(PY) tools/test.py configs/coco/$*_synthetic-quick.py $$(cat work_dirs/demo-$*/last_checkpoint) --work-dir work_dirs/demo-$*
	$(PY) tools/visualize_predictions.py configs/coco/$*_synthetic-quick.py $$(cat work_dirs/demo-$*/last_checkpoint) --out work_dirs/demo-$*/predictions.png --num 6
	$(PY) tools/mean_pose_baseline_2d.py configs/coco/$*_synthetic-quick.py --work-dir work_dirs/demo-$*

# Your own keypoints, the worked example (docs/custom_keypoints.md): a 9-keypoint
# lab-animal set in labelme's format → COCO keypoints + metainfo.py → the dataset check
# → RTMPose fine-tuned from the COCO-twin checkpoint of `make demo-rtmpose` (trained
# first if missing) with a fresh head → per-keypoint test tables → predicted skeletons.
# Writes data/animals_labelme/, data/animals_coco/ and work_dirs/demo-custom/: check/
# (dataset_check.json, samples_after_pipeline.jpg), log, checkpoints, metrics.json,
# per_keypoint.md, curves.png, test_metrics.json, test_per_keypoint.md, predictions.png.
ANIMAL_SKELETON := nose-left_ear,nose-right_ear,left_ear-neck,right_ear-neck,neck-left_forepaw,neck-right_forepaw,neck-tail_base,tail_base-left_hindpaw,tail_base-right_hindpaw
CUSTOM_CONFIG := configs/custom/rtmpose_animals-quick.py
.PHONY: demo-custom
demo-custom: install
	test -f work_dirs/demo-rtmpose/last_checkpoint || $(MAKE) demo-rtmpose
	$(PY) tools/make_synthetic_data.py custom --out data/animals_labelme --format labelme --num 120 --skip-existing
	$(PY) tools/dataset_converters/labelme2coco.py data/animals_labelme --out-dir data/animals_coco --skeleton $(ANIMAL_SKELETON) --overwrite
	$(PY) tools/misc/check_dataset.py $(CUSTOM_CONFIG) --out-dir work_dirs/demo-custom/check
	$(PY) tools/train.py $(CUSTOM_CONFIG) --work-dir work_dirs/demo-custom --cfg-options load_from=$$(cat work_dirs/demo-rtmpose/last_checkpoint)
	$(PY) tools/test.py $(CUSTOM_CONFIG) $$(cat work_dirs/demo-custom/last_checkpoint) --work-dir work_dirs/demo-custom
	$(PY) tools/visualize_predictions.py $(CUSTOM_CONFIG) $$(cat work_dirs/demo-custom/last_checkpoint) --out work_dirs/demo-custom/predictions.png --num 6
