#!/usr/bin/env bash
# Builds the Spring Cloud client of the interop tests (interop/spring-client)
# unless it is cached, and prints the jar's path on the last line of stdout
# (see .ci/maven-jar.sh).
#
#   SPRING_CLIENT_JAR=$(bash .ci/spring-client.sh | tail -n1)
set -euo pipefail
exec bash "$(dirname "${BASH_SOURCE[0]}")/maven-jar.sh" interop/spring-client interop-spring-client
