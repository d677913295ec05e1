"""Bulk writes with PostgreSQL's COPY: many rows in one statement, so statement-level triggers
run once for the whole batch and nothing is compiled per row."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from psycopg.types.json import Jsonb
from sqlalchemy import Table
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session


def copy_rows(
    session: Session, table: Table, columns: Sequence[str], rows: Iterable[Mapping[str, Any]]
) -> None:
    """COPY `rows` (dicts holding `columns`) into `table`, inside the session's transaction."""
    json_columns = {c for c in columns if isinstance(table.c[c].type, JSONB)}
    names = ", ".join(f'"{c}"' for c in columns)
    driver: Any = session.connection().connection.driver_connection  # psycopg.Connection
    with (
        driver.cursor() as cursor,
        cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy,
    ):
        for row in rows:
            copy.write_row(
                tuple(
                    Jsonb(row[c]) if c in json_columns and row[c] is not None else row[c]
                    for c in columns
                )
            )
