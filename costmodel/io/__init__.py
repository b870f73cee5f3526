"""Files: data paths, published reference figures, stored latency measurements."""
