"""Sources: one folder each, all fulfilling the contract in base.py."""
