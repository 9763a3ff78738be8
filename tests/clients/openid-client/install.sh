#!/usr/bin/env bash
# openid-client 6 and jose from the npm registry, unchanged, at the versions package-lock.json
# pins, into this folder's node_modules (run by tests/api/oidc/openid_client.rs). Idempotent:
# nothing is fetched when the locked versions are already installed.
set -euo pipefail
cd "$(dirname "$0")"
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "tests/clients/openid-client/install.sh: node and npm are needed" >&2
  exit 1
fi
# Every package of the lock file installed at its locked version?
if node -e '
  const fs = require("fs");
  const lock = JSON.parse(fs.readFileSync("package-lock.json", "utf8"));
  for (const [path, pkg] of Object.entries(lock.packages)) {
    if (!path) continue;
    const installed = JSON.parse(fs.readFileSync(`${path}/package.json`, "utf8"));
    if (installed.version !== pkg.version) process.exit(1);
  }
' 2>/dev/null; then
  exit 0
fi
npm ci --no-audit --no-fund --loglevel=error
