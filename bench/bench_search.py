"""Search latency on a full-size index, against a real gunicorn server on 127.0.0.1.

Builds, in its own PostgreSQL database, what a full release holds for the
search: 23,614 genes, 150,000 signatures (two types: 110,000 chemical,
40,000 CRISPR, in 100 cell lines) and the per-gene index with 100 entries
per gene, type and direction (9,445,600 GeneTopEntry rows), all loaded with
COPY; plus a gene-major signature store of the 150,000 signatures for the
exact filtered query. The store holds 256 genes rather than 23,614: a gene's
read is one row of 150,000 values whatever the gene count, and the full store
would be 42 GB of disk for the same read.

Then it starts gunicorn and measures p50/p95 latency and throughput with 1
and 20 concurrent clients (threads with keep-alive connections), with the
response cache cold (every request has a parameter of its own) and warm
(every path answered once before), of:
  api        GET /api/genes/<g>/signatures/?type=crispr&direction=up     (top lists)
  page       GET /genes/<g>/                                             (top lists, 2 types x 2 directions, volcano JSON, hits by perturbagen; g among the store's genes)
  api-exact  GET /api/genes/<g>/signatures/?type=chemical&cell_line=<c>  (exact over all 150,000 signatures)
  page-exact GET /genes/<g>/?cell_line=<c>                               (exact, 4 lists)
and, as the baseline measured in the same run, the same exact query answered
the way a notebook would: scan the signature-major GCTX for the gene's column.
The CPU each request cost at 20 clients, split between gunicorn's workers,
PostgreSQL's backends, Redis and the load generator (from /proc), is printed
per scenario. Last, the load test: --clients (20) for --load-seconds (60) on a mix of all
four plus CSV and filtered TSV downloads, half of the clients cold; it counts
the errors (any status but 200) and reports p50/p95 per kind.

With --compare-rev REV, the same scenarios are also measured on a server of
git revision REV (checked out into a temporary worktree, same data, same
database schema), and the table gives both and their ratio; with --rounds N
the two servers are measured N times each, alternately, and each figure is the
median of its rounds.

Usage: .venv/bin/python bench/bench_search.py [--keep] [--requests 400] [--clients 20] [--load-seconds 60] [--compare-rev REV [--rounds N]]
(needs PostgreSQL at 127.0.0.1:5432 and Redis at 127.0.0.1:6379; BENCH_SEARCH_DATABASE names
another database than l1kweb_bench_search, to run two at once).
"""

from __future__ import annotations

import argparse
import http.client
import io
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from signatures.store import StoreWriter, open_store  # noqa: E402

DB = os.environ.get("BENCH_SEARCH_DATABASE", "l1kweb_bench_search")  # its own database, dropped at the end unless --keep
ADMIN_URL = "postgres://root@127.0.0.1:5432/postgres"
DB_URL = f"postgres://root@127.0.0.1:5432/{DB}"
N_GENES = 23_614
N_STORE_GENES = 256
N_CHEM, N_CRISPR = 110_000, 40_000
N_SIGS = N_CHEM + N_CRISPR
N_CELLS = 100
TOP_N = 100
PORT = 8765


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def django_env(data_dir: Path) -> dict:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=DB_URL, REDIS_URL="redis://127.0.0.1:6379/7", DATA_DIR=str(data_dir), DEBUG="0", L1KWEB_DEMO_DATA="0",
        ALLOWED_HOSTS="127.0.0.1,localhost", API_ANON_RATE="100000000/minute", PAGE_ANON_RATE="100000000/minute", DOWNLOAD_ANON_RATE="100000000/minute", LOG_LEVEL="WARNING", DJANGO_SETTINGS_MODULE="l1kweb.settings",
    )
    return env


def copy_rows(cur, table: str, columns: list[str], lines):
    with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as cp:
        for chunk in lines:
            cp.write(chunk)


def build_database(env: dict, rng: np.random.Generator) -> dict:
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {DB}")
        admin.execute(f"CREATE DATABASE {DB}")
    log("migrate")
    subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)
    t0 = time.perf_counter()
    with psycopg.connect(DB_URL, autocommit=False) as conn, conn.cursor() as cur:
        # Genes: Entrez ids 1..N_GENES, symbols G1.. (the registry's shape, not its names).
        copy_rows(cur, "conversion_gene", ["entrez_id", "symbol", "name", "ensembl_id", "status", "in_model_output"],
                  ["".join(f"{g}\tG{g}\tgene {g}\t\t{'landmark' if g <= 978 else 'model_only'}\tt\n" for g in range(1, N_GENES + 1))])
        cur.execute("INSERT INTO conversion_dataset (name, kind, path, metadata_path, n_profiles, n_genes, description, created_at) VALUES ('bench', 'rnaseq_like', 'bench.gctx', '', %s, %s, '', now()) RETURNING id", (N_SIGS * 3, N_GENES))
        dataset_id = cur.fetchone()[0]
        cur.execute(
            "INSERT INTO signatures_release (name, dataset_id, status, is_active, params, directory, model_version, n_signatures, n_genes, index_built,"
            " created_at, completed_at, activated_at, conversion, reliability)"
            " VALUES ('bench', %s, 'complete', true, '{\"top_n\": 100}', 'store', 'bench-model 1.0', %s, %s, true, now(), now(), now(), '{}', '{}') RETURNING id",
            (dataset_id, N_SIGS, N_GENES))
        release_id = cur.fetchone()[0]
        copy_rows(cur, "signatures_cellline", ["name"], ["".join(f"CELL{i:03d}\n" for i in range(N_CELLS))])
        cur.execute("SELECT id FROM signatures_cellline ORDER BY name")
        cell_ids = np.array([r[0] for r in cur.fetchall()])
        sig_cell = rng.integers(0, N_CELLS, N_SIGS)
        sig_type = np.where(np.arange(N_SIGS) < N_CHEM, "chemical", "crispr")
        doses = np.array([0.04, 0.12, 0.37, 1.11, 3.33, 10.0])

        def sig_lines():
            buf = io.StringIO()
            for j in range(N_SIGS):
                chem = sig_type[j] == "chemical"
                dose = f"{doses[j % 6]}\tuM" if chem else "\\N\t"
                buf.write(f"{release_id}\tSIG{j:06d}\t{j}\t{sig_type[j]}\tP{j % 20000}\tpert{j % 20000}\t{cell_ids[sig_cell[j]]}\t{dose}\t{[6, 24][j % 2]}\th\tPLATE{j // 300}\t3\t12\tall\t\t\t\n")
                if j % 20000 == 19999:
                    yield buf.getvalue()
                    buf = io.StringIO()
            yield buf.getvalue()

        copy_rows(cur, "signatures_signature", ["release_id", "sig_id", '"column"', "pert_type", "pert_id", "pert_name", "cell_line_id", "dose", "dose_unit", "time", "time_unit", "batch", "n_replicates", "n_controls",
                                          "controls", "pert_moa", "pert_targets", "target_gene"], sig_lines())
        cur.execute("SELECT id FROM signatures_signature WHERE release_id = %s ORDER BY \"column\"", (release_id,))
        sig_pk = np.array([r[0] for r in cur.fetchall()], dtype=np.int64)
        log(f"genes, signatures: {time.perf_counter() - t0:.1f}s")
        # The index: 100 per gene, type and direction; rows in all three top lists.
        # Loaded without its lookup index and with foreign-key triggers off
        # (the rows are built consistent here); the index is built once after.
        conn.commit()
        cur.execute("DROP INDEX IF EXISTS topentry_lookup")
        cur.execute("SET session_replication_role = replica")
        chem_cols, crispr_cols = np.arange(N_CHEM), np.arange(N_CHEM, N_SIGS)

        def entry_lines():
            for g0 in range(1, N_GENES + 1, 500):
                buf = io.StringIO()
                for g in range(g0, min(g0 + 500, N_GENES + 1)):
                    for t, cols in (("chemical", chem_cols), ("crispr", crispr_cols)):
                        for d, sign in (("up", 1.0), ("down", -1.0)):
                            picked = rng.choice(cols, TOP_N, replace=False)
                            cd = sign * np.sort(rng.uniform(0.01, 0.2, TOP_N))[::-1]
                            lfc = cd * rng.uniform(-2, 20, TOP_N)
                            for k in range(TOP_N):
                                buf.write(f"{release_id}\t{g}\t{t}\t{d}\t{sig_pk[picked[k]]}\t{cd[k]:.6g}\t{lfc[k]:.6g}\t{k + 1}\tt\tt\tt\n")
                yield buf.getvalue()
                if g0 % 5000 == 1:
                    log(f"  index rows for genes up to {g0 + 499}")

        t1 = time.perf_counter()
        copy_rows(cur, "signatures_genetopentry", ["release_id", "gene_id", "pert_type", "direction", "signature_id", "cd", "logfc", "rank", "top_cd", "top_logfc", "top_rank"], entry_lines())
        conn.commit()
        cur.execute("SET session_replication_role = DEFAULT")
        cur.execute('CREATE INDEX topentry_lookup ON signatures_genetopentry (release_id, gene_id, pert_type, direction)')
        conn.commit()
        log(f"index: {N_GENES * 4 * TOP_N:,} rows in {time.perf_counter() - t1:.1f}s")
    with psycopg.connect(DB_URL, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    return {"cells": [f"CELL{i:03d}" for i in range(N_CELLS)]}


def build_store(data_dir: Path, rng: np.random.Generator):
    genes = np.arange(1, N_STORE_GENES + 1)
    t0 = time.perf_counter()
    with StoreWriter(data_dir / "store", genes, N_SIGS, symbols=[f"G{g}" for g in genes]) as w:
        for start in range(0, N_SIGS, 10_000):
            k = min(10_000, N_SIGS - start)
            cd = rng.standard_normal((k, N_STORE_GENES), dtype=np.float32) * 0.05
            w.write(start, [f"SIG{j:06d}" for j in range(start, start + k)], cd, cd * 3 + rng.standard_normal((k, N_STORE_GENES), dtype=np.float32) * 0.1)
    log(f"store: {N_SIGS:,} signatures x {N_STORE_GENES} genes in {time.perf_counter() - t0:.1f}s")


def baseline_scan(data_dir: Path, gene: int, columns: np.ndarray, reps: int = 3) -> list[float]:
    """The same exact query, the notebook way: read the gene's column from every signature (signature-major GCTX)."""
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        with open_store(data_dir / "store") as store:
            i = store.gene_position(gene)
            cd = np.empty(N_SIGS, dtype=np.float32)
            for start in range(0, N_SIGS, 20_000):
                block, _ = store.read_signature_block(start, min(N_SIGS, start + 20_000))
                cd[start : start + len(block)] = block[:, i]
            sub = cd[columns]
            np.argsort(-sub[sub > 0])[:50]
        times.append(time.perf_counter() - t0)
    return times


_nonce = iter(range(10**12))


def run_load(paths: list[str], clients: int, n_requests: int | None = None, *, seconds: float | None = None, cold: bool = False) -> dict:
    """`clients` keep-alive connections send `paths` in turn, `n_requests` in all or for `seconds`.

    cold: every request carries a parameter of its own (`_=<n>`, which the
    search ignores), so no response comes from the response cache.
    Returns p50/p95 (ms), req/s, the errors, and the latencies by the path's kind.
    """
    latencies: list[tuple[str, float]] = []
    errors = []
    lock = threading.Lock()
    counter = iter(range(n_requests if n_requests is not None else 10**12))
    deadline = time.perf_counter() + seconds if seconds is not None else None

    def worker():
        conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=60)
        while True:
            with lock:
                i = next(counter, None)
                nonce = next(_nonce)
            if i is None or (deadline is not None and time.perf_counter() > deadline):
                break
            path = paths[i % len(paths)]
            if cold:
                path += ("&" if "?" in path else "?") + f"_={nonce}"
            t0 = time.perf_counter()
            conn.request("GET", path)
            resp = conn.getresponse()
            resp.read()
            dt = time.perf_counter() - t0
            with lock:
                latencies.append((kind_of(path), dt))
                if resp.status != 200:
                    errors.append((resp.status, path))
            if resp.getheader("Connection", "").lower() == "close":
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=60)
        conn.close()

    t0 = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    q = np.percentile(np.array([dt for _, dt in latencies]) * 1000, [50, 95])
    by_kind = {}
    for kind, dt in latencies:
        by_kind.setdefault(kind, []).append(dt * 1000)
    return {"p50": q[0], "p95": q[1], "rps": len(latencies) / wall, "errors": errors, "n": len(latencies), "by_kind": by_kind}


def kind_of(path: str) -> str:
    exact = "cell_line=" in path
    if "/download." in path:
        return "download" + ("-exact" if exact else "")
    return ("api" if path.startswith("/api/") else "page") + ("-exact" if exact else "")


def start_server(root: Path, env: dict, workers: int) -> subprocess.Popen:
    """gunicorn serving the checkout at `root`, once it answers; the response cache emptied first."""
    import redis

    redis.Redis.from_url(env["REDIS_URL"]).flushdb()
    server = subprocess.Popen(
        [str(ROOT / ".venv/bin/gunicorn"), "l1kweb.wsgi", "-b", f"127.0.0.1:{PORT}", "-w", str(workers), "--keep-alive", "30", "--log-level", "warning"],
        cwd=root, env=env,
    )
    for _ in range(100):
        try:
            c = http.client.HTTPConnection("127.0.0.1", PORT, timeout=2)
            c.request("GET", "/api/cell-lines/")
            if c.getresponse().status == 200:
                break
        except OSError:
            time.sleep(0.3)
    return server


def stop_server(server: subprocess.Popen) -> None:
    server.terminate()
    server.wait(timeout=30)


@contextmanager
def serving(root: Path, env: dict, workers: int):
    server = start_server(root, env, workers)
    try:
        yield
    finally:
        stop_server(server)


@contextmanager
def other_checkout(rev: str):
    """A temporary git worktree of `rev`, refused when its migrations are not this checkout's (it serves this database)."""
    tmp = Path(tempfile.mkdtemp(prefix="l1kweb-bench-rev-"))
    subprocess.run(["git", "worktree", "add", "--detach", str(tmp / "tree"), rev], cwd=ROOT, check=True, capture_output=True)
    try:
        def migrations(root):
            return sorted(str(p.relative_to(root)) for p in root.glob("*/migrations/0*.py"))
        if migrations(tmp / "tree") != migrations(ROOT):
            raise SystemExit(f"--compare-rev {rev}: its migrations differ from this checkout's, so it cannot serve this benchmark's database.")
        yield tmp / "tree"
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(tmp / "tree")], cwd=ROOT, check=False, capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)


def measure(scenarios: dict, args) -> dict:
    """p50/p95/req/s of every scenario, response cache cold then warm, at 1 and 20 clients, on the running server."""
    for paths in scenarios.values():  # every worker warmed (facets, open store)
        run_load(paths[:8], 4, 16, cold=True)
    results = {}
    for cache_state in ("cold", "warm"):
        if cache_state == "warm":  # every path answered once, so each is in the response cache
            for paths in scenarios.values():
                run_load(paths, 4, len(paths))
        for name, paths in scenarios.items():
            for clients in (1, 20):
                n = args.requests if clients == 20 else max(50, args.requests // 4)
                before = cpu_ticks()
                r = run_load(paths, clients, n, cold=cache_state == "cold")
                r["cpu"] = cpu_per_request(before, cpu_ticks(), r["n"])
                results[(name, cache_state, clients)] = r
                log(f"{name:10s} {cache_state} clients={clients:2d}  p50 {r['p50']:7.1f} ms  p95 {r['p95']:7.1f} ms  {r['rps']:6.1f} req/s  errors {len(r['errors'])}")
                if r["errors"]:
                    log(f"  first error: {r['errors'][0]}")
    return results


CPU_GROUPS = ("gunicorn", "postgres", "redis", "client")


def cpu_ticks() -> dict[int, tuple[str, int]]:
    """pid -> (group, user + system clock ticks) of the processes a request runs in: gunicorn's, PostgreSQL's,
    Redis's and this one (the load generator), from /proc (Linux); empty elsewhere."""
    out = {}
    for entry in Path("/proc").iterdir() if Path("/proc/self/stat").exists() else ():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        name, fields = stat[stat.index("(") + 1 : stat.rindex(")")], stat[stat.rindex(")") + 2 :].split()
        group = ("client" if int(entry.name) == os.getpid() else "gunicorn" if b"gunicorn" in command
                 else "postgres" if name.startswith("postgres") else "redis" if name.startswith("redis") else None)
        if group is not None:
            out[int(entry.name)] = (group, int(fields[11]) + int(fields[12]))
    return out


def cpu_per_request(before: dict, after: dict, n: int) -> dict[str, float]:
    """CPU milliseconds per request of each group between two cpu_ticks() (a process that started in between counts whole)."""
    hz = os.sysconf("SC_CLK_TCK")
    spent = dict.fromkeys(CPU_GROUPS, 0)
    for pid, (group, ticks) in after.items():
        spent[group] += ticks - before.get(pid, (group, 0))[1]
    return {group: 1000 * ticks / hz / max(n, 1) for group, ticks in spent.items()}


def median_of(rounds: list[dict]) -> dict:
    """Each scenario's p50, p95, req/s and CPU per request as the median over the rounds."""
    return {
        key: {**{m: statistics.median(r[key][m] for r in rounds) for m in ("p50", "p95", "rps")},
              "cpu": {g: statistics.median(r[key]["cpu"][g] for r in rounds) for g in CPU_GROUPS}}
        for key in rounds[0]
    }


def print_cpu(results: dict, label: str) -> None:
    print(f"\nCPU ms per request at 20 clients, {label} (from /proc: gunicorn's workers, PostgreSQL's backends, Redis, the load generator)")
    print(f"| scenario | response cache | {' | '.join(CPU_GROUPS)} | all |")
    print("| --- | --- |" + " --- |" * (len(CPU_GROUPS) + 1))
    for (name, cache_state, clients), r in results.items():
        if clients == 20:
            cpu = r["cpu"]
            print(f"| {name} | {cache_state} | {' | '.join(f'{cpu[g]:.2f}' for g in CPU_GROUPS)} | {sum(cpu.values()):.2f} |")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--requests", type=int, default=400, help="requests per scenario and concurrency (default 400)")
    ap.add_argument("--workers", type=int, default=4, help="gunicorn sync workers (default 4 on 2 cores)")
    ap.add_argument("--keep", action="store_true", help="keep the database and data directory")
    ap.add_argument("--clients", type=int, default=20, help="clients of the load test (default 20)")
    ap.add_argument("--load-seconds", type=float, default=60, help="length of the load test (default 60 s)")
    ap.add_argument("--compare-rev", help="also measure the scenarios on a server of this git revision, same data (its migrations must be this checkout's)")
    ap.add_argument("--rounds", type=int, default=1, help="with --compare-rev: measure both servers this many times, alternately, and report medians (default 1)")
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    data_dir = Path(tempfile.mkdtemp(prefix="l1kweb-bench-search-"))
    env = django_env(data_dir)
    log(f"data dir {data_dir}; database {DB}")
    meta = build_database(env, rng)
    build_store(data_dir, rng)
    genes = [int(g) for g in random.Random(1).sample(range(1, N_GENES + 1), 200)]
    store_genes = [int(g) for g in random.Random(2).sample(range(1, N_STORE_GENES + 1), 100)]
    cells = meta["cells"]
    scenarios = {
        "api": [f"/api/genes/G{g}/signatures/?type=crispr&direction=up" for g in genes],
        # Pages of store genes: a gene page groups its hits by perturbagen from the gene's store row,
        # and the index of this benchmark also lists genes its 256-gene store does not hold.
        "page": [f"/genes/G{g}/" for g in store_genes],
        "api-exact": [f"/api/genes/G{g}/signatures/?type=chemical&direction=up&cell_line={cells[i % N_CELLS]}" for i, g in enumerate(store_genes)],
        "page-exact": [f"/genes/G{g}/?cell_line={cells[i % N_CELLS]}" for i, g in enumerate(store_genes)],
    }
    compared, server = None, None
    try:
        load_before = os.getloadavg()
        if args.compare_rev:
            # Rounds alternate the two servers, so that a drift of the machine's speed over the run
            # (tens of per cent within minutes on a shared VM) falls on both; each figure is the median of the rounds.
            rounds_old, rounds_new = [], []
            with other_checkout(args.compare_rev) as other_root:
                for i in range(args.rounds):
                    for root, label, into in ((other_root, f"revision {args.compare_rev}", rounds_old), (ROOT, "this checkout", rounds_new)):
                        with serving(root, env, args.workers):
                            log(f"{label}, round {i + 1} of {args.rounds}")
                            into.append(measure(scenarios, args))
            compared, results = median_of(rounds_old), median_of(rounds_new)
        else:
            server = start_server(ROOT, env, args.workers)
            log("this checkout")
            results = measure(scenarios, args)
        if server is None:
            server = start_server(ROOT, env, args.workers)
        # The load test: 20 clients for --load-seconds on a mixed set, downloads and filtered pages among it,
        # half of the requests new to the cache.
        mixed = [p for group in zip(scenarios["api"], scenarios["page"], scenarios["api-exact"], scenarios["page-exact"],
                                    [f"/genes/G{g}/download.csv?type=chemical&limit=100" for g in genes],
                                    [f"/genes/G{g}/download.tsv?cell_line={cells[i % N_CELLS]}" for i, g in enumerate(store_genes)]) for p in group]
        half = args.clients // 2
        load_runs = []
        threads = [threading.Thread(target=lambda c, cold: load_runs.append(run_load(mixed, c, seconds=args.load_seconds, cold=cold)), args=(c, cold))
                   for c, cold in ((half, True), (args.clients - half, False))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        load = {"n": sum(r["n"] for r in load_runs), "errors": [e for r in load_runs for e in r["errors"]], "by_kind": {}}
        for r in load_runs:
            for kind, values in r["by_kind"].items():
                load["by_kind"].setdefault(kind, []).extend(values)
        log(f"load test: {args.clients} clients for {args.load_seconds:.0f} s: {load['n']} requests, {len(load['errors'])} errors")
        chem_cell0 = np.flatnonzero(np.arange(N_SIGS) < N_CHEM)
        base = baseline_scan(data_dir, store_genes[0], chem_cell0)
        base_ms = statistics.median(base) * 1000
        exact_p50 = results[("api-exact", "cold", 1)]["p50"]
        print()
        load_after = os.getloadavg()
        print(f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}; gunicorn -w {args.workers}")
        print(f"load average (1, 5, 15 min) before measuring {', '.join(f'{x:.2f}' for x in load_before)}; after {', '.join(f'{x:.2f}' for x in load_after)}")
        if compared is None:
            print("| scenario | response cache | clients | p50 ms | p95 ms | req/s |")
            print("| --- | --- | --- | --- | --- | --- |")
            for (name, cache_state, clients), r in results.items():
                print(f"| {name} | {cache_state} | {clients} | {r['p50']:.1f} | {r['p95']:.1f} | {r['rps']:.0f} |")
        else:
            rev = args.compare_rev
            print(f"| scenario | response cache | clients | {rev} p50 ms | {rev} p95 ms | {rev} req/s | p50 ms | p95 ms | req/s | req/s ratio |")
            print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
            for key, r in results.items():
                b = compared[key]
                print(f"| {' | '.join(map(str, key))} | {b['p50']:.1f} | {b['p95']:.1f} | {b['rps']:.0f} | {r['p50']:.1f} | {r['p95']:.1f} | {r['rps']:.0f} | {r['rps'] / b['rps']:.2f}x |")
        if compared is not None:
            print_cpu(compared, f"revision {args.compare_rev}")
        print_cpu(results, "this checkout")
        print(f"\nload test: {args.clients} clients for {args.load_seconds:.0f} s, mixed (half the clients cold): "
              f"{load['n']} requests, {len(load['errors'])} errors" + (f", first {load['errors'][0]}" if load["errors"] else ""))
        print("| kind | requests | p50 ms | p95 ms |")
        print("| --- | --- | --- | --- |")
        for kind, values in sorted(load["by_kind"].items()):
            q = np.percentile(values, [50, 95])
            print(f"| {kind} | {len(values)} | {q[0]:.1f} | {q[1]:.1f} |")
        print(f"\nbaseline (signature-major scan for one gene, in-process, median of {len(base)}): {base_ms:.0f} ms; "
              f"exact API query p50 at 1 client {exact_p50:.1f} ms: {base_ms / exact_p50:.0f}x faster")
    finally:
        if server is not None:
            stop_server(server)
        if not args.keep:
            shutil.rmtree(data_dir, ignore_errors=True)
            with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
                admin.execute(f"DROP DATABASE IF EXISTS {DB}")


if __name__ == "__main__":
    main()
