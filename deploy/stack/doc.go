// Package stack tests the whole compose stack while it runs: the project's
// image built from the Dockerfile, docker-compose.yaml brought up with
// `docker compose up --wait` (in CI with .ci/stack.sh, which also supplies
// the images a registry would), reached from the host as a user would:
// the gateway on 127.0.0.1:8080, Jaeger's query API on 16686 and Eureka on
// 8761. The tests also drive the stack with the docker CLI: they scale the
// app, stop instances and mongo, take the stack down and up again, and
// leave it as they found it (one healthy app instance).
//
// The tests carry the build tag "stack" so that `go test ./...` does not run
// them against whatever may listen on those ports:
//
//	go test -tags stack -count=1 -v ./deploy/stack/
//
// STACK_PROJECT (default osms) and STACK_COMPOSE_FILES (':'-separated, default
// docker-compose.yaml; relative paths are from the repository root) name the
// compose project and files; VERSION, COMMIT and BUILD_TIME are the build args
// the image was built with. Without a Docker engine or a running stack the
// tests skip, naming what is missing; with CI=true they fail.
package stack
