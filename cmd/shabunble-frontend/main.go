// Command shabunble-frontend is the BuildKit gateway frontend that turns a
// shabunble spec into an unenterable image.
package main

import (
	"fmt"
	"os"

	"github.com/moby/buildkit/frontend/gateway/grpcclient"
	"github.com/moby/buildkit/util/appcontext"
	"github.com/shabunble/shabunble/frontend"
)

func main() {
	// stdout is the gRPC channel to BuildKit: never print to it.
	if err := grpcclient.RunFromEnvironment(appcontext.Context(), frontend.Build); err != nil {
		fmt.Fprintf(os.Stderr, "shabunble: %v\n", err)
		os.Exit(1)
	}
}
