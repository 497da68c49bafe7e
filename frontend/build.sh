#!/usr/bin/env bash
# Copies the built npm packages the pages use into bot/web/static/vendor.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
nm="$here/node_modules"
out="$here/../bot/web/static/vendor"
rm -rf "$out"; mkdir -p "$out/govuk" "$out/js"
# The compiled CSS points at /assets/...; make the URLs relative to the CSS file so the
# fonts and images load wherever the file is served (our pages and pages embedding the widget).
sed 's#url(/assets/#url(assets/#g' "$nm/govuk-frontend/dist/govuk/govuk-frontend.min.css" \
  > "$out/govuk/govuk-frontend.min.css"
cp "$nm/govuk-frontend/dist/govuk/govuk-frontend.min.js" "$out/govuk/"
cp -r "$nm/govuk-frontend/dist/govuk/assets" "$out/govuk/assets"
cp "$nm/socket.io-client/dist/socket.io.min.js" "$out/js/"
cp "$nm/axe-core/axe.min.js" "$out/js/"
