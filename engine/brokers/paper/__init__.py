"""The paper broker, the engine's embedded default: ``broker.py`` keeps the books,
``rules.py`` says when and where orders fill, ``config.py`` reads ``[paper]``."""

from .broker import PaperBroker
from .config import PaperConfig

__all__ = ["PaperBroker", "PaperConfig"]
