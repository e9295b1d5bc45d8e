"""A Windows Python serving the MetaTrader5 package over RPyC, as mt5linux's server does under
Wine, with the stand-in terminal (mt5_standin.py) as the package: an RPyC classic server in a
process of its own. Prints its port once listening, then serves until killed.

    python rpyc_terminal.py FOLDER [PORT]   # FOLDER holds MetaTrader5.py, the stand-in under that name
"""

from __future__ import annotations

import sys
import threading
import time

from rpyc import SlaveService
from rpyc.utils.server import ThreadedServer

if __name__ == "__main__":
    sys.path.insert(0, sys.argv[1])
    port = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    server = ThreadedServer(SlaveService, hostname="127.0.0.1", port=port, reuse_addr=True)
    serving = threading.Thread(target=server.start, daemon=True)
    serving.start()
    while not server.active:  # listening: a client told the port is never refused
        time.sleep(0.01)
    print(server.port, flush=True)
    serving.join()
