"""Unit tests: one part at a time, no Slack emulator and no model worker."""
