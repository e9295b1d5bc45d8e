"""Storage: one SQLite file in the data folder, opened durable and migrated at start."""

from .database import MIGRATIONS, Database
from .journal import STATUSES, UNFINISHED, AlertJournal, JournalError, Recorded, content_hash
from .ledger import OrderLedger
from .metacache import MetaCache
from .outbox import Outbox
from .store import PluginStore, StoreError, TrendBook

__all__ = [
    "MIGRATIONS", "STATUSES", "UNFINISHED", "AlertJournal", "Database", "MetaCache", "OrderLedger", "Outbox",
    "JournalError", "PluginStore", "Recorded", "StoreError", "TrendBook", "content_hash",
]
