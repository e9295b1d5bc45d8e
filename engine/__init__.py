"""The moonhook engine: the Trio host that takes alerts through Lua plugins to a broker.

Read in the order an alert travels: ``alerts`` (parse), ``pipeline`` (journal, lanes, hooks,
default execution), ``services`` (what scripts call), ``brokers`` (paper; MetaTrader 5 to
come), ``notify`` and ``storage``. ``open_engine`` in ``pipeline`` starts it all.
"""
