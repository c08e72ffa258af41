"""Repositories over Azure Table Storage: the one place that knows table and key design."""

from storage.errors import ActiveSessionExists, StorageUnavailable, WriteConflict
from storage.records import AttendeeRecord, SessionRecord
from storage.tables import TableStore

__all__ = [
    "ActiveSessionExists",
    "AttendeeRecord",
    "SessionRecord",
    "StorageUnavailable",
    "TableStore",
    "WriteConflict",
]
