"""The moonhook engine: the Trio host that takes alerts through Lua plugins to a broker.

Five layers, each importing only those below it (``[tool.importlinter]`` in pyproject.toml
holds the rule; ``docs/architecture.md`` draws it):

- ``interfaces``: the web server, Telegram's commands, the CLI;
- ``app``: the composition root (``open_engine``) and the operations facade they all call;
- ``core``: intake, the plugins' hooks, execution, the order desk, the plugin lifecycle;
- ``adapters``: storage (SQLite), the brokers (paper, MetaTrader 5), notifications;
- ``domain``: alerts, orders, sizing, symbols and the settings, as plain values.

``sandbox``, beside ``engine``, runs the Lua plugins and never imports it.
"""
