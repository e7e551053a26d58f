#!/usr/bin/env bash
# Installs aks-trustedaccess from a GitHub release: picks the asset for this OS and CPU,
# checks it against the release's SHA256SUMS (always) and its build-provenance attestation
# (`gh attestation verify`, when asked and gh is on PATH), unpacks it into a cache directory and
# puts that directory on PATH. The logic of .github/actions/install/action.yml; tested by
# tests/it/installer.rs against a local server.
#
# Usage: install.sh [--resolve] [--version V] [--verify true|false] [--base-url URL] [--dir DIR]
#   --resolve   print version=, target=, dir= (for the action's cache step) and stop.
# Prints the directory holding the binary on stdout (messages go to stderr), so outside GitHub:
#   PATH="$(bash install.sh --version v1.2.3):$PATH"
# Environment (the action's inputs): AKS_TRUSTEDACCESS_VERSION, AKS_TRUSTEDACCESS_VERIFY,
#   AKS_TRUSTEDACCESS_BASE_URL, AKS_TRUSTEDACCESS_DIR, AKS_TRUSTEDACCESS_REPO (owner/name;
#   default $GITHUB_REPOSITORY); RUNNER_OS and RUNNER_ARCH (set by GitHub; else uname).
# Exit codes: 0 installed; 1 a download or unpacking failed; 2 invalid input; 3 no such release
#   or asset; 5 verification failed (checksum or attestation); 6 no build for this platform.
set -euo pipefail

readonly E_ERROR=1 E_USAGE=2 E_NOT_FOUND=3 E_VERIFY=5 E_PLATFORM=6
readonly NAME=aks-trustedaccess

fail() { # code message
  local code=$1
  shift
  printf 'install-%s: error: %s\n' "$NAME" "$*" >&2
  if [ "${GITHUB_ACTIONS:-}" = true ]; then
    # An annotation on the run's page; % and newlines escaped as workflow commands expect.
    local text=${*//%/%25}
    text=${text//$'\n'/%0A}
    printf '::error title=install %s::%s\n' "$NAME" "$text"
  fi
  exit "$code"
}

note() { printf 'install-%s: %s\n' "$NAME" "$*" >&2; }

version=${AKS_TRUSTEDACCESS_VERSION:-}
verify=${AKS_TRUSTEDACCESS_VERIFY:-true}
base_url=${AKS_TRUSTEDACCESS_BASE_URL:-}
dir=${AKS_TRUSTEDACCESS_DIR:-}
repo=${AKS_TRUSTEDACCESS_REPO:-${GITHUB_REPOSITORY:-}}
resolve_only=false

while [ $# -gt 0 ]; do
  case $1 in
    --resolve) resolve_only=true ;;
    --version | --verify | --base-url | --dir)
      [ $# -ge 2 ] || fail $E_USAGE "$1 needs a value"
      case $1 in
        --version) version=$2 ;;
        --verify) verify=$2 ;;
        --base-url) base_url=$2 ;;
        --dir) dir=$2 ;;
      esac
      shift
      ;;
    *) fail $E_USAGE "unknown argument '$1' (see the usage at the top of $0)" ;;
  esac
  shift
done

# The version: given (v1.2.3 or 1.2.3), else the one of the checkout this script belongs to (the
# action's own ref: the release workflow makes every tag equal Cargo.toml's version).
own_version() {
  local manifest
  manifest="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)/Cargo.toml"
  [ -f "$manifest" ] || return 0
  sed -n 's/^version = "\([^"]*\)"$/\1/p' "$manifest" | head -n 1
}

if [ -z "$version" ]; then
  version=$(own_version)
  [ -n "$version" ] || fail $E_USAGE "no version given and none found beside this script; set the 'version' input"
fi
version=${version#v}
[[ $version =~ ^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$ ]] ||
  fail $E_USAGE "version 'v$version' is not a release version such as v1.2.3"
tag=v$version

case $verify in
  true | false) ;;
  *) fail $E_USAGE "verify is '$verify'; expected true or false" ;;
esac

# The platform: GitHub's RUNNER_OS/RUNNER_ARCH, else uname's answer in the same words.
os=${RUNNER_OS:-}
arch=${RUNNER_ARCH:-}
if [ -z "$os" ]; then
  case $(uname -s) in
    Linux) os=Linux ;;
    Darwin) os=macOS ;;
    MINGW* | MSYS* | CYGWIN*) os=Windows ;;
    *) os=$(uname -s) ;;
  esac
fi
if [ -z "$arch" ]; then
  case $(uname -m) in
    x86_64 | amd64) arch=X64 ;;
    aarch64 | arm64) arch=ARM64 ;;
    *) arch=$(uname -m) ;;
  esac
fi
exe=
case $os/$arch in
  Linux/X64) target=x86_64-unknown-linux-musl ;;
  Linux/ARM64) target=aarch64-unknown-linux-musl ;;
  macOS/X64) target=x86_64-apple-darwin ;;
  macOS/ARM64) target=aarch64-apple-darwin ;;
  Windows/X64) target=x86_64-pc-windows-msvc exe=.exe ;;
  *) fail $E_PLATFORM "no $NAME build for $os/$arch; releases have Linux X64 and ARM64, macOS X64 and ARM64, Windows X64 (build from source: cargo install --locked $NAME)" ;;
esac
asset=$NAME-$tag-$target.tar.gz

# Windows runners give native paths (C:\...): bash works with the /c/... form, while GitHub
# (the cache, GITHUB_PATH) wants the native one.
native() { if command -v cygpath >/dev/null 2>&1; then cygpath -w "$1"; else printf '%s' "$1"; fi; }
posix() { if command -v cygpath >/dev/null 2>&1; then cygpath -u "$1"; else printf '%s' "$1"; fi; }

if [ -z "$dir" ]; then
  # The runner's tool cache layout (<tool>/<version>/<arch>), kept between jobs on self-hosted
  # runners; the action also saves it with actions/cache.
  root=${RUNNER_TOOL_CACHE:-${XDG_CACHE_HOME:-${HOME:-.}/.cache}}
  dir=$(posix "$root")/$NAME/$version/$target
fi
dir=$(posix "$dir")

if [ "$resolve_only" = true ]; then
  printf 'version=%s\ntarget=%s\ndir=%s\n' "$tag" "$target" "$(native "$dir")"
  exit 0
fi

if [ -z "$base_url" ]; then
  [ -n "$repo" ] || fail $E_USAGE "no repository to download from: set AKS_TRUSTEDACCESS_REPO (owner/name) or the base-url input"
  base_url=https://github.com/$repo/releases/download
fi
base_url=${base_url%/}
command -v curl >/dev/null 2>&1 || fail $E_ERROR "curl is needed to download releases"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# fetch URL FILE WHAT: 404 is "not found" (exit 3), anything else that is not 2xx an error.
fetch() {
  local status
  status=$(curl --silent --show-error --location --retry 3 --output "$2" --write-out '%{http_code}' "$1") ||
    fail $E_ERROR "cannot download $3 from $1"
  case $status in
    2??) ;;
    404) fail $E_NOT_FOUND "$3 not found: $1 answered 404 (is $tag released, with a build for $target?)" ;;
    *) fail $E_ERROR "cannot download $3: $1 answered HTTP $status" ;;
  esac
}

sha256() {
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum "$1" | cut -d ' ' -f 1
  elif command -v shasum >/dev/null 2>&1; then
    shasum -a 256 "$1" | cut -d ' ' -f 1
  else
    fail $E_ERROR "neither sha256sum nor shasum is installed, so the download cannot be checked"
  fi
}

fetch "$base_url/$tag/SHA256SUMS" "$work/SHA256SUMS" "the checksum file SHA256SUMS of $tag"
expected=$(awk -v a="$asset" '$2 == a || $2 == "*" a { print tolower($1); exit }' "$work/SHA256SUMS")
[ -n "$expected" ] ||
  fail $E_NOT_FOUND "release $tag has no asset $asset (its SHA256SUMS does not list one for $target)"
[[ $expected =~ ^[0-9a-f]{64}$ ]] || fail $E_VERIFY "SHA256SUMS of $tag has no valid SHA-256 for $asset"

bin=$dir/$NAME$exe
if [ -x "$bin" ] && [ "$(cat "$dir/.sha256" 2>/dev/null || true)" = "$expected" ]; then
  note "$tag found in the cache at $(native "$dir") (from the asset with SHA-256 $expected)"
else
  fetch "$base_url/$tag/$asset" "$work/$asset" "the asset $asset"
  actual=$(sha256 "$work/$asset")
  [ "$actual" = "$expected" ] ||
    fail $E_VERIFY "checksum mismatch for $asset: SHA256SUMS says $expected, the download is $actual; nothing was installed"
  note "checksum verified: $asset $actual"
  if [ "$verify" = true ]; then
    if command -v gh >/dev/null 2>&1; then
      [ -n "$repo" ] || fail $E_USAGE "verify=true needs the repository that built the release: set AKS_TRUSTEDACCESS_REPO"
      gh attestation verify "$work/$asset" --repo "$repo" >&2 ||
        fail $E_VERIFY "attestation of $asset could not be verified (gh attestation verify --repo $repo); nothing was installed"
      note "build-provenance attestation verified (built by $repo)"
    else
      note "warning: gh is not on PATH, so the build-provenance attestation was not checked (the checksum was)"
    fi
  fi
  mkdir -p "$work/unpacked"
  tar -xzf "$work/$asset" -C "$work/unpacked" || fail $E_ERROR "cannot unpack $asset"
  [ -f "$work/unpacked/$NAME$exe" ] || fail $E_ERROR "$asset has no $NAME$exe at its top level"
  printf '%s\n' "$expected" >"$work/unpacked/.sha256"
  # Into place whole: a half-unpacked directory is never left where the cache would keep it.
  mkdir -p "$(dirname "$dir")"
  rm -rf "$dir"
  mv "$work/unpacked" "$dir"
fi

chmod +x "$bin"
installed=$("$bin" --version 2>&1) || fail $E_ERROR "the installed $bin does not run: $installed"
if [ -n "${GITHUB_PATH:-}" ]; then native "$dir" >>"$GITHUB_PATH" && printf '\n' >>"$GITHUB_PATH"; fi
if [ -n "${GITHUB_OUTPUT:-}" ]; then
  printf 'version=%s\npath=%s\n' "$tag" "$(native "$dir")" >>"$GITHUB_OUTPUT"
fi
note "installed $installed ($tag, $target) in $(native "$dir")"
printf '%s\n' "$dir"
