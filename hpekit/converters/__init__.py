"""Converters from other code bases' files into hpekit's (run once, write a file).

- :mod:`hpekit.converters.yacs_config`: an HRNet / SimpleBaseline yacs YAML
  experiment → an hpekit Python config (``tools/misc/yacs2py.py``).
- :mod:`hpekit.converters.checkpoints`: an HRNet-repo PoseResNet or a bearpaw
  HourglassNet checkpoint → hpekit's state-dict layout
  (``tools/misc/convert_checkpoint.py``; imported on use, it needs torch).
"""
from .yacs_config import (ImportReport, YacsImportError, load_yacs_experiment,
                          yacs_to_config_text)

__all__ = ['ImportReport', 'YacsImportError', 'load_yacs_experiment',
           'yacs_to_config_text']
