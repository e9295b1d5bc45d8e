"""The application: ``open_engine`` composes the core and its adapters; ``Operations`` is the
one facade the web API, Telegram, the CLI and ``/metrics`` read and act through."""
