"""Section 14 (issue 17 §4): two instances sharing one PostgreSQL, over one Redis and over a
Redis Cluster of three masters with a replica each (tests/redis/servers.sh), in one run: token
checks on both instances at once, sign-ins on both at once, and sign-outs."""

import os, subprocess, tempfile, threading, time

from harness import ADMIN_NUMBER, PASSWORD, Postgres, Server, seed_users_postgres, services_up, wrk

SERVERS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "redis", "servers.sh")


def on_both(work):
    """Runs `work(i)` for instances 0 and 1 at once; their results."""
    out = [None, None]

    def one(i):
        out[i] = work(i)
    threads = [threading.Thread(target=one, args=(i,)) for i in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


def measure(a, binary, load, redis_url):
    pg = Postgres()
    env = {"GATEHOUSE_DATABASE_URL": pg.url, "GATEHOUSE_REDIS_URL": redis_url,
           "GATEHOUSE_REDIS_KEY_PREFIX": f"bench{os.getpid()}x{time.time_ns()}:",
           "GATEHOUSE_BCRYPT_COST": "4", "GATEHOUSE_BCRYPT_QUEUE": "2048", "GATEHOUSE_SIGNIN_LIMIT_PER_IP": "1000000"}
    first = Server(binary, env)
    # One issuer for both: the second stands behind the same public address.
    second = Server(binary, {**env, "GATEHOUSE_PUBLIC_URL": first.base})
    servers = [first, second]
    try:
        first.start()
        first.create_admin()
        second.start()
        token = first.sign_in()
        accounts = seed_users_postgres(pg, first, 200)
        checks, signins, signouts = [], [], []
        for run in range(a.runs):
            both = on_both(lambda i: wrk(servers[i].base + "/token", a.seconds, connections=32,
                                         headers=[f"Authorization: Bearer {token}"]))
            assert all(r["bad"] == 0 for r in both), [r["bad"] for r in both]
            checks.append((sum(r["rps"] for r in both), max(r["p99"] for r in both)))
            procs = [load.start("signin", "--base", s.base, "--accounts", accounts, "--concurrency", 16,
                                "--seconds", a.seconds) for s in servers]
            outs = [load.finish(p) for p in procs]
            assert all(o["failed"] == 0 for o in outs), [o["errors"] for o in outs]
            signins.append((sum(o["per_sec"] for o in outs), max(o["latency"]["p99_ms"] for o in outs)))
            own = os.path.join(first.dir, "admin.txt")
            open(own, "w").write(f"{ADMIN_NUMBER} {PASSWORD}\n")
            tokens = os.path.join(first.dir, f"signout-{run}.txt")
            made = load.run("sessions", "--base", first.base, "--accounts", own, "--count", 2000,
                            "--concurrency", 4, "--out", tokens)
            assert made["failed"] == 0, made["errors"]
            out = load.run("signout", "--base", second.base, "--tokens", tokens, "--concurrency", 16)
            assert out["failed"] == 0, out["errors"]
            signouts.append((out["per_sec"], out["latency"]["p99_ms"]))
        return checks, signins, signouts
    finally:
        for s in servers:
            s.stop()
        pg.drop()


def redis_cluster(a, binary, load, row, med, notes):
    if not services_up():
        notes.append("14: PostgreSQL or Redis was not running: the Redis Cluster figures are missing.")
        return
    where = tempfile.mkdtemp(prefix="gh-bench-cluster-")
    url = subprocess.run(["bash", SERVERS, "cluster", where], check=True, capture_output=True, text=True).stdout.strip()
    try:
        single = measure(a, binary, load, "redis://127.0.0.1:6379")
        cluster = measure(a, binary, load, url)
    finally:
        subprocess.run(["bash", SERVERS, "stop", where])
    names = ("Token check `GET /token` (64 connections, 32 on each)", "Password sign-in (bcrypt cost 4, 16 loops on each)",
             "Sign-out `PATCH /users/signout` (made on one, ended on the other)")
    for name, one, many in zip(names, single, cluster):
        rate_one, p99_one = med(r for r, _ in one), med(p for _, p in one)
        rate_many, p99_many = med(r for r, _ in many), med(p for _, p in many)
        row(14, f"{name}, two instances, Redis Cluster of 3 masters vs one Redis",
            f"{rate_many:,.0f}/s, p99 {p99_many:.1f} ms vs {rate_one:,.0f}/s, p99 {p99_one:.1f} ms",
            ratio=f"{rate_many / rate_one:.2f}×")
