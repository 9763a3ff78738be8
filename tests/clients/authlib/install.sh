#!/usr/bin/env bash
# authlib (with joserfc and requests) from PyPI, as an integrator would install it.
set -euo pipefail
cd "$(dirname "$0")"
python3 -c 'import authlib, joserfc, requests; assert authlib.__version__ == "1.9.10"' 2>/dev/null \
  || python3 -m pip install -q -r requirements.txt
