#!/usr/bin/env bash
# django-cas-ng and Django from PyPI, as an integrator would install them.
set -euo pipefail
cd "$(dirname "$0")"
python3 -c 'import importlib.metadata as m; assert m.version("django-cas-ng") == "5.1.0"' 2>/dev/null \
  || python3 -m pip install -q -r requirements.txt
