// h2c: an HTTP/2 cleartext server (prior knowledge and the HTTP/1.1 `Upgrade: h2c` of RFC 7540
// section 3.2, both by golang.org/x/net/http2/h2c) and a prior-knowledge client that sends its
// requests in waves on ONE connection with pauses between them, so a capture can be started
// between two waves (after the first wave filled the HPACK dynamic tables).
//
//	h2c server -listen ADDR
//	h2c client -url http://HOST:PORT -wave "GET /a,GET /b" -wave "WAIT FILE" -wave "POST /c" -header "x-k: v"
//
// The client prints one JSON line per request: {"wave", "method", "path", "status", "size", "proto"};
// a wave "WAIT FILE" prints {"event": "wave-done"} and waits until FILE exists; -pause sleeps
// between other waves.
package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/h2c"
)

type multi []string

func (m *multi) String() string     { return strings.Join(*m, ";") }
func (m *multi) Set(v string) error { *m = append(*m, v); return nil }

// body of n deterministic bytes
func body(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('a' + (i*7+i/13)%26)
	}
	return b
}

func handler(w http.ResponseWriter, r *http.Request) {
	if r.Body != nil {
		n, _ := io.Copy(io.Discard, r.Body)
		w.Header().Set("x-received", strconv.FormatInt(n, 10))
	}
	w.Header().Set("x-proto", r.Proto)
	switch {
	case strings.Contains(r.URL.Path, "missing"):
		http.NotFound(w, r)
	case strings.HasPrefix(r.URL.Path, "/size/") || strings.Contains(r.URL.Path, "/size/"):
		parts := strings.Split(r.URL.Path, "/")
		n, err := strconv.Atoi(parts[len(parts)-1])
		if err != nil || n < 0 || n > 64<<20 {
			http.Error(w, "bad size", http.StatusBadRequest)
			return
		}
		w.Header().Set("content-type", "text/plain")
		w.Write(body(n))
	default:
		w.Header().Set("content-type", "text/plain")
		fmt.Fprintf(w, "hello %s %s\n", r.Method, r.URL.RequestURI())
	}
}

func server(args []string) {
	fs := flag.NewFlagSet("server", flag.ExitOnError)
	listen := fs.String("listen", "", "address:port")
	fs.Parse(args)
	srv := &http.Server{Addr: *listen, Handler: h2c.NewHandler(http.HandlerFunc(handler), &http2.Server{})}
	log.Fatal(srv.ListenAndServe())
}

func client(args []string) {
	fs := flag.NewFlagSet("client", flag.ExitOnError)
	base := fs.String("url", "", "http://host:port")
	pause := fs.Duration("pause", 0, "pause between waves")
	var waves, headers multi
	fs.Var(&waves, "wave", "comma-separated `METHOD PATH` requests of one wave (repeatable)")
	fs.Var(&headers, "header", "`name: value` sent on every request (repeatable)")
	fs.Parse(args)
	tr := &http2.Transport{
		AllowHTTP: true,
		DialTLSContext: func(ctx context.Context, network, addr string, _ *tls.Config) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		},
	}
	c := &http.Client{Transport: tr, Timeout: 60 * time.Second}
	out := json.NewEncoder(os.Stdout)
	for wi, wave := range waves {
		if file, ok := strings.CutPrefix(wave, "WAIT "); ok {
			out.Encode(map[string]any{"event": "wave-done", "wave": wi})
			deadline := time.Now().Add(60 * time.Second)
			for {
				if _, err := os.Stat(file); err == nil {
					break
				}
				if time.Now().After(deadline) {
					log.Fatalf("wait file %s never appeared", file)
				}
				time.Sleep(50 * time.Millisecond)
			}
			continue
		}
		if wi > 0 {
			time.Sleep(*pause)
		}
		for _, req := range strings.Split(wave, ",") {
			method, path, _ := strings.Cut(strings.TrimSpace(req), " ")
			var rd io.Reader
			if method == "POST" || method == "PUT" {
				rd = strings.NewReader(string(body(1000)))
			}
			r, err := http.NewRequest(method, *base+path, rd)
			if err != nil {
				log.Fatal(err)
			}
			for _, h := range headers {
				k, v, _ := strings.Cut(h, ":")
				r.Header.Set(strings.TrimSpace(k), strings.TrimSpace(v))
			}
			resp, err := c.Do(r)
			if err != nil {
				log.Fatal(err)
			}
			n, _ := io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			out.Encode(map[string]any{"wave": wi, "method": method, "path": path, "status": resp.StatusCode,
				"size": n, "proto": resp.Proto})
		}
	}
}

func main() {
	if len(os.Args) < 2 {
		log.Fatal("usage: h2c server|client ...")
	}
	switch os.Args[1] {
	case "server":
		server(os.Args[2:])
	case "client":
		client(os.Args[2:])
	default:
		log.Fatalf("unknown mode %q", os.Args[1])
	}
}
