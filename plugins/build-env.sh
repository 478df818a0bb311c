#!/usr/bin/env bash
# Build the own environment of a plug-in whose pins conflict with physio_bench's:
#   plugins/build-env.sh plugins/physio-bench-moment
# creates <plugin>/.venv from <plugin>/requirements.lock (exact versions, installed with
# --no-deps so that pip never resolves the library's own stale pins into a different torch)
# and installs the plug-in itself (editable) there. physio_bench is not installed there:
# the `subprocess` plug-in runs its worker with that interpreter.
set -euo pipefail
plugin=${1:?usage: plugins/build-env.sh PLUGIN_DIR}
python=${PYTHON:-python3.11}
venv="$plugin/.venv"
start=$(date +%s)
rm -rf "$venv"
"$python" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --upgrade "pip<27"
"$venv/bin/python" -m pip install --quiet --no-deps -r "$plugin/requirements.lock"
"$venv/bin/python" -m pip install --quiet --no-deps --no-build-isolation -e "$plugin"
touch "$venv/.installed"
echo "$plugin: environment built in $(( $(date +%s) - start )) s ($(du -sh "$venv" | cut -f1))"
