# The unix port's machine module plus reset(), which on the twin is a device
# reset: mpota.restart() ends this boot at once (no cleanup, as on an ESP32)
# and mpota-twin boots again through the bootloader's selection. mpota is
# reached through _twin: stock mode hides it from `import`.
import sys

# Import the built-in module of the same name: hide the frozen and
# filesystem modules while doing so.
_path = sys.path
sys.path = []
try:
    import machine as _builtin
finally:
    sys.path = _path
del _path

for _name in dir(_builtin):
    if not _name.startswith("__"):
        globals()[_name] = getattr(_builtin, _name)
del _name, _builtin

import _twin  # noqa: E402

reset = _twin.mpota().restart
del _twin
del sys
