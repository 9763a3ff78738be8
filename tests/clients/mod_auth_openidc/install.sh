#!/usr/bin/env bash
# Debian's apache2 and mod_auth_openidc (2.4.12 on bookworm), unchanged, as an integrator would
# install them. The test starts its own Apache on its own config; the system's site is not used.
set -euo pipefail
installed() {
  [ -x /usr/sbin/apache2 ] && [ -e /usr/lib/apache2/modules/mod_auth_openidc.so ]
}
installed && exit 0
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends apache2 libapache2-mod-auth-openidc
installed
