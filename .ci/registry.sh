#!/usr/bin/env bash
# Builds the Eureka server jar in registry/ unless a jar built from the same
# pom.xml and sources is already cached, and prints the jar's path on the last
# line of stdout (see .ci/maven-jar.sh, which does the work).
#
#   jar=$(bash .ci/registry.sh | tail -n1)
set -euo pipefail
exec bash "$(dirname "${BASH_SOURCE[0]}")/maven-jar.sh" registry eureka-server
