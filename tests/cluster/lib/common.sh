# Shared settings and helpers for tests/cluster/{up,down,load-image,smoke-test}.
# Sourced, not executed.

CLUSTER_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
REPO_ROOT=$(cd "$CLUSTER_DIR/../.." && pwd)
STATE=$CLUSTER_DIR/.state
# Unix sockets live under the state directory (containerd's, the kubelet's pod-resources and plugin
# sockets) and their paths must stay under 108 bytes: a checkout in a long path keeps its state in
# /run instead, linked from .state (one cluster per machine anyway: its ports are fixed).
STATE_LINK=
if [ ${#STATE} -gt 64 ]; then
  STATE_LINK=$STATE
  STATE=/run/kubectl-shark-cluster
fi
LOGS=$STATE/logs
PKI=$STATE/pki
CONF=$STATE/config
PIDS=$STATE/pids
export KUBECONFIG_FILE=$STATE/kubeconfig

# --- The cluster's fixed shape. Everything here is on this machine only. ---
NODE_NAME=shark-node
BRIDGE=shark-cni0                # the CNI bridge; also carries the node IP
NODE_IP=10.244.0.1               # gateway of the pod subnet = node InternalIP = API server address
POD_CIDR=10.244.0.0/16           # cluster CIDR (kube-proxy's idea of "local pod")
NODE_POD_CIDR=10.244.0.0/24      # what host-local hands out on this node
SERVICE_CIDR=10.96.0.0/12
KUBERNETES_SVC_IP=10.96.0.1
CNI_NETWORK=shark-k8s            # CNI network name (cache files under /var/lib/cni are named after it)
APISERVER_PORT=6443
ETCD_CLIENT_PORT=12379           # not 2379, to stay clear of any other etcd on the machine
ETCD_PEER_PORT=12380
CGROUP_PARENT=kubectl-shark      # /sys/fs/cgroup/<ctrl>/kubectl-shark/{daemons,kubepods}
CONTAINERD_SOCK=$STATE/containerd/containerd.sock
PAUSE_IMAGE=registry.k8s.io/pause:3.10
TESTBOX_IMAGE=kubectl-shark.test/testbox:1
REDIS_IMAGE=kubectl-shark.test/redis:1      # Debian's redis-server + redis-cli (lib/images.sh)
POSTGRES_IMAGE=kubectl-shark.test/postgres:1 # Debian's PostgreSQL server + psql (lib/images.sh)
PG_MAJOR=15
IPT_CHAIN=KUBECTL-SHARK-FWD      # our own FORWARD guard chain
# Global sysctls something in the cluster changes; snapshotted by up, restored by down.
#  - kubelet (protectKernelDefaults=false) sets the first six;
#  - we set nf_conntrack_tcp_be_liberal=1 so kube-proxy does not install its
#    FORWARD "ctstate INVALID -j DROP" rule, which would also hit other people's
#    bridged test traffic on this machine (bridge-nf-call-iptables is on here).
SYSCTLS=(vm.overcommit_memory vm.panic_on_oom kernel.panic kernel.panic_on_oops
         kernel.keys.root_maxkeys kernel.keys.root_maxbytes
         net.netfilter.nf_conntrack_tcp_be_liberal net.ipv4.ip_forward net.ipv4.conf.all.route_localnet)

K8S_BIN=${K8S_BIN:-}             # set by up from lib/build-k8s.sh
export PATH=/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:$PATH

log()  { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die()  { log "ERROR: $*"; exit 1; }

# wait_for SECONDS DESCRIPTION CMD...: retry CMD every second until it succeeds.
wait_for() {
  local t=$1 what=$2; shift 2
  local end=$(( $(date +%s) + t ))
  until "$@" >/dev/null 2>&1; do
    [ "$(date +%s)" -lt "$end" ] || { log "timed out after ${t}s waiting for $what"; return 1; }
    sleep 1
  done
}

kc()  { kubectl --kubeconfig "$KUBECONFIG_FILE" "$@"; }
ctrk() { ctr --address "$CONTAINERD_SOCK" --namespace k8s.io "$@"; }

pid_alive() { local p; p=$(cat "$PIDS/$1.pid" 2>/dev/null) && [ -n "$p" ] && kill -0 "$p" 2>/dev/null; }

# The v1 hierarchies we create our cgroup in (every mounted one but the named systemd one).
cgroup_ctrls() {
  local d
  for d in /sys/fs/cgroup/*/; do
    d=${d%/}
    [ -f "$d/cgroup.procs" ] || continue
    echo "$d"
  done
}
