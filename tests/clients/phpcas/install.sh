#!/usr/bin/env bash
# Debian's phpCAS (php-cas 1.6.0 on bookworm) with the PHP it needs, unchanged, as an integrator
# would install it. The test serves tests/clients/phpcas/index.php with PHP's own web server.
set -euo pipefail
installed() {
  command -v php >/dev/null 2>&1 && [ -e /usr/share/php/CAS.php ] \
    && php -r 'exit(extension_loaded("curl") && extension_loaded("dom") ? 0 : 1);'
}
installed && exit 0
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends php-cli php-cas php-curl php-xml
installed
