"""Checkpoints without a Runner: safe loading (``loading``: ``weights_only`` with an
allow-list, atomic local writes for mmengine), the files (``files``: atomic save, the
``last_checkpoint`` pointer, non-finite checks), which old ones to delete and when
(``retention``), what a resume may continue from (``resume``), and converters from
other code bases' checkpoints (``converters``). ``SafeCheckpointHook``
(``hpekit/engine/hooks/checkpoint.py``) drives them from the Runner."""
