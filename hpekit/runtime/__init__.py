"""Process set-up below everything else: the memory allocator choice (``allocator``)."""
