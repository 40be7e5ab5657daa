"""Convert a checkpoint of another code base into hpekit's layout, once:
``python tools/misc/convert_checkpoint.py {hrnet-pose-resnet,bearpaw-hourglass} IN OUT``.

- ``hrnet-pose-resnet``: SimpleBaseline (``PoseResNet``) of the HRNet repository (keys
  ``conv1.*``, ``layer1.*``, ``deconv_layers.*``, ``final_layer.*``) → hpekit's
  ``ResNet`` + ``DeconvHeatmapHead`` (configs/mpii_hourglass/simplebaseline-*).
- ``bearpaw-hourglass``: bearpaw/pytorch-pose's ``HourglassNet`` → hpekit's
  ``StackedHourglass`` (configs/mpii_hourglass/hg2-bottleneck_*).

IN is read with ``torch.load(weights_only=True)`` (nothing in it is executed); OUT is
written atomically. Prints the config and ``--cfg-options`` the result fits; then
``hpekit.apis.init_model(CONFIG, OUT)`` or ``tools/test.py CONFIG OUT`` load it
strictly. Outside a source checkout: ``python -m hpekit.checkpoint.converters``.
See docs/tools.md, "Checkpoints of other code bases".
"""
import sys

from hpekit.checkpoint.converters import main

if __name__ == '__main__':
    sys.exit(main())
