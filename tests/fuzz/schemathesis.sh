#!/usr/bin/env bash
# Schema-driven fuzz pass: schemathesis against the server's own /openapi.json, every
# operation, every check, a fixed number of examples per operation. Fails (non-zero exit) on
# any 5xx answer or any check failure.
#
#   tests/fuzz/schemathesis.sh [extra schemathesis run options]
#
# Environment: CARGO_TARGET_DIR (the debug binary $CARGO_TARGET_DIR/debug/gatehouse is brought
# up to date with `cargo build --locked` first, a no-op when it is; GATEHOUSE_BIN names another
# binary instead), FUZZ_EXAMPLES (25), FUZZ_WORKERS (4), FUZZ_OUT (where the report and the
# server log are kept; $CARGO_TARGET_DIR/fuzz).
#
# Everything runs locally and offline: the real binary on a free 127.0.0.1 port with a temp
# data dir (SQLite + in-process store) and test settings, tests/fuzz/sink.py standing in for the
# SMS webhook, SMTP and WeChat, and tests/fuzz/hooks.py giving every authenticated operation a
# live token of its own (see there). Needs python3 with schemathesis 4 (tested with 4.32.5).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/gatehouse-target}"
if [ -n "${GATEHOUSE_BIN:-}" ]; then
  bin="$GATEHOUSE_BIN"
else
  # The build dir may be shared: always bring the binary up to date with this tree.
  cargo build --locked --bin gatehouse
  bin="$CARGO_TARGET_DIR/debug/gatehouse"
fi
examples="${FUZZ_EXAMPLES:-25}"
workers="${FUZZ_WORKERS:-4}"
out="${FUZZ_OUT:-$CARGO_TARGET_DIR/fuzz}"
mkdir -p "$out"
rm -rf "$out/report" "$out/server.log" "$out/schemathesis.txt"

work="$(mktemp -d)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}
wait_http() { # url seconds
  python3 - "$1" "$2" <<'PY'
import sys, time, urllib.request
url, deadline = sys.argv[1], time.monotonic() + float(sys.argv[2])
while True:
    try:
        urllib.request.urlopen(url, timeout=1).close()
        break
    except OSError:
        if time.monotonic() > deadline:
            sys.exit(f"fuzz: {url} did not answer within {sys.argv[2]} s")
        time.sleep(0.1)
PY
}

port="$(free_port)"
sink_port="$(free_port)"
smtp_port="$(free_port)"
base="http://127.0.0.1:$port"
sink="http://127.0.0.1:$sink_port"

python3 "$here/sink.py" "$sink_port" "$smtp_port" &
pids+=($!)
wait_http "$sink/" 10

# Test settings, and nothing else from the environment: cheap bcrypt, captcha answers handed
# out, every delivery to the sink, limits high enough that the fuzzer's own volume is never
# what gets limited, and one log line per request (the 5xx count below reads them).
for var in $(compgen -e | grep '^GATEHOUSE_' || true); do unset "$var"; done
export GATEHOUSE_LISTEN="127.0.0.1:$port"
export GATEHOUSE_PUBLIC_URL="$base"
export GATEHOUSE_DATA_DIR="$work/data"
export GATEHOUSE_BCRYPT_COST=4
export GATEHOUSE_CAPTCHA_TEST_ANSWERS=true
export GATEHOUSE_SMS_PROVIDER=webhook
export GATEHOUSE_SMS_WEBHOOK_URL="$sink/sms"
export GATEHOUSE_SMTP_URL="smtp://127.0.0.1:$smtp_port"
export GATEHOUSE_MAIL_FROM="Gatehouse <sso@fuzz.test>"
export GATEHOUSE_WECHAT_APPID=wxfuzz
export GATEHOUSE_WECHAT_SECRET=fuzz
export GATEHOUSE_WECHAT_API_BASE="$sink"
export GATEHOUSE_CODE_LIMIT_PER_IP_HOUR=1000000
export GATEHOUSE_CODE_CAPTCHA_AFTER=1000000
export GATEHOUSE_SIGNIN_LIMIT_PER_IP=1000000
export GATEHOUSE_SMS_MAX_PER_MINUTE=1000000
export GATEHOUSE_MAIL_MAX_PER_MINUTE=1000000
export GATEHOUSE_LOG=info

operator_number=19900000001
operator_password="Fuzz-operator-7q!Z"
printf '%s' "$operator_password" | "$bin" admin create --number "$operator_number" --password-stdin >/dev/null

"$bin" serve >"$out/server.log" 2>&1 &
pids+=($!)
wait_http "$base/healthz" 60

export GH_FUZZ_BASE="$base" GH_FUZZ_SINK="$sink"
export GH_FUZZ_OPERATOR_NUMBER="$operator_number" GH_FUZZ_OPERATOR_PASSWORD="$operator_password"
export SCHEMATHESIS_HOOKS="$here/hooks.py"

# Deterministic generation by default, so CI sees the same cases every run; FUZZ_SEED=<n>
# explores other cases instead (random generation from that seed).
if [ -n "${FUZZ_SEED:-}" ]; then
  generation=(--seed "$FUZZ_SEED")
  mode="seed $FUZZ_SEED"
else
  generation=(--generation-deterministic)
  mode="deterministic"
fi
version="$(schemathesis --version | awk '{print $NF}')"
echo "fuzz: schemathesis $version against $base/openapi.json, $examples examples per operation," \
  "$mode, $workers workers"
if [ "$version" != "4.32.5" ]; then
  echo "fuzz: note: the hooks were written against schemathesis 4.32.5" >&2
fi
start=$(date +%s)
set +e
# Every check. positive_data_acceptance is replaced by positive_data_acceptance_per_contract
# (hooks.py): the same check, except that the contract's 400s for a well-formed request with a
# wrong captcha, code, password or word-info (CONTRACT.md section 1) count as acceptance.
# Run from the temp dir: schemathesis keeps a `.schemathesis` directory in its working dir.
(cd "$work" && schemathesis run "$base/openapi.json" \
  --checks all \
  --exclude-checks positive_data_acceptance \
  --max-examples "$examples" \
  "${generation[@]}" \
  --workers "$workers" \
  --no-color \
  --report junit,ndjson --report-dir "$out/report" \
  "$@") 2>&1 | tee "$out/schemathesis.txt"
status=${PIPESTATUS[0]}
set -e
elapsed=$(( $(date +%s) - start ))

# Belt and braces: schemathesis's not_a_server_error check covers what it sent; the server's
# log covers every request (the hooks' own included). One line per request at info level.
answers=' request method=[A-Z]* path=[^ ]* status='
fives=$(grep -c "${answers}5[0-9][0-9]" "$out/server.log" || true)
requests=$(grep -c "$answers" "$out/server.log" || true)
echo "fuzz: schemathesis exited $status after ${elapsed}s; the server answered $requests requests," \
  "$fives of them 5xx (report and server log in $out)"
if [ "$status" -ne 0 ] || [ "$fives" -ne 0 ]; then
  if [ "$fives" -ne 0 ]; then grep "${answers}5[0-9][0-9]" "$out/server.log" | head -20; fi
  echo "fuzz: FAILED"
  exit 1
fi
echo "fuzz: passed"
