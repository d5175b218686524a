// grpcload is the gRPC half of bench/h2: a unary gRPC server and a load client for it, built with
// google.golang.org/grpc, using the messages of gRPC's own interop test service
// (grpc.testing.TestService/UnaryCall with a SimpleRequest carrying a small payload), so the
// benchmark needs no protoc and the protobuf on the wire is a real one.
//
//	grpcload serve -addr IP:PORT
//	grpcload load  -addr IP:PORT [-conns 4] [-concurrency 64] [-duration 5s] [-payload 64]
//
// load runs `concurrency` callers spread over `conns` connections for `duration`; a caller
// finishes the call it is in when the time is up (no cancelled streams in the capture), then
// the connections close. It prints one JSON line: calls, ok, errors, seconds, calls_per_s.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
)

type server struct {
	testpb.UnimplementedTestServiceServer
}

func (server) UnaryCall(_ context.Context, in *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
	n := int(in.GetResponseSize())
	if n < 0 || n > 1<<20 {
		n = 0
	}
	return &testpb.SimpleResponse{Payload: &testpb.Payload{Body: make([]byte, n)}}, nil
}

func serve(args []string) {
	fs := flag.NewFlagSet("serve", flag.ExitOnError)
	addr := fs.String("addr", "127.0.0.1:50051", "listen address")
	_ = fs.Parse(args)
	lis, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatalf("listen %s: %v", *addr, err)
	}
	s := grpc.NewServer()
	testpb.RegisterTestServiceServer(s, server{})
	fmt.Fprintf(os.Stderr, "grpcload: serving on %s\n", lis.Addr())
	if err := s.Serve(lis); err != nil {
		log.Fatalf("serve: %v", err)
	}
}

type result struct {
	Calls      int64   `json:"calls"`
	OK         int64   `json:"ok"`
	Errors     int64   `json:"errors"`
	FirstError string  `json:"first_error,omitempty"`
	Seconds    float64 `json:"seconds"`
	CallsPerS  float64 `json:"calls_per_s"`
}

func load(args []string) {
	fs := flag.NewFlagSet("load", flag.ExitOnError)
	addr := fs.String("addr", "127.0.0.1:50051", "server address")
	conns := fs.Int("conns", 4, "connections")
	concurrency := fs.Int("concurrency", 64, "callers in flight, spread over the connections")
	duration := fs.Duration("duration", 5*time.Second, "how long to start calls")
	payload := fs.Int("payload", 64, "request and response payload bytes")
	_ = fs.Parse(args)
	if *conns < 1 || *concurrency < 1 {
		log.Fatal("conns and concurrency must be at least 1")
	}
	clients := make([]*grpc.ClientConn, *conns)
	for i := range clients {
		cc, err := grpc.NewClient(*addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			log.Fatalf("dial %s: %v", *addr, err)
		}
		clients[i] = cc
	}
	body := make([]byte, *payload)
	for i := range body {
		body[i] = byte('a' + i%26)
	}
	req := &testpb.SimpleRequest{ResponseSize: int32(*payload), Payload: &testpb.Payload{Body: body}}
	var ok, bad atomic.Int64
	var firstErr atomic.Value
	start := time.Now()
	deadline := start.Add(*duration)
	var wg sync.WaitGroup
	for w := 0; w < *concurrency; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			c := testpb.NewTestServiceClient(clients[w%len(clients)])
			// A little metadata, as real services send.
			ctx := metadata.AppendToOutgoingContext(context.Background(), "x-bench-caller", fmt.Sprint(w))
			for time.Now().Before(deadline) {
				if _, err := c.UnaryCall(ctx, req); err != nil {
					bad.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				ok.Add(1)
			}
		}(w)
	}
	wg.Wait()
	secs := time.Since(start).Seconds()
	for _, cc := range clients {
		_ = cc.Close()
	}
	r := result{Calls: ok.Load() + bad.Load(), OK: ok.Load(), Errors: bad.Load(), Seconds: secs}
	r.CallsPerS = float64(r.Calls) / secs
	if e, isStr := firstErr.Load().(string); isStr {
		r.FirstError = e
	}
	_ = json.NewEncoder(os.Stdout).Encode(r)
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: grpcload serve|load [flags]")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "serve":
		serve(os.Args[2:])
	case "load":
		load(os.Args[2:])
	default:
		fmt.Fprintf(os.Stderr, "grpcload: unknown command %q (serve or load)\n", os.Args[1])
		os.Exit(2)
	}
}
