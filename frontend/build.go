// Package frontend is the gateway side of shabunble: it reads the client's
// options, parses the spec, and solves the LLB that package llb generates.
package frontend

import (
	"context"
	"errors"

	"github.com/moby/buildkit/frontend/gateway/client"
)

// Build is the gateway entrypoint.
func Build(ctx context.Context, c client.Client) (*client.Result, error) {
	return nil, errors.New("shabunble: not implemented yet")
}
