#!/usr/bin/env bash
# Takes a consistent online copy of the SQLite database (SQLite's backup API, safe while the
# services write) plus .env into backups/<UTC timestamp>/, keeping the newest BACKUP_KEEP.
set -euo pipefail
# shellcheck source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
sc_init

keep=${BACKUP_KEEP:-7}
sc_require_number BACKUP_KEEP "$keep"
((keep >= 1)) || die "BACKUP_KEEP='$keep' is invalid: expected at least 1"
backup_root=$(sc_abs "${BACKUP_DIR:-backups}")
command -v sqlite3 >/dev/null || die "sqlite3 is not installed (apt-get install sqlite3)"

case $DATABASE_URL in
sqlite:*) db=${DATABASE_URL#sqlite:} db=${db#//} ;;
*) die "backup.sh handles sqlite: databases only (DATABASE_URL is not sqlite:)" ;;
esac
db=$(sc_abs "$db")
[[ -f $db ]] || die "database $db does not exist"

dest="$backup_root/$(date -u +%Y%m%dT%H%M%SZ)"
[[ $dest != *"'"* ]] || die "backup path must not contain a single quote: $dest"
[[ ! -e $dest ]] || die "$dest already exists (two backups in the same second?)"
mkdir -p "$dest"
if ! sqlite3 -bail -cmd ".timeout 30000" "$db" ".backup '$dest/signalcartel.sqlite'"; then
    rm -rf "$dest"
    die "backup of $db failed"
fi
check=$(sqlite3 "$dest/signalcartel.sqlite" "PRAGMA integrity_check;")
[[ $check == ok ]] || die "backup in $dest failed its integrity check: $check"
env_file=${SIGNALCARTEL_ENV_FILE:-$SC_ROOT/.env}
if [[ -f $env_file ]]; then
    install -m 600 "$env_file" "$dest/.env"
fi
ok "backup written to $dest ($(du -sh "$dest" | cut -f1))"

mapfile -t old < <(find "$backup_root" -mindepth 1 -maxdepth 1 -type d -name '????????T??????Z' | sort | head -n "-$keep")
for dir in "${old[@]}"; do
    rm -rf "$dir"
    log "removed old backup $dir"
done
