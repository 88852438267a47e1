#!/bin/sh
# Startup script: check the environment the program needs, then become the program.
set -e
if [ -z "$WEB_HOST" ]; then
  echo >&2 '[ERROR]: set the WEB_HOST environment variable (lab sandbox run -e WEB_HOST=…)'
  exit 1
fi
exec "$@"
