"""The paper broker, the engine's embedded default: ``broker.py`` takes the requests
(``closes.py`` a close's), ``books.py`` keeps the orders, positions and deals, ``market.py`` prices them, ``margin.py``
works out the account's figures (a hedge's margin as MetaTrader 5 charges it), ``rules.py``
says when and where orders fill, ``prices.py`` keeps the last prices, ``stopout.py`` closes the
position losing most below ``stop_out_pct``, as MetaTrader 5's stop-out.
Its settings, ``[paper]``, are ``engine.domain.config.paper``."""

from engine.adapters.brokers.paper.broker import PaperBroker

__all__ = ["PaperBroker"]
