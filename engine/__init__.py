"""The moonhook engine: the Trio host that takes alerts through Lua plugins to a broker.

The engine core arrives with issues 3 and 4; until then ``moonhook run`` runs the sandbox demo.
"""
