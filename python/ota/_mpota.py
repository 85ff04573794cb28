# The engine module: the C module `mpota` where the firmware has it, else
# the same API in pure Python (_stock.py) on stock firmware. Every module of
# the package reaches the engine through here.
try:
    import mpota
except ImportError:
    from . import _stock as mpota
