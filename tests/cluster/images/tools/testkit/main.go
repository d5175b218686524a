// testkit: the test cluster's workload and probe, in one static binary.
//
//	testkit serve [-listen :8080]        HTTP server: answers "hello from <hostname>" and logs each request
//	testkit get [-timeout 30s] URL       GET URL (retrying until timeout), print the body; fail on non-2xx
//	testkit kubeapi [-method GET] PATH   call the API server from inside a pod the in-cluster way: the
//	                                     `kubernetes` Service (KUBERNETES_SERVICE_HOST/PORT), the pod's
//	                                     ServiceAccount token, and its CA to verify the server; prints
//	                                     "status=<code>" and the body, exits 0 whenever the server answered
//	testkit grpc-serve [-listen :9090]   gRPC server (h2c) with the standard health service: "" and
//	                                     "shop" are SERVING, any other service is NOT_FOUND
//	testkit grpc-call [-timeout 5s] -target HOST:PORT [-service NAME]
//	                                     one grpc.health.v1.Health/Check call; prints the answer (or
//	                                     the status); exits 0 whenever the server answered
package main

import (
	"crypto/tls"
	"crypto/x509"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"strings"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: testkit serve|get|kubeapi|grpc-serve|grpc-call ...")
		os.Exit(2)
	}
	args := os.Args[2:]
	switch os.Args[1] {
	case "serve":
		serve(args)
	case "get":
		get(args)
	case "kubeapi":
		kubeapi(args)
	case "grpc-serve":
		grpcServe(args)
	case "grpc-call":
		grpcCall(args)
	default:
		fmt.Fprintf(os.Stderr, "testkit: unknown command %q\n", os.Args[1])
		os.Exit(2)
	}
}

func serve(args []string) {
	fs := flag.NewFlagSet("serve", flag.ExitOnError)
	listen := fs.String("listen", ":8080", "address to listen on")
	fs.Parse(args)
	host, _ := os.Hostname()
	log.SetOutput(os.Stdout)
	log.Printf("testkit serving on %s as %s", *listen, host)
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		log.Printf("request %s %s from %s", r.Method, r.URL.Path, r.RemoteAddr)
		fmt.Fprintf(w, "hello from %s\n", host)
	})
	log.Fatal(http.ListenAndServe(*listen, nil))
}

func get(args []string) {
	fs := flag.NewFlagSet("get", flag.ExitOnError)
	timeout := fs.Duration("timeout", 30*time.Second, "keep retrying for this long")
	fs.Parse(args)
	if fs.NArg() != 1 {
		log.Fatal("usage: testkit get URL")
	}
	client := &http.Client{Timeout: 5 * time.Second}
	deadline := time.Now().Add(*timeout)
	for {
		resp, err := client.Get(fs.Arg(0))
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode/100 == 2 {
				os.Stdout.Write(body)
				return
			}
			err = fmt.Errorf("status %d: %s", resp.StatusCode, body)
		}
		if time.Now().After(deadline) {
			log.Fatalf("get %s: %v", fs.Arg(0), err)
		}
		time.Sleep(time.Second)
	}
}

func kubeapi(args []string) {
	fs := flag.NewFlagSet("kubeapi", flag.ExitOnError)
	method := fs.String("method", "GET", "HTTP method")
	fs.Parse(args)
	if fs.NArg() != 1 {
		log.Fatal("usage: testkit kubeapi PATH")
	}
	const sa = "/var/run/secrets/kubernetes.io/serviceaccount"
	host, port := os.Getenv("KUBERNETES_SERVICE_HOST"), os.Getenv("KUBERNETES_SERVICE_PORT")
	if host == "" || port == "" {
		log.Fatal("KUBERNETES_SERVICE_HOST/PORT not set: not in a pod?")
	}
	token, err := os.ReadFile(sa + "/token")
	if err != nil {
		log.Fatal(err)
	}
	caPEM, err := os.ReadFile(sa + "/ca.crt")
	if err != nil {
		log.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		log.Fatal("no certificates in ca.crt")
	}
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "kubernetes.default.svc"},
	}}
	url := "https://" + net.JoinHostPort(host, port) + fs.Arg(0)
	req, err := http.NewRequest(*method, url, nil)
	if err != nil {
		log.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(token)))
	resp, err := client.Do(req)
	if err != nil {
		log.Fatalf("%s %s: %v", *method, url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	fmt.Printf("status=%d\n%s\n", resp.StatusCode, body)
}
