"""Storage: one SQLite file in the data folder, opened durable and migrated at start."""

from .database import MIGRATIONS, Database
from .journal import STATUSES, UNFINISHED, AlertJournal, Recorded, content_hash

__all__ = ["MIGRATIONS", "STATUSES", "UNFINISHED", "AlertJournal", "Database", "Recorded", "content_hash"]
