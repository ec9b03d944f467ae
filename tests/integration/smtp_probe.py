#!/usr/bin/python3
"""smtp_probe.py - offer many recipients in one SMTP session, print each reply.

usage: smtp_probe.py PORT SENDER [--xclient "ADDR=.. LOGIN=.."] [--tls VERSION]
                     [--data SUBJECT | --data-file FILE] < addresses

Addresses come one per line on stdin, byte for byte (a line already in
angle brackets is sent as it is). For each, one output line:
    CODE<TAB>ENHANCED<TAB>address
then, with --data, a line "DATA<TAB>CODE" after sending a small message.
With --data-file, FILE is sent as the message byte for byte (NULs, bare CR
and LF included), with only the dot-stuffing and the final dot added, and
the line is "DATA<TAB>CODE<TAB>ENHANCED<TAB>text" (CODE 0: the server closed
the connection). The DATA command is sent even when no recipient was
accepted, so that the server's answer to it is what is reported.
Commands are sent raw (smtplib's own address quoting would rewrite the
tricks under test). --tls VERSION is tls1_2 or tls1_3 (STARTTLS pinned to
that protocol version).
"""
import argparse
import smtplib
import ssl
import sys


def enhanced(msg):
    words = msg.decode("utf-8", "replace").split()
    if words and words[0].count(".") == 2 and words[0][0] in "245":
        return words[0]
    return "-"


def stuffed(data):
    """data with RFC 5321 4.5.2 transparency and the end-of-data mark; a
    line starts after any LF, since a bare LF ends a line for Postfix"""
    lines = data.split(b"\n")
    out = b"\n".join(b"." + l if l.startswith(b".") else l for l in lines)
    if out and not out.endswith(b"\r\n"):
        out += b"\r\n"
    return out + b".\r\n"


def send_file(s, path):
    """DATA with the bytes of path; returns (code, reply text)"""
    with open(path, "rb") as fp:
        data = fp.read()
    try:
        code, msg = s.docmd("DATA")
        if code != 354:
            return code, msg
        s.sock.sendall(stuffed(data))
        return s.getreply()
    except (smtplib.SMTPServerDisconnected, OSError) as e:
        return 0, str(e).encode()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("port", type=int)
    ap.add_argument("sender")
    ap.add_argument("--xclient", default="")
    ap.add_argument("--tls", default="")
    ap.add_argument("--data", default="")
    ap.add_argument("--data-file", default="")
    args = ap.parse_args()

    s = smtplib.SMTP("127.0.0.1", args.port, timeout=30)
    s.ehlo("probe.example")
    if args.xclient:
        code, msg = s.docmd("XCLIENT " + args.xclient)
        if code != 220:
            sys.exit("XCLIENT refused: %d %s" % (code, msg))
        s.ehlo("probe.example")
    if args.tls:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        v = {"tls1_2": ssl.TLSVersion.TLSv1_2, "tls1_3": ssl.TLSVersion.TLSv1_3}[args.tls]
        ctx.minimum_version = ctx.maximum_version = v
        s.starttls(context=ctx)
        s.ehlo("probe.example")
    code, msg = s.docmd("MAIL FROM:<%s>" % args.sender)
    print("MAIL\t%d\t%s" % (code, enhanced(msg)), flush=True)
    accepted = 0
    for line in sys.stdin.buffer:
        addr = line.rstrip(b"\r\n")
        if not addr:
            continue
        arg = addr if addr.startswith(b"<") else b"<" + addr + b">"
        s.send(b"RCPT TO:" + arg + b"\r\n")
        code, msg = s.getreply()
        if 200 <= code < 300:
            accepted += 1
        out = "%d\t%s\t" % (code, enhanced(msg))
        sys.stdout.buffer.write(out.encode() + addr + b"\n")
        sys.stdout.flush()
    if args.data:
        if accepted:
            code, msg = s.docmd("DATA")
            if code == 354:
                s.send(("Subject: %s\r\nFrom: <%s>\r\n\r\nprobe\r\n.\r\n"
                        % (args.data, args.sender)).encode())
                code, msg = s.getreply()
        else:
            code = 0
        print("DATA\t%d" % code)
    if args.data_file:
        code, msg = send_file(s, args.data_file)
        text = msg.decode("utf-8", "replace").replace("\n", " ")
        print("DATA\t%d\t%s\t%s" % (code, enhanced(msg), text), flush=True)
        if code == 0:
            return
    s.docmd("QUIT")


if __name__ == "__main__":
    main()
