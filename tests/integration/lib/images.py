# SPDX-License-Identifier: Apache-2.0
"""Images for the tests that build and run containers for real
(test_image.py, test_compose.py, test_systemd_real.py). Python 3, stdlib only.

No image registry is reachable, so everything starts from a base image made
here: `mmdebstrap --variant=apt bookworm` from Debian's mirror, cached as a
tarball in CACHE_DIR (/var/cache/cstatd-test, or $CSTATD_TEST_CACHE), then
`docker import`ed as debian:bookworm-slim on the test's private dockerd.

    import images
    tar = images.base_tarball(t.info)           # cached; ~10-20 s when not
    images.import_base(d, tar)                   # d: a dockerd.PrivateDockerd
    rev = images.git_revision()                  # full commit id, or None
    key = images.cstatd_image_key(rev)           # digest of the build inputs
    images.save_cstatd_image(d, "cstatd:test", key, t.info)
    images.load_cstatd_image(d, key, "cstatd:latest", t.info)  # -> True on a hit

The cstatd image cache: test_image.py builds deploy/Dockerfile anyway and
saves the result (~20 MB) keyed by a digest of everything the build reads
(the files .dockerignore lets into the context, the Dockerfile, the
revision build argument, the base tarball). test_compose.py loads it when
the key matches instead of building the same image again; on a miss it
builds through Compose. Only the newest cached image is kept.
"""

import contextlib
import fcntl
import hashlib
import os
import re
import subprocess
import time

import cstatd_test as ct

CACHE_DIR = os.environ.get("CSTATD_TEST_CACHE", "/var/cache/cstatd-test")
BASE_TAR = os.path.join(CACHE_DIR, "debian-bookworm-apt.tar")
BASE_MAX_AGE = 7 * 24 * 3600  # s
MIRROR = "http://deb.debian.org/debian"
BASE_TAG = "debian:bookworm-slim"
DOCKERFILE = os.path.join(ct.REPO_ROOT, "deploy", "Dockerfile")
IMAGE_PREFIX = "cstatd-image-"


@contextlib.contextmanager
def cache_lock():
    """An exclusive lock on CACHE_DIR (two test runs at once do not build or
    write the same cache entry together)."""
    os.makedirs(CACHE_DIR, exist_ok=True)
    with open(os.path.join(CACHE_DIR, ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def base_tarball(log=print):
    """The mmdebstrap tarball, from the cache or made now (under the cache
    lock; written to a temporary name and renamed, so an interrupted run
    never leaves half a tarball)."""
    with cache_lock():
        try:
            st = os.stat(BASE_TAR)
            age = time.time() - st.st_mtime
            if age < BASE_MAX_AGE and st.st_size > 10 << 20:
                log(f"base tarball from the cache: {BASE_TAR} "
                    f"({st.st_size / 1e6:.0f} MB, {age / 3600:.1f} h old)")
                return BASE_TAR
        except FileNotFoundError:
            pass
        tmp = os.path.join(CACHE_DIR, f".base-{os.getpid()}.tar")
        log(f"mmdebstrap --variant=apt bookworm {tmp} {MIRROR}")
        t0 = time.monotonic()
        try:
            p = subprocess.run(["mmdebstrap", "--variant=apt", "--format=tar", "--quiet",
                                "bookworm", tmp, MIRROR],
                               stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, timeout=300)
            if p.returncode != 0:
                raise RuntimeError(f"mmdebstrap exited {p.returncode}:\n"
                                   + p.stdout.decode("utf-8", "replace")[-2000:])
            os.replace(tmp, BASE_TAR)
        finally:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        log(f"base tarball made in {time.monotonic() - t0:.1f} s "
            f"({os.path.getsize(BASE_TAR) / 1e6:.0f} MB)")
        return BASE_TAR


def import_base(d, tar):
    """docker import the base tarball as debian:bookworm-slim on `d`."""
    d.docker("import", tar, BASE_TAG, timeout=300)


def git_revision():
    """`git rev-parse HEAD` of the repository (None without git or .git)."""
    try:
        p = subprocess.run(["git", "-C", ct.REPO_ROOT, "rev-parse", "HEAD"],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    rev = p.stdout.decode().strip()
    return rev if p.returncode == 0 and re.fullmatch(r"[0-9a-f]{40}", rev) else None


def project_version():
    """VERSION of project() in the top CMakeLists.txt."""
    with open(os.path.join(ct.REPO_ROOT, "CMakeLists.txt")) as f:
        m = re.search(r"project\(\s*cstatd\s+VERSION\s+([0-9][0-9.]*)", f.read())
    return m.group(1) if m else None


def context_files():
    """Files of the build context deploy/Dockerfile sees: .dockerignore
    excludes everything (`**`) and lets a few roots back in (`!path`)."""
    roots = []
    with open(os.path.join(ct.REPO_ROOT, ".dockerignore")) as f:
        for line in f:
            line = line.strip()
            if line.startswith("!"):
                roots.append(line[1:].strip("/"))
    out = []
    for r in roots:
        p = os.path.join(ct.REPO_ROOT, r)
        if os.path.isfile(p):
            out.append(r)
        for dirpath, dirnames, filenames in os.walk(p):
            dirnames.sort()
            for n in sorted(filenames):
                out.append(os.path.relpath(os.path.join(dirpath, n), ct.REPO_ROOT))
    return sorted(set(out))


def cstatd_image_key(revision):
    """A digest of every input of `docker build -f deploy/Dockerfile .`."""
    h = hashlib.sha256()
    for rel in ["deploy/Dockerfile", ".dockerignore"] + context_files():
        h.update(rel.encode() + b"\0")
        with open(os.path.join(ct.REPO_ROOT, rel), "rb") as f:
            h.update(hashlib.sha256(f.read()).digest())
    h.update(f"REVISION={revision or 'unknown'}\0".encode())
    with contextlib.suppress(OSError):
        st = os.stat(BASE_TAR)
        h.update(f"base={st.st_size}:{int(st.st_mtime)}\0".encode())
    return h.hexdigest()[:24]


def _image_path(key):
    return os.path.join(CACHE_DIR, f"{IMAGE_PREFIX}{key}.tar")


def save_cstatd_image(d, tag, key, log=print):
    """docker save `tag` into the cache under `key`; older entries go."""
    t0 = time.monotonic()
    with cache_lock():
        path = _image_path(key)
        tmp = path + f".{os.getpid()}.tmp"
        try:
            d.docker("save", "-o", tmp, tag, timeout=180)
            os.replace(tmp, path)
        finally:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        for n in os.listdir(CACHE_DIR):
            if n.startswith(IMAGE_PREFIX) and os.path.join(CACHE_DIR, n) != path:
                with contextlib.suppress(OSError):
                    os.unlink(os.path.join(CACHE_DIR, n))
    log(f"saved {tag} to {path} ({os.path.getsize(path) / 1e6:.1f} MB) in "
        f"{time.monotonic() - t0:.1f} s")


def load_cstatd_image(d, key, tag, log=print):
    """Load the cached image for `key` and tag it `tag`: True on a hit."""
    path = _image_path(key)
    if not os.path.isfile(path):
        log(f"no cached cstatd image for these sources ({os.path.basename(path)}): "
            "building it")
        return False
    t0 = time.monotonic()
    out = d.docker("load", "-i", path, timeout=180)
    m = re.search(r"Loaded image(?: ID)?: (\S+)", out)
    if not m:
        log(f"docker load of {path} printed no image: {out[-300:]}; building instead")
        return False
    d.docker("tag", m.group(1), tag)
    log(f"loaded {m.group(1)} from {path} as {tag} in {time.monotonic() - t0:.1f} s")
    return True
