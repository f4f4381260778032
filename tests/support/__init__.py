"""What the tests share: the emulated workspace's names, serving the app, real model workers, child processes."""
