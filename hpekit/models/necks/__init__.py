"""Necks: spatial (map → vector per frame) and temporal (over the frames of a clip)."""
from .spatial import ChannelReduction, GlobalAveragePooling
from .temporal import RecurrentNeck, TemporalConvNeck

__all__ = ['ChannelReduction', 'GlobalAveragePooling', 'RecurrentNeck',
           'TemporalConvNeck']
