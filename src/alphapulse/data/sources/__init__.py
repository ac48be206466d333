"""Readers that turn files on disk into per-symbol RawBars."""
