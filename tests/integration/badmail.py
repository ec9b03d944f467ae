#!/usr/bin/python3
"""badmail.py - write malformed messages for t_badinput.sh.

usage: badmail.py OUTDIR

Writes OUTDIR/CASE.eml for every case below, byte for byte as the client
sends it (smtp_probe.py --data-file adds the dot-stuffing and the final
dot). Every message but "empty" carries "X-Test-Id: CASE", so that the
sink copy can be found, and a DKIM-Signature field, so that the DKIM
verifier parses something and asks DNS for a key. The files are made at
test time: the large ones (20 MB body, 1 MB header line) are never kept
in the tree.
"""
import os
import sys

LINK = b"Visit http://www.clean-site.com/offer and https://docs.clean-site.com/x\r\n"


def head(case, extra=b"", subject=None):
    subj = subject if subject is not None else ("badinput " + case).encode()
    return (b"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=far.example;\r\n"
            b" s=sel; h=from:to:subject; bh=AAAA; b=AAAA\r\n"
            b"From: <bi-" + case.encode() + b"@far.example>\r\n"
            b"To: <user@ours.example>\r\n"
            b"Subject: " + subj + b"\r\n"
            b"Date: Mon, 1 Jan 2024 00:00:00 +0000\r\n"
            b"Message-ID: <" + case.encode() + b"@far.example>\r\n"
            b"X-Test-Id: " + case.encode() + b"\r\n" + extra)


def plain(case, body, extra=b"", subject=None):
    return head(case, extra, subject) + b"\r\n" + body


def longhdr():
    # one unfolded field of 1 MiB, well over every line length limit
    return plain("longhdr", LINK, b"X-Long: " + b"a" * (1 << 20) + b"\r\n")


def bighdr():
    # 24 fields of 50,000 bytes: 1.2 MB of header, each field short enough
    # to reach the filter whole
    extra = b"".join(b"X-Big-%d: " % i + b"b" * 50000 + b"\r\n" for i in range(24))
    return plain("bighdr", LINK, extra)


def manyhdrs():
    extra = b"".join(b"X-H-%d: value %d\r\n" % (i, i) for i in range(10000))
    return plain("manyhdrs", LINK, extra)


def bigbody():
    line = b"x" * 70 + b"\r\n"
    chunk = line * 1000 + LINK
    n = (20 * 1000 * 1000) // len(chunk) + 1
    return plain("bigbody", chunk * n)


def rcpts():
    return plain("rcpts", LINK)


def nul():
    return plain("nul", b"before\x00after\r\n\x00\x00\x00\r\n" + LINK,
                 b"X-Nul: a\x00b\r\n", b"nul \x00 in subject")


def bare():
    # bare CR and bare LF, in the header and in the body
    return plain("bare", b"one\rtwo\nthree\r\n\r\r\n\n\n" + LINK + b"end\r",
                 b"X-Bare-CR: a\rb\r\nX-Bare-LF: c\nd\r\n")


def badutf8():
    junk = b"\xff\xfe \xc0\xaf \xed\xa0\x80 \xf4\x90\x80\x80 \xe2\x82 \x80"
    return plain("badutf8", junk + b"\r\nhttp://www.\xff\xfe.clean-site.com/\r\n" + LINK,
                 b"X-Utf8: " + junk + b"\r\n", b"utf8 " + junk)


def mime_unterminated():
    body = (b"--outer\r\n"
            b"Content-Type: multipart/alternative; boundary=\"inner\"\r\n\r\n"
            b"--inner\r\n"
            b"Content-Type: text/html\r\n\r\n"
            b"<a href=\"http://www.clean-site.com/\">x</a>\r\n"
            b"--inner\r\n"
            b"Content-Type: text/plain\r\n\r\n" + LINK +
            b"--outer\r\n"
            b"Content-Type: application/octet-stream; name=\"a.exe\"\r\n"
            b"Content-Transfer-Encoding: base64\r\n\r\n"
            b"QUJDREVG\r\n")
    return plain("mime_unterminated", body,
                 b"MIME-Version: 1.0\r\n"
                 b"Content-Type: multipart/mixed; boundary=\"outer\"\r\n")


def mime_deep():
    depth = 100
    open_ = b"".join(b"--b%d\r\nContent-Type: multipart/mixed; boundary=\"b%d\"\r\n\r\n"
                     % (i, i + 1) for i in range(depth))
    inner = (b"--b%d\r\nContent-Type: text/plain\r\n\r\n" % depth + LINK +
             b"--b%d\r\nContent-Type: application/octet-stream; name=\"deep.exe\"\r\n\r\nMZ\r\n" % depth)
    close = b"".join(b"--b%d--\r\n" % i for i in range(depth, -1, -1))
    return plain("mime_deep", open_ + inner + close,
                 b"MIME-Version: 1.0\r\n"
                 b"Content-Type: multipart/mixed; boundary=\"b0\"\r\n")


def base64_garbage():
    body = (b"--g\r\n"
            b"Content-Type: text/html\r\n"
            b"Content-Transfer-Encoding: base64\r\n\r\n"
            b"PGEgaHJlZj0iaHR0cDovL3d3dy5jbGVhbi1zaXRlLmNvbS8iPg==\r\n"
            b"!!!!@@@@####$$$$%%%%^^^^&&&&****\r\n"
            b"QUJD=REVG==G\x00\xff\xfe====\r\n"
            b"Q\r\nQQ\r\nQQQ\r\n====\r\n"
            b"--g\r\n"
            b"Content-Type: application/pdf; name=\"x.pdf\"\r\n"
            b"Content-Transfer-Encoding: base64\r\n\r\n"
            + b"\x80\x81\x82garbage~~~\r\n" * 100 +
            b"--g--\r\n")
    return plain("base64_garbage", body,
                 b"MIME-Version: 1.0\r\n"
                 b"Content-Type: multipart/mixed; boundary=\"g\"\r\n")


def nocolon():
    return plain("nocolon", LINK,
                 b"This line has no colon\r\n"
                 b"X-After: still a header?\r\n"
                 b"another one without\r\n")


def empty():
    return b""


CASES = [longhdr, bighdr, manyhdrs, bigbody, rcpts, nul, bare, badutf8,
         mime_unterminated, mime_deep, base64_garbage, nocolon, empty]


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for f in CASES:
        with open(os.path.join(out, f.__name__ + ".eml"), "wb") as fp:
            fp.write(f())
        print(f.__name__)


if __name__ == "__main__":
    main()
