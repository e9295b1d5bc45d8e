"""What the tests share: helpers that open a real engine, web server or Telegram chat, the
stand-ins for what is not on this machine (Telegram's Bot API, the MetaTrader5 module), and
small fakes at moonhook's own seams. Importable as ``support.*`` because pytest puts tests/ on
sys.path (pyproject.toml: ``pythonpath = ["tests"]``). Nothing here is imported on import."""
