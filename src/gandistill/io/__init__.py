"""Files on disk: atomic writes, model directories, training state, images."""
