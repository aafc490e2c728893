// Command go-client is a Go client of the coordinator built on the generated
// package (gen/go) and grpc-go. CI runs it against a real coordinator
// (tests/e2e/test_generated_clients.py):
//
//	go-client <host:port> <api-key>
//
// It prints one JSON object with what each call returned; an expected error is
// part of that object, anything unexpected exits non-zero.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"time"

	coordinatorv1 "github.com/insightpulseai/mcp-coordinator/gen/go/mcpcoordinator/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/structpb"
)

type failure struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// expectFailure turns the error of a call that must fail into its status.
func expectFailure(response interface{}, err error) (failure, error) {
	if err == nil {
		return failure{}, fmt.Errorf("call unexpectedly succeeded: %v", response)
	}
	st, ok := status.FromError(err)
	if !ok {
		return failure{}, err
	}
	return failure{Code: st.Code().String(), Message: st.Message()}, nil
}

func run(address, apiKey string) (map[string]interface{}, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := grpc.DialContext(ctx, address, grpc.WithInsecure())
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	client := coordinatorv1.NewCoordinatorServiceClient(conn)
	auth := metadata.AppendToOutgoingContext(ctx, "x-api-key", apiKey)

	health, err := client.Health(ctx, &coordinatorv1.HealthRequest{})
	if err != nil {
		return nil, err
	}
	financeSSC, err := structpb.NewStruct(map[string]interface{}{"finance-ssc": true})
	if err != nil {
		return nil, err
	}
	routed, err := client.Route(auth, &coordinatorv1.RouteRequest{Query: "List expenses", Context: financeSSC})
	if err != nil {
		return nil, err
	}
	noKey, err := expectFailure(client.Route(ctx, &coordinatorv1.RouteRequest{Query: "List expenses"}))
	if err != nil {
		return nil, err
	}
	empty, err := expectFailure(client.Route(auth, &coordinatorv1.RouteRequest{}))
	if err != nil {
		return nil, err
	}

	// The MCP result is a google.protobuf.Value; the sample servers name their
	// environment in its structured content.
	structured := routed.GetData().GetStructValue().GetFields()["structuredContent"].GetStructValue()
	return map[string]interface{}{
		"health": map[string]interface{}{"status": health.GetStatus(), "targets": health.GetTargets()},
		"finance_route": map[string]interface{}{
			"target":      routed.GetRouting().GetTarget(),
			"rule":        routed.GetRouting().GetRule(),
			"environment": structured.GetFields()["environment"].GetStringValue(),
		},
		"no_key":        noKey,
		"empty_request": empty,
	}, nil
}

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: go-client <host:port> <api-key>")
		os.Exit(2)
	}
	result, err := run(os.Args[1], os.Args[2])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := json.NewEncoder(os.Stdout).Encode(result); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
