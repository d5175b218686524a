// grpcecho: a google.golang.org/grpc server of the test service shk.echo.Echo
// (tests/tools/proto/shk_echo.proto), without generated code: a pass-through codec hands the
// handlers the raw protobuf bytes, which they read and write with protowire. Behaviour matches
// tests/tools/grpc_peer.py's server, so the same client plans run against both:
//
//	Unary        reply {text: "echo:"+text, index: 0, blob: blob_size bytes}; text "missing" ->
//	             NOT_FOUND "no such item: missing"; text "fail" -> INVALID_ARGUMENT
//	ServerStream count replies {index: i}
//	ClientStream one reply {text: "got N", index: N}
//	Bidi         one reply per request
//
// Request metadata "x-shk-echo" is returned as a header and "x-shk-trailer" as a trailer.
// Responses are gzip-compressed when the request was (grpc-go answers with the caller's encoding).
//
//	grpcecho -listen ADDR
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/encoding"
	_ "google.golang.org/grpc/encoding/gzip"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protowire"
)

// rawCodec replaces the proto codec: messages are *[]byte.
type rawCodec struct{}

func (rawCodec) Name() string { return "proto" }
func (rawCodec) Marshal(v any) ([]byte, error) {
	if b, ok := v.(*[]byte); ok {
		return *b, nil
	}
	return nil, fmt.Errorf("rawCodec: cannot marshal %T", v)
}
func (rawCodec) Unmarshal(data []byte, v any) error {
	if b, ok := v.(*[]byte); ok {
		*b = append((*b)[:0], data...)
		return nil
	}
	return fmt.Errorf("rawCodec: cannot unmarshal into %T", v)
}

type request struct {
	text     string
	count    int64
	blob     []byte
	blobSize int64
}

func parse(b []byte) (request, error) {
	var r request
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return r, protowire.ParseError(n)
		}
		b = b[n:]
		switch {
		case num == 1 && typ == protowire.BytesType:
			v, m := protowire.ConsumeBytes(b)
			if m < 0 {
				return r, protowire.ParseError(m)
			}
			r.text, b = string(v), b[m:]
		case num == 3 && typ == protowire.BytesType:
			v, m := protowire.ConsumeBytes(b)
			if m < 0 {
				return r, protowire.ParseError(m)
			}
			r.blob, b = v, b[m:]
		case (num == 2 || num == 4) && typ == protowire.VarintType:
			v, m := protowire.ConsumeVarint(b)
			if m < 0 {
				return r, protowire.ParseError(m)
			}
			if num == 2 {
				r.count = int64(int32(v))
			} else {
				r.blobSize = int64(int32(v))
			}
			b = b[m:]
		default:
			m := protowire.ConsumeFieldValue(num, typ, b)
			if m < 0 {
				return r, protowire.ParseError(m)
			}
			b = b[m:]
		}
	}
	return r, nil
}

func reply(text string, index int64, blobSize int64) *[]byte {
	var b []byte
	if text != "" {
		b = protowire.AppendTag(b, 1, protowire.BytesType)
		b = protowire.AppendString(b, text)
	}
	if index != 0 {
		b = protowire.AppendTag(b, 2, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(index))
	}
	if blobSize > 0 {
		blob := make([]byte, blobSize)
		for i := range blob {
			blob[i] = byte(i*31 + i/251)
		}
		b = protowire.AppendTag(b, 3, protowire.BytesType)
		b = protowire.AppendBytes(b, blob)
	}
	return &b
}

func echoMetadata(ctx context.Context, send func(metadata.MD) error, trailer func(metadata.MD)) {
	md, _ := metadata.FromIncomingContext(ctx)
	if v := md.Get("x-shk-echo"); len(v) > 0 {
		send(metadata.Pairs("x-shk-echo", v[0]))
	}
	if v := md.Get("x-shk-trailer"); len(v) > 0 {
		trailer(metadata.Pairs("x-shk-trailer", v[0]))
	}
}

func check(r request) error {
	switch r.text {
	case "missing":
		return status.Error(codes.NotFound, "no such item: missing")
	case "fail":
		return status.Error(codes.InvalidArgument, "bad request: fail")
	}
	return nil
}

func unary(_ any, ctx context.Context, dec func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
	var in []byte
	if err := dec(&in); err != nil {
		return nil, err
	}
	r, err := parse(in)
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	echoMetadata(ctx, func(md metadata.MD) error { return grpc.SetHeader(ctx, md) },
		func(md metadata.MD) { grpc.SetTrailer(ctx, md) })
	if err := check(r); err != nil {
		return nil, err
	}
	return reply("echo:"+r.text, 0, r.blobSize), nil
}

func streamMeta(ss grpc.ServerStream) {
	echoMetadata(ss.Context(), ss.SetHeader, ss.SetTrailer)
}

func serverStream(_ any, ss grpc.ServerStream) error {
	streamMeta(ss)
	var in []byte
	if err := ss.RecvMsg(&in); err != nil {
		return err
	}
	r, err := parse(in)
	if err != nil {
		return status.Error(codes.InvalidArgument, err.Error())
	}
	if err := check(r); err != nil {
		return err
	}
	for i := int64(1); i <= r.count; i++ {
		if err := ss.SendMsg(reply(fmt.Sprintf("%s #%d", r.text, i), i, r.blobSize)); err != nil {
			return err
		}
	}
	return nil
}

func clientStream(_ any, ss grpc.ServerStream) error {
	streamMeta(ss)
	n := int64(0)
	for {
		var in []byte
		if err := ss.RecvMsg(&in); err != nil {
			break
		}
		if _, err := parse(in); err != nil {
			return status.Error(codes.InvalidArgument, err.Error())
		}
		n++
	}
	return ss.SendMsg(reply(fmt.Sprintf("got %d", n), n, 0))
}

func bidi(_ any, ss grpc.ServerStream) error {
	streamMeta(ss)
	for i := int64(1); ; i++ {
		var in []byte
		if err := ss.RecvMsg(&in); err != nil {
			return nil
		}
		r, err := parse(in)
		if err != nil {
			return status.Error(codes.InvalidArgument, err.Error())
		}
		if err := check(r); err != nil {
			return err
		}
		if err := ss.SendMsg(reply("re:"+r.text, i, r.blobSize)); err != nil {
			return err
		}
	}
}

var desc = grpc.ServiceDesc{
	ServiceName: "shk.echo.Echo",
	HandlerType: (*any)(nil),
	Methods:     []grpc.MethodDesc{{MethodName: "Unary", Handler: unary}},
	Streams: []grpc.StreamDesc{
		{StreamName: "ServerStream", Handler: serverStream, ServerStreams: true},
		{StreamName: "ClientStream", Handler: clientStream, ClientStreams: true},
		{StreamName: "Bidi", Handler: bidi, ServerStreams: true, ClientStreams: true},
	},
}

func main() {
	listen := flag.String("listen", "", "address:port")
	flag.Parse()
	encoding.RegisterCodec(rawCodec{})
	lis, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatal(err)
	}
	s := grpc.NewServer(grpc.MaxRecvMsgSize(64<<20), grpc.MaxSendMsgSize(64<<20))
	var impl any = struct{}{}
	s.RegisterService(&desc, impl)
	log.Printf("grpcecho listening on %s", *listen)
	log.Fatal(s.Serve(lis))
}
