"""Declarative description of one on-disk dataset (``specs/*.yaml``)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from alphapulse.core.errors import ConfigError, DataError
from alphapulse.core.timezones import time_zone
from alphapulse.data.fields import NUMERIC_FIELDS, PRICE_FIELDS

SPEC_DIR = Path(__file__).resolve().parent / "specs"

EpochUnit = Literal["s", "ms", "us", "ns"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SymbolSpec(_Strict):
    """Where a row's symbol comes from: the file name (``pattern``) or a column."""

    pattern: str | None = Field(None, description="regex on the file name with group 'symbol'")
    column: str | None = Field(None, description="source column holding the ticker")
    replace: dict[str, str] = Field(default_factory=dict, description="text substitutions")

    @model_validator(mode="after")
    def _one_source(self) -> SymbolSpec:
        if (self.pattern is None) == (self.column is None):
            raise ValueError("give exactly one of symbol.pattern or symbol.column")
        if self.pattern is not None and "symbol" not in re.compile(self.pattern).groupindex:
            raise ValueError("symbol.pattern needs a named group (?P<symbol>...)")
        return self

    def normalize(self, raw: str) -> str:
        """Upper-case, trimmed ticker with the configured substitutions applied."""
        out = raw.strip().upper()
        for old, new in self.replace.items():
            out = out.replace(old, new)
        return out


class TimestampSpec(_Strict):
    """How the time of a bar is written."""

    column: str
    time_column: str | None = Field(None, description="separate time-of-day column, if any")
    kind: Literal["text", "epoch"] = "text"
    format: str | None = Field(None, description="strptime format of text stamps; None: ISO 8601")
    unit: EpochUnit | None = Field(None, description="unit of epoch stamps")
    timezone: str = Field("UTC", description="zone of naive stamps (daily dates stay 00:00 UTC)")
    stamp: Literal["start", "end"] = Field("start", description="stamp marks bar start or end")

    _tz = field_validator("timezone")(time_zone)

    @model_validator(mode="after")
    def _unit_for_epoch(self) -> TimestampSpec:
        if self.kind == "epoch" and self.unit is None:
            raise ValueError("timestamp.unit is required when kind is 'epoch'")
        return self


class PriceBasis(_Strict):
    """What the price columns already include, and whether action columns are reflected."""

    split_adjusted: bool
    dividend_adjusted: bool
    splits_applied: bool = Field(False, description="prices already reflect the split column")
    dividends_applied: bool = Field(False, description="prices already reflect the dividends")
    note: str = ""


class DatasetSpec(_Strict):
    """One dataset folder under the data root and how to parse its files."""

    name: str
    description: str
    folder: str | None = Field(None, description="folder under the data root; default: name")
    files: str = Field(description="glob of the data files inside the folder")
    symbol: SymbolSpec
    separator: str = ","
    skip_rows: int = Field(0, ge=0, description="lines before the header (banners)")
    header: bool = True
    names: list[str] | None = Field(None, description="column names when there is no header")
    columns: dict[str, str | list[str]] = Field(
        description="canonical field -> source column (or candidates, first present wins)"
    )
    timestamp: TimestampSpec
    bar: str = Field(description="bar length as a pandas offset, e.g. 1D, 1h, 1min")
    calendar: str = Field(
        description="exchange_calendars name (XNYS), '24/7', or 'unknown' (no calendar checks)"
    )
    order: Literal["ascending", "descending"] = "ascending"
    price_basis: PriceBasis
    notes: list[str] = Field(default_factory=list)

    @field_validator("columns")
    @classmethod
    def _known_fields(cls, v: dict[str, str | list[str]]) -> dict[str, str | list[str]]:
        unknown = sorted(set(v) - set(NUMERIC_FIELDS))
        if unknown:
            raise ValueError(f"unknown canonical fields {unknown}; allowed: {list(NUMERIC_FIELDS)}")
        missing = [f for f in PRICE_FIELDS if f not in v]
        if missing:
            raise ValueError(f"columns must map the required fields {missing}")
        return v

    @field_validator("bar")
    @classmethod
    def _valid_bar(cls, v: str) -> str:
        pd.Timedelta(v)
        return v

    @model_validator(mode="after")
    def _header_or_names(self) -> DatasetSpec:
        if not self.header and not self.names:
            raise ValueError("a file without a header needs 'names'")
        return self

    @property
    def folder_name(self) -> str:
        return self.folder or self.name

    @property
    def bar_length(self) -> pd.Timedelta:
        return pd.Timedelta(self.bar)

    @property
    def is_daily(self) -> bool:
        return self.bar_length >= pd.Timedelta("1D")

    def candidates(self, field: str) -> list[str]:
        """Source column names that may hold ``field`` (empty if unmapped)."""
        v = self.columns.get(field)
        if v is None:
            return []
        return [v] if isinstance(v, str) else list(v)

    def symbol_of(self, path: Path) -> str | None:
        """Ticker encoded in the file name, or None when the name does not match."""
        if self.symbol.pattern is None:
            return None
        m = re.fullmatch(self.symbol.pattern, path.name)
        return self.symbol.normalize(m.group("symbol")) if m else None


def _load_yaml(path: Path) -> DatasetSpec:
    try:
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=loader)  # a safe loader
        return DatasetSpec.model_validate(raw)
    except (yaml.YAMLError, ValidationError) as exc:
        raise ConfigError(f"invalid dataset spec {path}: {exc}") from exc


def load_specs(spec_dir: Path = SPEC_DIR) -> dict[str, DatasetSpec]:
    """All dataset specs shipped with the package, keyed by name."""
    specs: dict[str, DatasetSpec] = {}
    for path in sorted(spec_dir.glob("*.yaml")):
        spec = _load_yaml(path)
        if spec.name in specs:
            raise ConfigError(f"duplicate dataset spec name {spec.name!r} in {path}")
        specs[spec.name] = spec
    return specs


def get_spec(name: str, spec_dir: Path = SPEC_DIR) -> DatasetSpec:
    """The spec of dataset ``name``; DataError listing the known names otherwise."""
    specs = load_specs(spec_dir)
    if name not in specs:
        raise DataError(f"unknown dataset {name!r}; known datasets: {', '.join(sorted(specs))}")
    return specs[name]
