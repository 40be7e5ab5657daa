"""Configs: find a shipped one (``files``), load and set it up for the Runner
(``setup``), check it (``checks``), apply command-line options (``cli_options``), and
import HRNet/SimpleBaseline yacs experiments (``yacs``, ``yacs2py``)."""
