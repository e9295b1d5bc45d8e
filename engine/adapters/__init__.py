"""Adapters: what the core reaches the world through. ``storage`` (one SQLite file),
``brokers`` (paper, MetaTrader 5; they use storage), ``notify`` (the outbox and the Bot API
client that delivers it)."""
