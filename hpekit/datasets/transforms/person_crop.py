"""``LoadPersonCrop``: the person's pre-cut crop from a person cache, not the full image.

See ``hpekit.datasets.person_cache`` and docs/person_cache.md.
"""
from typing import Optional, Sequence, Union

from hpekit.datasets.person_cache import PersonCache, PersonCacheError
from hpekit.datasets.transforms.topdown_transforms import LoadImage, _pair
from hpekit.registry import TRANSFORMS


@TRANSFORMS.register_module()
class LoadPersonCrop(LoadImage):
    """Load the sample's crop from a person cache (``tools/misc/build_person_cache.py``).

    Put it where ``LoadImage`` would be: after ``RandomHalfBody``, before
    ``TopdownAffine``. For sample ``results['sample_idx']`` and box kind
    ``results['half_body']`` (None: the full box) it adds 'img' uint8 [h, w, 3]: the
    stored crop (RGB when ``to_rgb``), 'img_shape' (h, w), 'img_matrix' float64
    [2, 3] (original image px → crop px; ``TopdownAffine`` folds it into its warp)
    and 'img_scale' (stored px per original px along x, for information). 'center',
    'bbox_size' and 'keypoints' stay in original image px, so every later transform
    and the packed sample are those of the uncached pipeline, the pixels up to
    resampling (and JPEG, when stored so).

    ``scale_factor``, ``rotate_factor`` and ``input_size`` must be those of the
    pipeline's ``TopdownAffine`` (both ``input_size=codec['input_size']``): the cache is
    refused unless it was built for them. With ``cache_dir=None`` it decodes the full
    image as ``LoadImage`` does (min_box_scale = 1 - scale_factor), so one config can
    switch the cache off (``--cfg-options ...pipeline.1.cache_dir=None``).

    Args:
        cache_dir (str, optional): the cache folder (holding index.json).
        scale_factor (float): TopdownAffine's scale_factor.
        rotate_factor (float): TopdownAffine's rotate_factor (degrees).
        input_size (int | (W, H), optional): the model input size.
        to_rgb (bool): RGB (default) or BGR channel order.
        decoder (str): 'auto' or 'cv2' (the uncached path only; see LoadImage).
        check_images (bool): refuse a sample whose image file's size or modification
            time changed since the build (one ``os.stat`` per sample).

    Raises:
        PersonCacheError: the cache is missing, corrupt, built for other settings, or
            stale for this sample (its image or box changed); the message names the
            file and says how to rebuild.
    """

    sweep_example = dict(cfg=dict(cache_dir=None, input_size=(16, 16)), results='image_file')

    def __init__(self, cache_dir: Optional[str] = None, scale_factor: float = 0.25,
                 rotate_factor: float = 30.0,
                 input_size: Optional[Union[int, Sequence[int]]] = None,
                 to_rgb: bool = True, decoder: str = 'auto', check_images: bool = True):
        super().__init__(to_rgb=to_rgb, min_box_scale=1.0 - scale_factor,
                         input_size=input_size, decoder=decoder)
        self.cache_dir, self.check_images = cache_dir, check_images
        self.scale_factor, self.rotate_factor = float(scale_factor), float(rotate_factor)
        self._cache = None   # opened at the first sample (in each worker)

    def _open(self) -> PersonCache:
        """The cache, opened and its settings checked on first use."""
        if self._cache is None:
            cache = PersonCache(self.cache_dir)
            expected = dict(scale_factor=self.scale_factor, rotate_factor=self.rotate_factor)
            if self.input_size is not None:
                expected['input_size'] = list(_pair(self.input_size, 'input_size'))
            cache.check_settings(expected)
            self._cache = cache
        return self._cache

    def transform(self, results: dict) -> dict:
        if self.cache_dir is None:
            return super().transform(results)
        cache = self._open()
        kind = results.get('half_body') or 'full'
        row = cache.row(results.get('sample_idx', -1), kind)
        if row is None:
            raise PersonCacheError(
                f'person cache {cache.index_path}: no {kind!r} crop for sample_idx '
                f'{results.get("sample_idx")} (built from another annotation file, split '
                'or half-body setting); rebuild it with python '
                f'tools/misc/build_person_cache.py CONFIG --out {self.cache_dir}')
        cache.check_sample(row, results, self.check_images)
        img = cache.crop(row, self.to_rgb)
        matrix = cache.matrix(row)
        results.update(img=img, img_shape=img.shape[:2], img_matrix=matrix,
                       img_scale=float(matrix[0, 0]))
        return results

    def __getstate__(self):
        state = dict(self.__dict__)
        state['_cache'] = None   # each worker opens (and maps) the cache itself
        return state

    def __repr__(self):
        return (f'{self.__class__.__name__}(cache_dir={self.cache_dir!r}, scale_factor='
                f'{self.scale_factor}, rotate_factor={self.rotate_factor}, input_size='
                f'{self.input_size}, to_rgb={self.to_rgb}, check_images={self.check_images})')
