#!/usr/bin/env bash
# Debian's apache2 with mod_auth_cas (1.2 on bookworm), unchanged, as an integrator would install
# them; mod_ssl, mod_proxy_http and mod_headers (in apache2 itself) are the TLS proxy the CAS
# tests put in front of Gatehouse. The tests start their own Apache on their own config.
set -euo pipefail
installed() {
  [ -x /usr/sbin/apache2 ] && [ -e /usr/lib/apache2/modules/mod_auth_cas.so ] \
    && [ -e /usr/lib/apache2/modules/mod_ssl.so ]
}
installed && exit 0
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends apache2 libapache2-mod-auth-cas
installed
