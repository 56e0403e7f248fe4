#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs what building (and, with --test, testing) cstatd needs on Debian 12.
# Only packages that are missing are installed; `apt-get update` runs first
# when anything is.
set -euo pipefail

build_pkgs=(build-essential cmake pkg-config git libmicrohttpd-dev libcurl4-gnutls-dev
	libjansson-dev zlib1g-dev libyaml-dev libgnutls28-dev libcrypt-dev)
test_pkgs=(libcmocka-dev python3 curl prometheus prometheus-alertmanager docker.io
	busybox-static iproute2 procps wrk clang libclang-rt-14-dev python3-yaml systemd mmdebstrap
	openssl apache2-utils valgrind docker-compose strace)

want=("${build_pkgs[@]}")
if [[ "${1:-}" == "--test" ]]; then
	want+=("${test_pkgs[@]}")
fi

missing=()
for p in "${want[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing+=("$p")
	fi
done
if ((${#missing[@]})); then
	echo "deps: installing ${missing[*]}" >&2
	SUDO=""
	[[ $(id -u) -eq 0 ]] || SUDO=sudo
	$SUDO apt-get update -q
	# Services that packages would start (prometheus, docker) are not
	# wanted: the tests start their own instances.
	echo exit 101 | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
	$SUDO chmod +x /usr/sbin/policy-rc.d
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
	$SUDO rm -f /usr/sbin/policy-rc.d
fi
