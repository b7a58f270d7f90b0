"""Deliberately damaged copies of synthetic CCLF packages, for the gate tests."""

from __future__ import annotations

import random
import zipfile
from pathlib import Path

from etl.sources.cclf.layout import layouts


def break_npi_check_digits(package: Path, out_dir: Path, share: float, seed: int = 7) -> set[int]:
    """Copy `package` into out_dir with the CCLF5 rendering NPI's check digit broken on
    `share` of its lines (lengths unchanged, so CCLF0 still reconciles); returns the
    changed line numbers."""
    field = layouts()["CCLF5"].field("rndrg_prvdr_npi_num")
    rng = random.Random(seed)
    changed: set[int] = set()
    with zipfile.ZipFile(package) as source, \
            zipfile.ZipFile(out_dir / package.name, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info)
            if ".ZC5" in info.filename:
                lines = data.decode("latin-1").split("\n")
                for number, line in enumerate(lines, start=1):
                    npi = line[field.offset:field.end].strip()
                    if npi and rng.random() < share:
                        wrong = npi[:9] + str((int(npi[9]) + 1) % 10)
                        lines[number - 1] = line[:field.offset] + wrong + line[field.end:]
                        changed.add(number)
                data = "\n".join(lines).encode("latin-1")
            target.writestr(info, data)
    return changed
