// Command with-genproto imports the generated package (gen/go) together with
// Google's own google/api Go package, as a program that also uses other Google
// APIs would, and prints each method's google.api.http rule read through
// Google's extension type. It only starts if google.api.http is registered once
// (tests/e2e/test_generated_clients.py builds and runs it).
package main

import (
	"encoding/json"
	"fmt"
	"os"

	coordinatorv1 "github.com/insightpulseai/mcp-coordinator/gen/go/mcpcoordinator/v1"
	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/protobuf/proto"
)

func main() {
	rules := map[string]string{}
	service := coordinatorv1.File_mcpcoordinator_v1_coordinator_proto.Services().Get(0)
	for i := 0; i < service.Methods().Len(); i++ {
		method := service.Methods().Get(i)
		rule, ok := proto.GetExtension(method.Options(), annotations.E_Http).(*annotations.HttpRule)
		if !ok || rule == nil {
			fmt.Fprintf(os.Stderr, "%s: no google.api.http rule\n", method.Name())
			os.Exit(1)
		}
		switch {
		case rule.GetGet() != "":
			rules[string(method.Name())] = "GET " + rule.GetGet()
		case rule.GetPost() != "":
			rules[string(method.Name())] = "POST " + rule.GetPost()
		default:
			rules[string(method.Name())] = "other"
		}
	}
	if err := json.NewEncoder(os.Stdout).Encode(rules); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
