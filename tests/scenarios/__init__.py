"""Scenarios: the real app driven through the Slack emulator, as a workspace would use it."""
