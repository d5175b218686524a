# Workloads the cluster test scripts capture (tests/cluster/tap/run, tests/cluster/dist/run).
# Sourced, not executed; needs kubectl with KUBECONFIG set.

# client_and_server NS IMAGE: creates namespace NS holding a Deployment "server" (`testkit serve` on
# :8080, Ready once /ready answers) behind the Service "server" (port 80), then a Pod "client" that
# requests /from-client through that Service every 0.5 s, and waits (up to 120 s each) until both
# are Ready. IMAGE is the testbox image (common.sh's TESTBOX_IMAGE). Exit status 1 when any step
# fails, with kubectl's message on stderr.
client_and_server() {
  local ns=$1 image=$2
  kubectl create namespace "$ns" >/dev/null || return 1
  kubectl apply -n "$ns" -f - >/dev/null <<EOF || return 1
apiVersion: apps/v1
kind: Deployment
metadata: {name: server}
spec:
  replicas: 1
  selector: {matchLabels: {app: server}}
  template:
    metadata: {labels: {app: server}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: server
        image: $image
        imagePullPolicy: Never
        command: [testkit, serve, -listen, ":8080"]
        ports: [{containerPort: 8080}]
        readinessProbe: {httpGet: {path: /ready, port: 8080}, periodSeconds: 1}
---
apiVersion: v1
kind: Service
metadata: {name: server}
spec:
  selector: {app: server}
  ports: [{port: 80, targetPort: 8080}]
EOF
  # The client after the Service, so it gets SERVER_SERVICE_HOST.
  kubectl apply -n "$ns" -f - >/dev/null <<EOF || return 1
apiVersion: v1
kind: Pod
metadata: {name: client}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: client
    image: $image
    imagePullPolicy: Never
    command: [sh, -c, 'while true; do testkit get -timeout 5s "http://\$SERVER_SERVICE_HOST:\$SERVER_SERVICE_PORT/from-client" >/dev/null 2>&1; sleep 0.5; done']
EOF
  kubectl -n "$ns" rollout status deploy/server --timeout=120s >/dev/null &&
    kubectl -n "$ns" wait --for=condition=Ready pod/client --timeout=120s >/dev/null
}

# grpc_client_and_server NS IMAGE: in namespace NS (which must exist), a Deployment "grpc-server"
# (`testkit grpc-serve`, the standard gRPC health service on :9090) behind the Service "grpc-server"
# (port 9090), and a Pod "grpc-client" that calls grpc.health.v1.Health/Check through that Service
# every 0.5 s, alternately for a served service ("shop": OK) and an unknown one ("nope":
# NOT_FOUND); waits (up to 120 s each) until both are Ready.
grpc_client_and_server() {
  local ns=$1 image=$2
  kubectl apply -n "$ns" -f - >/dev/null <<EOF || return 1
apiVersion: apps/v1
kind: Deployment
metadata: {name: grpc-server}
spec:
  replicas: 1
  selector: {matchLabels: {app: grpc-server}}
  template:
    metadata: {labels: {app: grpc-server}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: server
        image: $image
        imagePullPolicy: Never
        command: [testkit, grpc-serve, -listen, ":9090"]
        ports: [{containerPort: 9090}]
        readinessProbe: {tcpSocket: {port: 9090}, periodSeconds: 1}
---
apiVersion: v1
kind: Service
metadata: {name: grpc-server}
spec:
  selector: {app: grpc-server}
  ports: [{port: 9090, targetPort: 9090}]
EOF
  kubectl apply -n "$ns" -f - >/dev/null <<EOF || return 1
apiVersion: v1
kind: Pod
metadata: {name: grpc-client}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: client
    image: $image
    imagePullPolicy: Never
    command: [sh, -c, 'while true; do for s in shop nope; do testkit grpc-call -target "\$GRPC_SERVER_SERVICE_HOST:\$GRPC_SERVER_SERVICE_PORT" -service \$s >/dev/null 2>&1; sleep 0.5; done; done']
EOF
  kubectl -n "$ns" rollout status deployment/grpc-server --timeout=120s >/dev/null || return 1
  kubectl -n "$ns" wait --for=condition=Ready pod/grpc-client --timeout=120s >/dev/null || return 1
}
