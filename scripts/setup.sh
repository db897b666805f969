#!/usr/bin/env bash
# Set up everything the lab needs on a fresh machine, idempotently:
#   1. a Docker engine (on Debian/Ubuntu as root: apt-get install docker.io, then start dockerd),
#   2. debootstrap and iptables (offline image builds, network faults),
#   3. a virtualenv in .venv with the lab installed,
#   4. the server images for LAB_FLAVORS (local, pulled, or built offline from Debian packages);
#   with LAB_TEST_TOOLS=1 (`make test`) also headless Chromium, for the report layout check.
# Usage: bash scripts/setup.sh            (flavors: mysql:9.7 mariadb:10.11 mariadb:10.11+galera)
#        LAB_FLAVORS="mysql:8.4" bash scripts/setup.sh
set -euo pipefail
cd "$(dirname "$0")/.."
FLAVORS=${LAB_FLAVORS:-"mysql:9.7 mariadb:10.11 mariadb:10.11+galera"}
say() { echo "[setup] $*" >&2; }

is_debian_root() { [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; }
apt_updated=0
apt_install() {
  if [ "$apt_updated" = 0 ]; then apt-get update -qq; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

engine_up() { docker info >/dev/null 2>&1; }

if ! engine_up; then
  if [ -n "${DOCKER_HOST:-}" ]; then
    say "DOCKER_HOST=$DOCKER_HOST does not answer; start that engine or unset DOCKER_HOST"; exit 1
  fi
  if ! is_debian_root; then
    say "no Docker engine is running; install Docker (https://docs.docker.com/engine/install/) and start it"; exit 1
  fi
  command -v dockerd >/dev/null 2>&1 || { say "installing docker.io"; apt_install docker.io; }
  say "starting dockerd"
  mkdir -p /var/log
  nohup dockerd --storage-driver=overlay2 >/var/log/lab-dockerd.log 2>&1 &
  for _ in $(seq 1 60); do engine_up && break; sleep 0.5; done
  engine_up || { say "dockerd did not start; see /var/log/lab-dockerd.log"; tail -5 /var/log/lab-dockerd.log >&2; exit 1; }
fi
say "docker engine $(docker info --format '{{.ServerVersion}}') is up"

if is_debian_root; then
  missing=()
  command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
  command -v iptables >/dev/null 2>&1 || missing+=(iptables)
  command -v nsenter >/dev/null 2>&1 || missing+=(util-linux)
  # compose is only for the hands-on docker-compose.yml (and its test); skip it where the v2 plugin exists
  if ! command -v docker-compose >/dev/null 2>&1 && ! docker compose version >/dev/null 2>&1; then
    missing+=(docker-compose)
  fi
  if [ "${LAB_TEST_TOOLS:-0}" = 1 ] && ! command -v chromium >/dev/null 2>&1; then missing+=(chromium); fi
  # the peers the benchmarks measure against (benchmarks/README.md): sysbench, Percona Toolkit
  if [ "${LAB_BENCH_TOOLS:-0}" = 1 ]; then
    command -v sysbench >/dev/null 2>&1 || missing+=(sysbench)
    command -v pt-table-checksum >/dev/null 2>&1 || missing+=(percona-toolkit)
  fi
  [ ${#missing[@]} -eq 0 ] || { say "installing ${missing[*]}"; apt_install "${missing[@]}"; }
  if [ "${LAB_BENCH_TOOLS:-0}" = 1 ] && [ ! -x .lab/tools/percona-sid/usr/bin/pt-table-checksum ]; then
    # bookworm's 3.2.1 cannot talk to MySQL 9.7 (SHOW MASTER STATUS); sid's unpacked beside it, not installed
    say "fetching percona-toolkit from sid into .lab/tools/percona-sid (for MySQL 9.7)"
    sid=$(mktemp -d) && chmod 755 "$sid"   # apt downloads as _apt
    mkdir -p "$sid/lists/partial" .lab/tools
    echo "deb http://deb.debian.org/debian sid main" >"$sid/sources.list"
    sid_apt=(-o Dir::Etc::sourcelist="$sid/sources.list" -o Dir::Etc::sourceparts=- -o Dir::State::Lists="$sid/lists"
             -o Acquire::Check-Valid-Until=false)
    apt-get "${sid_apt[@]}" update -qq
    (cd "$sid" && apt-get "${sid_apt[@]}" download -qq percona-toolkit)
    dpkg-deb -x "$sid"/percona-toolkit_*.deb .lab/tools/percona-sid
    rm -rf "$sid"
  fi
fi

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  say "creating .venv"
  "$PY" -m venv .venv
fi
if ! .venv/bin/python -c "import lab, pytest" >/dev/null 2>&1 || [ pyproject.toml -nt .venv/.installed ]; then
  say "installing the lab into .venv"
  .venv/bin/pip install -q -e '.[dev]'
  touch .venv/.installed
fi
if [ "${LAB_BENCH_TOOLS:-0}" = 1 ] && ! .venv/bin/python -c "import reladiff, testcontainers" >/dev/null 2>&1; then
  say "installing the benchmarks' Python peers (reladiff, testcontainers) into .venv"
  .venv/bin/pip install -q -e '.[dev,bench]'
fi

# shellcheck disable=SC2086
.venv/bin/lab images ensure $FLAVORS
say "ready"
