package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"sort"
	"strings"
	"time"
)

// vertex is one vertex of a build, aggregated over buildctl's
// `--progress rawjson` updates (one client.SolveStatus per line).
type vertex struct {
	Digest    string
	Name      string
	Started   time.Time // earliest start seen
	Completed time.Time // latest completion seen
	Cached    bool
}

func parseRawJSON(out []byte) []*vertex {
	byDigest := map[string]*vertex{}
	var order []*vertex
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var st struct {
			Vertexes []struct {
				Digest    string     `json:"digest"`
				Name      string     `json:"name"`
				Started   *time.Time `json:"started"`
				Completed *time.Time `json:"completed"`
				Cached    bool       `json:"cached"`
			} `json:"vertexes"`
		}
		if json.Unmarshal(sc.Bytes(), &st) != nil {
			continue
		}
		for _, v := range st.Vertexes {
			x := byDigest[v.Digest]
			if x == nil {
				x = &vertex{Digest: v.Digest, Name: v.Name}
				byDigest[v.Digest] = x
				order = append(order, x)
			}
			if v.Started != nil && (x.Started.IsZero() || v.Started.Before(x.Started)) {
				x.Started = *v.Started
			}
			if v.Completed != nil && v.Completed.After(x.Completed) {
				x.Completed = *v.Completed
			}
			x.Cached = x.Cached || v.Cached
		}
	}
	sort.SliceStable(order, func(i, j int) bool { return order[i].Started.Before(order[j].Started) })
	return order
}

// frontendTiming measures the gateway frontend's start-up from the vertex
// timestamps: gateway is from the completion of the frontend image vertex
// (`docker-image://<frontend>@sha256:...`, i.e. the image is ready and
// BuildKit starts the gateway container) to the start of the first vertex
// that starts after it, which is the first thing the frontend itself
// solves; fromStart is from the build's first vertex to that same point.
func frontendTiming(vs []*vertex, frontendImage string) (gateway, fromStart time.Duration, ok bool) {
	var fe *vertex
	var start time.Time
	for _, v := range vs {
		if !v.Started.IsZero() && (start.IsZero() || v.Started.Before(start)) {
			start = v.Started
		}
		if strings.HasPrefix(v.Name, "docker-image://"+frontendImage) && !v.Completed.IsZero() {
			fe = v
		}
	}
	if fe == nil {
		return 0, 0, false
	}
	var first time.Time
	for _, v := range vs {
		if v == fe || v.Started.IsZero() || v.Started.Before(fe.Completed) {
			continue
		}
		if first.IsZero() || v.Started.Before(first) {
			first = v.Started
		}
	}
	if first.IsZero() {
		return 0, 0, false
	}
	return first.Sub(fe.Completed), first.Sub(start), true
}
