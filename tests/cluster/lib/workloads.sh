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

# redis_client_and_server NS IMAGE: in namespace NS (which must exist), a Deployment "redis" running
# Debian's redis-server 7 (no persistence, no AUTH, protected mode off, :6379; Ready once
# `redis-cli ping` answers) behind the Service "redis" (port 6379), and a Pod "redis-client" that runs
# real redis-cli against that Service every 0.5 s, one connection per command: SET shark:greeting
# hello (OK), GET shark:greeting (hello), INCR shark:greeting (ERR: not an integer). The replies go
# to the client's log. IMAGE is lib/images.sh's redis image (common.sh's REDIS_IMAGE). Waits (up to
# 120 s each) until both are Ready; exit status 1 when any step fails, with kubectl's message on stderr.
redis_client_and_server() {
  local ns=$1 image=$2
  kubectl apply -n "$ns" -f - >/dev/null <<EOF || return 1
apiVersion: apps/v1
kind: Deployment
metadata: {name: redis}
spec:
  replicas: 1
  selector: {matchLabels: {app: redis}}
  template:
    metadata: {labels: {app: redis}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: server
        image: $image
        imagePullPolicy: Never
        command: [redis-server, --save, "", --appendonly, "no", --protected-mode, "no", --port, "6379"]
        ports: [{containerPort: 6379}]
        readinessProbe: {exec: {command: [redis-cli, -h, 127.0.0.1, -p, "6379", ping]}, periodSeconds: 1}
---
apiVersion: v1
kind: Service
metadata: {name: redis}
spec:
  selector: {app: redis}
  ports: [{port: 6379, targetPort: 6379}]
EOF
  # The client after the Service, so it gets REDIS_SERVICE_HOST.
  kubectl apply -n "$ns" -f - >/dev/null <<EOF || return 1
apiVersion: v1
kind: Pod
metadata: {name: redis-client}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: client
    image: $image
    imagePullPolicy: Never
    command:
    - sh
    - -c
    - |
      cli() { redis-cli -h "\$REDIS_SERVICE_HOST" -p "\$REDIS_SERVICE_PORT" "\$@" 2>&1; }
      while true; do
        cli SET shark:greeting hello; cli GET shark:greeting; cli INCR shark:greeting
        sleep 0.5
      done
EOF
  kubectl -n "$ns" rollout status deployment/redis --timeout=120s >/dev/null || return 1
  kubectl -n "$ns" wait --for=condition=Ready pod/redis-client --timeout=120s >/dev/null || return 1
}

# postgres_client_and_server NS IMAGE: in namespace NS (which must exist), a Deployment "postgres"
# running Debian's PostgreSQL 15: at container start, as the image's non-root user "postgres",
# initdb of a fresh cluster under /tmp (superuser postgres, trust authentication, and trust for TCP
# from the pod's own subnet, `samenet`), then the server on :5432 (Ready once pg_isready answers),
# behind the Service "postgres" (port 5432); and a Pod "pg-client" that runs real psql against that
# Service every 0.5 s, one connection with two simple queries: `SELECT 1` (tag SELECT 1) and a
# SELECT from a missing table (ERROR, SQLSTATE 42P01). Output goes to the client's log. IMAGE is
# lib/images.sh's postgres image (common.sh's POSTGRES_IMAGE). Waits (up to 120 s each) until both
# are Ready; exit status 1 when any step fails, with kubectl's message on stderr.
postgres_client_and_server() {
  local ns=$1 image=$2
  kubectl apply -n "$ns" -f - >/dev/null <<EOF || return 1
apiVersion: apps/v1
kind: Deployment
metadata: {name: postgres}
spec:
  replicas: 1
  selector: {matchLabels: {app: postgres}}
  template:
    metadata: {labels: {app: postgres}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: server
        image: $image
        imagePullPolicy: Never
        env: [{name: PGDATA, value: /tmp/pgdata}]
        command:
        - sh
        - -c
        - |
          set -e
          bin=/usr/lib/postgresql/15/bin
          if [ ! -f "\$PGDATA/PG_VERSION" ]; then
            "\$bin/initdb" -U postgres --auth=trust -E UTF8 --locale=C
            echo "host all all samenet trust" >>"\$PGDATA/pg_hba.conf"
          fi
          exec "\$bin/postgres" -c listen_addresses='*' -c port=5432 -c unix_socket_directories=/tmp \\
            -c jit=off -c shared_buffers=16MB -c max_connections=20
        ports: [{containerPort: 5432}]
        readinessProbe:
          exec: {command: [/usr/lib/postgresql/15/bin/pg_isready, -q, -h, 127.0.0.1, -p, "5432"]}
          periodSeconds: 1
---
apiVersion: v1
kind: Service
metadata: {name: postgres}
spec:
  selector: {app: postgres}
  ports: [{port: 5432, targetPort: 5432}]
EOF
  # The client after the Service, so it gets POSTGRES_SERVICE_HOST.
  kubectl apply -n "$ns" -f - >/dev/null <<EOF || return 1
apiVersion: v1
kind: Pod
metadata: {name: pg-client}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: client
    image: $image
    imagePullPolicy: Never
    command:
    - sh
    - -c
    - |
      while true; do
        /usr/lib/postgresql/15/bin/psql -X -A -t -h "\$POSTGRES_SERVICE_HOST" -p "\$POSTGRES_SERVICE_PORT" \\
          -U postgres -d postgres -c 'SELECT 1' -c 'SELECT * FROM shark_missing_table' 2>&1
        sleep 0.5
      done
EOF
  kubectl -n "$ns" rollout status deployment/postgres --timeout=120s >/dev/null || return 1
  kubectl -n "$ns" wait --for=condition=Ready pod/pg-client --timeout=120s >/dev/null || return 1
}
