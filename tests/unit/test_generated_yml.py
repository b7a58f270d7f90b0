"""The dbt yml files generated from the specs must be committed as generated."""

from __future__ import annotations

from etl.omop import dbt_yml as omop_yml
from etl.sources.cclf import dbt_yml as cclf_yml


def test_omop_models_yml_matches_the_spec() -> None:
    path = omop_yml.target_path()
    assert path.read_text() == omop_yml.render(path.parent), (
        "run `python -m etl.omop.dbt_yml` and commit the result"
    )


def test_every_omop_model_has_a_contract() -> None:
    rendered = omop_yml.render(omop_yml.target_path().parent)
    assert rendered.count("enforced: true") == len(
        list(omop_yml.target_path().parent.glob("*.sql"))
    )


def test_cclf_staging_yml_matches_the_layout() -> None:
    folder = cclf_yml.staging_dir()
    assert (folder / "_cclf__sources.yml").read_text() == cclf_yml.render_sources()
    assert (folder / "_cclf__models.yml").read_text() == cclf_yml.render_models()
