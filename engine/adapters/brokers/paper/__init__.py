"""The paper broker, the engine's embedded default: ``broker.py`` keeps the books,
``rules.py`` says when and where orders fill, ``prices.py`` keeps the last prices.
Its settings, ``[paper]``, are ``engine.domain.config.paper``."""

from engine.adapters.brokers.paper.broker import PaperBroker

__all__ = ["PaperBroker"]
