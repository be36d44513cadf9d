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

step "Accounts and sources"
social-monitor accounts list
