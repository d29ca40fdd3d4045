#!/bin/sh
# embed-sql.sh -- turns the SQL tree into a C source file for
# `postinboxctl migrate` (ctl/migrate.c).
#
# Usage: embed-sql.sh TOP_SRCDIR [sql/migrations/NNN_name.sql ...]
#                                [sql/functions/name.sql ...] > ctl/sql_embedded.c
#
# Two kinds of file (docs/ARCHITECTURE.md, "The SQL layout"):
#   sql/migrations/NNN_name.sql  versioned, append-only: tables, indexes,
#                                types, data; applied once each, in number order
#   sql/functions/name.sql       definitions: functions and triggers, each
#                                defined once; applied in name order whenever
#                                the file's SHA-256 differs from the recorded one
#
# With no file arguments every file of both folders is embedded.  With
# file arguments (the Makefile passes $(dist_sqlmigrations_DATA) and
# $(dist_sqlfunctions_DATA), so what is embedded is exactly what is
# installed) those are embedded, and a file in either folder that is
# missing from the list is an error: SQL must never be shipped without
# being applied.
#
# Output: const migration_t migrations[] = {{version, "NNN_name", "sql"}, ...}
# sorted by version, migrations_count, const definition_t definitions[] =
# {{"name", "sha256 hex of the file", "sql"}, ...} sorted by name, and
# definitions_count (see ctl/migrate.h).  Migration numbers must be
# unique; names are [A-Za-z0-9_-] (migrations) and [a-z0-9_] (definitions).
# Every byte of the SQL is kept (but a last line without newline gets one;
# the hash is of the file as it is); backslash, quote, '?' (trigraphs),
# TAB and CR are escaped.
set -eu
LC_ALL=C
export LC_ALL

die() { echo "embed-sql.sh: $*" >&2; exit 1; }

[ $# -ge 1 ] || die "usage: embed-sql.sh TOP_SRCDIR [sql/migrations/NNN_name.sql ...] [sql/functions/name.sql ...]"
top=$1
shift

# Every file of the two folders, as paths relative to TOP_SRCDIR.
all_files() {
    for f in "$top"/sql/migrations/*.sql "$top"/sql/functions/*.sql; do
        [ -f "$f" ] || continue
        echo "${f#"$top"/}"
    done
}

if [ $# -eq 0 ]; then
    # shellcheck disable=SC2046 # file names are checked below ([A-Za-z0-9_-])
    set -- $(all_files)
else
    for rel in $(all_files); do
        found=no
        for g in "$@"; do
            [ "$g" = "$rel" ] && found=yes
        done
        [ "$found" = yes ] || die "$rel exists but is not listed (add it to dist_sqlmigrations_DATA or dist_sqlfunctions_DATA)"
    done
fi
[ -n "$(all_files)" ] || die "no SQL in $top/sql/migrations or $top/sql/functions"

sha256_of() {
    if command -v sha256sum >/dev/null 2>&1; then
        sha256sum "$1" | awk '{print $1}'
    elif command -v shasum >/dev/null 2>&1; then
        shasum -a 256 "$1" | awk '{print $1}'
    else
        openssl dgst -sha256 -r "$1" | awk '{print $1}'
    fi
}

# Validate first (a die inside a pipeline would not stop the script).
for rel in "$@"; do
    [ -f "$top/$rel" ] || die "$top/$rel: no such file"
    name=${rel##*/}
    name=${name%.sql}
    case $rel in
        sql/migrations/*.sql)
            case $name in
                [0-9]*_*) ;;
                *) die "$rel: name must be NNN_name.sql" ;;
            esac
            case ${name%%_*} in
                *[!0-9]*) die "$rel: name must be NNN_name.sql" ;;
            esac
            case ${name#*_} in
                '' | *[!A-Za-z0-9_-]*) die "$rel: name must be NNN_name.sql ([A-Za-z0-9_-])" ;;
            esac
            ;;
        sql/functions/*.sql)
            case $name in
                '' | *[!a-z0-9_]*) die "$rel: name must be name.sql ([a-z0-9_])" ;;
            esac
            case $(sha256_of "$top/$rel") in
                *[!0-9a-f]* | '') die "$rel: no SHA-256 (sha256sum, shasum or openssl needed)" ;;
            esac
            ;;
        *) die "$rel: not under sql/migrations/ or sql/functions/" ;;
    esac
done

# "version name path" lines of the migrations, sorted by version;
# "name path" lines of the definitions, sorted by name.
migrations=$(
    for rel in "$@"; do
        case $rel in sql/migrations/*) ;; *) continue ;; esac
        name=${rel##*/}
        name=${name%.sql}
        v=$(echo "${name%%_*}" | sed 's/^0*//')   # no octal surprises
        echo "${v:-0} $name $rel"
    done | sort -n -k1,1
)
definitions=$(
    for rel in "$@"; do
        case $rel in sql/functions/*) ;; *) continue ;; esac
        name=${rel##*/}
        echo "${name%.sql} $rel"
    done | sort -k1,1
)
[ -n "$migrations" ] || die "no migrations listed"
dups=$(echo "$migrations" | awk '{print $1}' | uniq -d)
[ -z "$dups" ] || die "duplicate migration number(s): $dups"

# The file as C string literal lines.
c_string() {
    # char by char: awk implementations disagree on backslashes in gsub
    awk '
        BEGIN { bs = sprintf("%c", 92); cr = sprintf("%c", 13); tab = sprintf("%c", 9) }
        {
            out = ""
            n = length($0)
            for (i = 1; i <= n; i++) {
                c = substr($0, i, 1)
                if (c == bs) c = bs bs
                else if (c == "\"") c = bs "\""
                else if (c == "?") c = bs "?"
                else if (c == tab) c = bs "t"
                else if (c == cr) c = bs "r"
                out = out c
            }
            printf "      \"%s\\n\"\n", out
        }
        END { if (NR == 0) printf "      \"\"\n" }
    ' "$1"
}

cat <<'HEAD'
/*
 * sql_embedded.c -- GENERATED by scripts/embed-sql.sh from the files
 * of sql/migrations and sql/functions.
 * Do not edit; edit the .sql files.  See ctl/migrate.h.
 */
#include "ctl/migrate.h"

const migration_t migrations[] = {
HEAD
echo "$migrations" | while read -r v name rel; do
    printf '    { %s, "%s",\n' "$v" "$name"
    c_string "$top/$rel"
    printf '    },\n'
done
nm=$(echo "$migrations" | wc -l)
printf '};\n\nconst size_t migrations_count = %s;\n\n' "$nm"

nd=0
if [ -n "$definitions" ]; then
    nd=$(echo "$definitions" | wc -l)
    echo "const definition_t definitions[] = {"
    echo "$definitions" | while read -r name rel; do
        hash=$(sha256_of "$top/$rel")
        printf '    { "%s", "%s",\n' "$name" "$hash"
        c_string "$top/$rel"
        printf '    },\n'
    done
    echo "};"
else
    echo "const definition_t definitions[] = { { NULL, NULL, NULL } };"
fi
printf '\nconst size_t definitions_count = %s;\n' "$nd"
