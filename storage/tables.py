"""The Table Storage account: one async service client opened and closed with the app."""

from __future__ import annotations

import logging
from urllib.request import getproxies

from azure.core.exceptions import AzureError
from azure.data.tables.aio import TableClient, TableServiceClient

from storage.assessments import AssessmentRepository
from storage.attendance import AttendanceRepository
from storage.backup import BackupRepository
from storage.dedupe import DedupeRepository
from storage.directory import DirectoryRepository
from storage.errors import StorageUnavailable
from storage.feedback import LeaderFeedbackRepository
from storage.instances import InstanceRepository
from storage.jobs import JobRepository
from storage.polls import PollRepository
from storage.questions import QuestionRepository, QueueRepository
from storage.retention import RetentionRepository
from storage.rollup import RollupRepository
from storage.sessions import SessionRepository
from storage.setups import SetupRepository

log = logging.getLogger(__name__)

# Every table the bot uses; created at start so no request pays for a missing table.
TABLES = (
    "sessions",
    "chats",
    "leaders",
    "attendance",
    "polls",
    "votes",
    "openpolls",
    "questions",
    "ethicsqueue",
    "leaderfeedback",
    "assessments",
    "directory",
    "audit",
    "entitytotals",
    "certifications",
    "extensions",
    "attended",
    "expected",
    "deliveries",
    "setups",
    "jobs",
    "instances",
)
# What holds data: every table but the instances' leases, which beat every second and hold
# nobody's data (compared, backed up or purged, they mean nothing a moment later).
DATA_TABLES = tuple(name for name in TABLES if name != "instances")


class TableStore:
    """Owns the service client and hands out repositories bound to the app's tables."""

    def __init__(self, connection_string: str, prefix: str = "dlg") -> None:
        self._connection_string = connection_string
        self._prefix = prefix
        self._service: TableServiceClient | None = None
        self._tables: dict[str, TableClient] = {}

    async def open(self) -> None:
        """Open the client and create the tables that do not exist yet."""
        # Few, quick retries: a card action must be answered within seconds, and a person
        # told "not saved" can click again, which is better than Teams timing the click out.
        self._service = TableServiceClient.from_connection_string(
            self._connection_string,
            retry_total=2,
            retry_backoff_factor=0.2,
            retry_backoff_max=2,
            connection_timeout=5,
            read_timeout=10,
            # Trusting the environment makes every request look up netrc and proxy variables
            # in a worker thread; only pay for that where a proxy is actually configured.
            use_env_settings=bool(getproxies()),
        )
        try:
            for name in TABLES:
                await self._service.create_table_if_not_exists(self.table_name(name))
        except AzureError as error:
            await self.close()
            raise StorageUnavailable(f"cannot prepare tables: {type(error).__name__}") from error
        for name in TABLES:
            self._tables[name] = self._service.get_table_client(self.table_name(name))
        self.sessions = SessionRepository(
            self._tables["sessions"], self._tables["chats"], self._tables["leaders"]
        )
        self.attendance = AttendanceRepository(self._tables["attendance"])
        self.polls = PollRepository(
            self._tables["polls"], self._tables["votes"], self._tables["openpolls"]
        )
        self.questions = QuestionRepository(self._tables["questions"])
        self.queue = QueueRepository(self._tables["ethicsqueue"])
        self.feedback = LeaderFeedbackRepository(self._tables["leaderfeedback"])
        self.assessments = AssessmentRepository(self._tables["assessments"])
        self.directory = DirectoryRepository(self._tables["directory"], self._tables["audit"])
        self.dedupe = DedupeRepository(self._tables["deliveries"])
        self.setups = SetupRepository(self._tables["setups"])
        self.jobs = JobRepository(self._tables["jobs"])
        self.instances = InstanceRepository(self._tables["instances"])
        self.rollup = RollupRepository(
            self._tables["entitytotals"],
            self._tables["certifications"],
            self._tables["extensions"],
            self._tables["attended"],
            self._tables["expected"],
        )
        # Offline upkeep (cli/maintenance.py): the purge's raw deletes, exports and restores.
        self.retention = RetentionRepository(self._tables)
        self.backup = BackupRepository(self._tables)

    def table_name(self, name: str) -> str:
        """The account-level table name for one of ours."""
        return f"{self._prefix}{name}"

    async def ping(self) -> bool:
        """Whether storage answers a cheap query right now."""
        if self._service is None:
            return False
        try:
            async for _ in self._tables["chats"].query_entities(
                "PartitionKey eq @pk", parameters={"pk": "ping"}, results_per_page=1
            ):
                break
        except (AzureError, OSError) as error:
            log.warning("storage ping failed: %s", type(error).__name__)
            return False
        return True

    async def close(self) -> None:
        """Close every client."""
        for table in self._tables.values():
            await table.close()
        self._tables.clear()
        if self._service is not None:
            await self._service.close()
            self._service = None
