"""Pieces bench/bench.py is built from: a Gatehouse process on free ports, seeded accounts,
wrk and the Rust load generator (bench/load/), and the machine's PostgreSQL and Redis."""
import atexit, json, os, re, shutil, socket, subprocess, tempfile, threading, time, urllib.error, urllib.request, uuid

# Every process a benchmark starts, so a failed run leaves none behind.
_CHILDREN = []


@atexit.register
def _stop_children():
    for proc in _CHILDREN:
        if proc.poll() is None:
            proc.kill()

PASSWORD = "Bench-Password-2026"
ADMIN_NUMBER = "13800138000"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def http(method, url, body=None, headers=None, timeout=30):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"content-type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            raw = r.read()
            return r.status, json.loads(raw) if raw.startswith(b"{") or raw.startswith(b"[") else raw
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


class PeakRss:
    """Samples a process's RSS every 50 ms in the background; `.peak` is the highest seen."""

    def __init__(self, pid):
        self.pid, self.peak, self._stop = pid, rss_mb(pid), threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.wait(0.05):
            self.peak = max(self.peak, rss_mb(self.pid))

    def stop(self):
        self._stop.set()
        self._thread.join()
        return self.peak


class Postgres:
    """A database of its own on the machine's PostgreSQL, dropped at the end."""

    def __init__(self):
        self.name = f"gh_bench_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        self.psql("postgres", f"CREATE DATABASE {self.name}")

    @property
    def url(self):
        return f"postgres://postgres@127.0.0.1:5432/{self.name}"

    @staticmethod
    def psql(db, sql):
        return subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", db, "-qAtc", sql],
                              check=True, capture_output=True, text=True).stdout

    def sql(self, sql):
        return self.psql(self.name, sql)

    def drop(self):
        subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)"],
                       capture_output=True)


def services_up():
    pg = shutil.which("pg_isready") and subprocess.run(["pg_isready", "-h", "127.0.0.1", "-q"]).returncode == 0
    redis = shutil.which("redis-cli") and subprocess.run(["redis-cli", "-h", "127.0.0.1", "ping"], capture_output=True).returncode == 0
    return bool(pg and redis)


class Server:
    """One Gatehouse process. `env` adds GATEHOUSE_* settings to the bench defaults."""

    def __init__(self, binary, env=None, data_dir=None):
        self.binary, self.port = binary, free_port()
        self.dir = data_dir or tempfile.mkdtemp(prefix="gh-bench-")
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("GATEHOUSE_")}
        self.env.update({"GATEHOUSE_LISTEN": f"127.0.0.1:{self.port}", "GATEHOUSE_PUBLIC_URL": f"http://127.0.0.1:{self.port}",
                         "GATEHOUSE_DATA_DIR": self.dir, "GATEHOUSE_CAPTCHA_TEST_ANSWERS": "true", "GATEHOUSE_LOG": "warn"})
        self.env.update(env or {})
        self.proc = None

    @property
    def base(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self):
        """Starts the server and returns the seconds until `/readyz` answered 200."""
        started = time.perf_counter()
        self.proc = subprocess.Popen([self.binary, "serve"], env=self.env, stdout=subprocess.DEVNULL,
                                     stderr=open(os.path.join(self.dir, "server.log"), "a"))
        _CHILDREN.append(self.proc)
        while True:
            try:
                if http("GET", self.base + "/readyz", timeout=2)[0] == 200:
                    return time.perf_counter() - started
            except OSError:
                pass
            if self.proc.poll() is not None or time.perf_counter() - started > 60:
                raise SystemExit(f"gatehouse did not become ready; see {self.dir}/server.log")
            time.sleep(0.002)

    def stop(self):
        if self.proc:
            self.proc.terminate()
            self.proc.wait(timeout=15)
            self.proc = None

    @property
    def pid(self):
        return self.proc.pid

    def cli(self, *args, stdin=None):
        return subprocess.run([self.binary, *args], input=stdin, env=self.env, check=True,
                              capture_output=True, text=True).stdout

    def create_admin(self):
        self.cli("admin", "create", "--number", ADMIN_NUMBER, "--password-stdin", stdin=PASSWORD)

    def add_client(self, name, callback, logout_url=None, mode="token"):
        args = ["client", "add", "--name", name, "--callback", callback, "--mode", mode]
        if logout_url:
            args += ["--logout-url", logout_url]
        return json.loads(self.cli(*args))

    def sign_in(self, number=ADMIN_NUMBER):
        _, cap = http("GET", self.base + "/client_code")
        status, body = http("POST", self.base + "/users/signin", {"number": number, "pwd": PASSWORD,
                            "captcha_id": cap["data"]["captcha_id"], "client_code": cap["data"]["answer"]})
        assert status == 200, body
        return body["data"]


def seed_users_sqlite(server, count):
    """`count` ordinary accounts sharing the operator's password hash; returns an accounts file."""
    import sqlite3
    db = sqlite3.connect(os.path.join(server.dir, "gatehouse.db"), timeout=30)
    (hash_, stamp), = db.execute("SELECT password_hash, created_at FROM users WHERE phone = ?", (ADMIN_NUMBER,))
    rows = [(str(uuid.uuid4()), f"1390000{n:04d}", hash_, stamp, stamp) for n in range(count)]
    db.executemany("INSERT INTO users (id, phone, password_hash, role, status, created_at, updated_at) "
                   "VALUES (?, ?, ?, 'user', 'active', ?, ?)", rows)
    db.commit()
    db.close()
    return write_accounts(server, [r[1] for r in rows])


def seed_users_postgres(pg, server, count):
    pg.sql(f"""INSERT INTO users (id, phone, password_hash, role, status, created_at, updated_at)
        SELECT gen_random_uuid()::text, '1390000' || lpad(n::text, 4, '0'), u.password_hash, 'user', 'active', now(), now()
        FROM generate_series(0, {count - 1}) n, (SELECT password_hash FROM users WHERE phone = '{ADMIN_NUMBER}') u""")
    return write_accounts(server, [f"1390000{n:04d}" for n in range(count)])


def write_accounts(server, numbers):
    path = os.path.join(server.dir, "accounts.txt")
    with open(path, "w") as f:
        f.writelines(f"{n} {PASSWORD}\n" for n in numbers)
    return path


def wrk(url, seconds, connections=64, headers=(), script=None, threads=2):
    """Throughput (requests/s), p50 and p99 in ms, and the count of non-2xx answers."""
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "10s"]
    for h in headers:
        cmd += ["-H", h]
    if script:
        cmd += ["-s", script]
    out = subprocess.run(cmd + [url], capture_output=True, text=True, check=True).stdout

    def pct(label):
        m = re.search(label + r"\s+([\d.]+)(us|ms|s)\b", out)
        return float(m.group(1)) * {"us": 0.001, "ms": 1, "s": 1000}[m.group(2)]

    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    total = re.search(r"(\d+) requests in", out)
    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)), "p50": pct("50%"), "p99": pct("99%"),
            "requests": int(total.group(1)) if total else 0,
            "bad": int(non2xx.group(1)) if non2xx else 0, "socket_errors": sum(map(int, errors.groups())) if errors else 0}


def wrk_post_script(path, body, headers):
    """A wrk Lua script that POSTs `body` (form-encoded) with extra headers."""
    lines = ['wrk.method = "POST"', f"wrk.body = {json.dumps(body)}",
             'wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"']
    lines += [f"wrk.headers[{json.dumps(k)}] = {json.dumps(v)}" for k, v in headers.items()]
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


class Load:
    """The Rust load generator (bench/load/)."""

    def __init__(self, binary):
        self.binary = binary

    def run(self, *args):
        out = subprocess.run([self.binary, *map(str, args)], capture_output=True, text=True)
        if out.returncode != 0:
            raise SystemExit(f"load {args[0]} failed: {out.stderr[-2000:]}")
        return json.loads(out.stdout.strip().splitlines()[-1])

    def start(self, *args):
        proc = subprocess.Popen([self.binary, *map(str, args)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        _CHILDREN.append(proc)
        return proc

    @staticmethod
    def finish(proc):
        out, err = proc.communicate(timeout=600)
        if proc.returncode != 0:
            raise SystemExit(f"load failed: {err[-2000:]}")
        return json.loads(out.strip().splitlines()[-1])
