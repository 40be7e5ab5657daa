"""Necks: spatial (map → vector per frame) and temporal (over the frames of a clip)."""
from hpekit.models.necks.spatial import ChannelReduction, GlobalAveragePooling
from hpekit.models.necks.temporal import RecurrentNeck, TemporalConvNeck

__all__ = ['ChannelReduction', 'GlobalAveragePooling', 'RecurrentNeck',
           'TemporalConvNeck']
from hpekit.models.necks.cspnext_pafpn import CSPNeXtPAFPN  # noqa: E402

__all__ += ['CSPNeXtPAFPN']
