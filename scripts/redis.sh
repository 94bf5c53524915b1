#!/usr/bin/env bash
# Provision and run a local Redis >= 8 with vector sets for crmpulse's tests and demo.
#
#   scripts/redis.sh start    start (or reuse) the local server, print its URL
#   scripts/redis.sh stop     stop the server started by "start"
#   scripts/redis.sh url      print the URL "start" would use (starts nothing)
#   scripts/redis.sh bin      print the redis-server command line prefix (for test helpers)
#   scripts/redis.sh status   say which server is used
#
# Order of preference:
#   1. REDIS_URL, when set, is used as is (nothing is started).
#   2. a redis-server >= 8 on PATH whose MODULE LIST shows "vectorset".
#   3. Debian trixie's redis-server + redis-tools and their libraries, fetched with
#      apt-get download from the mirror the system's own apt sources name, unpacked
#      into .cache/redis (git-ignored) and run through the unpacked dynamic loader.
#
# Environment: CRMPULSE_CACHE (default <repo>/.cache), CRMPULSE_REDIS_PORT (default 6390).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cache=${CRMPULSE_CACHE:-$here/.cache}
root=$cache/redis/root
data=$cache/redis/data
port=${CRMPULSE_REDIS_PORT:-6390}
pkgs=(redis-server redis-tools libc6 libstdc++6 libgcc-s1 libjemalloc2 liblzf1 libssl3t64
      libsystemd0 libatomic1 libcap2 libgcrypt20 liblzma5 libzstd1 liblz4-1 libgpg-error0)

log() { echo "redis.sh: $*" >&2; }
die() { log "error: $*"; exit 1; }

# mirror prints the Debian mirror URI from the system's own apt sources.
mirror() {
  local uri=""
  if compgen -G "/etc/apt/sources.list.d/*.sources" >/dev/null; then
    uri=$(awk '/^URIs:/ {print $2}' /etc/apt/sources.list.d/*.sources 2>/dev/null |
          grep -v -- '-security' | grep -E '/debian/?$' | head -n1 || true)
  fi
  if [ -z "$uri" ] && [ -f /etc/apt/sources.list ]; then
    uri=$(awk '$1=="deb" {for(i=2;i<=NF;i++) if ($i ~ /^(https?|file):/) {print $i; exit}}' /etc/apt/sources.list |
          grep -E '/debian/?$' | head -n1 || true)
  fi
  [ -n "$uri" ] || die "no Debian mirror found in /etc/apt/sources.list{,.d}; set REDIS_URL to a Redis >= 8 instead"
  echo "${uri%/}"
}

keyring() {
  for k in /usr/share/keyrings/debian-archive-trixie-stable.gpg /usr/share/keyrings/debian-archive-keyring.gpg; do
    [ -f "$k" ] && { echo "$k"; return; }
  done
  die "no Debian archive keyring with the trixie key (install debian-archive-keyring)"
}

# fetch downloads and unpacks trixie's Redis into $root (once).
fetch() {
  [ -x "$root/usr/bin/redis-server" ] && [ -e "$root/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2" ] && return 0
  command -v apt-get >/dev/null || die "apt-get not found; set REDIS_URL or put redis-server >= 8 on PATH"
  [ "$(uname -m)" = x86_64 ] || die "automatic provisioning supports x86_64 only; set REDIS_URL"
  local apt=$cache/redis/apt m k
  m=$(mirror); k=$(keyring)
  log "fetching Debian trixie redis-server into $root (one time, ~10 MB)"
  rm -rf "$apt" "$root.tmp"
  mkdir -p "$apt/lists/partial" "$apt/archives/partial" "$apt/etc/preferences.d" "$apt/debs" "$root.tmp"
  cat >"$apt/sources.list" <<SRC
deb [signed-by=$k] $m trixie main
SRC
  : >"$apt/status"
  local opts=(-o "Dir::Etc::SourceList=$apt/sources.list" -o "Dir::Etc::SourceParts=-"
              -o "Dir::Etc::Preferences=$apt/etc/preferences" -o "Dir::Etc::PreferencesParts=$apt/etc/preferences.d"
              -o "Dir::State::Lists=$apt/lists" -o "Dir::State::Status=$apt/status"
              -o "Dir::Cache=$apt/cache" -o "Dir::Cache::Archives=$apt/archives"
              -o "APT::Architecture=amd64" -o "APT::Architectures::=amd64" -o "Debug::NoLocking=1"
              -o "Acquire::Languages=none" -q)
  mkdir -p "$apt/cache"
  apt-get "${opts[@]}" update >"$apt/update.log" 2>&1 || { cat "$apt/update.log" >&2; die "apt-get update for trixie failed"; }
  (cd "$apt/debs" && apt-get "${opts[@]}" download "${pkgs[@]}" >"$apt/download.log" 2>&1) ||
    { cat "$apt/download.log" >&2; die "apt-get download failed"; }
  for d in "$apt"/debs/*.deb; do dpkg-deb -x "$d" "$root.tmp"; done
  rm -rf "$root"; mv "$root.tmp" "$root"
  rm -rf "$apt/lists" "$apt/debs"
  [ -x "$root/usr/bin/redis-server" ] || die "unpacked packages have no usr/bin/redis-server"
}

# serverbin prints the command prefix that runs a suitable redis-server.
serverbin() {
  if command -v redis-server >/dev/null 2>&1; then
    local v
    v=$(redis-server --version | sed -n 's/.*v=\([0-9]*\)\..*/\1/p')
    if [ "${v:-0}" -ge 8 ]; then echo "$(command -v redis-server)"; return; fi
  fi
  fetch
  local lib=$root/usr/lib/x86_64-linux-gnu
  echo "$lib/ld-linux-x86-64.so.2 --library-path $lib:$root/lib/x86_64-linux-gnu --argv0 redis-server $root/usr/bin/redis-server"
}

clibin() {
  if command -v redis-cli >/dev/null 2>&1 && [ -z "${CRMPULSE_FORCE_FETCH:-}" ]; then
    echo redis-cli; return
  fi
  fetch
  local lib=$root/usr/lib/x86_64-linux-gnu
  echo "$lib/ld-linux-x86-64.so.2 --library-path $lib:$root/lib/x86_64-linux-gnu --argv0 redis-cli $root/usr/bin/redis-cli"
}

ping() { $(clibin) -p "$port" ping 2>/dev/null | grep -q PONG; }

hasvset() { $(clibin) -p "$port" module list 2>/dev/null | grep -q vectorset; }

start() {
  if [ -n "${REDIS_URL:-}" ]; then echo "$REDIS_URL"; return; fi
  if ping; then
    hasvset || die "something without vector sets answers on 127.0.0.1:$port; stop it or set CRMPULSE_REDIS_PORT"
    echo "redis://127.0.0.1:$port/0"; return
  fi
  local bin; bin=$(serverbin)
  mkdir -p "$data"
  # shellcheck disable=SC2086
  $bin --bind 127.0.0.1 --port "$port" --dir "$data" --appendonly yes --appendfsync everysec \
       --save '' --daemonize yes --pidfile "$data/redis.pid" --logfile "$data/redis.log" \
       --protected-mode yes >/dev/null
  for _ in $(seq 1 100); do ping && break; sleep 0.05; done
  ping || { tail -n 20 "$data/redis.log" >&2 || true; die "redis-server did not answer on 127.0.0.1:$port"; }
  hasvset || die "the started redis-server has no vectorset module"
  echo "redis://127.0.0.1:$port/0"
}

stop() {
  [ -n "${REDIS_URL:-}" ] && { log "REDIS_URL is set; nothing to stop"; return; }
  if ping; then $(clibin) -p "$port" shutdown nosave >/dev/null 2>&1 || true; fi
  rm -f "$data/redis.pid"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  url) if [ -n "${REDIS_URL:-}" ]; then echo "$REDIS_URL"; else echo "redis://127.0.0.1:$port/0"; fi ;;
  bin) serverbin ;;
  cli) clibin ;;
  status) if [ -n "${REDIS_URL:-}" ]; then echo "using REDIS_URL"; elif ping; then echo "running on 127.0.0.1:$port"; else echo "not running"; fi ;;
  *) echo "usage: $0 start|stop|url|bin|cli|status" >&2; exit 2 ;;
esac
