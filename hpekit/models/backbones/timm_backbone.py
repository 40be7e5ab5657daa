"""Any ``timm`` model as a backbone, through timm's ``features_only`` feature extractors.

timm is optional (``pip install 'hpekit[timm]'``, requirements/timm.txt); it is
imported when a ``TimmBackbone`` is built, never when hpekit is imported. Weights are
local only: the model is created with ``pretrained=False`` (nothing is downloaded) and
an optional ``checkpoint`` file is loaded strictly with hpekit's safe loader.
"""
import os
import re
from typing import Optional, Sequence, Tuple

import torch
from mmengine.model import BaseModule

from hpekit.checkpoint.loading import load_checkpoint_file
from hpekit.registry import MODELS

TIMM_INSTALL_HINT = ("pip install 'hpekit[timm]' (requirements/timm.txt); timm needs a "
                     'torchvision built for the installed torch (a CPU torch needs the '
                     'CPU torchvision)')


def import_timm():
    """The ``timm`` module, or ImportError saying how to install it.

    A torchvision that does not fit the installed torch makes ``import timm`` fail
    with a RuntimeError or OSError; that is reported as an ImportError too.
    """
    try:
        import timm  # optional dependency: only TimmBackbone needs it
    except ImportError as err:
        raise ImportError(f'TimmBackbone needs timm, which is not installed ({err}): '
                          f'{TIMM_INSTALL_HINT}') from None
    except (RuntimeError, OSError) as err:
        raise ImportError(f'TimmBackbone needs timm, which failed to import: {err}. '
                          f'Usually torchvision does not fit torch: {TIMM_INSTALL_HINT}') \
            from None
    return timm


def _read_weights(path: str) -> dict:
    """A state dict from a local file: .safetensors, or a torch file read weights-only
    (``state_dict`` / ``model`` wrappers and ``module.`` prefixes removed)."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f'TimmBackbone checkpoint not found: {path!r} (weights '
                                'are local only; nothing is downloaded)')
    if path.endswith('.safetensors'):
        from safetensors.torch import load_file  # a timm dependency
        state = load_file(path, device='cpu')
    else:
        state = load_checkpoint_file(path, map_location='cpu')
        for key in ('state_dict', 'model'):
            if isinstance(state, dict) and isinstance(state.get(key), dict):
                state = state[key]
                break
    if not isinstance(state, dict) or not state:
        raise ValueError(f'{path}: holds no state dict')
    return {re.sub(r'^(module\.)+', '', k): v for k, v in state.items()}


def _full_model_key(key: str, full_keys: set) -> str:
    """The full model's name of a feature-extractor key: timm's ``flatten_sequential``
    joins a Sequential's name and its child's with '_' (``stages.0`` → ``stages_0``)."""
    if key in full_keys:
        return key
    prefix = 'model.' if key.startswith('model.') else ''
    first, _, rest = key[len(prefix):].partition('.')
    for i in reversed([i for i, c in enumerate(first) if c == '_']):
        candidate = f'{prefix}{first[:i]}.{first[i + 1:]}' + (f'.{rest}' if rest else '')
        if candidate in full_keys:
            return candidate
    return key


@MODELS.register_module()
class TimmBackbone(BaseModule):
    """A timm model's feature maps: ``timm.create_model(model_name, features_only=True)``.

    Args:
        model_name (str): any timm model that supports ``features_only`` (e.g.
            'resnet18', 'convnext_tiny', 'efficientnet_b0', 'hrnet_w32').
        out_indices (Sequence[int], optional): timm's feature levels to return (for a
            ResNet 0..4 = strides 2, 4, 8, 16, 32; negative counts from the end); None:
            every level.
        in_channels (int): input channels (timm's ``in_chans``). Default 3.
        checkpoint (str, optional): a local weights file (.pth/.pt/.pth.tar read with
            ``weights_only=True``, or .safetensors), loaded at construction. Keys are
            those of the timm model (a full classification checkpoint works: its
            classifier keys, which the feature extractor drops, are ignored); every
            weight of the feature extractor must be in it and no other key may be
            (strict). None: timm's random initialisation.
        init_cfg (dict, optional): mmengine init config (rarely needed; prefer
            ``checkpoint``). Without it ``init_weights`` keeps the weights as built.
        **timm_kwargs: passed to ``timm.create_model`` (e.g. ``drop_path_rate``,
            ``img_size`` for ViTs). ``pretrained=True`` is refused (no downloads).

    Shapes:
        forward: [N, in_channels, H, W] → tuple of the maps of ``out_indices``, map
        ``i`` [N, out_channels[i], H / reductions[i], W / reductions[i]].

    Attributes:
        out_channels (list[int]), reductions (list[int]): per returned map, from timm's
            ``feature_info``.

    Raises:
        ImportError: timm is missing or cannot be imported (the message says how to
            install it).
    """

    sweep_example = dict(cfg=dict(model_name='resnet18', out_indices=(2, 4)),
                         inputs=[(1, 3, 64, 64)], requires='timm')

    def __init__(self, model_name: str, out_indices: Optional[Sequence[int]] = None,
                 in_channels: int = 3, checkpoint: Optional[str] = None,
                 init_cfg: Optional[dict] = None, **timm_kwargs) -> None:
        super().__init__(init_cfg=init_cfg)
        if timm_kwargs.pop('pretrained', False):
            raise ValueError('TimmBackbone loads local weights only: pretrained=True would '
                             'download them; pass checkpoint=PATH to a local file')
        for key in ('features_only', 'in_chans', 'checkpoint_path'):
            if key in timm_kwargs:
                raise ValueError(f'TimmBackbone sets {key!r} itself (use in_channels / '
                                 'checkpoint)')
        if not isinstance(model_name, str) or not model_name:
            raise ValueError(f'model_name must be a timm model name, got {model_name!r}')
        timm = import_timm()
        self.model_name = model_name
        self.timm_kwargs = dict(timm_kwargs, in_chans=in_channels)
        if out_indices is not None:
            self.timm_kwargs['out_indices'] = tuple(out_indices)
        try:
            self.timm_model = timm.create_model(model_name, pretrained=False,
                                                features_only=True, **self.timm_kwargs)
        except RuntimeError as err:
            if 'Unknown model' in str(err) or 'features_only' in str(err):
                raise ValueError(f'TimmBackbone: timm cannot build {model_name!r} with '
                                 f'features_only=True: {err}') from None
            raise
        info = self.timm_model.feature_info
        self.out_channels = [int(c) for c in info.channels()]
        self.reductions = [int(r) for r in info.reduction()]
        self.checkpoint = checkpoint
        if checkpoint is not None:
            self.load_checkpoint(checkpoint)

    # ------------------------------------------------------------- weights
    def _classifier_keys(self) -> set:
        """Keys of the full timm model (features_only=False), built without memory."""
        timm = import_timm()
        kwargs = {k: v for k, v in self.timm_kwargs.items()
                  if k not in ('out_indices', 'feature_cls', 'flatten_sequential')}
        try:
            with torch.device('meta'):
                full = timm.create_model(self.model_name, pretrained=False, **kwargs)
        except Exception:   # noqa: BLE001 - a model that cannot be built on 'meta'
            full = timm.create_model(self.model_name, pretrained=False, **kwargs)
        return set(full.state_dict())

    def load_checkpoint(self, path: str) -> None:
        """Load a local weights file strictly (see ``checkpoint`` in the class doc).

        The file may use the feature extractor's key names or the full timm model's
        (timm's feature extractors rename flattened modules, e.g. ConvNeXt's
        ``stages.0`` → ``stages_0``, and ViT-like ones wrap the model as ``model.``);
        each of the extractor's keys is found under either name.

        Raises:
            FileNotFoundError: the file does not exist.
            CheckpointError: an unreadable or unsafe file (hpekit's safe loader).
            ValueError: keys missing from the file or foreign to the model (named).
        """
        state = _read_weights(os.fspath(path))
        own = list(self.timm_model.state_dict())
        wrapped = bool(own) and all(k.startswith('model.') for k in own)
        if wrapped and not any(k.startswith('model.') for k in state):
            state = {'model.' + k: v for k, v in state.items()}   # FeatureGetterNet
        source, foreign = {k: k for k in own}, []
        if set(state) != set(own):
            full = self._classifier_keys()
            if wrapped:
                full = {'model.' + k for k in full}
            source = {k: k if k in state else _full_model_key(k, full) for k in own}
            foreign = sorted(set(state) - full - set(own))
        missing = [source[k] for k in own if source[k] not in state]
        if missing or foreign:
            raise ValueError(
                f'{path} does not match timm model {self.model_name!r} (features_only): '
                f'{len(missing)} missing keys {missing[:5]}, {len(foreign)} keys that are '
                f'not the model\'s {foreign[:5]} (first five of each)')
        self.timm_model.load_state_dict({k: state[source[k]] for k in own}, strict=True)

    def init_weights(self) -> None:
        """Keep timm's initialisation / the loaded checkpoint unless ``init_cfg`` is set."""
        if self.init_cfg is not None:
            super().init_weights()
        self._is_init = True

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        """[N, C, H, W] → tuple of the feature maps of ``out_indices``."""
        feats = self.timm_model(x)
        return tuple(feats.values()) if isinstance(feats, dict) else tuple(feats)
