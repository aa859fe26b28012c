#!/usr/bin/env bash
# Writes the plugin template the way `mentortrack plugin new` does, and with
# --check also builds and tests the result. A reference for the host's Rust
# implementation and a check for changes to the template or the SDK.
#
#   plugins/template/materialise.sh NAME PUBLISHER DIR [--check]
#
# Writes the files listed in MANIFEST.txt into DIR (which must not exist yet).
# --check then runs, in DIR: cargo fmt --check, clippy -D warnings, cargo test,
# and the wasm32-wasip2 release build (set CARGO_TARGET_DIR to share a target
# directory between runs).
set -euo pipefail

die() {
    printf 'materialise.sh: %s\n' "$*" >&2
    exit 1
}

[ $# -ge 3 ] || die "usage: materialise.sh NAME PUBLISHER DIR [--check]"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
NAME=$1
PUBLISHER=$2
DIR=$3
CHECK=${4:-}

# The same rules as the SDK's lint for a manifest id and a publisher code.
[[ $NAME =~ ^[a-z][a-z0-9-]{0,63}$ ]] ||
    die "NAME must be 1-64 lower-case letters, digits and hyphens, starting with a letter"
[ "$NAME" != mentortrack-plugin-sdk ] || die "NAME must not be the SDK's package name"
[[ $PUBLISHER =~ ^[A-Z0-9_-]{1,32}$ ]] || die "PUBLISHER must be 1-32 of A-Z, 0-9, - and _"
[ ! -e "$DIR" ] || die "$DIR already exists"
CRATE_NAME=${NAME//-/_}

while read -r path from source extra; do
    case $path in '' | '#'*) continue ;; esac
    mkdir -p "$DIR/$(dirname "$path")"
    if [ -z "$from" ]; then
        # A template: substitute the placeholders (the values hold no sed
        # metacharacters, given the checks above).
        sed -e "s/{{name}}/$NAME/g" -e "s/{{crate_name}}/$CRATE_NAME/g" \
            -e "s/{{publisher}}/$PUBLISHER/g" "$HERE/files/$path" >"$DIR/$path"
        if grep -n '{{[a-z_]*}}' "$DIR/$path"; then
            die "unknown placeholder left in $path"
        fi
    else
        [ "$from" = from ] && [ -n "$source" ] && [ -z "$extra" ] ||
            die "bad MANIFEST.txt line: $path $from $source $extra"
        cp "$HERE/$source" "$DIR/$path"
    fi
done <"$HERE/MANIFEST.txt"
echo "wrote $DIR"

if [ "$CHECK" = --check ]; then
    cd "$DIR"
    set -x
    cargo fmt --all --check
    cargo clippy --workspace --all-targets -- -D warnings
    cargo test --workspace
    cargo build --release --target wasm32-wasip2
    ls -l "${CARGO_TARGET_DIR:-target}/wasm32-wasip2/release/$CRATE_NAME.wasm"
fi
