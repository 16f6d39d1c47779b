"""The job database: render jobs and their prints, render templates, the media pushes of each
job and the processes that consume the render queue.

The allowed values of every status-like column come from `shared/` and are enforced by CHECK
constraints, so a value the rest of the system does not know can never be stored. The migration
that creates them holds the literal lists of its day; a test compares both with `shared/`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from shared.jobs import JobSource, JobStatus, MediaSyncStatus
from shared.presets import PRESET_IDS
from shared.quality import QUALITY_NAMES

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

JOB_STATUSES: tuple[str, ...] = tuple(s.value for s in JobStatus)
MEDIA_SYNC_STATUSES: tuple[str, ...] = tuple(s.value for s in MediaSyncStatus)
JOB_SOURCES: tuple[str, ...] = tuple(s.value for s in JobSource)
#: `serve`'s own queue process, or a `tshirt-service worker` (on this machine or another).
WORKER_KINDS = ("serve", "worker")


def utcnow() -> datetime:
    return datetime.now(UTC)


def one_of(column: str, values: Iterable[str]) -> str:
    """SQL for `column IN ('a', 'b')`, the same text on SQLite and PostgreSQL."""
    quoted = ", ".join("'" + v.replace("'", "''") + "'" for v in values)
    return f"{column} IN ({quoted})"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {
        datetime: DateTime(timezone=True),
        dict[str, Any]: JSON,
        list[Any]: JSON,
    }


class RenderTemplate(Base):
    """A shirt model the renderer can use. Seeded from `render_assets/templates`."""

    __tablename__ = "render_templates"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    #: Where the model lives, relative to the templates root (never an absolute path).
    model_path: Mapped[str | None] = mapped_column(String(500))
    thumbnail_path: Mapped[str | None] = mapped_column(String(500))
    supported_presets: Mapped[list[Any]] = mapped_column(default=list)
    default_color: Mapped[str] = mapped_column(String(7), default="#ffffff")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class StoredDesign:
    """A design as stored: its location relative to the data directory, what it is, and its
    upright size. The original name is for display only. A job carries its first print's."""

    design_path: Mapped[str] = mapped_column(String(500))
    design_name: Mapped[str] = mapped_column(String(200))
    design_type: Mapped[str] = mapped_column(String(32))
    design_size: Mapped[int] = mapped_column(Integer)
    design_sha256: Mapped[str] = mapped_column(String(64))
    design_width: Mapped[int] = mapped_column(Integer)
    design_height: Mapped[int] = mapped_column(Integer)


class RenderJob(StoredDesign, Base):
    __tablename__ = "render_jobs"
    __table_args__ = (
        CheckConstraint(one_of("preset", PRESET_IDS), name="preset"),
        CheckConstraint(one_of("status", JOB_STATUSES), name="status"),
        CheckConstraint(one_of("media_sync_status", MEDIA_SYNC_STATUSES),
                        name="media_sync_status"),
        CheckConstraint(one_of("source", JOB_SOURCES), name="source"),
        CheckConstraint(one_of("quality", QUALITY_NAMES), name="quality"),
        CheckConstraint("progress >= 0 AND progress <= 100", name="progress"),
        # Listing: newest first overall, or within one status / product / preset / source.
        Index("ix_render_jobs_created", "created_at", "id"),
        Index("ix_render_jobs_status_created", "status", "created_at", "id"),
        Index("ix_render_jobs_product_created", "product_id", "created_at", "id"),
        Index("ix_render_jobs_preset_created", "preset", "created_at", "id"),
        Index("ix_render_jobs_preset_status_created", "preset", "status", "created_at", "id"),
        Index("ix_render_jobs_source_created", "source", "created_at", "id"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    product_id: Mapped[str] = mapped_column(String(128))
    #: The first print's preset, and below its design: what listings filter on and what
    #: version-1 clients read (`jobs.commands` writes them from the job's prints).
    preset: Mapped[str] = mapped_column(String(32))
    color: Mapped[str] = mapped_column(String(7))
    #: Every colour of a several-colour job, `color` first; None for one colour (0004).
    colors: Mapped[list[Any] | None] = mapped_column()
    template_id: Mapped[str] = mapped_column(
        String(128), ForeignKey("render_templates.id", ondelete="RESTRICT"), index=True)
    quality: Mapped[str] = mapped_column(String(16))
    animation: Mapped[bool] = mapped_column(Boolean, default=True)
    background: Mapped[str] = mapped_column(String(16), default="transparent")
    source: Mapped[str] = mapped_column(String(16), default=JobSource.API.value)
    status: Mapped[str] = mapped_column(String(16), default=JobStatus.PENDING.value)

    progress: Mapped[int] = mapped_column(Integer, default=0)
    stage: Mapped[str] = mapped_column(String(200), default="")
    images_done: Mapped[int] = mapped_column(Integer, default=0)
    images_total: Mapped[int] = mapped_column(Integer, default=0)
    frames_done: Mapped[int] = mapped_column(Integer, default=0)
    frames_total: Mapped[int] = mapped_column(Integer, default=0)


    #: Outputs as recorded from the manifest, each with a path relative to the data directory.
    outputs: Mapped[list[Any] | None] = mapped_column()
    manifest: Mapped[dict[str, Any] | None] = mapped_column()

    error_code: Mapped[str | None] = mapped_column(String(64))
    error_message: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    retried_from: Mapped[str | None] = mapped_column(
        String(40), ForeignKey("render_jobs.id", ondelete="SET NULL"), index=True)
    #: The queue's handle for this job (issue 6).
    task_id: Mapped[str | None] = mapped_column(String(64))

    media_sync_status: Mapped[str] = mapped_column(
        String(24), default=MediaSyncStatus.NOT_CONFIGURED.value)
    #: How the render goes onto the store's product (`jobs.publish`): thumbnail policy, the
    #: colour option and the shop's own colour words (migration 0003).
    publish: Mapped[dict[str, Any] | None] = mapped_column()
    #: The client's `Idempotency-Key` of the POST that created the job: the same key finds it.
    idempotency_key: Mapped[str | None] = mapped_column(String(128), unique=True)
    #: `<retried job>:<n>` for the n-th retry of a job: two concurrent retries of one job
    #: compute the same slot, and the database lets only one of them have it.
    retry_slot: Mapped[str | None] = mapped_column(String(96), unique=True)

    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column()
    completed_at: Mapped[datetime | None] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    worker_id: Mapped[str | None] = mapped_column(String(128))
    heartbeat_at: Mapped[datetime | None] = mapped_column()

    #: Free-form data from the client (`metadata` is taken by SQLAlchemy's declarative base).
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", default=dict)

    #: Every print of the job in order (0005); the first is also in `preset` and `design_*`.
    prints: Mapped[list[RenderJobPrint]] = relationship(
        order_by="RenderJobPrint.position", cascade="all, delete-orphan", passive_deletes=True)


class RenderJobPrint(StoredDesign, Base):
    """One print of a job: a design at a placement, moved, scaled and turned (`shared.prints`).
    Prints that share an uploaded file share its stored location."""

    __tablename__ = "render_job_prints"
    __table_args__ = (
        CheckConstraint(one_of("preset", PRESET_IDS), name="preset"),
        CheckConstraint("position >= 0", name="position"),
    )

    job_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("render_jobs.id", ondelete="CASCADE"), primary_key=True)
    #: 0 for the first print, then 1, 2, ... in the job's order.
    position: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    preset: Mapped[str] = mapped_column(String(32))
    offset_x_cm: Mapped[float] = mapped_column(Float, default=0.0)
    offset_y_cm: Mapped[float] = mapped_column(Float, default=0.0)
    scale: Mapped[float] = mapped_column(Float, default=1.0)
    rotation_deg: Mapped[float] = mapped_column(Float, default=0.0)


class MediaPush(Base):
    """One attempt series at publishing a job's outputs to the store (issue 7 fills it in)."""

    __tablename__ = "media_pushes"
    __table_args__ = (
        CheckConstraint(one_of("status", MEDIA_SYNC_STATUSES), name="status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("render_jobs.id", ondelete="CASCADE"), index=True)
    sink: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(24), default=MediaSyncStatus.PENDING.value)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    idempotency_key: Mapped[str | None] = mapped_column(String(128), unique=True)
    #: Remote ids: uploaded file ids and product image ids by angle.
    remote_files: Mapped[dict[str, Any]] = mapped_column(default=dict)
    remote_images: Mapped[dict[str, Any]] = mapped_column(default=dict)
    last_error_code: Mapped[str | None] = mapped_column(String(64))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    pushed_at: Mapped[datetime | None] = mapped_column()


class QueueWorker(Base):
    """A process that consumes the render queue, as last seen. Each beats its row every
    `TSHIRT_HEARTBEAT_S` from a thread of its own; `/health` lists the rows, and `serve` records
    here how its queue process ended when it restarts it."""

    __tablename__ = "queue_workers"
    __table_args__ = (CheckConstraint(one_of("kind", WORKER_KINDS), name="kind"),)

    #: `TSHIRT_WORKER_NAME`; a job's `worker_id` is this name, a slash and a run token.
    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    render_threads: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(default=utcnow)
    #: Set when it stopped (cleanly, or seen dead by its supervisor); cleared when it starts.
    stopped_at: Mapped[datetime | None] = mapped_column()
    #: Ends its supervisor did not ask for, and how the last one went ("killed by SIGKILL").
    exits: Mapped[int] = mapped_column(Integer, default=0)
    last_exit: Mapped[str | None] = mapped_column(String(200))
