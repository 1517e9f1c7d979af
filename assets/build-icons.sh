#!/usr/bin/env bash
# Regenerates the raster icons from the SVG master (assets/exo-connect.svg; 16 px from the hinted
# assets/exo-connect-small.svg). The outputs are
# committed, so the build never needs these tools; run this after editing the SVG.
#   png/exo-connect-<N>.png  N = 16 24 32 48 64 128 256 512   (rsvg-convert, librsvg2-bin)
#   exo-connect.ico          16..256, for the Windows exe and installer (icotool, icoutils)
#   exo-connect.icns         16..512, for the macOS .app bundle (png2icns, icnsutils)
set -euo pipefail
cd "$(dirname "$0")"

need=()
command -v rsvg-convert >/dev/null || need+=(librsvg2-bin)
command -v icotool >/dev/null || need+=(icoutils)
command -v png2icns >/dev/null || need+=(icnsutils)
if ((${#need[@]})); then
    echo "installing ${need[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${need[@]}"
fi

sizes=(16 24 32 48 64 128 256 512)
mkdir -p png
for n in "${sizes[@]}"; do
    # 16 px uses the hinted variant (pixel-aligned edges); every other size the master.
    src=exo-connect.svg
    [[ $n == 16 ]] && src=exo-connect-small.svg
    rsvg-convert --width "$n" --height "$n" --format png --output "png/exo-connect-$n.png" "$src"
done

# Windows: the sizes Explorer and the taskbar ask for (256 is stored as PNG inside the .ico).
icotool --create --output exo-connect.ico \
    png/exo-connect-{16,24,32,48,64,128}.png --raw=png/exo-connect-256.png

# macOS: png2icns takes the sizes the icns format has slots for.
png2icns exo-connect.icns png/exo-connect-{16,32,48,128,256,512}.png >/dev/null

ls -l png exo-connect.ico exo-connect.icns
