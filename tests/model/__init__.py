"""Real-model tests: the bundled models in a real worker process (marked `model`)."""
