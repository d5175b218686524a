package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
)

// grpcServe runs the standard gRPC health service in clear text (h2c), so the traffic is real gRPC
// without generated code of our own.
func grpcServe(args []string) {
	fs := flag.NewFlagSet("grpc-serve", flag.ExitOnError)
	listen := fs.String("listen", ":9090", "address to listen on")
	fs.Parse(args)
	lis, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatalf("listen %s: %v", *listen, err)
	}
	srv := grpc.NewServer()
	h := health.NewServer()
	h.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	h.SetServingStatus("shop", healthpb.HealthCheckResponse_SERVING)
	healthpb.RegisterHealthServer(srv, h)
	log.SetOutput(os.Stdout)
	log.Printf("testkit gRPC serving on %s", *listen)
	log.Fatal(srv.Serve(lis))
}

// grpcCall makes one Health/Check call and prints what came back.
func grpcCall(args []string) {
	fs := flag.NewFlagSet("grpc-call", flag.ExitOnError)
	target := fs.String("target", "", "HOST:PORT of the gRPC server")
	service := fs.String("service", "", "the service name to check")
	timeout := fs.Duration("timeout", 5*time.Second, "deadline of the call")
	fs.Parse(args)
	conn, err := grpc.NewClient(*target, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		fmt.Fprintf(os.Stderr, "grpc-call: %v\n", err)
		os.Exit(1)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{Service: *service})
	if err != nil {
		st := status.Convert(err)
		fmt.Printf("status=%s message=%q\n", st.Code(), st.Message())
		if st.Code().String() == "Unavailable" || st.Code().String() == "DeadlineExceeded" {
			os.Exit(1)
		}
		return
	}
	fmt.Printf("status=OK serving=%s\n", resp.GetStatus())
}
