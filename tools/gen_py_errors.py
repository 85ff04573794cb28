#!/usr/bin/env python3
"""Writes python/ota/_errors.py: the core's error codes and sentences for the
pure-Python engine, so both engines raise the same code with the same text.

    tools/gen_py_errors.py [--root DIR] [-o OUT]      (make py-errors)

Reads include/mpota/err.h (enum mpota_err), src/core/diag.c (the catalogue)
and, for {expchip}/{actchip}, include/mpota/image.h and src/core/chip.c. Every
core code goes in: the package words the C module's errors too where the
firmware is built without text (MPOTA_DIAG_TEXT=0). The codes python/ota names
are checked against err.h. Anything the parser does not understand stops it,
rather than emit a module that drifts.
Standard library only (Debian's python3).
"""
import argparse
import os
import re
import sys
import textwrap

# diag.c's put_field names, and the letter the generated module keys them by.
FIELDS = {"off": "o", "offh": "o", "exp": "e", "act": "a", "exph": "E", "acth": "A",
          "label": "l", "expchip": "c", "actchip": "C"}
NAME_RE = r"MPOTA_(?:OK|ERR_[A-Z0-9_]+)"


class ParseError(Exception):
    pass


def strip_comments(src):
    # Blanks // and /* */ comments outside string literals, keeping line breaks
    # so error messages can give line numbers.
    out, i, n = [], 0, len(src)
    while i < n:
        c = src[i]
        if c == '"' or c == "'":
            j = i + 1
            while j < n and src[j] != c:
                j += 2 if src[j] == "\\" else 1
            out.append(src[i:j + 1])
            i = j + 1
        elif src.startswith("//", i):
            j = src.find("\n", i)
            i = n if j < 0 else j
        elif src.startswith("/*", i):
            j = src.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", src[i:j]))
            i = j
        else:
            out.append(c)
            i += 1
    return "".join(out)


def line_of(src, pos):
    return src.count("\n", 0, pos) + 1


def parse_enum(path):
    """[(name, value)] of enum mpota_err, in source order."""
    src = strip_comments(open(path, encoding="utf-8").read())
    m = re.search(r"\benum\s+mpota_err\s*\{(.*?)\}", src, re.S)
    if not m:
        raise ParseError("%s: no enum mpota_err" % path)
    codes = []
    for item in m.group(1).split(","):
        item = item.strip()
        if not item:
            continue
        e = re.fullmatch(r"(%s)\s*=\s*(-?\s*\d+)" % NAME_RE, item)
        if not e:
            raise ParseError("%s: cannot read enum entry %r (want NAME = integer)" % (path, item))
        codes.append((e.group(1), int(e.group(2).replace(" ", ""))))
    return codes


_ESCAPES = {"n": b"\n", "t": b"\t", "r": b"\r", '"': b'"', "'": b"'", "\\": b"\\", "?": b"?",
            "a": b"\a", "b": b"\b", "f": b"\f", "v": b"\v"}


def c_string(body, where):
    """The bytes of a C string literal's body (between the quotes)."""
    out, i = bytearray(), 0
    while i < len(body):
        c = body[i]
        if c != "\\":
            out += c.encode("utf-8")
            i += 1
            continue
        e = body[i + 1]
        if e in _ESCAPES:
            out += _ESCAPES[e]
            i += 2
        elif e == "x":
            m = re.match(r"[0-9A-Fa-f]+", body[i + 2:])
            if not m:
                raise ParseError("%s: bad \\x escape" % where)
            out.append(int(m.group(0), 16) & 0xFF)
            i += 2 + len(m.group(0))
        elif e in "01234567":
            m = re.match(r"[0-7]{1,3}", body[i + 1:])
            out.append(int(m.group(0), 8) & 0xFF)
            i += 1 + len(m.group(0))
        else:
            raise ParseError("%s: unsupported escape \\%s" % (where, e))
    return bytes(out)


def parse_catalogue(path):
    """[(name, template bytes)] of diag.c's catalogue[], in source order."""
    raw = open(path, encoding="utf-8").read()
    src = strip_comments(raw)
    m = re.search(r"\bcatalogue\s*\[\s*\]\s*=\s*\{", src)
    if not m:
        raise ParseError("%s: no catalogue[] array" % path)
    pos = m.end()
    entry = re.compile(r"\s*E\(\s*(%s)\s*,\s*" % NAME_RE)
    literal = re.compile(r'\s*"((?:[^"\\\n]|\\.)*)"')
    entries = []
    while True:
        end = re.match(r"\s*\}\s*;", src[pos:])
        if end:
            return entries
        e = entry.match(src, pos)
        if not e:
            raise ParseError("%s:%d: expected E(MPOTA_..., \"text\") or the end of catalogue[]"
                             % (path, line_of(src, pos)))
        pos, text, literals = e.end(), b"", 0
        where = "%s:%d" % (path, line_of(src, pos))
        while True:  # adjacent literals concatenate, as in C
            lit = literal.match(src, pos)
            if not lit:
                break
            text += c_string(lit.group(1), where)
            pos, literals = lit.end(), literals + 1
        close = re.compile(r"\s*\)\s*,?").match(src, pos)
        if not literals or not close:
            raise ParseError("%s: cannot read the entry of %s" % (where, e.group(1)))
        entries.append((e.group(1), text))
        pos = close.end()


def parse_chips(image_h, chip_c):
    """[(id, name)] of chip.c's chips[], in source order (its lookup takes the first)."""
    ids = {m.group(1): int(m.group(2), 0) for m in re.finditer(
        r"^#define\s+(MPOTA_CHIP_\w+)\s+(0[xX][0-9A-Fa-f]+|\d+)[uU]?\b",
        open(image_h, encoding="utf-8").read(), re.M)}
    src = strip_comments(open(chip_c, encoding="utf-8").read())
    m = re.search(r"\bchips\s*\[\s*\]\s*=\s*\{(.*?)\}\s*;", src, re.S)
    if not m:
        raise ParseError("%s: no chips[] array" % chip_c)
    body = m.group(1)
    chips = []
    for e in re.finditer(r'\{\s*(\w+)\s*,\s*"((?:[^"\\]|\\.)*)"\s*\}', body):
        if e.group(1) not in ids:
            raise ParseError("%s: %s is not defined in %s" % (chip_c, e.group(1), image_h))
        chips.append((ids[e.group(1)], c_string(e.group(2), chip_c).decode("utf-8")))
    if len(chips) != body.count("{"):
        raise ParseError("%s: cannot read every entry of chips[]" % chip_c)
    return chips


def compile_template(text):
    """(format, letters): the template as a %-format with one %s per
    placeholder diag.c expands, and the placeholders' letters in order.

    Scans as mpota_diag_format does: a '{' with a '}' after it and a known
    name between is a placeholder; any other '{' is text. Without
    placeholders the format is the text itself (no % escaping)."""
    out, letters, i = [], [], 0
    while i < len(text):
        close = text.find("}", i) if text[i] == "{" else -1
        if close >= 0 and text[i + 1:close] in FIELDS:
            out.append("%s")
            letters.append(FIELDS[text[i + 1:close]])
            i = close + 1
        else:
            out.append("%%" if text[i] == "%" else text[i])
            i += 1
    if not letters:
        return text, ""
    return "".join(out), "".join(letters)


def used_names(root):
    """Code names the package's sources mention (whole words), but _errors.py."""
    pkg = os.path.join(root, "python", "ota")
    files = [os.path.join(pkg, f) for f in sorted(os.listdir(pkg))
             if f.endswith(".py") and f != "_errors.py"]
    files.append(os.path.join(root, "python", "ota32.py"))
    names = set()
    for path in files:
        if os.path.exists(path):
            names.update(re.findall(r"(?<![A-Za-z0-9_])(%s)(?![A-Za-z0-9_])" % NAME_RE,
                                    open(path, encoding="utf-8").read()))
    return names


HEADER = """\
%s
# The core's codes and sentences, for the pure-Python engine and for the C
# module's errors where the firmware has no text (mpota.Error's text is None).
# tests/cli/test_py_errors.sh checks this file against the sources, and text()
# against the C formatter.
#
#   CODE[name] -> int        name(code) -> str, as mpota_err_name()
#   text(code, off=0, exp=0, act=0, label="") -> str, as mpota_diag_format()
#       formats a struct mpota_diag {err, offset, expected, actual, label}

"""

# The generated functions. Numbers are taken as uint32_t, as the struct holds
# them. Only the helpers and branches of the field letters in use are emitted.
NAME = '''

def name(code):
    e = _T.get(code)
    return e[0] if e else "MPOTA_ERR_UNKNOWN"
'''

DEC = '''

def _dec(v):
    # "1,572,864": MicroPython has no "{:,}"
    s = "%d" % v
    i = len(s) - 3
    while i > 0:
        s = s[:i] + "," + s[i:]
        i -= 3
    return s
'''

LABEL = '''

def _label(s):
    # As mpota_diag_label() stores it: up to a NUL, at most 32 bytes. C may cut
    # a UTF-8 character in two; a str cannot hold half of one: cut before it.
    i = s.find("\\0")
    if i >= 0:
        s = s[:i]
    b = s.encode()
    if len(b) > 32:
        n = 32
        while n and (b[n] & 0xC0) == 0x80:
            n -= 1
        s = b[:n].decode()
    return s or "(unnamed)"
'''

CHIP = '''

def _chip(v):
    # Named by the low 16 bits (C casts to uint16_t); the id printed whole.
    return "%s (chip id %d)" % (_CHIPS.get(v & 0xFFFF, "an unknown chip"), v)
'''

TEXT = '''

def text(code, off=0, exp=0, act=0, label=""):
    e = _T.get(code)
    if e is None:
        # C prints "error -" and (uint32_t)-(int64_t)err: 5 reads "error -4294967291"
        return "error -%d" % (-code & 0xFFFFFFFF)
    if not e[2]:
        return e[1]
    off &= 0xFFFFFFFF
    exp &= 0xFFFFFFFF
    act &= 0xFFFFFFFF
    v = []
    for k in e[2]:
@BRANCHES@    return e[1] % tuple(v)
'''

# letter: (what text() appends for it, the helper that needs)
BRANCHES = [("o", '"0x%X" % off', None), ("e", "_dec(exp)", DEC), ("a", "_dec(act)", DEC),
            ("E", '"0x%X" % exp', None), ("A", '"0x%X" % act', None),
            ("l", "_label(label)", LABEL), ("c", "_chip(exp)", CHIP), ("C", "_chip(act)", CHIP)]


def text_function(letters):
    branches = [b for b in BRANCHES if b[0] in letters]
    helpers = []
    for _, _, helper in branches:
        if helper and helper not in helpers:
            helpers.append(helper)
    if not branches:
        return TEXT.split("    if not e[2]:")[0] + "    return e[1]\n"
    body = []
    for i, (k, expr, _) in enumerate(branches):
        if len(branches) == 1:
            body.append("        v.append(%s)\n" % expr)
            continue
        if i == len(branches) - 1:
            body.append("        else:\n")
        else:
            body.append('        %s k == "%s":\n' % ("elif" if i else "if", k))
        body.append("            v.append(%s)\n" % expr)
    return "".join(helpers) + TEXT.replace("@BRANCHES@", "".join(body))


def generate(root):
    enum = parse_enum(os.path.join(root, "include", "mpota", "err.h"))
    catalogue = parse_catalogue(os.path.join(root, "src", "core", "diag.c"))
    values = dict(enum)
    for name, _ in catalogue:
        if name not in values:
            raise ParseError("diag.c names %s, which err.h does not define" % name)

    used = used_names(root) | {"MPOTA_OK"}
    unknown = sorted(n for n in used - set(values) if n != "MPOTA_ERR_UNKNOWN")
    if unknown:
        raise ParseError("python/ota names codes err.h does not define: %s" % ", ".join(unknown))

    # lookup() takes the first catalogue entry with the value: an alias (two
    # names, one value) reads as that entry's name.
    first = {}
    for name, text in catalogue:
        first.setdefault(values[name], (name, text.decode("utf-8")))
    chosen = list(enum)
    rows, letters, done = [], set(), set()
    for n, v in chosen:
        if v not in first:
            # C formats it as an unknown code; so does the module.
            print("gen_py_errors: warning: %s has no entry in diag.c's catalogue" % n,
                  file=sys.stderr)
        elif v not in done:
            done.add(v)
            fmt, keys = compile_template(first[v][1])
            letters.update(keys)
            rows.append("    %d: (%r, %r, %r),\n" % (v, first[v][0], fmt, keys))
    needs_chip = bool(letters & {"c", "C"})

    sources = ["include/mpota/err.h", "src/core/diag.c"]
    if needs_chip:
        sources += ["include/mpota/image.h", "src/core/chip.c"]
    made = ("GENERATED FILE -- DO NOT EDIT. Regenerate with `make py-errors` "
            "(tools/gen_py_errors.py) from %s." % ", ".join(sources))
    out = [HEADER % textwrap.fill(made, 79, initial_indent="# ", subsequent_indent="# "),
           "CODE = {\n"]
    out.extend("    %r: %d,\n" % (n, v) for n, v in chosen)
    out.append("}\n\n# code: (name, %-format, the letters of its fields)\n_T = {\n")
    out.extend(rows)
    out.append("}\n")
    if needs_chip:
        chips = parse_chips(os.path.join(root, "include", "mpota", "image.h"),
                            os.path.join(root, "src", "core", "chip.c"))
        out.append("\n_CHIPS = {\n")
        seen = set()
        for i, nm in chips:
            if i not in seen:  # mpota_chip_name() returns the first match
                seen.add(i)
                out.append("    %d: %r,\n" % (i, nm))
        out.append("}\n")
    out.append(NAME)
    out.append(text_function(letters))
    return "".join(out), len(chosen)


def main():
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--root", default=here, help="source tree (default: this script's)")
    ap.add_argument("-o", "--output", help="default: ROOT/python/ota/_errors.py")
    a = ap.parse_args()
    out = a.output or os.path.join(a.root, "python", "ota", "_errors.py")
    try:
        text, count = generate(a.root)
    except (ParseError, OSError, UnicodeDecodeError) as e:
        sys.exit("gen_py_errors: %s" % e)
    with open(out, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)
    print("gen_py_errors: %s: %d codes, %d bytes" % (out, count, len(text.encode("utf-8"))))


if __name__ == "__main__":
    main()
