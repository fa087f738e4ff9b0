# Shared set-up for scripts/test, scripts/demo and scripts/bench; sourced, not run.
# Creates (or reuses) the project virtualenv in .venv with uv inside it, and puts every
# Python 3.9-3.14 the machine has on PATH for the nox matrix.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${GREEN_LIGHT_VENV:-$ROOT/.venv}"

# pyenv installs the extra interpreters outside PATH; expose python3.X where they exist.
if command -v pyenv >/dev/null 2>&1; then
    for dir in "$(pyenv root)"/versions/3.*/bin; do
        [ -d "$dir" ] && PATH="$PATH:$dir"
    done
fi
export PATH

if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
fi
if [ ! -x "$VENV/bin/uv" ]; then
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check uv
fi
export VIRTUAL_ENV="$VENV"
export PATH="$VENV/bin:$PATH"

# Bytecode compiled at install and cached after: where PYTHONDONTWRITEBYTECODE is set
# (this machine's image sets it), every pytest process the tests start would otherwise
# compile pytest, SQLAlchemy and the plugin from source again. nox's installs too.
export UV_COMPILE_BYTECODE=1
unset PYTHONDONTWRITEBYTECODE

# install_project EXTRAS...: the project, editable, with the given extras.
install_project() {
    local extras
    extras=$(IFS=,; echo "$*")
    uv pip install --quiet -e "$ROOT[$extras]"
}
