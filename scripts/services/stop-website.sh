#!/usr/bin/env bash
# Stops the website service: SIGTERM, bounded wait, then SIGKILL.
set -euo pipefail
# shellcheck source=../lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
sc_init
sc_stop website
