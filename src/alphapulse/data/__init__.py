"""Market data: sources, validation, adjustments, resampling, and the Panel the engine reads."""
