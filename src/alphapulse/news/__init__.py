"""News sentiment: sources, normalisation, offline scoring, relevance, anti-manipulation
and a lagged per-bar factor (score, count, surprise). See ``docs/news.md``."""
