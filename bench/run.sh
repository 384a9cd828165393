#!/bin/sh
# `make bench`: not built yet (issue 7).
echo "make bench: the benchmarks are not built yet (issue 7)" >&2
exit 1
