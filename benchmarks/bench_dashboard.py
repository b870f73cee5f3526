"""Benchmark: server-side time of the dashboard's slider callback, and a bounded load test.

A move of the alpha slider runs three callbacks on the server: ``sync`` (controls -> store and
URL), then ``chart`` (the Pareto figure, recommendation) and ``config`` (totals, layer table,
breakdown, latency, reduction) on the new store. Target (issue 6): median at most 50 ms for the
slider callback. Measured two ways in one run, on the same sequence of random alpha moves:

* ``direct``: the callback functions called in-process (dashboard.views.*);
* ``flask``: the same three requests POSTed to /_dash-update-component through Flask's test
  client (JSON in and out, the request guard, Dash's dispatch).

``--load``: 20 concurrent clients (threads, one keep-alive connection each) send slider moves
(the same three requests in sequence) to ``costmodel serve`` (waitress, a separate process) on
127.0.0.1 for 30 s; prints requests served, failures (must be 0), p50/p95 per request and per
move. Bounded: fixed duration, fixed client count, loopback only.

    .venv/bin/python benchmarks/bench_dashboard.py [--moves N] [--budget]
    .venv/bin/python benchmarks/bench_dashboard.py --load [--clients 20] [--seconds 30]
    .venv/bin/python benchmarks/bench_dashboard.py --page-load [--runs 7] [--port P]

``--page-load`` (issue 14, target <= 1.5 s): a fresh headless Chromium (empty cache) opens the
served page; the time from navigation until the chart has drawn its points and the layer table
its last row, per run; then, in the same browser, the time of the first switch of the x axis to
predicted latency (the latency model's first fit on the server). Median and IQR over runs;
``--port`` (repeatable) measures already running servers (e.g. two revisions) side by side,
taking turns; else one is started from this tree. The switch is timed on the server's first
switch only (its latency model fitted, or warmed at start).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def _pct(xs: list[float], q: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, int(q * len(s)))]


def _row(name: str, xs: list[float]) -> str:
    return (f"  {name:22s} median {statistics.median(xs):7.2f} ms   p95 {_pct(xs, 0.95):7.2f} ms"
            f"   n={len(xs)}")


def _bodies(app: Any, sel: dict[str, Any], controls_ids: tuple[str, ...]) -> dict[str, Any]:
    """The three callback requests a slider move sends (same shape as the browser's)."""

    def body(prefix: str, values: dict[str, Any], changed: list[str]) -> dict[str, Any]:
        key = next(k for k in app.callback_map if k.startswith(prefix))
        spec = app.callback_map[key]
        outs = spec["output"] if isinstance(spec["output"], list) else [spec["output"]]
        return {"output": key,
                "outputs": [{"id": o.component_id, "property": o.component_property}
                            for o in outs],
                "inputs": [dict(i, value=values.get(f"{i['id']}.{i['property']}"))
                           for i in spec["inputs"]],
                "state": [dict(s, value=values.get(f"{s['id']}.{s['property']}"))
                          for s in spec["state"]],
                "changedPropIds": changed}

    ctrl = {f"{k}.value": sel[k] for k in controls_ids}
    return {
        "sync": body("..alpha.value", {**ctrl, "url.search": "", "selection.data": sel},
                     ["alpha.value"]),
        "chart": body("..pareto-chart.figure", {"selection.data": sel}, ["selection.data"]),
        "config": body("..config-title", {"selection.data": sel}, ["selection.data"]),
    }


def bench_callbacks(moves: int, budget: bool) -> None:
    from dashboard import state
    from dashboard.app import create_app
    from dashboard.views import config_view, controls, pareto_view

    app = create_app(warm=True)
    client = app.server.test_client()
    rng = random.Random(0)
    base = state.parse({"alpha": 0.75, "resolution": 160,
                        **({"max_mult_adds_m": 300, "max_params_m": 3} if budget else {})})
    direct: dict[str, list[float]] = {"sync": [], "chart": [], "config": [], "move": []}
    flask: dict[str, list[float]] = {"sync": [], "chart": [], "config": [], "move": []}
    for _ in range(moves):
        alpha = round(rng.uniform(0.25, 1.0), 2)  # a slider position (step 0.01)
        values = {k: getattr(base, k) for k in controls.CONTROL_IDS}
        values["alpha"] = alpha
        # direct calls
        t0 = time.perf_counter()
        _, _, store, _ = controls.sync_selection("alpha", "", values, None, base.to_dict())
        t1 = time.perf_counter()
        pareto_view.update_chart(store)
        t2 = time.perf_counter()
        config_view.update_config(store)
        t3 = time.perf_counter()
        for k, dt in (("sync", t1 - t0), ("chart", t2 - t1), ("config", t3 - t2),
                      ("move", t3 - t0)):
            direct[k].append(dt * 1e3)
        # the same move through Flask's test client
        bodies = _bodies(app, store, controls.CONTROL_IDS)
        total = 0.0
        for k in ("sync", "chart", "config"):
            t = time.perf_counter()
            r = client.post("/_dash-update-component", data=json.dumps(bodies[k]),
                            content_type="application/json")
            dt = time.perf_counter() - t
            assert r.status_code == 200, (k, r.status_code, r.get_data(as_text=True)[:200])
            flask[k].append(dt * 1e3)
            total += dt
        flask["move"].append(total * 1e3)
    print(f"slider callback, {moves} random alpha moves at resolution 160"
          f"{' with mult-adds and params budgets' if budget else ''} "
          f"(python {sys.version.split()[0]}, {os.cpu_count()} CPUs)")
    print(" direct calls:")
    for k, xs in direct.items():
        print(_row(k if k != "move" else "move (sum of 3)", xs))
    print(" Flask test client (POST /_dash-update-component):")
    for k, xs in flask.items():
        print(_row(k if k != "move" else "move (sum of 3)", xs))
    print(f" target: median slider callback <= 50 ms; move total median direct "
          f"{statistics.median(direct['move']):.1f} ms, via Flask "
          f"{statistics.median(flask['move']):.1f} ms "
          f"(Flask/direct {statistics.median(flask['move']) / statistics.median(direct['move']):.2f}x)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def bench_load(clients: int, seconds: float, threads: int) -> None:
    from dashboard import state
    from dashboard.app import create_app
    from dashboard.views import controls

    port = _free_port()
    cmd = [sys.executable, "-m", "costmodel", "serve", "--port", str(port),
           "--threads", str(threads)]
    # The server's log goes to a file: a pipe nobody reads fills up and blocks the server.
    log = Path(tempfile.gettempdir()) / f"costmodel-serve-{port}.log"
    with log.open("w") as fh:  # the child keeps its own handle
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=fh, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                conn.request("GET", "/")
                if conn.getresponse().status == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise SystemExit("server did not start")
            time.sleep(0.2)
        app = create_app()  # only to shape requests the way the served app expects
        lock = threading.Lock()
        lat: dict[str, list[float]] = {"sync": [], "chart": [], "config": [], "move": []}
        failures: list[str] = []
        served = 0
        stop = time.monotonic() + seconds

        def client(i: int) -> None:
            nonlocal served
            rng = random.Random(i)
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            mine: dict[str, list[float]] = {k: [] for k in lat}
            ok = 0
            errs: list[str] = []
            while time.monotonic() < stop:
                sel = state.parse({"alpha": round(rng.uniform(0.1, 1.5), 2),
                                   "resolution": rng.randrange(96, 321)}).to_dict()
                bodies = _bodies(app, sel, controls.CONTROL_IDS)
                move = 0.0
                for k in ("sync", "chart", "config"):
                    t = time.perf_counter()
                    try:
                        conn.request("POST", "/_dash-update-component", json.dumps(bodies[k]),
                                     {"Content-Type": "application/json"})
                        resp = conn.getresponse()
                        resp.read()
                        status = resp.status
                    except (OSError, http.client.HTTPException) as exc:
                        errs.append(f"{k}: {type(exc).__name__}: {exc} (alpha {sel['alpha']}, "
                                    f"resolution {sel['resolution']}, "
                                    f"after {time.perf_counter() - t:.1f} s)")
                        conn.close()
                        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                        continue
                    dt = (time.perf_counter() - t) * 1e3
                    if status != 200:
                        errs.append(f"{k}: HTTP {status}")
                        continue
                    ok += 1
                    mine[k].append(dt)
                    move += dt
                mine["move"].append(move)
            conn.close()
            with lock:
                served += ok
                failures.extend(errs)
                for k in lat:
                    lat[k] += mine[k]

        t0 = time.monotonic()
        workers = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        wall = time.monotonic() - t0
        print(f"load test: {clients} concurrent clients, {seconds:g} s of slider moves "
              f"(sync + chart + config requests each) against `costmodel serve` (waitress, "
              f"{threads} threads) on 127.0.0.1, {os.cpu_count()} CPUs")
        print(f"  requests served {served}  failures {len(failures)}  "
              f"moves {len(lat['move'])}  throughput {served / wall:.1f} req/s  wall {wall:.1f} s")
        for k, xs in lat.items():
            if xs:
                print(_row(k if k != "move" else "move (3 requests)", xs))
        for f in failures[:10]:
            print("  failure:", f)
        alive = proc.poll() is None
        print(f"  server still running after the test: {alive}; its log: {log}")
        if failures or not alive:
            raise SystemExit(1)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def _start_server(port: int) -> subprocess.Popen[bytes]:
    log = Path(tempfile.gettempdir()) / f"costmodel-serve-{port}.log"
    with log.open("w") as fh:
        proc = subprocess.Popen([sys.executable, "-m", "costmodel", "serve", "--port", str(port)],
                                cwd=ROOT, stdout=fh, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/")
            if conn.getresponse().status == 200:
                return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("server did not start")


def _chromium() -> Any:
    import shutil

    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for arg in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1440,1000", "--disable-background-networking"):
        opts.add_argument(arg)
    return webdriver.Chrome(service=Service(shutil.which("chromedriver") or
                                            "/usr/bin/chromedriver"), options=opts)


_READY_JS = """
const t = document.querySelectorAll('#pareto-chart .scatterlayer path.point').length;
const fc = document.querySelector(
    "#layer-table tr[data-row='fc'], #layer-table .ag-row[row-id='fc']");  // ag-grid: before
return t > 10 && !!fc;"""


def _wait(driver: Any, js: str, timeout: float = 60) -> None:
    end = time.monotonic() + timeout
    while not driver.execute_script(js):
        if time.monotonic() > end:
            raise SystemExit("page did not become ready")
        time.sleep(0.01)


def _load_once(port: int) -> float:
    driver = _chromium()
    try:
        t0 = time.perf_counter()
        driver.get(f"http://127.0.0.1:{port}/")
        _wait(driver, _READY_JS)
        return time.perf_counter() - t0
    finally:
        driver.quit()


def _switch_once(port: int) -> float:
    driver = _chromium()
    try:
        driver.get(f"http://127.0.0.1:{port}/")
        _wait(driver, _READY_JS)
        t0 = time.perf_counter()
        driver.get(f"http://127.0.0.1:{port}/?x=latency_pred")
        _wait(driver, "const t = document.querySelector('#pareto-chart .xtitle'); return !!t && "
                      "t.textContent.includes('Predicted') && document.querySelectorAll("
                      "'#pareto-chart .scatterlayer path.point').length > 10;")
        return time.perf_counter() - t0
    finally:
        driver.quit()


def _stats(xs: list[float]) -> str:
    s = sorted(xs)
    iqr = s[(3 * len(s)) // 4] - s[len(s) // 4] if len(s) > 1 else 0.0
    return f"median {statistics.median(s):.2f} s, IQR {iqr:.2f} s, n={len(s)}"


def bench_page_load(runs: int, ports: list[int]) -> None:
    """Fresh servers' first switch to predicted latency, then ``runs`` first page loads per
    server, the servers taking turns (side by side on a noisy machine)."""
    procs = []
    if not ports:
        port = _free_port()
        procs.append(_start_server(port))
        ports = [port]
    try:
        switches = {p: _switch_once(p) for p in ports}
        loads: dict[int, list[float]] = {p: [] for p in ports}
        for _ in range(runs):
            for p in ports:
                loads[p].append(_load_once(p))
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=10)
    print(f"first page load: a fresh headless Chromium (empty cache) until the chart's points and "
          f"the layer table are drawn; {os.cpu_count()} CPUs, load average "
          f"{os.getloadavg()[0]:.1f}")
    for p in ports:
        print(f"  port {p}: page load {_stats(loads[p])}; first switch to predicted latency "
              f"{switches[p]:.2f} s")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--moves", type=int, default=200)
    p.add_argument("--budget", action="store_true", help="with budgets set (recommendation on)")
    p.add_argument("--load", action="store_true")
    p.add_argument("--clients", type=int, default=20)
    p.add_argument("--seconds", type=float, default=30.0)
    p.add_argument("--threads", type=int, default=8, help="waitress threads (--load)")
    p.add_argument("--page-load", action="store_true")
    p.add_argument("--runs", type=int, default=7)
    p.add_argument("--port", type=int, action="append", default=[],
                   help="--page-load: measure these running servers side by side (repeatable); "
                        "default: start one from this tree")
    a = p.parse_args()
    warnings.simplefilter("ignore")
    if a.page_load:
        bench_page_load(a.runs, a.port)
    elif a.load:
        bench_load(a.clients, a.seconds, a.threads)
    else:
        bench_callbacks(a.moves, a.budget)


if __name__ == "__main__":
    main()
