"""Every dbt model is documented: a yml entry with a description (its grain)."""

from __future__ import annotations

import yaml

from etl.paths import project_folder

MODELS = project_folder("dbt_project") / "models"


def documented_models() -> set[str]:
    """Names of the models that a yml file under models/ gives a non-empty description."""
    names = set()
    for path in MODELS.rglob("*.yml"):
        for model in (yaml.safe_load(path.read_text()) or {}).get("models") or []:
            if str(model.get("description") or "").strip():
                names.add(model["name"])
    return names


def test_every_model_has_a_description() -> None:
    missing = sorted({path.stem for path in MODELS.rglob("*.sql")} - documented_models())
    assert not missing, f"models without a yml description: {', '.join(missing)}"
