#!/bin/sh
# Fill in the upstream (PMKPI_AUTH_UPSTREAM, host:port) and the htpasswd file (PMKPI_AUTH_HTPASSWD_FILE),
# then run nginx in the foreground. No users means no access: every request then answers 401.
set -eu
: "${PMKPI_AUTH_UPSTREAM:?set PMKPI_AUTH_UPSTREAM, e.g. webserver:3000}"
: "${PMKPI_AUTH_HTPASSWD_FILE:?set PMKPI_AUTH_HTPASSWD_FILE, e.g. /run/secrets/auth_htpasswd}"
if [ ! -r "$PMKPI_AUTH_HTPASSWD_FILE" ]; then
  echo "pmkpi-auth-proxy: PMKPI_AUTH_HTPASSWD_FILE=$PMKPI_AUTH_HTPASSWD_FILE is not a readable file" >&2
  exit 1
fi
sed -e "s|@UPSTREAM@|$PMKPI_AUTH_UPSTREAM|g" -e "s|@HTPASSWD@|$PMKPI_AUTH_HTPASSWD_FILE|g" \
  /etc/nginx/pmkpi.conf.in > /tmp/nginx.conf
exec nginx -c /tmp/nginx.conf -g "daemon off;"
