"""Where the project's non-Python folders live, in a checkout or inside an installed wheel."""

from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


def project_folder(name: str) -> Path:
    """Return `dbt_project`, `migrations` or `vocab`.

    An editable install or a checkout has them beside the package; a wheel carries
    them under `etl/_bundled/` (see pyproject.toml, force-include).
    """
    bundled = _PACKAGE_DIR / "_bundled" / name
    if bundled.is_dir():
        return bundled
    return _PACKAGE_DIR.parent / name
