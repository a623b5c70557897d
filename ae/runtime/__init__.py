"""Layer 1: the machine and the file system: atomic files, cores, the allocator, the workspace."""
