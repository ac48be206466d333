"""The message bus: typed messages, an in-process and a Redis Streams bus, bar ingestion.

See ``docs/bus.md``.
"""

from alphapulse.bus.base import Bus, BusError, Delivery, Subscription
from alphapulse.bus.codec import MessageError, decode, encode
from alphapulse.bus.dedup import Deduplicator, MemoryKeys, RedisKeys
from alphapulse.bus.factory import make_bus
from alphapulse.bus.ingest import BarIngestor
from alphapulse.bus.memory import InProcessBus
from alphapulse.bus.messages import (
    AnomalyMsg,
    BarMsg,
    CrossSectionMsg,
    FillMsg,
    Message,
    OrderMsg,
    RiskMsg,
    SignalMsg,
    Topic,
)
from alphapulse.bus.redis_streams import Backoff, RedisStreamsBus

__all__ = [
    "AnomalyMsg",
    "Backoff",
    "BarIngestor",
    "BarMsg",
    "Bus",
    "BusError",
    "CrossSectionMsg",
    "Deduplicator",
    "Delivery",
    "FillMsg",
    "InProcessBus",
    "MemoryKeys",
    "Message",
    "MessageError",
    "OrderMsg",
    "RedisKeys",
    "RedisStreamsBus",
    "RiskMsg",
    "SignalMsg",
    "Subscription",
    "Topic",
    "decode",
    "encode",
    "make_bus",
]
