"""ASC X12 5010 claims (837P 005010X222A1, 837I 005010X223A2) and remittances (835
005010X221A1): envelope checks, a loop-aware reader, typed staging rows.

Everything X12-specific on the Python side lives in this package (see README.md).
"""

from etl.sources.x12.cli import synth_x12
from etl.sources.x12.source import X12Source

SOURCE = X12Source()
CLI_COMMANDS = {"synth": [synth_x12]}
