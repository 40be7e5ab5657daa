"""Reading the inputs of the inference API and the demo: images, folders, videos.

Every function returns RGB uint8 arrays, the channel order of hpekit's pipelines
(``LoadImage`` converts OpenCV's BGR to RGB). Files (images, folders, videos) are
decoded to RGB here. Arrays handed in by a caller are taken as **BGR** by default, as
MMPose takes them (``cv2.imread`` / ``cv2.VideoCapture`` output); ``channel_order='rgb'``
passes RGB arrays (PIL, imageio, matplotlib). The first array taken as BGR *by default*
(``channel_order`` not given) logs one warning per process (``note_bgr_default``).
"""
import logging
import os
import os.path as osp
from typing import Iterator, List, Optional, Sequence, Tuple, Union

import cv2
import numpy as np
from mmengine.logging import print_log

from hpekit.datasets.transforms.clip_transforms import resize_frames
from hpekit.datasets.transforms.topdown_transforms import LoadImage

IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff', '.webp')
_READ_IMAGE = LoadImage(to_rgb=True, reduce_decode=False)

PathLike = Union[str, os.PathLike]
CHANNEL_ORDERS = ('rgb', 'bgr')


class _DefaultChannelOrder(str):
    """The string 'bgr' used as the default ``channel_order`` of the inference API, so
    that an array taken as BGR *because the caller did not say* can be told from one
    whose order was stated (``channel_order is DEFAULT_CHANNEL_ORDER``)."""

    __slots__ = ()


#: The default ``channel_order`` of every inference function: 'bgr' (as MMPose), and the
#: first array it applies to logs ``BGR_DEFAULT_MESSAGE`` once per process. Functions
#: that pass the order on must pass this object unchanged (``str()`` would drop it).
DEFAULT_CHANNEL_ORDER = _DefaultChannelOrder('bgr')
BGR_DEFAULT_MESSAGE = (
    "hpekit: an image array was taken as BGR (OpenCV's order, e.g. from cv2.imread), as "
    "MMPose takes arrays. For RGB arrays (PIL, imageio, matplotlib, hpekit's own "
    "read_image) pass channel_order='rgb'; passing channel_order='bgr' states the order "
    "and silences this line. (Image and video files are decoded by hpekit and need "
    "neither.) Logged once per process.")
_bgr_default_logged = False


def note_bgr_default() -> None:
    """Log ``BGR_DEFAULT_MESSAGE`` (WARNING, mmengine's ``print_log``) the first time in
    this process; later calls do nothing.

    WARNING rather than INFO: the order of an array cannot be seen in its values, so a
    wrong guess gives no error anywhere, only wrong keypoints; the line comes once, and
    code that states ``channel_order`` (either value) never sees it.
    """
    global _bgr_default_logged
    if not _bgr_default_logged:
        _bgr_default_logged = True
        print_log(BGR_DEFAULT_MESSAGE, logger='current', level=logging.WARNING)


#: A frame source of ``iter_frames``: a path, an array [T, H, W, 3] or a sequence of
#: image paths and/or [H, W, 3] arrays.
FrameSource = Union[PathLike, np.ndarray, Sequence[Union[PathLike, np.ndarray]]]


def is_image_file(path: PathLike) -> bool:
    """True when ``path`` names a file with an image extension (see IMAGE_EXTENSIONS)."""
    return osp.splitext(os.fspath(path))[1].lower() in IMAGE_EXTENSIONS


def list_images(folder: PathLike) -> List[str]:
    """Sorted paths of the image files directly inside ``folder``.

    Raises:
        FileNotFoundError: ``folder`` is not a directory or holds no image file.
    """
    folder = os.fspath(folder)
    if not osp.isdir(folder):
        raise FileNotFoundError(f'image folder not found: {folder}')
    paths = sorted(osp.join(folder, name) for name in os.listdir(folder)
                   if is_image_file(name))
    if not paths:
        raise FileNotFoundError(f'no image files ({", ".join(IMAGE_EXTENSIONS)}) in '
                                f'folder {folder}')
    return paths


def read_image(path: PathLike) -> np.ndarray:
    """An image file → uint8 [H, W, 3] RGB (through the pipelines' ``LoadImage``).

    Raises:
        FileNotFoundError: no such file. OSError: not a decodable image.
    """
    return _READ_IMAGE({'img_path': os.fspath(path)})['img']


def check_channel_order(channel_order: str) -> str:
    """``channel_order`` itself when it is 'rgb' or 'bgr'; ValueError otherwise."""
    if channel_order not in CHANNEL_ORDERS:
        raise ValueError(f"channel_order must be 'rgb' or 'bgr', got {channel_order!r}")
    return channel_order


def as_rgb(image: np.ndarray, channel_order: str = DEFAULT_CHANNEL_ORDER,
           name: str = 'image') -> np.ndarray:
    """Check an array is uint8 [H, W, 3] and return it in RGB order.

    Args:
        image: array-like uint8 [H, W, 3].
        channel_order (str): 'bgr' (default: OpenCV's and MMPose's; the first array
            taken so without the order being stated logs ``note_bgr_default``'s line)
            or 'rgb' (hpekit's pipelines).
        name (str): what the array is called in error messages.
    """
    check_channel_order(channel_order)
    image = np.asarray(image)
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3 \
            or 0 in image.shape:
        raise ValueError(f'{name} must be a uint8 array [H, W, 3] (H, W > 0), got '
                         f'{image.dtype} {list(image.shape)}')
    if channel_order is DEFAULT_CHANNEL_ORDER:
        note_bgr_default()
    return np.ascontiguousarray(image[..., ::-1]) if channel_order == 'bgr' else image


def load_image(image: Union[PathLike, np.ndarray],
               channel_order: str = DEFAULT_CHANNEL_ORDER) -> np.ndarray:
    """A path (decoded to RGB) or an array (BGR unless ``channel_order='rgb'``) →
    uint8 [H, W, 3] RGB."""
    if isinstance(image, (str, os.PathLike)):
        return read_image(image)
    return as_rgb(image, channel_order)


def open_video(path: PathLike) -> cv2.VideoCapture:
    """``cv2.VideoCapture`` of a video file; FileNotFoundError / OSError when unusable."""
    path = os.fspath(path)
    if not osp.isfile(path):
        raise FileNotFoundError(f'video file not found: {path}')
    capture = cv2.VideoCapture(path)
    if not capture.isOpened():
        raise OSError(f'cannot open video {path}: not a video file OpenCV can decode')
    return capture


def video_info(path: PathLike) -> Tuple[float, int]:
    """(frames per second, number of frames) as the video file's header states them.

    The count can be approximate for some containers; 0 when unknown. The rate is
    25.0 when the header has none.
    """
    capture = open_video(path)
    fps = capture.get(cv2.CAP_PROP_FPS) or 25.0
    count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
    capture.release()
    return float(fps), max(count, 0)


def missing_frames_message(path: PathLike, declared: int, decoded: int) -> Optional[str]:
    """The warning for a video that decoded fewer frames than its header declares
    (a truncated or damaged file), or None when none are missing or the header gives
    no count (``declared`` 0)."""
    if declared <= 0 or decoded >= declared:
        return None
    return (f'video {os.fspath(path)}: the header declares {declared} frames but only '
            f'{decoded} could be decoded ({declared - decoded} missing: truncated or '
            'damaged file?)')


def iter_video(path: PathLike) -> Iterator[np.ndarray]:
    """Yield the frames of a video file one by one as uint8 [H, W, 3] RGB.

    When decoding stops before the frame count the header declares, a warning
    (``missing_frames_message``) is logged once the frames run out.
    """
    capture = open_video(path)
    declared = int(capture.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
    decoded = 0
    try:
        while True:
            ok, frame = capture.read()
            if not ok:
                break
            decoded += 1
            yield cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
        message = missing_frames_message(path, declared, decoded)
        if message:
            print_log(message, logger='current', level=logging.WARNING)
    finally:
        capture.release()


def iter_frames(source: FrameSource,
                channel_order: str = DEFAULT_CHANNEL_ORDER) -> Iterator[np.ndarray]:
    """Yield uint8 [H, W, 3] RGB frames from any frame source.

    Args:
        source: a video file; a folder of images (sorted by name); an image file
            (one frame); an array [T, H, W, 3]; or a sequence of image paths and/or
            [H, W, 3] arrays.
        channel_order (str): order of arrays handed in: 'bgr' (default, as MMPose:
            ``cv2.imread`` / ``cv2.VideoCapture`` output) or 'rgb'. Files (videos,
            images, folders) are always decoded to RGB, whatever it says.
    """
    check_channel_order(channel_order)
    if isinstance(source, (str, os.PathLike)):
        if osp.isdir(source):
            yield from (read_image(p) for p in list_images(source))
        elif is_image_file(source):
            yield read_image(source)
        else:
            yield from iter_video(source)
        return
    if isinstance(source, np.ndarray) and source.ndim == 4:
        for index in range(len(source)):
            yield as_rgb(source[index], channel_order, f'frames[{index}]')
        return
    if isinstance(source, np.ndarray) or not isinstance(source, (list, tuple)):
        shape = list(source.shape) if isinstance(source, np.ndarray) else ''
        raise ValueError(f'frames must be a video file, an image folder, an array '
                         f'[T, H, W, 3] or a list of images, got '
                         f'{type(source).__name__}{shape}')
    for index, item in enumerate(source):
        if isinstance(item, (str, os.PathLike)):
            yield read_image(item)
        else:
            yield as_rgb(item, channel_order, f'frames[{index}]')


def load_frames(source: FrameSource, size: Optional[Tuple[int, int]] = None,
                channel_order: str = DEFAULT_CHANNEL_ORDER, return_shapes: bool = False
                ) -> Union[np.ndarray, Tuple[np.ndarray, List[Tuple[int, int]]]]:
    """All frames of a source (see ``iter_frames``) as one array, optionally resized.

    Args:
        source: see ``iter_frames``.
        size (tuple[int, int], optional): (W, H) to resize every frame to as it is read
            (INTER_AREA when shrinking, as ``ClipResize``), so a long video costs
            T × H × W × 3 bytes at the model's size, not at the file's.
        channel_order (str): of arrays: 'bgr' (default) or 'rgb'; see ``iter_frames``.
        return_shapes (bool): also return each frame's (H, W) as read, before resizing.

    Returns:
        uint8 [T, H, W, 3] RGB; with ``return_shapes`` a tuple (frames, list of T
        (H, W) tuples).

    Raises:
        ValueError: no frames, or frames of different sizes when ``size`` is None.
    """
    frames, shapes = [], []
    for frame in iter_frames(source, channel_order):
        shapes.append(tuple(int(v) for v in frame.shape[:2]))
        if size is not None:
            frame = resize_frames(frame[None], int(size[1]), int(size[0]))[0]
        if frames and frame.shape != frames[0].shape:
            raise ValueError(f'frame {len(frames)} has shape {list(frame.shape)}, frame 0 '
                             f'{list(frames[0].shape)}: give a size to resize them to')
        frames.append(frame)
    if not frames:
        raise ValueError(f'no frames could be read from {source!r:.200}')
    return (np.stack(frames), shapes) if return_shapes else np.stack(frames)
