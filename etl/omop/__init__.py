"""OMOP CDM v5.4: the official specification as shipped data, and the DDL derived from it."""
