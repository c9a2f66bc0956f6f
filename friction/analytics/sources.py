"""Where events come from: the embedded event log or the production sink's dataset.

One entry point, ``read_topic(path, topic)``, looks at ``path`` and picks the reader,
so an analyst points a notebook at whatever they have and gets the same rows:

- a **data dir** (``<dir>/events/<topic>.jsonl``) or an **event-log dir**
  (``<dir>/<topic>.jsonl``): the embedded log, read through
  ``friction.events.file_bus.read_events`` so every line is validated by the
  event schema exactly as the service wrote it;
- a **sink dataset**: a folder (or ``<folder>/<topic>/``) of partitioned JSON lines
  (``*.jsonl``, ``*.ndjson``, ``*.json``, optionally ``.gz``) and/or Parquet files,
  e.g. ``labels/date=2026-11-23/part-0.jsonl``; Hive-style ``key=value`` folder
  names become columns when the rows do not already carry them;
- a single ``.jsonl``/``.parquet`` file.

Rows come back as a raw ``DataFrame``; ``friction.analytics.frames`` types them.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pandas as pd

from friction.domain.events import Topic
from friction.events.file_bus import read_events

JSON_SUFFIXES = (".jsonl", ".ndjson", ".json", ".jsonl.gz", ".ndjson.gz", ".json.gz")
PARQUET_SUFFIXES = (".parquet", ".pq")


class SourceNotFound(FileNotFoundError):
    """``path`` holds no events of the topic in any format this module knows."""


def read_topic(path: Path | str, topic: Topic) -> pd.DataFrame:
    """Every event of ``topic`` found at ``path`` (format detected), as raw rows."""
    path = Path(path)
    log_dir = event_log_dir(path, topic)
    if log_dir is not None:
        rows = [e.model_dump(by_alias=True) for e in read_events(log_dir, topic)]
        return pd.DataFrame.from_records(rows)
    files = dataset_files(path, topic)
    if not files:
        raise SourceNotFound(
            f"no {topic} events under {path}: expected <dir>/events/{topic}.jsonl, "
            f"<dir>/{topic}.jsonl or JSON-lines/Parquet files (try `friction demo-data`)"
        )
    frames = [_read_file(file, root) for file, root in files]
    frames = [f for f in frames if not f.empty]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def event_log_dir(path: Path, topic: Topic) -> Path | None:
    """The embedded event-log folder at or under ``path``, if that is what it is."""
    for candidate in (path, path / "events"):
        if (candidate / f"{topic}.jsonl").is_file():
            return candidate
    return None


def dataset_files(path: Path, topic: Topic) -> list[tuple[Path, Path]]:
    """(file, dataset root) pairs of a sink dataset for ``topic``, sorted for stable order."""
    if path.is_file():
        return [(path, path.parent)] if _known(path) else []
    root = path / topic if (path / topic).is_dir() else path
    if not root.is_dir():
        return []
    found = sorted(p for p in root.rglob("*") if p.is_file() and _known(p))
    hidden = (".", "_")  # _SUCCESS, .crc and temp files of writers
    return [
        (p, root) for p in found if not any(x.startswith(hidden) for x in p.relative_to(root).parts)
    ]


def _known(path: Path) -> bool:
    name = path.name.lower()
    return name.endswith(JSON_SUFFIXES) or name.endswith(PARQUET_SUFFIXES)


def _read_file(path: Path, root: Path) -> pd.DataFrame:
    """One file of a dataset, with its Hive partition values as columns."""
    if path.name.lower().endswith(PARQUET_SUFFIXES):
        frame = pd.read_parquet(path)
    else:
        frame = pd.DataFrame.from_records(list(_json_lines(path)))
    for key, value in partition_values(path, root).items():
        if key not in frame.columns:
            frame[key] = value
    return frame


def _json_lines(path: Path) -> Iterator[dict[str, Any]]:
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    with opener(path, "rb") as handle:
        for line in handle:
            if line.strip():
                yield orjson.loads(line)


def partition_values(path: Path, root: Path) -> dict[str, str]:
    """``{"date": "2026-11-23"}`` for ``root/date=2026-11-23/part-0.jsonl``."""
    relative = path.relative_to(root).parts[:-1]
    return dict(part.split("=", 1) for part in relative if "=" in part)
