"""The OMOP vocabulary: loading an Athena download into the `vocab` schema."""

from etl.vocab.load import load_vocabulary

__all__ = ["load_vocabulary"]
