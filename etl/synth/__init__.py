"""Helpers the sources' synthetic-data generators share (`etl synth <source>`).

Each source writes its own input files in `etl/sources/<source>/synth.py`; what they
have in common lives here: fake but well-formed identifiers and demographics
(`fake`), and the vocabulary routing that decides which OMOP table a code lands in
(`vocabulary`), read from the same Athena files the warehouse loads.
"""
