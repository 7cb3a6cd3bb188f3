#!/usr/bin/env bash
# deps.sh -- installs the Debian packages this project needs, and only the missing ones;
# creates the unprivileged user that runs the stack when invoked as root.
set -euo pipefail

# package -> a file it installs (checking a file is fast and independent of dpkg's names)
declare -A NEED=(
  [gcc]=/usr/bin/gcc
  [make]=/usr/bin/make
  [curl]=/usr/bin/curl
  [libpq-dev]=/usr/include/postgresql/libpq-fe.h
  [postgresql-server-dev-15]=/usr/lib/postgresql/15/lib/libpgcommon_shlib.a
  [libfcgi-dev]=/usr/include/fcgiapp.h
  [libcjson-dev]=/usr/include/cjson/cJSON.h
  [libssl-dev]=/usr/include/openssl/evp.h
  [libcmocka-dev]=/usr/include/cmocka.h
  [nginx-light]=/usr/sbin/nginx
  [spawn-fcgi]=/usr/bin/spawn-fcgi
  [multiwatch]=/usr/bin/multiwatch
  [postgresql-15]=/usr/lib/postgresql/15/bin/initdb
  [postgresql-client-15]=/usr/bin/psql
  [wrk]=/usr/bin/wrk
  [jq]=/usr/bin/jq
  [openssl]=/usr/bin/openssl
  [clang]=/usr/bin/clang
  [libclang-rt-14-dev]=/usr/lib/llvm-14/lib/clang/14.0.6/lib/linux/libclang_rt.fuzzer-x86_64.a
)

missing=()
for pkg in "${!NEED[@]}"; do
  [ -e "${NEED[$pkg]}" ] || missing+=("$pkg")
done

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "deps: missing packages: ${missing[*]}; run 'make deps' as root" >&2
    exit 1
  fi
  # libpq.a and the libpgcommon/libpgport archives it is linked with come from one release.
  case " ${missing[*]} " in
  *" postgresql-server-dev-15 "*) [[ " ${missing[*]} " == *" libpq-dev "* ]] || missing+=(libpq-dev) ;;
  esac
  echo "deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# PostgreSQL refuses to run as root, and the stack runs as one unprivileged user.
if [ "$(id -u)" -eq 0 ] && ! id elog >/dev/null 2>&1; then
  useradd --system --no-create-home --shell /usr/sbin/nologin elog
  echo "deps: created system user elog"
fi
exit 0
