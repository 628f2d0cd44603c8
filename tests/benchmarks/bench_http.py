"""Benchmark: the gridplan HTTP service vs TiPG on the same PostGIS tables (Providence).

Both servers run as separate uvicorn processes (one worker each, same flags: no access log,
asyncio + h11) on loopback, serving one PostGIS schema loaded with Providence (3,014 census
blocks as units; 39 tracts as communities; 154 block groups as grids; households = TOTPOP /
2.5). The load comes from another process: ``wrk`` when it is installed (a Lua script cycles
through pre-generated request paths), else an httpx/asyncio client.

1. **Single point**: ``GET /locate?lon=&lat=`` (gridplan, answered from an in-memory STRtree)
   vs TiPG ``GET /collections/<schema>.units/items?bbox=<1 m box around the point>`` (one SQL
   query per request), at the same concurrency, over the same random points inside the city:
   throughput, p50 and p99 latency, and the ratio.
2. **Batch**: ``POST /locate`` with batches of points; points per second end to end (client
   serialises the body, server answers, client parses the answer).
3. **A full page of communities**: ``GET /collections/communities/items?limit=100`` vs TiPG
   ``/collections/<schema>.areas/items?level=community&plan_id=<id>&limit=100`` (the same 39
   rows of the same table).

Run: ``.venv/bin/python tests/benchmarks/bench_http.py [--duration 10] [--concurrency 16]
[--batch 100000] [--batches 10]``. Bounded: each load phase runs ``--duration`` seconds (or
``--requests`` requests with the Python client).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
PROVIDENCE = ROOT.parent / "shared" / "data" / "providence" / "providence_blocks.gpkg"
DATABASE_URL = os.environ.get(
    "GRIDPLAN_TEST_DATABASE_URL", "postgresql+psycopg://postgres@localhost/gridplan_test"
)
PYTHON = sys.executable

_WRK_SCRIPT = """
local paths = {}
for line in io.lines(os.getenv("BENCH_PATHS")) do paths[#paths + 1] = line end
local i = 0
request = function()
  i = i + 1
  if i > #paths then i = 1 end
  return wrk.format("GET", paths[i])
end
"""


@dataclass(frozen=True)
class Load:
    """What one load phase measured."""

    requests: int
    errors: int
    seconds: float
    rps: float
    p50_ms: float
    p99_ms: float
    tool: str


@dataclass(frozen=True)
class Dataset:
    """The benchmark store: its schema, plan id and sample points inside the city."""

    schema: str
    plan_id: int
    points: np.ndarray


# ---------------------------------------------------------------------------- the store


def load_store(schema: str, n_points: int = 2000, seed: int = 1) -> Dataset:
    """Load Providence into a fresh PostGIS schema; pick ``n_points`` points inside units."""
    sys.path.insert(0, str(ROOT))
    from tests.api.conftest import providence_layers

    from gridplan.data.layers import LayerKind
    from gridplan.data.store.postgis import PostGISStore

    units, plan = providence_layers(PROVIDENCE)
    store = PostGISStore(DATABASE_URL, schema=schema)
    store.initialise()
    try:
        store.import_layers({LayerKind.UNITS: units}, source="providence_blocks.gpkg")
        plan_id = store.save_plan(plan)
    finally:
        store.close()
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(units), n_points)
    reps = units.geometry.representative_point().to_numpy()[picks]
    points = np.array([(p.x, p.y) for p in reps])
    return Dataset(schema, plan_id, points)


def drop_store(schema: str) -> None:
    """Drop the benchmark schema."""
    from gridplan.data.store.postgis import PostGISStore

    store = PostGISStore(DATABASE_URL, schema=schema)
    try:
        store.drop()
    finally:
        store.close()


# --------------------------------------------------------------------------- the servers


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve_gridplan(schema: str, port: int) -> None:
    """Run the gridplan app on ``schema`` (the body of the server process)."""
    import uvicorn

    from gridplan.api.app import create_app
    from gridplan.data.store.postgis import PostGISStore
    from gridplan.settings import Settings

    store = PostGISStore(DATABASE_URL, schema=schema)
    app = create_app(Settings(database_url=DATABASE_URL), store=store)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


@contextmanager
def _process(cmd: Sequence[str], env: dict[str, str], ready: str) -> Iterator[None]:
    import httpx

    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                err = proc.stderr.read().decode() if proc.stderr else ""
                raise RuntimeError(f"server exited: {' '.join(cmd)}\n{err[-2000:]}")
            try:
                if httpx.get(ready, timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"server not ready after 60 s: {ready}")
            time.sleep(0.2)
        yield
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextmanager
def gridplan_server(schema: str, workers: int = 1) -> Iterator[str]:
    """A gridplan server; yields its base URL. One worker: this script serving the app in
    one process; more: ``gridplan serve --workers N``, as a user runs it."""
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    if workers == 1:
        cmd = [PYTHON, str(Path(__file__).resolve()), "--serve-gridplan", schema, str(port)]
    else:
        url = f"{DATABASE_URL}?schema={schema}"
        cli = str(Path(PYTHON).with_name("gridplan"))
        cmd = [cli, "serve", "--db", url, "--port", str(port), "--workers", str(workers)]
        cmd += ["--log-level", "warning"]
    with _process(cmd, {**os.environ}, f"{base}/healthz"):
        yield base


@contextmanager
def tipg_server(schema: str, workers: int = 1) -> Iterator[str]:
    """A TiPG server process on the same schema; yields its base URL."""
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "DATABASE_URL": DATABASE_URL.replace("postgresql+psycopg://", "postgresql://"),
        "TIPG_DB_SCHEMAS": json.dumps([schema]),
        "TIPG_DB_TABLES": json.dumps([f"{schema}.units", f"{schema}.areas"]),
        "TIPG_MAX_FEATURES_PER_QUERY": "10000",
    }
    cmd = [
        PYTHON,
        "-m",
        "uvicorn",
        "tipg.main:app",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--no-access-log",
        "--workers",
        str(workers),
    ]
    with _process(cmd, env, f"{base}/collections/{schema}.units"):
        yield base


# ------------------------------------------------------------------------------- load


def locate_paths(points: np.ndarray) -> list[str]:
    """gridplan single-point requests."""
    return [f"/locate?lon={x!r}&lat={y!r}" for x, y in points.tolist()]


def tipg_paths(schema: str, points: np.ndarray, half: float = 0.00001) -> list[str]:
    """TiPG requests: the units in a ~1 m box around each point."""
    items = f"/collections/{schema}.units/items"
    return [
        f"{items}?bbox={x - half!r},{y - half!r},{x + half!r},{y + half!r}"
        for x, y in points.tolist()
    ]


_DURATION = re.compile(r"([\d.]+)(us|ms|s)\b")


def _ms(text: str) -> float:
    m = _DURATION.match(text)
    if not m:
        raise ValueError(f"cannot read a duration from {text!r}")
    value, unit = float(m.group(1)), m.group(2)
    return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value


def _percentile_line(out: str, percent: int) -> str:
    """The latency on wrk's ``--latency`` distribution line for ``percent``."""
    found = re.search(rf"^\s*{percent}%\s+(\S+)\s*$", out, re.MULTILINE)
    if found is None:
        raise ValueError(f"no {percent}% line in the wrk output:\n{out}")
    return found.group(1)


def run_wrk(base: str, paths: list[str], concurrency: int, seconds: float) -> Load:
    """Drive ``paths`` (cycled) with wrk for ``seconds`` at ``concurrency`` connections."""
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp, "paths.lua")
        script.write_text(_WRK_SCRIPT)
        listing = Path(tmp, "paths.txt")
        listing.write_text("\n".join(paths) + "\n")
        out = subprocess.run(
            [
                "wrk",
                "-t1",
                f"-c{concurrency}",
                f"-d{max(1, round(seconds))}s",
                "--latency",
                "-s",
                str(script),
                base,
            ],
            env={**os.environ, "BENCH_PATHS": str(listing)},
            capture_output=True,
            text=True,
            check=True,
            timeout=seconds + 60,
        ).stdout
    total = int(re.search(r"(\d+) requests in ([\d.]+\w+)", out).group(1))  # type: ignore[union-attr]
    elapsed = _ms(re.search(r"requests in ([\d.]+\w+)", out).group(1)) / 1000  # type: ignore[union-attr]
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    errors = int(non2xx.group(1)) if non2xx else 0
    if sock:
        errors += sum(int(g) for g in sock.groups())
    p50 = _ms(_percentile_line(out, 50))
    p99 = _ms(_percentile_line(out, 99))
    return Load(total, errors, elapsed, total / elapsed, p50, p99, "wrk")


async def _python_load(base: str, paths: list[str], concurrency: int, count: int) -> dict:
    import httpx

    latencies: list[float] = []
    errors = 0
    counter = iter(range(count))

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal errors
        for i in counter:
            t0 = time.perf_counter()
            r = await client.get(paths[i % len(paths)])
            latencies.append(time.perf_counter() - t0)
            if r.status_code != 200:
                errors += 1

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60) as client:
        t0 = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
        elapsed = time.perf_counter() - t0
    lat = np.array(latencies) * 1000
    return {
        "requests": len(latencies),
        "errors": errors,
        "seconds": elapsed,
        "rps": len(latencies) / elapsed,
        "p50_ms": float(np.percentile(lat, 50)),
        "p99_ms": float(np.percentile(lat, 99)),
        "tool": "httpx",
    }


def run_python_load(base: str, paths: list[str], concurrency: int, count: int) -> Load:
    """Drive ``paths`` with ``count`` requests from an httpx/asyncio client process."""
    with tempfile.TemporaryDirectory() as tmp:
        listing = Path(tmp, "paths.json")
        listing.write_text(json.dumps(paths))
        out = subprocess.run(
            [PYTHON, __file__, "--load", base, str(listing), str(concurrency), str(count)],
            capture_output=True,
            text=True,
            check=True,
            timeout=600,
        ).stdout
    return Load(**json.loads(out))


def run_load(
    base: str, paths: list[str], concurrency: int, seconds: float, count: int, wrk: bool
) -> Load:
    """wrk for ``seconds`` if wanted and installed, else ``count`` requests from httpx."""
    if wrk and shutil.which("wrk"):
        return run_wrk(base, paths, concurrency, seconds)
    return run_python_load(base, paths, concurrency, count)


def _batch_client(base: str, points_file: str, batches: int) -> dict:
    import gc

    import httpx
    import orjson

    points = np.load(points_file)
    gc.disable()  # the client allocates 100,000s of small objects per answer, none cyclic
    seconds: list[float] = []
    located = 0
    with httpx.Client(base_url=base, timeout=600) as client:
        for _ in range(batches):
            t0 = time.perf_counter()
            body = orjson.dumps({"points": points}, option=orjson.OPT_SERIALIZE_NUMPY)
            r = client.post("/locate", content=body, headers={"Content-Type": "application/json"})
            r.raise_for_status()
            doc = orjson.loads(r.content)
            seconds.append(time.perf_counter() - t0)
            assert doc["count"] == len(points)
            located = doc["located"]
    return {"points": len(points), "batches": batches, "seconds": seconds, "located": located}


def batch_locate(base: str, points: np.ndarray, batches: int) -> dict:
    """POST /locate ``batches`` times with ``points`` from a client process; points/s."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp, "points.npy")
        np.save(path, points)
        out = subprocess.run(
            [PYTHON, __file__, "--batch-client", base, str(path), str(batches)],
            capture_output=True,
            text=True,
            check=True,
            timeout=600,
        ).stdout
    doc = json.loads(out)
    total = sum(doc["seconds"])
    doc["points_per_second"] = doc["points"] * doc["batches"] / total
    doc["median_batch_seconds"] = float(np.median(doc["seconds"]))
    return doc


def batch_points(points: np.ndarray, n: int, seed: int = 2) -> np.ndarray:
    """``n`` points resampled (with a tiny jitter) from ``points``."""
    rng = np.random.default_rng(seed)
    picks = points[rng.integers(0, len(points), n)]
    return picks + rng.normal(0, 1e-6, picks.shape)


# ------------------------------------------------------------------------------ report


def _row(name: str, load: Load) -> str:
    return (
        f"  {name:<34} {load.rps:>9.0f} req/s   p50 {load.p50_ms:>7.2f} ms   "
        f"p99 {load.p99_ms:>7.2f} ms   ({load.requests} requests, {load.errors} errors, "
        f"{load.tool})"
    )


def _phases(
    schema: str,
    data: Dataset,
    workers: int,
    seconds: float,
    concurrency: int,
    count: int,
    wrk: bool,
) -> dict:
    """Single point and a page of communities, gridplan and TiPG, ``workers`` processes each."""
    import httpx

    with gridplan_server(schema, workers) as ours, tipg_server(schema, workers) as peer:
        httpx.get(f"{ours}/locate?lon={data.points[0, 0]}&lat={data.points[0, 1]}")
        ours_one = run_load(ours, locate_paths(data.points), concurrency, seconds, count, wrk)
        tipg_one = run_load(peer, tipg_paths(schema, data.points), concurrency, seconds, count, wrk)
        tipg_page_path = (
            f"/collections/{schema}.areas/items?level=community&plan_id={data.plan_id}&limit=100"
        )
        ours_page = run_load(
            ours,
            [f"/collections/communities/items?limit=100&plan={data.plan_id}"],
            concurrency,
            seconds,
            max(10, count // 10),
            wrk,
        )
        tipg_page = run_load(
            peer, [tipg_page_path], concurrency, seconds, max(10, count // 10), wrk
        )
        check = httpx.get(f"{peer}{tipg_page_path}").json()
        mine = httpx.get(f"{ours}/collections/communities/items?limit=100").json()
    return {
        "locate": asdict(ours_one),
        "tipg_bbox": asdict(tipg_one),
        "locate_ratio": ours_one.rps / tipg_one.rps,
        "communities_page": asdict(ours_page),
        "tipg_communities_page": asdict(tipg_page),
        "page_ratio": ours_page.rps / tipg_page.rps,
        "page_features": (mine["numberReturned"], check["numberReturned"]),
        "loads": (ours_one, tipg_one, ours_page, tipg_page),
    }


def run(
    *,
    seconds: float = 10,
    concurrency: int = 16,
    count: int = 5000,
    batch: int = 100_000,
    batches: int = 10,
    wrk: bool = True,
    n_points: int = 2000,
    workers: Sequence[int] = (1, 2),
) -> dict:
    """Run the comparisons for each worker count; return every figure (and print them).

    The top-level figures are those of the first worker count; ``by_workers`` has them all.
    """
    schema = f"bench_http_{uuid.uuid4().hex[:8]}"
    data = load_store(schema, n_points=n_points)
    results: dict = {"schema": schema, "concurrency": concurrency, "by_workers": {}}
    try:
        for n in workers:
            results["by_workers"][n] = _phases(schema, data, n, seconds, concurrency, count, wrk)
        with gridplan_server(schema) as ours:
            batch_doc = batch_locate(ours, batch_points(data.points, batch), batches)
    finally:
        drop_store(schema)
    first = results["by_workers"][workers[0]]
    results.update({k: v for k, v in first.items() if k != "loads"})
    results["batch"] = batch_doc
    print(f"Providence, PostGIS schema {schema}; concurrency {concurrency}")
    for n in workers:
        r = results["by_workers"][n]
        ours_one, tipg_one, ours_page, tipg_page = r.pop("loads")
        print(f"== {n} worker process{'es' if n > 1 else ''} each (gridplan and TiPG)")
        print("1. single point")
        print(_row("gridplan GET /locate", ours_one))
        print(_row("TiPG units items?bbox=(1 m box)", tipg_one))
        print(f"  throughput ratio gridplan / TiPG: {r['locate_ratio']:.1f}x")
        print("3. a full page of communities")
        print(_row("gridplan communities items", ours_page))
        print(_row("TiPG areas items (level=community)", tipg_page))
        ours_n, tipg_n = r["page_features"]
        print(
            f"  features per page: gridplan {ours_n}, TiPG {tipg_n};"
            f" throughput ratio gridplan / TiPG: {r['page_ratio']:.1f}x"
        )
    if len(workers) > 1:
        print("scaling (req/s with the most workers / with the fewest):")
        lo, hi = results["by_workers"][workers[0]], results["by_workers"][workers[-1]]
        for key, name in (
            ("locate", "gridplan /locate"),
            ("tipg_bbox", "TiPG bbox"),
            ("communities_page", "gridplan page"),
            ("tipg_communities_page", "TiPG page"),
        ):
            print(f"  {name:<18} {hi[key]['rps'] / lo[key]['rps']:.2f}x")
    print("2. batch POST /locate (one worker)")
    print(
        f"  {batch_doc['points']} points x {batches} batches: "
        f"{batch_doc['points_per_second']:,.0f} points/s end to end "
        f"(median batch {batch_doc['median_batch_seconds'] * 1000:.0f} ms, "
        f"{batch_doc['located']} located per batch)"
    )
    return results


def main(argv: Sequence[str] | None = None) -> None:
    """Command-line entry point (also the body of the server and client processes)."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["--serve-gridplan"]:
        serve_gridplan(args[1], int(args[2]))
        return
    if args[:1] == ["--load"]:
        paths = json.loads(Path(args[2]).read_text())
        doc = asyncio.run(_python_load(args[1], paths, int(args[3]), int(args[4])))
        sys.stdout.write(json.dumps(doc))
        return
    if args[:1] == ["--batch-client"]:
        sys.stdout.write(json.dumps(_batch_client(args[1], args[2], int(args[3]))))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per wrk phase")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--requests", type=int, default=5000, help="httpx client requests")
    parser.add_argument("--batch", type=int, default=100_000, help="points per POST /locate")
    parser.add_argument("--batches", type=int, default=10)
    parser.add_argument("--no-wrk", action="store_true", help="use the httpx client")
    parser.add_argument(
        "--workers", type=int, nargs="+", default=[1, 2], help="worker counts to compare"
    )
    ns = parser.parse_args(args)
    run(
        seconds=ns.duration,
        concurrency=ns.concurrency,
        count=ns.requests,
        batch=ns.batch,
        batches=ns.batches,
        wrk=not ns.no_wrk,
        workers=ns.workers,
    )


if __name__ == "__main__":
    main()
