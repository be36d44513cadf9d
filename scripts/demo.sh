#!/usr/bin/env bash
# The whole pipeline on bundled sample data: SQLite, no network, no SMTP (mail goes to an outbox).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$root/demo-work"
rm -rf "$work" && mkdir -p "$work"
cd "$work"

cp "$root/scripts/demo-config.toml" config.toml
export SOCIAL_MONITOR_CONFIG="$work/config.toml"
export SOCIAL_MONITOR_SECRET_KEY="$(social-monitor keys generate)"
export SOCIAL_MONITOR_ACTOR="demo.compliance@riverside.example"
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "Create the database"
social-monitor db upgrade

step "Register staff and link their accounts (consent recorded)"
social-monitor staff add --name "Dr. Priya Natarajan" --email priya.natarajan@riverside.example --role physician
social-monitor staff add --name "Marcus Webb" --email marcus.webb@riverside.example --role nurse
social-monitor staff add --name "Dana Kowalski" --email dana.kowalski@riverside.example --role front_desk
social-monitor accounts link --staff 1 --platform x --handle DrPriyaN --consent public \
  --bio "Family physician at Riverside Family Medicine. Opinions my own, not medical advice."
social-monitor accounts link --staff 2 --platform x --handle marcus_rn --consent public_and_direct \
  --bio "Nurse. Runner. Dad."
social-monitor accounts link --staff 3 --platform facebook --page-id 100200300 --consent public
printf 'demo-page-token\n' | social-monitor accounts set-token 3
social-monitor sources add --platform facebook --kind group --id 55544433 --name "Riverside patient community"

social-monitor sources add --platform jsonl --path "$root/monitor/data/sample_posts.jsonl" \
  --name "Archive import (bundled sample posts)"

step "Accounts and sources (X and Facebook are switched off in the demo: no network)"
social-monitor accounts list

step "Sync: pull new posts from every active source"
social-monitor sync
social-monitor posts list > posts.txt
head -n 8 posts.txt
echo "... $(($(wc -l < posts.txt) - 1)) posts stored"

step "The policy in force"
social-monitor policy show

step "Scan the stored posts"
social-monitor scan
social-monitor violations list > violations.txt
head -n 12 violations.txt
echo "... $(($(wc -l < violations.txt) - 1)) findings"

step "Immediate alert and daily digest (no SMTP configured: written to the outbox)"
social-monitor alerts flush
social-monitor digest send

step "Compliance records a disposition; the trail stays verifiable"
social-monitor violations update 1 --status acknowledged --note "Spoke with the author; post removed."
social-monitor audit verify

step "Auditor export (masked), with its manifest"
today="$(date -u +%Y-%m-%d)"
social-monitor export --from 2000-01-01 --to "$today" --format csv --out export.csv
social-monitor audit verify --manifest export.csv.manifest.json

step "Retention: what a purge would remove (nothing is six years old yet)"
social-monitor retention purge --dry-run

step "One service cycle (as cron would run it): nothing new, nothing sent twice"
social-monitor run --once
social-monitor status

step "Done"
echo "Everything is in $work (database, outbox/, export.csv)."
ls "$work"/outbox/*.eml
