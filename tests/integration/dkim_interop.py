#!/usr/bin/python3
"""dkim_interop.py - dkimpy (python3-dkim) as the independent DKIM signer
and verifier of t_dkim_interop.sh. Keys come from files, never from DNS.

  dkim_interop.py sign KEYFILE DOMAIN SELECTOR ALG CANON < msg > signed
      ALG rsa-sha256 or ed25519-sha256 (KEYFILE is then a base64 seed);
      CANON header/body, e.g. relaxed/simple
  dkim_interop.py verify KEYDIR < msg
      one line per DKIM-Signature, top first: "pass" or "fail"; the key
      for sel._domainkey.example.com is the file KEYDIR/sel._domainkey.example.com
"""
import os
import sys

import dkim


def read_message():
    """stdin, with CRLF line ends as on the wire"""
    data = sys.stdin.buffer.read()
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def sign(keyfile, domain, selector, alg, canon):
    msg = read_message()
    with open(keyfile, "rb") as f:
        key = f.read().strip() if alg == "ed25519-sha256" else f.read()
    head, body = canon.split("/")
    sig = dkim.sign(msg, selector.encode(), domain.encode(), key,
                    canonicalize=(head.encode(), body.encode()),
                    signature_algorithm=alg.encode(),
                    include_headers=[b"from", b"to", b"subject", b"date",
                                     b"message-id"])
    sys.stdout.buffer.write(sig + msg)
    return 0


def verify(keydir):
    msg = read_message()

    def dnsfunc(name, timeout=5):
        name = name.decode() if isinstance(name, bytes) else name
        path = os.path.join(keydir, name.rstrip("."))
        if "/" in name or not os.path.exists(path):
            return None
        with open(path, "rb") as f:
            return f.read().strip()

    d = dkim.DKIM(msg)
    count = sum(1 for line in msg.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
                if line.lower().startswith(b"dkim-signature:"))
    for i in range(count):
        try:
            ok = d.verify(idx=i, dnsfunc=dnsfunc)
        except dkim.DKIMException as e:
            print("fail (%s)" % e)
            continue
        print("pass" if ok else "fail")
    if count == 0:
        print("none")
    return 0


def main(argv):
    if len(argv) == 7 and argv[1] == "sign":
        return sign(*argv[2:])
    if len(argv) == 3 and argv[1] == "verify":
        return verify(argv[2])
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
