"""Process set-up below everything else: the memory allocator choice (``allocator``) and
what the CPU can do (``hardware``: native bfloat16)."""
