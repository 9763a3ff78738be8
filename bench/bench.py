"""Gatehouse benchmarks: every target figure is a ratio measured in the same run.

Usage: bench/run [--runs N] [--seconds S] [--out BENCHMARKS.md]

Measured now: token check vs healthz (embedded default, and PostgreSQL + Redis), captcha PNG
throughput, idle RSS, start-up to a ready /readyz on an existing SQLite file. The other
targets of the benchmark issue are listed in the report as not yet measured.
"""
import argparse, json, os, platform, re, shutil, socket, statistics, subprocess, sys, tempfile, time, urllib.request

PASSWORD = "Bench-Password-2026"


def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p


def http(method, url, body=None, headers=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers={"content-type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


class Server:
    def __init__(self, binary, env):
        self.binary, self.port = binary, free_port()
        self.dir = tempfile.mkdtemp(prefix="gh-bench-")
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("GATEHOUSE_")}
        self.env.update({"GATEHOUSE_LISTEN": f"127.0.0.1:{self.port}", "GATEHOUSE_PUBLIC_URL": f"http://127.0.0.1:{self.port}",
                         "GATEHOUSE_DATA_DIR": self.dir, "GATEHOUSE_CAPTCHA_TEST_ANSWERS": "true", "GATEHOUSE_LOG": "warn"})
        self.env.update(env)
        self.proc = None

    @property
    def base(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self):
        started = time.perf_counter()
        self.proc = subprocess.Popen([self.binary, "serve"], env=self.env, stdout=subprocess.DEVNULL, stderr=open(os.path.join(self.dir, "log"), "w"))
        while True:
            try:
                if http("GET", self.base + "/readyz")[0] == 200:
                    return time.perf_counter() - started
            except OSError:
                pass
            if time.perf_counter() - started > 30:
                raise SystemExit("server did not become ready")
            time.sleep(0.002)

    def stop(self):
        if self.proc:
            self.proc.terminate(); self.proc.wait(timeout=10); self.proc = None

    def rss_mb(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024

    def user_token(self):
        subprocess.run([self.binary, "admin", "create", "--number", "13800138000", "--password-stdin"], input=PASSWORD.encode(),
                       env=self.env, check=True, stdout=subprocess.DEVNULL)
        _, cap = http("GET", self.base + "/client_code")
        status, body = http("POST", self.base + "/users/signin", {"number": "13800138000", "pwd": PASSWORD,
                            "captcha_id": cap["data"]["captcha_id"], "client_code": cap["data"]["answer"]})
        assert status == 200, body
        return body["data"]


def wrk(url, seconds, connections=64, headers=None):
    cmd = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency"]
    for h in headers or []:
        cmd += ["-H", h]
    out = subprocess.run(cmd + [url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    scale = {"us": 0.001, "ms": 1, "s": 1000}[p99.group(2)]
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return rps, float(p99.group(1)) * scale, int(non2xx.group(1)) if non2xx else 0


def token_vs_healthz(server, token, runs, seconds):
    hz, tk, p99s = [], [], []
    for _ in range(runs):
        hz.append(wrk(server.base + "/healthz", seconds)[0])
        rps, p99, bad = wrk(server.base + "/token", seconds, headers=[f"Authorization: Bearer {token}"])
        assert bad == 0, f"{bad} token checks failed"
        tk.append(rps); p99s.append(p99)
    return statistics.median(hz), statistics.median(tk), statistics.median(p99s)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("binary"); ap.add_argument("--runs", type=int, default=3); ap.add_argument("--seconds", type=int, default=8)
    ap.add_argument("--out", default="BENCHMARKS.md")
    a = ap.parse_args()
    rows = []

    embedded = Server(a.binary, {"GATEHOUSE_BCRYPT_COST": "12"})
    embedded.start()
    idle_rss = embedded.rss_mb()
    token = embedded.user_token()
    hz, tk, p99 = token_vs_healthz(embedded, token, a.runs, a.seconds)
    rows.append(("1. Token check, embedded default", f"{tk:,.0f}/s vs healthz {hz:,.0f}/s", f"{tk / hz:.2f}×", "≥ 0.5×", tk / hz >= 0.5))
    rows.append(("1. Token check p99, embedded default", f"{p99:.2f} ms", "", "< 10 ms", p99 < 10))
    caps = statistics.median(wrk(embedded.base + "/client_code?format=png", a.seconds)[0] for _ in range(a.runs))
    rows.append(("4. Captcha `GET /client_code?format=png`", f"{caps:,.0f}/s", "", "≥ 2,000/s", caps >= 2000))
    rows.append(("5. RSS idle (embedded default)", f"{idle_rss:.1f} MB", "", "≤ 20 MB", idle_rss <= 20))
    embedded.stop()
    startups = []
    for _ in range(a.runs):
        startups.append(embedded.start()); embedded.stop()
    st = statistics.median(startups) * 1000
    rows.append(("6. Start-up to ready `/readyz`, existing SQLite file", f"{st:.0f} ms", "", "< 200 ms", st < 200))

    pg = shutil.which("psql") and subprocess.run(["pg_isready", "-h", "127.0.0.1", "-q"]).returncode == 0
    redis = shutil.which("redis-cli") and subprocess.run(["redis-cli", "ping"], capture_output=True).returncode == 0
    if pg and redis:
        db = f"gh_bench_{os.getpid()}"
        subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", f"CREATE DATABASE {db}"], check=True)
        shared = Server(a.binary, {"GATEHOUSE_DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{db}",
                                   "GATEHOUSE_REDIS_URL": "redis://127.0.0.1:6379", "GATEHOUSE_REDIS_KEY_PREFIX": f"bench{os.getpid()}:"})
        shared.start()
        token = shared.user_token()
        hz, tk, p99 = token_vs_healthz(shared, token, a.runs, a.seconds)
        rows.append(("1. Token check, PostgreSQL + Redis", f"{tk:,.0f}/s vs healthz {hz:,.0f}/s", f"{tk / hz:.2f}×", "≥ 0.25×", tk / hz >= 0.25))
        rows.append(("1. Token check p99, PostgreSQL + Redis", f"{p99:.2f} ms", "", "< 10 ms", p99 < 10))
        shared.stop()
        subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", f"DROP DATABASE {db}"])

    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.processor())
    lines = ["# Benchmarks", "", f"Machine: {os.cpu_count()} cores ({cpu}), {platform.system()} {platform.release()}. "
             f"Load from `wrk -t2 -c64` on loopback, sharing the same cores. Each figure is the median of {a.runs} runs of {a.seconds} s; "
             "targets that are ratios are measured in the same run.", "", "Reproduce: `bench/run` (add `--runs 5 --seconds 10` for steadier medians).", "",
             "| measure | result | ratio | target | met |", "|---|---|---|---|---|"]
    for name, result, ratio, target, ok in rows:
        lines.append(f"| {name} | {result} | {ratio} | {target} | {'yes' if ok else '**no**'} |")
    lines += ["", "Not measured yet (the benchmark issue stays open for them): password sign-in against the bcrypt ceiling and token-check p99 during a sign-in storm (2); refresh and sign-out with single logout to 5 partners (3); RSS with 100k sessions and under 1,000 connections (5); the user list over 1,000,000 users on PostgreSQL (7); the `oidc-provider` peer (8).", ""]
    open(a.out, "w").write("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
