"""drug_era (dbt model omop/drug_era.sql) for 100,000 persons: the single-pass
gaps-and-islands build, timed.

    /tmp/probe/bin/python -m benchmarks.drug_era                    # 100,000 persons
    /tmp/probe/bin/python -m benchmarks.drug_era --persons 20000 --fills 6 --repeat 3
    /tmp/probe/bin/python -m benchmarks.drug_era --durable           # fsync on

A fresh server gets the schemas and the demo vocabulary (not timed). drug_exposure rows
are generated in SQL straight into omop_build.drug_exposure (not timed): each person
takes --drugs drugs (standard RxNorm drug concepts with an ingredient in the demo
concept_ancestor, several of them multi-ingredient), each filled --fills times with a
30-day supply and a gap of 0-59 days between fills, so some exposures overlap, some touch
and some start new eras. Then `dbt run --select drug_era` builds the model, as the
pipeline does, --repeat times; the median is reported with dbt's own execution time of
the model, the CPU seconds of this process and of the server, and the rows written.
Target (issue 6): 100,000 persons in under a minute; the quadratic self-join OHDSI users
report took 1.85 days for that many.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from benchmarks.bench_support import (
    ServerCpu,
    checkpoint,
    client_cpu,
    execute,
    load_average,
    postgres,
    server_settings,
    table,
    warehouse_at,
)
from etl.config import Settings
from etl.dbt import DbtProject
from etl.migrate import upgrade_to_head
from etl.paths import project_folder
from etl.vocab.load import load_vocabulary
from etl.warehouse import Warehouse

_EXPOSURES = """
create schema if not exists omop_build;
drop table if exists omop_build.drug_exposure cascade;
create table omop_build.drug_exposure (like omop.drug_exposure including defaults);
insert into omop_build.drug_exposure (
    drug_exposure_id, person_id, drug_concept_id, drug_exposure_start_date,
    drug_exposure_end_date, drug_type_concept_id, quantity, days_supply,
    drug_source_concept_id)
with drugs as (
    select array_agg(concept_id order by concept_id) as ids, count(*) as n
    from (select distinct ancestry.descendant_concept_id as concept_id
          from vocab.concept_ancestor as ancestry
          join vocab.concept as ingredient on ingredient.concept_id = ancestry.ancestor_concept_id
           and ingredient.concept_class_id = 'Ingredient'
           and ingredient.vocabulary_id in ('RxNorm', 'RxNorm Extension')
          join vocab.concept as drug on drug.concept_id = ancestry.descendant_concept_id
           and drug.standard_concept = 'S') as usable
),
fills as (
    select person, drug, fill,
           (person * 2654435761 + drug * 40503 + fill * 9973) % 1000 as draw
    from generate_series(1, {persons}) as person,
         generate_series(1, {drugs}) as drug,
         generate_series(0, {fills} - 1) as fill
),
dated as (
    select fills.*,
           date '2020-01-01' + cast((person * 7 + drug * 13) % 365 as integer)
           + cast(coalesce(sum(30 + draw % 60) over (
               partition by person, drug order by fill
               rows between unbounded preceding and 1 preceding), 0) as integer) as start_date
    from fills
)
select row_number() over (order by person, drug, fill), person,
       drugs.ids[1 + ((person * 31 + drug * 17) % drugs.n)],
       start_date, start_date + 29,
       32838, 30, 30, 0
from dated cross join drugs;
analyze omop_build.drug_exposure;
"""


def _model_seconds(dbt: DbtProject) -> float | None:
    results = json.loads((dbt.work_dir / "target" / "run_results.json").read_text())
    for result in results["results"]:
        if result["unique_id"].endswith(".drug_era"):
            return float(result["execution_time"])
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--persons", type=int, default=100_000)
    parser.add_argument("--drugs", type=int, default=3, help="Drugs per person.")
    parser.add_argument("--fills", type=int, default=10, help="Fills per drug.")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--durable", action="store_true")
    args = parser.parse_args()
    print(f"load average before: {load_average()}")
    with postgres(args.durable) as url, tempfile.TemporaryDirectory(prefix="etl-bench-") as home:
        warehouse: Warehouse = warehouse_at(url)
        upgrade_to_head(warehouse)
        load_vocabulary(warehouse, project_folder("vocab") / "demo")
        print("server: " + ", ".join(f"{k}={v}" for k, v in server_settings(warehouse).items()))
        started = time.perf_counter()
        execute(warehouse, *[s for s in _EXPOSURES.format(
            persons=args.persons, drugs=args.drugs, fills=args.fills).split(";\n") if s.strip()])
        exposures = int(warehouse.scalar("select count(*) from omop_build.drug_exposure") or 0)
        print(f"{exposures:,} drug_exposure rows for {args.persons:,} persons generated in "
              f"{time.perf_counter() - started:.1f} s (not timed)")
        dbt = DbtProject(Settings(database_url=str(warehouse.url.render_as_string(
            hide_password=False)), etl_home=Path(home)), warehouse.url)
        runs = []
        for attempt in range(args.repeat):
            checkpoint(warehouse)
            server = ServerCpu(warehouse)
            server_before, client_before = server.seconds(), client_cpu()
            began = time.perf_counter()
            dbt.invoke(["run", "--select", "drug_era"])
            wall = time.perf_counter() - began
            server_after = server.seconds(settle=True)
            runs.append((attempt + 1, wall, _model_seconds(dbt), client_cpu() - client_before,
                         None if server_before is None or server_after is None
                         else server_after - server_before))
        eras = int(warehouse.scalar("select count(*) from omop_build.drug_era") or 0)
        persons = int(warehouse.scalar(
            "select count(distinct person_id) from omop_build.drug_era") or 0)
        print(table(("run", "dbt run wall s", "model s (dbt)", "client CPU s", "server CPU s"),
                    [(n, f"{w:.1f}", f"{m:.1f}" if m else "-", f"{c:.1f}",
                      f"{s:.1f}" if s is not None else "-") for n, w, m, c, s in runs]))
        median = statistics.median(m or w for _, w, m, _, _ in runs)
        print(f"drug_era: {eras:,} eras for {persons:,} persons from {exposures:,} exposures; "
              f"median model time {median:.1f} s (target < 60 s)")
    print(f"load average after: {load_average()}")


if __name__ == "__main__":
    main()
