#!/bin/sh
# Regenerates the loopback certificates the https fakes serve (test/fakes/server.ts).
# The CA's key is thrown away: nothing else can ever be signed by it. The test runs trust
# ca.pem through NODE_EXTRA_CA_CERTS (test/vitest.config.ts); nothing outside tests does.
set -eu
cd "$(dirname "$0")"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 36500 \
  -subj '/CN=scopegate test fakes CA' -keyout "$work/ca.key" -out ca.pem \
  -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj '/CN=scopegate test fake' \
  -keyout key.pem -out "$work/fake.csr"
printf 'subjectAltName=IP:127.0.0.1,IP:127.0.0.2,IP:127.0.0.3,IP:127.0.0.4\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >"$work/ext"
openssl x509 -req -in "$work/fake.csr" -CA ca.pem -CAkey "$work/ca.key" -CAserial "$work/ca.srl" -CAcreateserial -days 36500 \
  -extfile "$work/ext" -out cert.pem
