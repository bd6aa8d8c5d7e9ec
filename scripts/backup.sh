#!/usr/bin/env bash
# Takes a consistent online copy of the database plus .env into backups/<UTC timestamp>/,
# keeping the newest BACKUP_KEEP. SQLite: SQLite's backup API (safe while the services write),
# then PRAGMA integrity_check. PostgreSQL (DATABASE_URL=postgres://...): pg_dump
# --format=custom (one consistent snapshot), checked with pg_restore --list; the password goes to
# pg_dump through PGPASSWORD, never on its command line. Restore: see README (PostgreSQL).
set -euo pipefail
# shellcheck source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
sc_init

keep=${BACKUP_KEEP:-7}
sc_require_number BACKUP_KEEP "$keep"
((keep >= 1)) || die "BACKUP_KEEP='$keep' is invalid: expected at least 1"
backup_root=$(sc_abs "${BACKUP_DIR:-backups}")

new_destination() {
    dest="$backup_root/$(date -u +%Y%m%dT%H%M%SZ)"
    [[ $dest != *"'"* ]] || die "backup path must not contain a single quote: $dest"
    [[ ! -e $dest ]] || die "$dest already exists (two backups in the same second?)"
    mkdir -p "$dest"
}

case $DATABASE_URL in
sqlite:*)
    command -v sqlite3 > /dev/null || die "sqlite3 is not installed (apt-get install sqlite3)"
    db=${DATABASE_URL#sqlite:} db=${db#//}
    db=$(sc_abs "$db")
    [[ -f $db ]] || die "database $db does not exist"
    new_destination
    if ! sqlite3 -bail -cmd ".timeout 30000" "$db" ".backup '$dest/signalcartel.sqlite'"; then
        rm -rf "$dest"
        die "backup of $db failed"
    fi
    check=$(sqlite3 "$dest/signalcartel.sqlite" "PRAGMA integrity_check;")
    [[ $check == ok ]] || die "backup in $dest failed its integrity check: $check"
    ;;
postgres://* | postgresql://*)
    command -v pg_dump > /dev/null || die "pg_dump is not installed (apt-get install postgresql-client)"
    # user:password@ -> user@, the password (percent-decoded) into PGPASSWORD.
    url=$DATABASE_URL
    if [[ $url =~ ^(postgres(ql)?://)([^:@/]*):([^@]*)@(.*)$ ]]; then
        password=${BASH_REMATCH[4]}
        url="${BASH_REMATCH[1]}${BASH_REMATCH[3]}@${BASH_REMATCH[5]}"
        PGPASSWORD=$(printf '%b' "${password//%/\\x}")
        export PGPASSWORD
    fi
    new_destination
    if ! pg_dump --format=custom --file="$dest/signalcartel.dump" --dbname="$url" 2> "$dest/pg_dump.log"; then
        err "pg_dump failed: $(tail -n 3 "$dest/pg_dump.log")"
        rm -rf "$dest"
        exit 1
    fi
    rm -f "$dest/pg_dump.log"
    tables=$(pg_restore --list "$dest/signalcartel.dump" | grep -c ' TABLE DATA ' || true)
    ((tables > 0)) || die "backup in $dest failed its check: pg_restore --list shows no table data"
    log "pg_restore --list: $tables tables with data"
    ;;
*) die "DATABASE_URL must be sqlite:PATH or postgres://... for a backup" ;;
esac
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
