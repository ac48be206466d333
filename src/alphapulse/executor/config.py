"""``executor: {kind: local | ray, address: auto | local | ray://host:port, num_cpus: N}``."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class ExecutorConfig(BaseModel):
    """Where fanned-out work runs. ``local``: forked worker processes on this machine
    (``num_cpus`` of them, default one per core). ``ray``: tasks on a Ray cluster;
    ``address: auto`` joins the running cluster (``$RAY_ADDRESS`` or a local head) or
    starts a local one with ``num_cpus`` CPUs, ``local`` always starts one,
    ``ray://host:port`` connects a Ray client to a remote head."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["local", "ray"] = "local"
    address: str = Field("auto", pattern=r"^(auto|local|ray://[A-Za-z0-9_.\-]+:\d{1,5})$")
    num_cpus: int | None = Field(None, ge=1, le=4096)
