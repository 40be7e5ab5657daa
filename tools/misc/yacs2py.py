"""Convert an HRNet / SimpleBaseline YAML experiment into an hpekit Python config, once:
``python tools/misc/yacs2py.py EXPERIMENT.yaml --out CONFIG.py [--force]``.

Prints the file written and every YAML key that was not converted, with the reason;
keys hpekit cannot reproduce are all listed and nothing is written (exit status 1).
Then train from the .py: ``python tools/train.py CONFIG.py``. Outside a source
checkout: ``python -m hpekit.config.yacs2py`` (the same command). See
docs/tools.md, "YAML experiments".
"""
import sys

from hpekit.config.yacs2py import main

if __name__ == '__main__':
    sys.exit(main())
