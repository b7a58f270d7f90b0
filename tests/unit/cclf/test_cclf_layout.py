"""Layouts loaded from layouts/ip_v38.csv: lengths, contiguity, types, DDL."""

from __future__ import annotations

import pytest

from etl.errors import ConfigError
from etl.sources.cclf.layout import LINEAGE_COLUMNS, layouts, staging_ddl, summary_layouts

# IP v38 Appendix B, Tables 14-24: the last end position of each detail record.
RECORD_LENGTHS = {
    "CCLF1": 437,
    "CCLF2": 199,
    "CCLF3": 114,
    "CCLF4": 112,
    "CCLF5": 388,
    "CCLF6": 247,
    "CCLF7": 195,
    "CCLF8": 549,
    "CCLF9": 55,
    "CCLFA": 324,
    "CCLFB": 128,
}


def test_every_data_file_has_its_ip_v38_record_length() -> None:
    assert {k: v.record_length for k, v in layouts().items()} == RECORD_LENGTHS


def test_fields_are_contiguous_from_position_one() -> None:
    for layout in [*layouts().values(), *summary_layouts().values()]:
        expected_start = 1
        for field in layout.fields:
            assert field.start == expected_start, (layout.file_id, field.label)
            assert field.end - field.start + 1 == field.length, (layout.file_id, field.label)
            expected_start = field.end + 1


def test_cclf0_records_are_69_and_70_bytes() -> None:
    summary = summary_layouts()
    assert summary["header"].record_length == 69
    assert summary["detail"].record_length == 70


def test_each_file_lands_in_its_named_staging_table() -> None:
    tables = {k: v.staging_table for k, v in layouts().items()}
    assert tables == {
        "CCLF1": "parta_claims_header",
        "CCLF2": "parta_revenue_details",
        "CCLF3": "parta_procedures",
        "CCLF4": "parta_diagnoses",
        "CCLF5": "partb_physicians",
        "CCLF6": "partb_dme",
        "CCLF7": "partd_claims",
        "CCLF8": "beneficiary_demographics",
        "CCLF9": "beneficiary_xref",
        "CCLFA": "parta_benefit_enhancement",
        "CCLFB": "partb_benefit_enhancement",
    }


@pytest.mark.parametrize(
    ("file_id", "column", "postgres_type"),
    [
        ("CCLF1", "cur_clm_uniq_id", "text"),  # 9(13) identifier
        ("CCLF1", "clm_type_cd", "text"),  # 9(02) code keeps leading zeros
        ("CCLF1", "clm_from_dt", "date"),
        ("CCLF1", "clm_pmt_amt", "numeric(15,2)"),  # -9(13).99
        ("CCLF1", "clm_oprtnl_ime_amt", "numeric(20,2)"),  # -9(18).99
        ("CCLF2", "clm_line_num", "bigint"),  # 9(10) ordinal
        ("CCLF2", "clm_line_prod_rev_ctr_cd", "text"),
        ("CCLF2", "clm_line_srvc_unit_qty", "numeric(22,4)"),  # -9(18).9999
        ("CCLF3", "clm_val_sqnc_num", "integer"),
        ("CCLF5", "clm_line_cvrd_pd_amt", "numeric(13,2)"),  # printed X(15)
        ("CCLF5", "clm_line_alowd_chrg_amt", "numeric(15,2)"),  # printed X(17)
        ("CCLF6", "clm_line_alowd_chrg_amt", "numeric(15,2)"),  # printed -9(14).99 in 17
        ("CCLF7", "clm_line_ndc_cd", "text"),
        ("CCLF7", "clm_line_days_suply_qty", "integer"),
        ("CCLF7", "clm_line_rx_srvc_rfrnc_num", "text"),
        ("CCLF8", "bene_fips_state_cd", "text"),
        ("CCLF8", "bene_age", "integer"),
        ("CCLF9", "prvs_id_efctv_dt", "date"),
        ("CCLFA", "clm_pbp_inclsn_amt", "numeric(17,2)"),
    ],
)
def test_staging_column_types_follow_the_typing_rule(
    file_id: str, column: str, postgres_type: str
) -> None:
    columns = {c.column_name: c for c in layouts()[file_id].staging_columns()}
    assert columns[column].postgres_type == postgres_type


def test_staging_columns_cite_table_element_and_positions() -> None:
    clm_from_dt = layouts()["CCLF1"].staging_columns()[5]
    assert clm_from_dt.column_name == "clm_from_dt"
    assert clm_from_dt.spec_ref == "IP v38 Table 14 element 6, positions 44-53"
    assert clm_from_dt.description.startswith("Claim From Date (CLM_FROM_DT")


def test_ddl_creates_one_table_per_file_with_lineage_columns_first() -> None:
    statements = staging_ddl()
    assert len(statements) == 11
    header = statements[0]
    assert header.startswith("create table if not exists stg_cclf.parta_claims_header (")
    lines = [line.strip().rstrip(",") for line in header.splitlines()[1:-1]]
    assert lines[:3] == [f"{name} {sql_type}" for name, sql_type in LINEAGE_COLUMNS]
    assert lines[3] == "cur_clm_uniq_id text"
    assert len(lines) == 3 + 45


def test_ddl_refuses_a_schema_name_that_is_not_a_plain_identifier() -> None:
    with pytest.raises(ConfigError, match="not a plain"):
        staging_ddl(schema="stg; drop table x")


def test_an_unknown_ip_version_names_the_known_ones() -> None:
    with pytest.raises(ConfigError, match="no CCLF layout for IP v99; known versions: 38"):
        layouts("99")
