"""The domain: alerts, orders, sizing, symbol specifications and the settings, as plain values
and pure functions. No I/O, and no import of any other layer."""
