"""The package as separate services: ``alphapulse ingest`` (live feed into the store and
onto the bus) and ``alphapulse trade`` (bars from the bus into the paper engines); each
serves ``/health`` and ``/metrics`` (``docs/operations.md``)."""

#: The topic ``ingest`` publishes the feed's cross-sections on and ``trade`` consumes.
FEED_TOPIC = "feed.bars"

__all__ = ["FEED_TOPIC"]
