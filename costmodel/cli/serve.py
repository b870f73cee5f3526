"""costmodel serve: the Pareto-front explorer (dashboard/) on a production WSGI server.

Served by waitress (not Flask's development server), debug off. ``--debug`` switches to Dash's
dev server with dev tools and in-browser tracebacks: for development on your own machine only.
dash, flask and waitress are imported inside run(), so ``costmodel --help`` stays light.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from costmodel.cli._common import add_data_dir_arg
from costmodel.errors import CostModelError

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def register(sub: Any) -> None:
    p = sub.add_parser("serve", help="start the dashboard (Pareto-front explorer) in a web server")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1: this machine only)")
    p.add_argument("--port", default="8050", help="TCP port (default 8050)")
    p.add_argument("--threads", default="8", help="worker threads of the server (default 8)")
    p.add_argument("--open", action="store_true", help="open the dashboard in a web browser")
    add_data_dir_arg(p)
    p.add_argument("--debug", action="store_true",
                   help="Dash debug mode on Flask's development server (tracebacks in the "
                        "browser); never on a shared network")
    p.set_defaults(func=run)


def _int_in(name: str, value: Any, lo: int, hi: int) -> int:
    try:
        v = int(str(value).strip())
    except ValueError:
        raise CostModelError(f"{name} {value!r} is not an integer; allowed: {lo} to {hi}") from None
    if not lo <= v <= hi:
        raise CostModelError(f"{name} {value!r} is out of range; allowed: {lo} to {hi}")
    return v


def _port_free(host: str, port: int) -> None:
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise CostModelError(f"host {host!r} cannot be resolved ({exc.strerror}); allowed: an "
                             f"address of this machine, e.g. 127.0.0.1") from None
    family, kind, proto, _, addr = infos[0]
    with socket.socket(family, kind, proto) as s:
        try:
            s.bind(addr)
        except OSError as exc:
            raise CostModelError(f"port {port} on {host} is not available ({exc.strerror}); "
                                 f"allowed: a free port, e.g. --port {port + 1}") from None


def run(args: argparse.Namespace) -> int:
    port = _int_in("port", args.port, 1, 65535)
    threads = _int_in("threads", args.threads, 1, 64)
    host = str(args.host)
    _port_free(host, port)

    sys.stderr.write("costmodel: starting the dashboard (first start loads the library and "
                     "computes the default view: a few seconds)\n")
    from dashboard.app import create_app

    app = create_app(warm=True)
    url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}/"
    if host not in LOOPBACK:
        sys.stderr.write(f"costmodel: warning: listening on {host}: other machines can reach "
                         f"the dashboard\n")
    if args.open:
        import threading
        import webbrowser

        threading.Timer(1.0, webbrowser.open, args=(url,)).start()
    if args.debug:
        sys.stderr.write(f"costmodel: dashboard at {url} (DEBUG: Flask development server)\n")
        app.run(host=host, port=port, debug=True)
        return 0
    from waitress import serve

    sys.stderr.write(f"costmodel: dashboard at {url} (waitress, {threads} threads); "
                     f"Ctrl+C stops it\n")
    serve(app.server, host=host, port=port, threads=threads, ident="costmodel",
          clear_untrusted_proxy_headers=True)
    return 0
