# SPDX-License-Identifier: Apache-2.0
# A stand-in for prom/prometheus and prom/alertmanager, which cannot be pulled
# here (no registry): the binaries of Debian 12's prometheus (2.42) and
# prometheus-alertmanager (0.25) packages on the locally imported
# debian:bookworm-slim. Only the two binaries (and Alertmanager's default
# notification template, which Debian's build loads from
# /usr/share/prometheus/alertmanager: without it every configuration is
# rejected) are taken from the packages (`apt-get download` + `dpkg-deb -x`
# into a scratch directory: extracting into / would replace the merged-/usr
# symlinks), not their dependencies: they need nothing but libc, and leaving
# out the web UI's JavaScript libraries keeps the image small, which matters
# on the vfs storage driver the tests use (the HTTP API is all the test
# needs). /prometheus and /alertmanager belong to nobody, as in the official
# images, so a fresh named volume mounted there is writable.
#
# One RUN and no other instruction: with the legacy builder on vfs, every
# instruction copies the whole file system. override.yaml sets what the
# official images set (entrypoint, user nobody).
#
#   docker build --network host -f standin.Dockerfile -t cstatd-test/standin:local .
ARG DEBIAN_IMAGE=debian:bookworm-slim
FROM ${DEBIAN_IMAGE}
RUN set -eu; \
    apt-get update -q; \
    cd /tmp; \
    apt-get download -q prometheus prometheus-alertmanager; \
    for deb in ./*.deb; do dpkg-deb -x "$deb" /tmp/pkg; done; \
    install -m 0755 /tmp/pkg/usr/bin/prometheus /tmp/pkg/usr/bin/prometheus-alertmanager \
      /usr/bin/; \
    mkdir -p /usr/share/prometheus; \
    cp -a /tmp/pkg/usr/share/prometheus/alertmanager /usr/share/prometheus/; \
    test -f /usr/share/prometheus/alertmanager/default.tmpl; \
    rm -rf ./*.deb /tmp/pkg /var/lib/apt/lists/*; \
    /usr/bin/prometheus --version; \
    /usr/bin/prometheus-alertmanager --version; \
    mkdir -p /prometheus /alertmanager; \
    chown nobody:nogroup /prometheus /alertmanager
