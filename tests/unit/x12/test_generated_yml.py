"""The X12 staging yml is committed as generated from tables.py."""

from __future__ import annotations

from etl.sources.x12 import dbt_yml


def test_x12_staging_yml_matches_the_tables() -> None:
    folder = dbt_yml.staging_dir()
    assert (folder / "_x12__sources.yml").read_text() == dbt_yml.render_sources(), (
        "run `python -m etl.sources.x12.dbt_yml` and commit the result")
    assert (folder / "_x12__models.yml").read_text() == dbt_yml.render_models()


def test_every_x12_dbt_yml_file_is_valid_yaml() -> None:
    import yaml

    from etl.paths import project_folder

    models = project_folder("dbt_project") / "models"
    paths = [*(models / "staging" / "x12").glob("*.yml"),
             *(models / "intermediate" / "x12").glob("*.yml")]
    assert len(paths) == 3
    for path in paths:
        document = yaml.safe_load(path.read_text())
        assert document["version"] == 2, path
