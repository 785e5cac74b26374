// Package deploy holds the tests of the deployment files at the repository
// root: Dockerfile, .dockerignore, docker-compose.yaml, nginx.conf (the API
// gateway template) and .env.example. There is no code here to import.
//
// The tests load the files with the parsers Docker uses (compose-go, BuildKit's
// Dockerfile parser and linter), build the binary from the Docker build
// context, and run Debian's nginx and Chromium against three instances of the
// service on loopback. A test whose tool is missing skips, naming it, unless
// CI=true, where it fails.
package deploy
