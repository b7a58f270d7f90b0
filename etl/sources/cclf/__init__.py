"""CMS Claim and Claim Line Feed (CCLF): layouts, delivery discovery, CCLF0 checks, parsing.

Everything CCLF-specific on the Python side lives in this package; the facts it
follows are in the CCLF Information Packet (IP) v38, Appendix B.
"""

from etl.sources.cclf.cli import synth_cclf
from etl.sources.cclf.source import CclfSource

SOURCE = CclfSource()
CLI_COMMANDS = {"synth": [synth_cclf]}
