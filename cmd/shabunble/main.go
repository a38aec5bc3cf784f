// Command shabunble is the user's tool for shabunble specs: it validates
// them and prints their JSON Schema. Builds go through BuildKit with the
// frontend image named in the spec's `# syntax=` line.
package main

import "os"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}
