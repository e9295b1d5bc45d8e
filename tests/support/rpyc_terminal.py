"""A Windows Python serving the MetaTrader5 package over RPyC, as mt5linux's server does under
Wine, with the stand-in terminal (mt5_standin.py) as the package: an RPyC classic server in a
process of its own, on a TCP socket the test bound and holds (``support/ports.py``), handed down
as descriptor FD: killed and started again, it serves on the same port, which no other process
can take meanwhile. Prints a line once listening, then serves until killed.

    python rpyc_terminal.py FOLDER FD   # FOLDER holds MetaTrader5.py, the stand-in under that name
"""

from __future__ import annotations

import socket
import sys
import threading
import time

from rpyc import SlaveService
from rpyc.utils.server import ThreadedServer

if __name__ == "__main__":
    sys.path.insert(0, sys.argv[1])
    held = socket.socket(fileno=int(sys.argv[2]))
    # RPyC binds a socket of its own: set aside, never listening, for the one handed down.
    server = ThreadedServer(SlaveService, hostname="127.0.0.1", port=0)
    server.listener.close()
    held.settimeout(server.listener.gettimeout())
    server.listener, (server.host, server.port) = held, held.getsockname()
    serving = threading.Thread(target=server.start, daemon=True)
    serving.start()
    while not server.active:  # listening: a client told the port is never refused
        time.sleep(0.01)
    print(server.port, flush=True)
    serving.join()
