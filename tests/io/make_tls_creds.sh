#!/usr/bin/env bash
# Generates throw-away x509 credentials for the TLS tests, in the directory
# layout of QEMU's tls-creds-x509 (ca-cert.pem, server-cert.pem,
# server-key.pem, client-cert.pem, client-key.pem), with certtool (gnutls-bin):
#
#   OUT/good/        a CA and a server and a client certificate it signed; the
#                    one directory serves either end, as with QEMU
#   OUT/other-ca/    the same from another CA (its own ca-cert.pem)
#   OUT/expired/     the good CA, with server and client certificates that
#                    expired in 2021
#   OUT/wrong-name/  the good CA, with certificates for elsewhere.invalid only
#
# The server certificates name localhost and 127.0.0.1, plus each --ip and
# --dns given (e.g. the primary host's address in a namespace pair).
# Usage: make_tls_creds.sh OUT [--ip ADDR]... [--dns NAME]...
set -euo pipefail
out=${1:?usage: make_tls_creds.sh OUT [--ip ADDR]... [--dns NAME]...}
shift
names=$'dns_name = "localhost"\nip_address = "127.0.0.1"'
while [ $# -gt 0 ]; do
    case $1 in
    --ip) names+=$'\n'"ip_address = \"$2\""; shift 2 ;;
    --dns) names+=$'\n'"dns_name = \"$2\""; shift 2 ;;
    *) echo "make_tls_creds.sh: unknown option $1" >&2; exit 2 ;;
    esac
done
command -v certtool >/dev/null || { echo "make_tls_creds.sh: certtool missing (apt-get install gnutls-bin)" >&2; exit 1; }
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

key() { certtool --generate-privkey --key-type=ecdsa --curve=secp256r1 --outfile "$1" 2>/dev/null; }

# ca NAME: $tmp/NAME-ca-{key,cert}.pem
ca() {
    key "$tmp/$1-ca-key.pem"
    printf 'cn = "colo-graph test CA %s"\nca\ncert_signing_key\nexpiration_days = 30\n' "$1" >"$tmp/$1-ca.tmpl"
    certtool --generate-self-signed --load-privkey "$tmp/$1-ca-key.pem" --template "$tmp/$1-ca.tmpl" \
        --outfile "$tmp/$1-ca-cert.pem" 2>/dev/null
}

# leaf DIR CA ROLE NAMES [DATES]: DIR/ROLE-{cert,key}.pem signed by CA
leaf() {
    local dir=$1 ca=$2 role=$3 san=$4 dates=${5:-expiration_days = 30}
    local purpose=tls_www_server
    [ "$role" = client ] && purpose=tls_www_client
    key "$dir/$role-key.pem"
    printf 'cn = "colo-graph test %s"\n%s\n%s\n%s\nsigning_key\nencryption_key\n' \
        "$role" "$san" "$purpose" "$dates" >"$tmp/leaf.tmpl"
    certtool --generate-certificate --load-privkey "$dir/$role-key.pem" \
        --load-ca-certificate "$tmp/$ca-ca-cert.pem" --load-ca-privkey "$tmp/$ca-ca-key.pem" \
        --template "$tmp/leaf.tmpl" --outfile "$dir/$role-cert.pem" 2>/dev/null
    chmod 0600 "$dir/$role-key.pem"
}

# set DIR CA NAMES [DATES]: a complete QEMU-style directory
set_of() {
    mkdir -p "$1"
    cp "$tmp/$2-ca-cert.pem" "$1/ca-cert.pem"
    leaf "$1" "$2" server "$3" "${4:-}"
    leaf "$1" "$2" client 'dns_name = "colo-graph-client"' "${4:-}"
}

ca good
ca other
set_of "$out/good" good "$names"
set_of "$out/other-ca" other "$names"
set_of "$out/expired" good "$names" $'activation_date = "2020-01-01 00:00:00"\nexpiration_date = "2021-01-01 00:00:00"'
set_of "$out/wrong-name" good 'dns_name = "elsewhere.invalid"'
