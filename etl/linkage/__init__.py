"""Linking one person across sources: deterministic identifiers (etl/identity.py), keyed
linkage tokens (tokens.py, match.py), the review queue (review.py) and the linkage report
(report.py). docs/linkage.md describes the rules and the policy."""
