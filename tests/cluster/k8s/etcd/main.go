// etcd, built from the etcd server module at the version Kubernetes pins in its
// own go.mod (v3.6.x for 1.34), the same program as etcd's own main.go.
//
// Why not Debian's etcd-server (3.4.23): the 1.34 API server turns off the
// features that need etcd's watch progress notifications (>= 3.4.31 / 3.5.13),
// among them streaming lists (watch with sendInitialEvents), which clients
// such as kube-rs can opt into.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
