"""COCO keypoint AP / AR (OKS) through pycocotools, as MMPose's ``CocoMetric``."""
import contextlib
import io
import json
import os
import os.path as osp
import tempfile
from collections import defaultdict
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger
from numpy.typing import ArrayLike

from hpekit.datasets.coco import COCO_METAINFO_FILE, load_coco
from hpekit.datasets.metainfo import parse_pose_metainfo
from hpekit.evaluation.functional.keypoint_2d import keypoint_similarity
from hpekit.evaluation.functional.oks_nms import oks_nms
from hpekit.evaluation.metrics.per_keypoint import keypoint_names, log_per_keypoint_table
from hpekit.evaluation.metrics.sample_fields import as_array, as_scalar, sample_field
from hpekit.registry import METRICS

# The names of COCOeval's ten keypoint statistics, in its order (MMPose's key names).
STATS_NAMES = ('AP', 'AP .5', 'AP .75', 'AP (M)', 'AP (L)', 'AR', 'AR .5', 'AR .75',
               'AR (M)', 'AR (L)')
SCORE_MODES = ('bbox', 'keypoint', 'bbox_keypoint')
NMS_MODES = ('none', 'oks_nms')
#: A keypoint "hits" when its keypoint similarity is at least this (``KS@0.5/<name>``).
KS_HIT = 0.5
#: A uniform OKS sigma to start from when a keypoint's annotation spread is unknown.
PLACEHOLDER_SIGMA = 0.05


class MissingSigmasError(ValueError):
    """The dataset metainfo has no OKS sigma per keypoint, which COCO's AP needs."""


def check_sigmas(meta: dict, metric: str = 'CocoMetric') -> None:
    """Raise :class:`MissingSigmasError`, saying how to fix it, unless the parsed
    metainfo ``meta`` has one finite sigma > 0 per keypoint."""
    num = meta.get('num_keypoints')
    raw = meta.get('sigmas')
    sigmas = np.asarray([] if raw is None else raw, np.float64).reshape(-1)
    if num is not None and len(sigmas) == num and np.all(np.isfinite(sigmas) & (sigmas > 0)):
        return
    found = ("no 'sigmas'" if raw is None else
             "an empty 'sigmas'" if sigmas.size == 0 else
             f"'sigmas' = {sigmas.tolist()} ({sigmas.size} values, all must be > 0)")
    names = ', '.join(keypoint_names(meta)) if num is not None else '?'
    last = 'K-1' if num is None else num - 1
    raise MissingSigmasError(
        f"{metric}: the dataset metainfo {meta.get('dataset_name')!r} has {found}, but "
        f"COCO's OKS AP/AR needs one sigma per keypoint ({num}: {names}). Add them to "
        "the dataset's metainfo file (the file named in the dataset config's "
        "metainfo=dict(from_file=...), MMPose's dataset_info format): "
        f"sigmas=[s_0, ..., s_{last}], one value per keypoint in keypoint id order. "
        "Each sigma is COCO's per-keypoint OKS constant: how widely careful annotators "
        "scatter that keypoint, relative to the person's size (the square root of its "
        "COCO 'area'); a prediction d px off scores exp(-d^2 / (2 * area * "
        "(2*sigma)^2)). COCO's sigmas range from 0.025 (eyes, sharp) to 0.107 (hips, "
        f"vague); if yours are unknown, start from {PLACEHOLDER_SIGMA} for every keypoint "
        'and say so (AP then depends on that choice). Or evaluate with PCKAccuracy, AUC '
        'or EPE, which need no sigmas.')


def instance_score(bbox_score: float, keypoint_scores: np.ndarray, score_mode: str,
                   keypoint_score_thr: float) -> float:
    """The score of one predicted person (MMPose's ``CocoMetric`` rules).

    'bbox': the box score; 'keypoint': the mean keypoint score; 'bbox_keypoint': the
    box score × the mean of the keypoint scores above ``keypoint_score_thr`` (0 when
    none is above it).
    """
    scores = np.asarray(keypoint_scores, np.float64)
    if score_mode == 'bbox':
        return float(bbox_score)
    if score_mode == 'keypoint':
        return float(np.mean(scores))
    above = scores[scores > keypoint_score_thr]
    return float(bbox_score) * (float(np.mean(above)) if above.size else 0.0)


def exact_sigmas(sigmas: ArrayLike) -> np.ndarray:
    """float64 OKS sigmas equal to the metainfo file's decimals.

    ``parse_pose_metainfo`` stores sigmas as float32; widening 0.026 in float32 gives
    0.0259999997…, so each value is read back through its shortest float32 decimal
    (``str``), which gives the float64 of the number as written (e.g. COCO's 0.026,
    exactly pycocotools' default).
    """
    return np.array([float(str(np.float32(s))) for s in np.asarray(sigmas).reshape(-1)])


@METRICS.register_module()
class CocoMetric(BaseMetric):
    """COCO keypoint detection AP and AR (OKS), through pycocotools' ``COCOeval``.

    Each data sample (a dict, as mmengine's Evaluator passes them, or a
    ``PoseDataSample``) carries ``pred_keypoints`` [K, 2] (0-based image px) and
    ``keypoint_scores`` [K] (the model's predict), and, as metainfo from
    ``CocoDataset`` (keep them in ``PackPoseInputs``' ``meta_keys``), ``id`` (the
    annotation id, or the detection's index), ``img_id`` (COCO image id),
    ``category_id`` (default 1) and ``bbox_score`` (default 1).

    ``compute_metrics``: predictions are grouped by image, duplicates of an ``id``
    dropped (distributed samplers pad with repeats), each person's score set by
    ``score_mode`` (see :func:`instance_score`), and the COCO results JSON
    (``[{'image_id', 'category_id', 'keypoints': [x, y, score] × K, 'score'}]``) is
    written to ``<outfile_prefix>.keypoints.json``; ``COCOeval(gt, results,
    'keypoints')`` with ``params.kpt_oks_sigmas`` = the dataset metainfo's
    ``sigmas`` then evaluates it over every image of ``ann_file`` (an image without
    predictions counts its people as missed). Returns, as fractions in [0, 1]
    (MMPose's names; with the default prefix ``coco/AP`` …): ``AP``, ``AP .5``,
    ``AP .75``, ``AP (M)``, ``AP (L)``, ``AR``, ``AR .5``, ``AR .75``, ``AR (M)``,
    ``AR (L)``. The numbers are those of pycocotools run on the written file.

    Per keypoint (``<key>/<keypoint name>``, with the default prefix
    ``coco/KS/left_eye``), over the ground-truth people COCOeval counts (not crowd,
    at least one labelled keypoint) that have a prediction on their image, each
    matched to the prediction of its image with the highest OKS against it (OKS as
    COCOeval: the mean keypoint similarity over the person's labelled keypoints; a
    prediction may be the best match of more than one person, unlike COCOeval's
    one-to-one matching):

    - ``KS/<name>``: the mean keypoint similarity ``exp(-d² / (2·A·(2σ)²))`` of that
      keypoint (d px from the ground truth, A the person's COCO 'area', σ its sigma;
      :func:`hpekit.evaluation.functional.keypoint_similarity`), over the matched
      people who label it; in (0, 1], 1 = exact;
    - ``KS@0.5/<name>``: the share of those with similarity ≥ 0.5 (a keypoint
      within about 2.35·σ·√A px);

    NaN for a keypoint no matched person labels. ``keypoint_counts`` holds how many
    ({'labelled (matched people)': [K]}); the table is logged with the number of
    people matched. People without any prediction on their image do not enter these
    values (AP/AR count them as missed).

    The metainfo must give one OKS sigma > 0 per keypoint: setting ``dataset_meta``
    (mmengine's loops do it when they are built, before the first training
    iteration) raises :class:`MissingSigmasError` with the fix otherwise; only
    ``format_only`` without OKS-NMS needs none.

    ``nms_mode='oks_nms'`` (MMPose's default; configs read from MMPose set it) first
    removes, per image, each prediction whose OKS with a higher-scoring one exceeds
    ``nms_thr`` (``hpekit.evaluation.functional.oks_nms``; a person's area is its
    crop box's w·h, the ``bbox_size`` metainfo, else its keypoints' extent, as
    MMPose's). hpekit's default ``'none'`` evaluates every prediction: with
    ground-truth boxes (one prediction per person) that rarely differs; with
    detection boxes MMPose's numbers can be slightly higher.

    Args:
        ann_file (str): the COCO person-keypoints JSON of the evaluated split (its
            annotations need 'area', 'num_keypoints' and 'iscrowd', as COCOeval reads them).
        score_mode (str): 'bbox_keypoint' (MMPose's default), 'bbox' or 'keypoint'.
        keypoint_score_thr (float): keypoint scores above it enter the mean of
            'bbox_keypoint' (MMPose's 0.2).
        nms_mode (str): 'none' (default) or 'oks_nms' (see above).
        nms_thr (float): the OKS above which 'oks_nms' drops a prediction (0.9).
        format_only (bool): only write the results file; return no metrics.
        outfile_prefix (str, optional): where the results go (``<prefix>.keypoints.json``);
            None: a temporary folder, deleted afterwards (required with format_only).
        collect_device (str): 'cpu' or 'gpu', where results are gathered across ranks.
        prefix (str, optional): metric name prefix; default 'coco'.

    The dataset metainfo (the runner sets ``dataset_meta``; a standalone metric reads
    ``configs/_base_/datasets/coco.py``) gives K and the sigmas, so any keypoint set
    with sigmas works.
    """

    default_prefix: Optional[str] = 'coco'
    sweep_example = dict(cfg=dict(), samples='coco')   # tests/end_to_end/test_sweep.py

    def __init__(self, ann_file: str, score_mode: str = 'bbox_keypoint',
                 keypoint_score_thr: float = 0.2, nms_mode: str = 'none',
                 nms_thr: float = 0.9,
                 format_only: bool = False, outfile_prefix: Optional[str] = None,
                 collect_device: str = 'cpu', prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        if score_mode not in SCORE_MODES:
            raise ValueError(f'score_mode must be one of {SCORE_MODES}, got {score_mode!r}')
        if nms_mode not in NMS_MODES:
            raise ValueError(f'nms_mode must be one of {NMS_MODES}, got {nms_mode!r}')
        if format_only and not outfile_prefix:
            raise ValueError('format_only=True needs outfile_prefix (where the results '
                             'file is written)')
        if not isinstance(ann_file, str) or not ann_file:
            raise ValueError('CocoMetric needs ann_file, the COCO JSON of the evaluated '
                             'split')
        self.ann_file = ann_file
        self.score_mode, self.keypoint_score_thr = score_mode, float(keypoint_score_thr)
        self.nms_mode, self.nms_thr, self.format_only = nms_mode, float(nms_thr), format_only
        self.outfile_prefix = outfile_prefix
        self._coco = None
        self.keypoint_counts: Dict[str, np.ndarray] = {}

    @property
    def dataset_meta(self) -> Optional[dict]:
        """The dataset metainfo (mmengine's ``BaseMetric.dataset_meta``)."""
        return self._dataset_meta

    @dataset_meta.setter
    def dataset_meta(self, dataset_meta: Optional[dict]) -> None:
        """Set the metainfo, refusing one without OKS sigmas at once.

        mmengine's ``ValLoop`` / ``TestLoop`` set it when the loop is built, which
        ``Runner.train()`` does before ``before_run`` and the first iteration: a
        dataset without sigmas stops the run before any training step
        (:class:`MissingSigmasError` says how to add them). Only ``format_only``
        without OKS-NMS writes results without sigmas.
        """
        if dataset_meta is not None and (not self.format_only or self.nms_mode != 'none'):
            check_sigmas(dataset_meta, type(self).__name__)
        self._dataset_meta = dataset_meta

    @property
    def _meta(self) -> dict:
        """The dataset metainfo (the runner's), else COCO's metainfo file."""
        if self.dataset_meta is None:
            self.dataset_meta = parse_pose_metainfo(dict(from_file=COCO_METAINFO_FILE))
        return self.dataset_meta

    def process(self, data_batch: Any, data_samples: Sequence[Any]) -> None:
        """Store each prediction: id, img_id, category_id, bbox_score, keypoints
        float64 [K, 2], keypoint_scores float64 [K]."""
        num = self._meta['num_keypoints']
        name = type(self).__name__
        for sample in data_samples:
            need = 'CocoMetric needs it in the metainfo: add it to PackPoseInputs meta_keys'
            self.results.append(dict(
                id=as_scalar(sample_field(sample, 'id', metric=name, needed_for=need),
                             'id', name, integer=True),
                img_id=as_scalar(sample_field(sample, 'img_id', metric=name,
                                              needed_for=need), 'img_id', name, integer=True),
                category_id=as_scalar(sample_field(sample, 'category_id', 1), 'category_id',
                                      name, integer=True),
                bbox_score=as_scalar(sample_field(sample, 'bbox_score', 1.0), 'bbox_score',
                                     name),
                keypoints=as_array(sample_field(sample, 'pred_keypoints', metric=name,
                                                needed_for='the model\'s predictions'),
                                   (num, 2), 'pred_keypoints', name),
                keypoint_scores=as_array(sample_field(sample, 'keypoint_scores', metric=name,
                                                      needed_for='the model\'s predictions'),
                                         (num, ), 'keypoint_scores', name),
                bbox_size=sample_field(sample, 'bbox_size', None)))

    # ------------------------------------------------------------------ results
    def results_to_coco(self, results: List[dict]) -> List[dict]:
        """The COCO results records of the gathered predictions (see class doc)."""
        per_image = defaultdict(dict)
        for r in results:
            per_image[r['img_id']].setdefault(r['id'], r)   # first of repeated ids
        records = []
        for img_id, people in per_image.items():
            people = [people[ann_id] for ann_id in sorted(people)]
            kpts = [np.concatenate([r['keypoints'], r['keypoint_scores'][:, None]], axis=1)
                    for r in people]
            scores = [instance_score(r['bbox_score'], r['keypoint_scores'], self.score_mode,
                                     self.keypoint_score_thr) for r in people]
            for i in self._kept(people, kpts, scores):
                records.append(dict(
                    image_id=int(img_id), category_id=int(people[i]['category_id']),
                    keypoints=[float(v) for v in kpts[i].reshape(-1)], score=scores[i]))
        return records

    def _kept(self, people: List[dict], kpts: List[np.ndarray],
              scores: List[float]) -> List[int]:
        """Indices of one image's people that ``nms_mode`` keeps."""
        if self.nms_mode == 'none':
            return list(range(len(people)))
        areas = [np.prod(np.asarray(r['bbox_size'], np.float64)) if r['bbox_size'] is not None
                 else np.prod(np.ptp(r['keypoints'], axis=0)) for r in people]
        return oks_nms(np.stack(kpts).astype(np.float32), np.array(scores),
                       np.array(areas, np.float32), self.nms_thr,
                       np.asarray(self._meta['sigmas'], np.float32))

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        """Write the results JSON and evaluate it (see class doc)."""
        if not results:
            raise ValueError('CocoMetric received no predictions to evaluate')
        records = self.results_to_coco(results)
        logger = MMLogger.get_current_instance()
        if self.outfile_prefix is None:
            with tempfile.TemporaryDirectory() as tmp:
                return self._evaluate(records, osp.join(tmp, 'results'), logger)
        return self._evaluate(records, self.outfile_prefix, logger)

    def _evaluate(self, records, prefix, logger) -> Dict[str, float]:
        res_file = f'{prefix}.keypoints.json'
        if osp.dirname(res_file):
            os.makedirs(osp.dirname(res_file), exist_ok=True)
        with open(res_file, 'w', encoding='utf-8') as f:
            json.dump(records, f)
        if self.outfile_prefix is not None:
            logger.info(f'CocoMetric: wrote {len(records)} COCO results to {res_file}')
        if self.format_only:
            return {}
        stats, table = self.evaluate_file(res_file)
        logger.info(f'COCO keypoint evaluation of {res_file} against {self.ann_file}:\n'
                    f'{table}')
        metrics = dict(zip(STATS_NAMES, stats))
        metrics.update(self.per_keypoint_similarity(records))
        return metrics

    def per_keypoint_similarity(self, records: List[dict]) -> Dict[str, float]:
        """``KS/<name>`` and ``KS@0.5/<name>`` of COCO results records (see class doc);
        sets ``keypoint_counts`` and logs the per-keypoint table."""
        meta = self._meta
        names = keypoint_names(meta, metric=type(self).__name__)
        sims, matched, people = self._best_match_similarities(records)
        counts = np.array([len(s) for s in sims], np.int64)
        mean_ks = [float(np.mean(s)) if s else float('nan') for s in sims]
        hits = [float(np.mean(np.asarray(s) >= KS_HIT)) if s else float('nan') for s in sims]
        metrics = {f'KS/{n}': v for n, v in zip(names, mean_ks)}
        metrics.update({f'KS@{KS_HIT:g}/{n}': v for n, v in zip(names, hits)})
        self.keypoint_counts = {'labelled (matched people)': counts}
        log_per_keypoint_table(
            metrics, names, self.keypoint_counts,
            f'CocoMetric per keypoint over {matched} of {people} ground-truth people '
            f'(those with a prediction on their image), each matched to its best '
            f'prediction by OKS: KS = mean keypoint similarity, KS@{KS_HIT:g} = share of '
            f'labelled keypoints with similarity >= {KS_HIT:g}')
        return metrics

    def _best_match_similarities(self, records: List[dict]
                                 ) -> Tuple[List[List[float]], int, int]:
        """(per keypoint, the similarities of the labelled keypoints of every matched
        ground-truth person; how many people were matched; how many count)."""
        meta = self._meta
        num = meta['num_keypoints']
        sigmas = exact_sigmas(meta['sigmas'])
        candidates = defaultdict(list)
        for r in records:
            candidates[(r['image_id'], r['category_id'])].append(
                np.reshape(r['keypoints'], (num, 3))[:, :2])
        sims: List[List[float]] = [[] for _ in range(num)]
        matched = people = 0
        for ann in self._gt().dataset['annotations']:
            gt = np.reshape(np.asarray(ann['keypoints'], np.float64), (num, 3))
            labelled = gt[:, 2] > 0
            if ann.get('iscrowd') or not labelled.any():
                continue   # COCOeval ignores these people too
            people += 1
            preds = candidates.get((ann['image_id'], ann['category_id']))
            if not preds:
                continue
            ks = keypoint_similarity(np.stack(preds), gt[:, :2], ann['area'], sigmas)
            best = ks[int(np.argmax(ks[:, labelled].mean(axis=1)))]
            matched += 1
            for k in np.flatnonzero(labelled):
                sims[k].append(float(best[k]))
        return sims, matched, people

    def _gt(self) -> Any:
        """The pycocotools ``COCO`` of ``ann_file``, read (and checked) once."""
        if self._coco is None:
            self._coco = load_coco(self.ann_file, self._meta['num_keypoints'], for_eval=True)
        return self._coco

    def evaluate_file(self, res_file: str) -> Tuple[List[float], str]:
        """(COCOeval's ten stats as floats, its printed summary) for a results file."""
        from pycocotools.cocoeval import COCOeval  # optional dependency (extra "coco")
        meta = self._meta
        check_sigmas(meta, type(self).__name__)
        coco = self._gt()
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            detections = coco.loadRes(res_file)
            coco_eval = COCOeval(coco, detections, 'keypoints')
            coco_eval.params.kpt_oks_sigmas = exact_sigmas(meta['sigmas'])
            coco_eval.evaluate()
            coco_eval.accumulate()
            coco_eval.summarize()
        table = '\n'.join(line for line in out.getvalue().splitlines()
                          if line.lstrip().startswith('Average'))
        return [float(v) for v in coco_eval.stats], table
