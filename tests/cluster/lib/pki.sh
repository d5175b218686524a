#!/usr/bin/env bash
# Makes the cluster's certificates and kubeconfigs with openssl (EC P-256: fast
# to generate, accepted by every component). Kept across `up` runs while the
# cluster lives; `down` deletes them with the rest of .state.
set -euo pipefail
. "$(dirname "$0")/common.sh"

mkdir -p "$PKI"
cd "$PKI"

key() { [ -f "$1.key" ] || openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1.key" 2>/dev/null; }

if [ ! -f ca.crt ]; then
  key ca
  openssl req -x509 -new -key ca.key -sha256 -days 3650 -subj "/CN=kubectl-shark-test-ca" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" \
    -out ca.crt 2>/dev/null
fi

# cert NAME SUBJECT USAGE [SAN]: a leaf certificate signed by the CA.
cert() {
  local name=$1 subj=$2 usage=$3 san=${4:-}
  [ -f "$name.crt" ] && return 0
  key "$name"
  {
    echo "basicConstraints=critical,CA:FALSE"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    echo "extendedKeyUsage=$usage"
    [ -n "$san" ] && echo "subjectAltName=$san"
  } > "$name.ext"
  openssl req -new -key "$name.key" -subj "$subj" -out "$name.csr" 2>/dev/null
  openssl x509 -req -in "$name.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -sha256 -days 3650 \
    -extfile "$name.ext" -out "$name.crt" 2>/dev/null
  rm -f "$name.csr" "$name.ext"
}

cert apiserver "/CN=kube-apiserver" serverAuth \
  "DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,DNS:localhost,IP:127.0.0.1,IP:$KUBERNETES_SVC_IP,IP:$NODE_IP"
cert apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client" clientAuth
cert admin "/O=system:masters/CN=kubernetes-admin" clientAuth
cert controller-manager "/CN=system:kube-controller-manager" clientAuth
cert scheduler "/CN=system:kube-scheduler" clientAuth
cert kube-proxy "/CN=system:kube-proxy" clientAuth
cert kubelet "/O=system:nodes/CN=system:node:$NODE_NAME" clientAuth
cert kubelet-serving "/CN=$NODE_NAME" serverAuth "DNS:$NODE_NAME,IP:$NODE_IP"
# Service-account token signing key pair.
[ -f sa.key ] || { key sa; openssl pkey -in sa.key -pubout -out sa.pub 2>/dev/null; }

# kubeconfig FILE USER: a kubeconfig for one client certificate.
kubeconfig() {
  local file=$1 user=$2
  cat > "$file" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: kubectl-shark-test
  cluster:
    server: https://$NODE_IP:$APISERVER_PORT
    certificate-authority-data: $(base64 -w0 < ca.crt)
users:
- name: $user
  user:
    client-certificate-data: $(base64 -w0 < "$user.crt")
    client-key-data: $(base64 -w0 < "$user.key")
contexts:
- name: kubectl-shark-test
  context:
    cluster: kubectl-shark-test
    user: $user
current-context: kubectl-shark-test
EOF
  chmod 600 "$file"
}
for u in admin controller-manager scheduler kube-proxy kubelet; do kubeconfig "$PKI/$u.kubeconfig" "$u"; done
cp "$PKI/admin.kubeconfig" "$KUBECONFIG_FILE"
chmod 600 "$KUBECONFIG_FILE"
