"""Storage: one SQLite file in the data folder, opened durable and migrated at start."""

from engine.adapters.storage.backup import Backup, backup
from engine.adapters.storage.claim import FolderInUse, check_free, claim
from engine.adapters.storage.database import Database, SchemaError, select
from engine.adapters.storage.journal import (STATUSES, UNFINISHED, AlertJournal, JournalError, Recorded, content_hash,
                                            repeat_key)
from engine.adapters.storage.ledger import OrderLedger, Settled
from engine.adapters.storage.metacache import MetaCache
from engine.adapters.storage.migrations import MIGRATIONS
from engine.adapters.storage.outbox import Outbox
from engine.adapters.storage.plans import PlanBook
from engine.adapters.storage.store import PluginStore, StoreError, TrendBook

__all__ = [
    "MIGRATIONS", "STATUSES", "UNFINISHED", "AlertJournal", "Backup", "Database", "FolderInUse", "JournalError",
    "MetaCache", "OrderLedger", "Outbox", "PlanBook", "PluginStore", "Recorded", "SchemaError", "Settled", "StoreError",
    "TrendBook",
    "check_free", "claim", "content_hash", "backup", "repeat_key", "select",
]
