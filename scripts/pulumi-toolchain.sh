#!/usr/bin/env bash
# Makes the Pulumi toolchain this project is tested with available in .tools/bin (git-ignored):
#   pulumi                          the CLI, github.com/pulumi/pulumi/pkg/v3 at PULUMI_VERSION (tools/pulumi)
#   pulumi-language-nodejs          the Node.js language host (tools/pulumi-language-nodejs, see LANGUAGE_HOST_VERSION)
#   pulumi-resource-command         the provider behind @pulumi/command's local.Command (tools/pulumi-resource-command)
#   pulumi-resource-pulumi-nodejs   the plugin shim for dynamic providers (tools/pulumi-resource-pulumi-nodejs)
# Everything is built from Go modules pinned by the go.mod/go.sum files under tools/, never from release archives.
#
# Cached: the binaries are kept outside the checkout, in $PULUMI_VHD_TOOLCHAIN_CACHE (default
# ${XDG_CACHE_HOME:-$HOME/.cache}/pulumi-vhd/toolchain), under a key hashed from tools/ and this script, so another
# clone on the same machine (CI's) links them instead of building again, and a second run does nothing.
# A `pulumi` already on PATH that reports PULUMI_VERSION is used instead of building one (with its own language host
# when one sits next to it).
# Without Go but with internet access, the CLI and language host come from Pulumi's official installer
# (https://get.pulumi.com) at the same version; this path is documented, not exercised on the offline machines.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TOOLS=$ROOT/tools
BIN=$ROOT/.tools/bin

# Versions come from the files that pin them; the CLI must be the release of the @pulumi/pulumi the program uses.
module_version() { awk -v m="$1" '$1 == m { print $2; exit } $2 == m { print $3; exit }' "$2"; }
npm_version() { node -p "require(process.argv[1]).dependencies[process.argv[2]]" "$ROOT/package.json" "$1"; }
PULUMI_VERSION=$(module_version github.com/pulumi/pulumi/pkg/v3 "$TOOLS/pulumi/go.mod")
# The language host has lived in its own untagged module since 2023-05 (sdk/nodejs/cmd/pulumi-language-nodejs/v3),
# and the module proxy here serves none of its pseudo-versions; sdk/v3 v3.68.0 is the last release that still
# contains it as a package, and the newest that builds here (tools/pulumi-language-nodejs/go.mod).
LANGUAGE_HOST_VERSION=$(module_version github.com/pulumi/pulumi/sdk/v3 "$TOOLS/pulumi-language-nodejs/go.mod")
COMMAND_VERSION=$(npm_version @pulumi/command)
SDK_VERSION=v$(npm_version @pulumi/pulumi)
VERSION_SYMBOL=github.com/pulumi/pulumi/sdk/v3/go/common/version.Version
BINARIES=(pulumi pulumi-language-nodejs pulumi-resource-command pulumi-resource-pulumi-nodejs)

log() { printf 'toolchain: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

[ "$PULUMI_VERSION" = "$SDK_VERSION" ] ||
  die "tools/pulumi/go.mod pins pulumi $PULUMI_VERSION but package.json has @pulumi/pulumi $SDK_VERSION"

cache_key() {
  {
    uname -sm
    echo "$PULUMI_VERSION $LANGUAGE_HOST_VERSION $COMMAND_VERSION"
    cat "${BASH_SOURCE[0]}"
    (cd "$TOOLS" && find . -type f \( -name go.mod -o -name go.sum -o -name '*.go' -o -name 'pulumi-resource-*' \) \
      -print0 | LC_ALL=C sort -z | xargs -0 sha256sum)
  } | sha256sum | cut -c1-16
}

KEY=$(cache_key)
CACHE_ROOT=${PULUMI_VHD_TOOLCHAIN_CACHE:-${XDG_CACHE_HOME:-${HOME:?HOME is not set}/.cache}/pulumi-vhd/toolchain}
CACHE=$CACHE_ROOT/$KEY/bin

installed_is_current() {
  [ "$(cat "$BIN/.key" 2>/dev/null)" = "$KEY" ] || return 1
  local name
  for name in "${BINARIES[@]}"; do [ -x "$BIN/$name" ] || return 1; done
}

# A `pulumi` on PATH (not ours) that reports the pinned version, printed as its path.
ambient_pulumi() {
  local candidate
  candidate=$(PATH=$(printf '%s' "$PATH" | tr ':' '\n' | grep -vxF "$BIN" | paste -sd: -) command -v pulumi) ||
    return 1
  candidate=$(readlink -f "$candidate") # its language host sits next to the real file, not next to a link
  case $candidate in "$ROOT/.tools/"*) return 1 ;; esac # ours, reached through another PATH entry
  [ "$("$candidate" version 2>/dev/null)" = "$PULUMI_VERSION" ] && printf '%s\n' "$candidate"
}

find_go() {
  command -v go 2>/dev/null && return 0
  [ -x /usr/local/go/bin/go ] && printf '%s\n' /usr/local/go/bin/go
}

count_downloads() {
  awk '/^go: downloading / { n++; next } { print } END { if (n) print "toolchain: downloaded " n " Go modules" }'
}

# go_build MODULE_DIR PACKAGE OUTPUT LDFLAGS_X
go_build() {
  local module=$1 package=$2 output=$3 define=$4 started=$SECONDS
  log "building $(basename "$output") from $package (tools/$(basename "$module"))..."
  # Module downloads (hundreds on a cold machine) are counted rather than listed; errors still show.
  (cd "$module" && GOTOOLCHAIN=local GOFLAGS="-mod=readonly -buildvcs=false" nice "$GO" build -p 2 -trimpath \
    -tags osusergo,grpcnotrace -ldflags "-s -w -X $define" -o "$output" "$package") 2>&1 | count_downloads >&2
  log "built $(basename "$output") in $((SECONDS - started))s"
}

# build_binary NAME OUTPUT: builds one of the Go binaries from its wrapper module under tools/.
build_binary() {
  case $1 in
    pulumi) go_build "$TOOLS/pulumi" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi "$2" \
      "$VERSION_SYMBOL=$PULUMI_VERSION" ;;
    pulumi-language-nodejs) go_build "$TOOLS/pulumi-language-nodejs" \
      github.com/pulumi/pulumi/sdk/v3/nodejs/cmd/pulumi-language-nodejs "$2" "$VERSION_SYMBOL=$LANGUAGE_HOST_VERSION" ;;
    pulumi-resource-command) go_build "$TOOLS/pulumi-resource-command" . "$2" "main.version=$COMMAND_VERSION" ;;
  esac
}

# Official installer fallback for machines with internet and no Go (not reachable on the offline machines).
install_from_official_installer() {
  local staging=$1 root
  command -v curl >/dev/null || die "neither Go nor curl is available: install Go >= 1.25 (https://go.dev/dl/)"
  log "Go not found: installing pulumi ${PULUMI_VERSION} with the official installer (https://get.pulumi.com)"
  root=$staging/official
  curl -fsSL https://get.pulumi.com | sh -s -- --version "${PULUMI_VERSION#v}" --install-root "$root" --no-edit-path
  cp "$root/bin/pulumi" "$root/bin/pulumi-language-nodejs" "$staging/"
  PULUMI_HOME=$staging/home "$root/bin/pulumi" plugin install resource command "$COMMAND_VERSION"
  cp "$staging"/home/plugins/resource-command-v"$COMMAND_VERSION"/pulumi-resource-command "$staging/"
}

# fill_cache NAME...: puts into $CACHE those of the named binaries it lacks. Serialized by a lock, so clones
# running at once build only once.
fill_cache() {
  mkdir -p "$CACHE"
  exec 9>"$CACHE_ROOT/.lock"
  flock 9
  local staging name missing=()
  for name in "$@"; do [ -x "$CACHE/$name" ] || missing+=("$name"); done
  if [ ${#missing[@]} -eq 0 ]; then flock -u 9; return; fi
  log "cache miss for ${missing[*]} (key $KEY): building, the first time takes several minutes"
  staging=$(mktemp -d "$CACHE_ROOT/.staging-XXXXXX")
  trap "rm -rf '$staging'" EXIT
  GO=$(find_go) || GO=
  if [ -n "$GO" ]; then
    log "using $("$GO" version)"
  elif [ "${missing[*]}" != pulumi-resource-pulumi-nodejs ]; then
    install_from_official_installer "$staging"
  fi
  for name in "${missing[@]}"; do
    case $name in
      pulumi-resource-pulumi-nodejs) cp "$TOOLS/$name" "$staging/$name" ;;
      *) [ -z "$GO" ] || build_binary "$name" "$staging/$name" ;;
    esac
  done
  for name in "${missing[@]}"; do
    chmod 0755 "$staging/$name"
    mv -f "$staging/$name" "$CACHE/$name" # a rename: readers never see a half-written binary
  done
  rm -rf "$staging"
  trap - EXIT
  flock -u 9
}

# Links (or copies, across file systems) a file into the staging bin folder.
place() { ln -f "$1" "$2" 2>/dev/null || cp -f "$1" "$2"; }

# provided_by_ambient AMBIENT_PULUMI NAME: whether NAME comes from the ambient installation.
provided_by_ambient() {
  [ -n "$1" ] && case $2 in pulumi | pulumi-language-nodejs) [ -x "$(dirname "$1")/$2" ] ;; *) false ;; esac
}

# install_bin AMBIENT_PULUMI: fills .tools/bins/<key> with links to the ambient and cached binaries, then points the
# symlink .tools/bin at it in one rename, so that tests running meanwhile never find the folder missing.
install_bin() {
  local ambient=$1 staging name
  staging=$(mktemp -d "$ROOT/.tools/.bin-XXXXXX")
  chmod 0755 "$staging"
  trap "rm -rf '$staging'" EXIT
  for name in "${BINARIES[@]}"; do
    if provided_by_ambient "$ambient" "$name"; then
      ln -s "$(dirname "$ambient")/$name" "$staging/$name"
    else
      place "$CACHE/$name" "$staging/$name"
    fi
  done
  printf '%s\n' "$KEY" >"$staging/.key"
  mkdir -p "$ROOT/.tools/bins"
  rm -rf "$ROOT/.tools/bins/$KEY"
  mv "$staging" "$ROOT/.tools/bins/$KEY"
  trap - EXIT
  ln -sfn "bins/$KEY" "$BIN.next"
  if [ -d "$BIN" ] && [ ! -L "$BIN" ]; then rm -rf "$BIN"; fi # a plain folder left by an older version of this script
  mv -T "$BIN.next" "$BIN"
  find "$ROOT/.tools/bins" -mindepth 1 -maxdepth 1 ! -name "$KEY" -exec rm -rf {} +
  if [ -n "$ambient" ]; then log "using pulumi ${PULUMI_VERSION} from PATH: $ambient"; fi
}

# Drops cached builds of other keys (older tools/ or script versions) unused for two weeks; each use touches its key.
prune_cache() {
  touch "$CACHE_ROOT/$KEY"
  find "$CACHE_ROOT" -mindepth 1 -maxdepth 1 -type d -name '[0-9a-f]*' -mtime +14 -exec rm -rf {} + 2>/dev/null || true
}

main() {
  if installed_is_current; then
    log "up to date in .tools/bin (key $KEY)"
    return
  fi
  mkdir -p "$ROOT/.tools" "$CACHE_ROOT"
  local ambient needed=()
  ambient=$(ambient_pulumi) || ambient=
  for name in "${BINARIES[@]}"; do
    provided_by_ambient "$ambient" "$name" || needed+=("$name")
  done
  fill_cache "${needed[@]}"
  install_bin "$ambient"
  prune_cache
  log "ready: pulumi $("$BIN/pulumi" version) in .tools/bin"
}

main "$@"
