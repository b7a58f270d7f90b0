"""`etl docs generate` and `etl docs serve`: the dbt docs site with lineage."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from click.testing import CliRunner

from etl.cli import cli
from etl.warehouse import Warehouse


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_docs_generate_writes_a_site_with_source_to_omop_lineage(
    warehouse: Warehouse, etl_home: Path
) -> None:
    result = CliRunner().invoke(
        cli, ["--database-url", warehouse.libpq_url, "--etl-home", str(etl_home),
              "docs", "generate"]
    )
    assert result.exit_code == 0, result.output
    target = etl_home / "dbt" / "target"
    assert (target / "index.html").stat().st_size > 10_000
    manifest = json.loads((target / "manifest.json").read_text())
    person = manifest["nodes"]["model.omop_etl.person"]
    # person reads the CCLF beneficiaries through the intermediate layer.
    assert "model.omop_etl.int_persons" in person["depends_on"]["nodes"]
    assert "source.omop_etl.stg_cclf.beneficiary_demographics" in manifest["sources"]
    assert person["columns"]["person_id"]["description"]


def test_docs_serve_answers_on_localhost(warehouse: Warehouse, etl_home: Path) -> None:
    port = _free_port()
    env = os.environ | {"DATABASE_URL": warehouse.libpq_url, "ETL_HOME": str(etl_home)}
    server = subprocess.Popen(
        [sys.executable, "-c", "from etl.cli import main; main()", "docs", "serve",
         "--port", str(port)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as page:
                    assert page.status == 200
                    assert b"dbt" in page.read()
                    break
            except OSError:
                assert server.poll() is None, "etl docs serve exited"
                assert time.monotonic() < deadline, "docs site did not answer in 90 s"
                time.sleep(0.5)
    finally:
        server.terminate()
        server.wait(timeout=20)
