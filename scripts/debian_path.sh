# Sourced by the entry scripts after deps.sh: Debian's tools, which deps.sh
# installs, come first on PATH. A fresh Debian 12 has only those; a machine
# with pyenv puts a shim first that costs ~0.7 s per python3 call, and the
# tests make hundreds of them.
case ":$PATH:" in
  /usr/bin:*) ;;
  *) export PATH="/usr/bin:$PATH" ;;
esac
