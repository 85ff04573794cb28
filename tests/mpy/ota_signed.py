# Secure Boot V2 signatures through glenn20's API (ota.update.from_file with
# key=), on a device whose running app (rsa.bin) is signed by rsa3072: it
# accepts only that key's images without being asked, and key= adds keys.
# Each line: the image, then "ok" or the refusal's code and text.
import mpota
import ota.update


def pem(name):
    with open(name + ".pub.pem") as f:
        return f.read()


def attempt(name, **kw):
    try:
        ota.update.from_file(name, reboot=False, verbose=False, **kw)
        print(name, "ok")
    except OSError as e:
        print(name, "refused:", mpota.err_name(e.args[0]))
        print(" ", e)
    except ValueError as e:
        print(name, "ValueError:", e)


attempt("ec256.bin")  # signed by a key the running app does not carry
attempt("app.bin")  # unsigned
attempt("rsa2.bin")  # block 0 by rsa3072
attempt("padding.bin")  # rsa.bin with a byte of its padding changed
attempt("forged.bin")  # rsa.bin with its signature changed, CRC made right
attempt("rsa3b.bin", key=pem("rsa3072_b"))  # signed by rsa3072_b only: trusted by key=
attempt("ec256.bin", key=open("ec256.digest", "rb").read())
attempt("ec256.bin", key="zz")
print("running", mpota.Device().running())
