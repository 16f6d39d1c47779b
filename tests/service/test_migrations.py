"""The migrated schema is exactly the models, and its CHECK constraints allow exactly the
values `shared/` defines, on SQLite and on PostgreSQL."""

from __future__ import annotations

import importlib
import re

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Column, Engine, Integer, MetaData, Table, inspect, text
from sqlalchemy.exc import IntegrityError

from shared.jobs import JobSource, JobStatus, MediaSyncStatus
from shared.presets import PRESET_IDS
from shared.quality import QUALITY_NAMES
from sync_service.migrate import current_revision, head_revision, upgrade
from sync_service.models import Base

EXPECTED = {
    ("render_jobs", "ck_render_jobs_preset"): set(PRESET_IDS),
    ("render_job_prints", "ck_render_job_prints_preset"): set(PRESET_IDS),
    ("render_jobs", "ck_render_jobs_status"): {s.value for s in JobStatus},
    ("render_jobs", "ck_render_jobs_media_sync_status"): {s.value for s in MediaSyncStatus},
    ("render_jobs", "ck_render_jobs_source"): {s.value for s in JobSource},
    ("render_jobs", "ck_render_jobs_quality"): set(QUALITY_NAMES),
    ("media_pushes", "ck_media_pushes_status"): {s.value for s in MediaSyncStatus},
}


def _diff(engine: Engine, metadata: MetaData) -> list:
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "compare_server_default": True})
        return compare_metadata(context, metadata)


def _literals(sqltext: str) -> set[str]:
    """The quoted values of `col IN ('a', 'b')` (SQLite) or `col = ANY (ARRAY['a'::...])`."""
    return {m.replace("''", "'") for m in re.findall(r"'((?:[^']|'')*)'", sqltext)}


def test_upgrade_empty_database_matches_models(any_engine: Engine) -> None:
    upgrade(any_engine)
    assert current_revision(any_engine) == head_revision()
    assert _diff(any_engine, Base.metadata) == []


def test_comparison_would_notice_a_difference(any_engine: Engine) -> None:
    """The check above is not vacuous: a model the migrations lack is reported."""
    upgrade(any_engine)
    metadata = MetaData()
    for table in Base.metadata.tables.values():
        table.to_metadata(metadata)
    Table("not_migrated", metadata, Column("id", Integer, primary_key=True))
    metadata.tables["render_jobs"].append_column(Column("extra", Integer))
    kinds = {entry[0] for entry in _diff(any_engine, metadata) if isinstance(entry, tuple)}
    assert {"add_table", "add_column"} <= kinds


def test_check_constraints_allow_exactly_the_shared_values(any_engine: Engine) -> None:
    upgrade(any_engine)
    inspector = inspect(any_engine)
    for (table, name), expected in EXPECTED.items():
        constraints = {c["name"]: c["sqltext"] for c in inspector.get_check_constraints(table)}
        assert name in constraints, f"{table} has no CHECK constraint {name}"
        assert _literals(constraints[name]) == expected, name


def test_released_migration_literals_equal_shared() -> None:
    """The initial revision spells its value lists out; they must equal `shared/` (when shared
    grows, a new revision is needed, and this test and the one above say so)."""
    initial = importlib.import_module("sync_service.migrations.versions.0001_initial")
    # Presets grew in 0005 (issue 16): its list is the current one, 0001's its first nine.
    prints = importlib.import_module("sync_service.migrations.versions.0005_job_prints")
    assert prints.PRESETS == PRESET_IDS
    assert prints.OLD_PRESETS == initial.PRESETS
    assert set(initial.JOB_STATUSES) == {s.value for s in JobStatus}
    # Media-sync statuses grew in 0003 (issue 15): its list is the current one.
    publishing = importlib.import_module("sync_service.migrations.versions.0003_store_publishing")
    assert set(publishing.MEDIA_SYNC_STATUSES) == {s.value for s in MediaSyncStatus}
    assert set(initial.JOB_SOURCES) == {s.value for s in JobSource}
    assert initial.QUALITIES == QUALITY_NAMES


def test_database_refuses_an_unknown_preset(any_engine: Engine) -> None:
    upgrade(any_engine)
    with any_engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO render_templates (id, name, description, supported_presets, "
            "default_color, active, is_default, created_at, updated_at) VALUES ('t', 'T', '', "
            "'[]', '#ffffff', true, false, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"))
    columns = (
        "id, product_id, preset, color, template_id, quality, animation, background, source, "
        "status, progress, stage, images_done, images_total, frames_done, frames_total, "
        "design_path, design_name, design_type, design_size, design_sha256, design_width, "
        "design_height, attempts, media_sync_status, created_at, updated_at, metadata")

    def insert(job_id: str, preset: str) -> None:
        with any_engine.begin() as connection:
            connection.execute(text(
                f"INSERT INTO render_jobs ({columns}) VALUES (:id, 'p', :preset, '#000000', 't', "
                "'standard', true, 'transparent', 'api', 'pending', 0, '', 0, 0, 0, 0, 'x', "
                "'x', 'image/png', 1, 'x', 1, 1, 0, 'not_configured', CURRENT_TIMESTAMP, "
                "CURRENT_TIMESTAMP, '{}')"), {"id": job_id, "preset": preset})

    for index, preset in enumerate(PRESET_IDS):  # every preset of shared/ is accepted ...
        insert(f"j{index}", preset)
    with pytest.raises(IntegrityError):  # ... and nothing else
        insert("bad", "pocket-tiny")
