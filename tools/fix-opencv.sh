#!/usr/bin/env bash
# mediapipe depends on the GUI build of OpenCV (opencv-contrib-python), whose cv2 ships Qt plugins
# and points QT_QPA_PLATFORM_PLUGIN_PATH at them on import, which breaks PySide6 under a real
# display. Replace it by the headless build of the same release (same cv2 module, no Qt).
set -euo pipefail
PY="$1"
gui=$("$PY" -m pip list --format=freeze 2>/dev/null | grep -iE '^opencv-(contrib-)?python==' || true)
[ -z "$gui" ] && exit 0
headless=$("$PY" -m pip list --format=freeze | grep -iE '^opencv-contrib-python-headless==' | cut -d= -f3)
"$PY" -m pip uninstall -q -y opencv-contrib-python opencv-python >/dev/null
"$PY" -m pip install -q --force-reinstall --no-deps "opencv-contrib-python-headless==${headless:-4.11.0.86}"
