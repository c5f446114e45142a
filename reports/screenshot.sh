#!/bin/sh
# Screenshots a meshsim report with headless Chromium, to check it renders
# in a real browser: reports/screenshot.sh out/wifi-mesh/report.html [out.png] [height]
# Needs Debian's `chromium` package (apt-get install -y chromium).
set -eu
report=${1:?usage: reports/screenshot.sh REPORT.html [OUT.png] [HEIGHT]}
png=${2:-${report%.html}.png}
height=${3:-4000}
browser=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
if [ -z "$browser" ]; then
    echo "no chromium found: apt-get install -y chromium" >&2
    exit 2
fi
abs=$(cd "$(dirname "$report")" && pwd)/$(basename "$report")
"$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars \
    --window-size=1100,"$height" --screenshot="$png" "file://$abs" 2>/dev/null
echo "screenshot: $png"
