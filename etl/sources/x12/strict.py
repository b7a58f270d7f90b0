"""Opt-in full implementation-guide validation with pyx12 (`ETL_X12_STRICT=1`).

The reader checks envelopes and loop structure; pyx12 validates every element against
the TR3 maps it ships (code values, lengths, situational rules) at roughly 0.1 MB/s.
Its JSON error report lists, per transaction set, the errors with their segment line;
any set pyx12 does not accept (999 IK5 other than A) is rejected with those reasons.
pyx12 ships maps for 005010X222A1, 005010X223A2 and 005010X221A1 only: a file under
another errata (e.g. X222A2) cannot be validated and is rejected in strict mode.

pyx12 is an optional dependency (the `x12-strict` extra, or `pip install pyx12`).
"""

from __future__ import annotations

import io
import json
import logging
from dataclasses import dataclass, field

from etl.errors import ConfigError
from etl.sources.x12.reader import TransactionSet, decode

_MAX_MESSAGES = 10


@dataclass
class IgReport:
    """pyx12's verdict: messages per transaction set (in file order) and for the file."""

    sets: list[tuple[str, str, list[str]]] = field(default_factory=list)  # (ST02, IK5, msgs)
    file_errors: list[str] = field(default_factory=list)


def pyx12_available() -> bool:
    try:
        import pyx12  # noqa: F401
    except ImportError:
        return False
    return True


def validate(data: bytes) -> IgReport:
    """Run pyx12 over one file's bytes."""
    try:
        import pyx12.params
        import pyx12.x12n_document
    except ImportError as error:
        raise ConfigError("strict X12 validation needs pyx12: pip install pyx12 (or the "
                          "project's x12-strict extra)") from error
    logging.getLogger("pyx12").setLevel(logging.CRITICAL)
    report = IgReport()
    output = io.StringIO()
    try:
        pyx12.x12n_document.x12n_document(
            pyx12.params.params(), io.StringIO(decode(data)), None, None, None, output)
    except Exception as error:  # pyx12 raises its own EngineError and plain errors alike
        report.file_errors.append(f"pyx12 cannot validate the file: {error}")
        return report
    try:
        document = json.loads(output.getvalue() or "{}")
    except json.JSONDecodeError:
        report.file_errors.append("pyx12 wrote no readable report")
        return report
    for interchange in document.get("interchanges", []):
        report.file_errors += [e["err_str"] for e in interchange.get("errors", [])]
        for group in interchange.get("groups", []):
            group_errors = [e["err_str"] for e in group.get("errors", [])]
            for transaction in group.get("transactions", []):
                messages = group_errors + [e["err_str"] for e in transaction.get("errors", [])]
                for segment in transaction.get("segments", []):
                    where = f"segment {segment.get('cur_line')} ({segment.get('seg_id')})"
                    messages += [f"{where}: {e['err_str']}" for e in segment.get("errors", [])]
                    for element in segment.get("elements", []):
                        messages += [f"{where}: {e['err_str']}"
                                     for e in element.get("errors", [])]
                report.sets.append((transaction.get("trn_set_control_num") or "",
                                    transaction.get("ack_code") or "", messages))
    return report


def apply_report(sets: list[TransactionSet], report: IgReport) -> list[str]:
    """Reject the sets pyx12 did not accept; returns problems that concern the file."""
    if report.file_errors or len(report.sets) != len(sets):
        problems = report.file_errors or [
            f"pyx12 found {len(report.sets)} transaction set(s) where the reader found "
            f"{len(sets)}"]
        for tset in sets:
            tset.errors.append("strict validation (pyx12): " + "; ".join(problems[:3]))
        return problems
    for tset, (control, ack, messages) in zip(sets, report.sets, strict=True):
        if control != tset.control_number or ack == "A":
            continue
        shown = messages[:_MAX_MESSAGES] or [f"999 IK5 acknowledgment code {ack}"]
        tset.errors.append("strict validation (pyx12): " + "; ".join(shown))
    return []
