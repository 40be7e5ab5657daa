"""Checkpoints: safe loading (``loading``: weights_only with an allow-list), atomic
files, retention and the resume plan (``files``, ``resume``), and converters from other
code bases' checkpoints (``converters``)."""
