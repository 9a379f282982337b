#!/usr/bin/env bash
# Install what fahr needs to build, run and test on Debian 12, if missing.
set -euo pipefail

packages=(
    build-essential meson ninja-build pkg-config
    libcurl4-openssl-dev libssl-dev libjansson-dev libarchive-dev libexpat1-dev check
    docker.io docker-registry debootstrap debian-archive-keyring ca-certificates shellcheck python3
    clang libclang-rt-14-dev libisal-dev tmux bsdutils
    openssl time # the hardening test: a certificate, and peak memory (/usr/bin/time -v)
    busybox # the build-files test runs run.sh's container contract under busybox sh too
    apache2-utils # htpasswd -B: the Google and AWS benches' token-protected docker-registry
    scdoc man-db # the manuals: scdoc turns them into roff, man --warnings checks them
    bash-completion zsh fish # where the completions install (pkg-config), and their tests
    debhelper lintian # the deb test: dpkg-buildpackage -b of debian/, then lintian
)

missing=()
for package in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$package")
    fi
done
[ "${#missing[@]}" -eq 0 ] && exit 0

sudo=""
if [ "$(id -u)" -ne 0 ]; then
    sudo="sudo"
fi
echo "install-deps: installing ${missing[*]}" >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
