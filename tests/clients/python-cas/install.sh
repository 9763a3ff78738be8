#!/usr/bin/env bash
# python-cas from PyPI (it brings lxml and requests), as an integrator would install it. 1.7.2:
# 1.7.1 compares the bytes of a CAS 1.0 answer with the text "yes" and so never validates.
set -euo pipefail
cd "$(dirname "$0")"
python3 -c 'import importlib.metadata as m; assert m.version("python-cas") == "1.7.2"' 2>/dev/null \
  || python3 -m pip install -q -r requirements.txt
