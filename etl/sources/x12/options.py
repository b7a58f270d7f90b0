"""How strictly X12 input is checked, from the environment (until `etl run` has flags).

- `ETL_X12_CONTROL=strict|lenient` (default strict): whether wrong control counts
  (SE01, GE01, IEA01), missing GE/IEA trailers and sets without an ISA/GS envelope
  reject the transaction set (strict, as the TR3 envelope rules say) or are kept as
  warnings on it (lenient, for feeds known to get them wrong).
- `ETL_X12_STRICT=1`: also validate every file with pyx12 against the full TR3
  (slow, opt-in; needs the x12-strict extra).
- `ETL_X12_WORKERS=N`: how many worker processes parse the parts of a big file
  (workers.py); default one per core, 1 parses every file in the landing process.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from etl.errors import ConfigError
from etl.sources.x12 import workers
from etl.sources.x12.reader import ControlPolicy

_TRUE = {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class X12Options:
    control: ControlPolicy = ControlPolicy.STRICT
    validate_ig: bool = False
    workers: int = field(default_factory=workers.count)

    @classmethod
    def from_env(cls) -> X12Options:
        control = os.environ.get("ETL_X12_CONTROL", "strict").strip().lower()
        try:
            policy = ControlPolicy(control)
        except ValueError:
            raise ConfigError(f"ETL_X12_CONTROL={control!r}: use strict or lenient") from None
        strict = os.environ.get("ETL_X12_STRICT", "").strip().lower() in _TRUE
        count = os.environ.get("ETL_X12_WORKERS", "").strip()
        if not count:
            return cls(policy, strict)
        if not count.isdigit() or int(count) < 1:
            raise ConfigError(f"ETL_X12_WORKERS={count!r}: use a whole number of processes "
                              "(1 parses in the landing process)")
        return cls(policy, strict, int(count))
