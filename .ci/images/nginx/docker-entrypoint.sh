#!/bin/sh
# The official nginx image's entrypoint contract: when the command is nginx,
# run the executable /docker-entrypoint.d/*.sh in order, then exec the command.
set -e
if [ "$1" = "nginx" ] || [ "$1" = "nginx-debug" ]; then
  for f in $(find /docker-entrypoint.d/ -follow -type f -name '*.sh' -print | sort -V); do
    if [ -x "$f" ]; then
      echo "$0: running $f"
      "$f"
    else
      echo "$0: ignoring $f, not executable"
    fi
  done
  echo "$0: configuration complete; ready for start up"
fi
exec "$@"
