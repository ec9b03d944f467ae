#!/usr/bin/python3
"""loadsend.py - one SMTP client of a load run; records every message.

usage: loadsend.py PORT SENDER_NO COUNT OUTFILE [options]

Sends COUNT messages over as few connections as it can (up to --per-conn
messages on one), each with a unique "X-Test-Id: s<SENDER_NO>-<n>" and
Message-ID, and writes one line per message to OUTFILE when that
message is settled:

    ID <TAB> KIND <TAB> OUTCOME <TAB> CODE <TAB> ENHANCED <TAB> ATTEMPTS <TAB> DETAIL

KIND says what the message is:
    inbound   untrusted client to ours.example: must be delivered
    outbound  logged-in client (XCLIENT LOGIN) to a foreign domain
    relay     untrusted client to a foreign domain or a routing trick taken
              from --relay-file: must never be delivered
    servfail  inbound, but the sender's domain is under --servfail-zone
    abort     the client drops the connection in the middle of the body
OUTCOME is the last thing the client saw:
    delivered  250 to the end of data, DETAIL the server's queue id
    refused    a 5xx reply (at any command; DETAIL names the command)
    tempfail   a 4xx reply on the last attempt
    connerror  the connection failed on the last attempt
    aborted    the client dropped the connection on purpose (no 250 seen)
    unsent     the time limit came before the first attempt

A 4xx reply or a connection error is retried later, as a real client
would: the connection is closed (the server may keep refusing within it),
and the message goes back in the queue --retry-delay seconds later,
doubling up to --retry-max-delay, for at most --max-attempts attempts and never after
--time-limit. The last line of OUTFILE is "# stats" with counts of what
all attempts saw.
"""
import argparse
import random
import socket
import time


class Reply(Exception):
    """a reply that ends the attempt: code, enhanced code, text, command"""

    def __init__(self, code, text, cmd):
        super().__init__(code, text, cmd)
        self.code, self.text, self.cmd = code, text, cmd
        w = text.split()
        self.enh = w[0] if w and w[0].count(".") == 2 and w[0][0] in "245" else "-"


class ConnError(Exception):
    pass


class Conn:
    def __init__(self, port, timeout):
        try:
            self.s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        except OSError as e:
            raise ConnError("connect: %s" % e)
        self.f = self.s.makefile("rb")
        self.ident = None
        self.reply("greeting")
        self.ehlo()

    def reply(self, cmd):
        lines = []
        while True:
            try:
                line = self.f.readline()
            except OSError as e:
                raise ConnError("%s: %s" % (cmd, e))
            if not line:
                raise ConnError("%s: connection closed" % cmd)
            lines.append(line.decode("utf-8", "replace").rstrip("\r\n"))
            if len(line) < 4 or line[3:4] != b"-":
                break
        try:
            code = int(lines[-1][:3])
        except ValueError:
            raise ConnError("%s: bad reply %r" % (cmd, lines[-1]))
        return code, lines[-1][4:]

    def send(self, data):
        try:
            self.s.sendall(data)
        except OSError as e:
            raise ConnError("send: %s" % e)

    def cmd(self, line, want, name=None):
        self.send(line + b"\r\n")
        code, text = self.reply(name or line.split(b" ")[0].decode())
        if code // 100 != want:
            raise Reply(code, text, name or line.split(b" ")[0].decode())
        return code, text

    def ehlo(self):
        self.cmd(b"EHLO loadsend.example", 2)

    def xclient(self, ident):
        self.send(b"XCLIENT " + ident.encode() + b"\r\n")
        code, text = self.reply("XCLIENT")
        if code != 220:
            raise Reply(code, text, "XCLIENT")
        self.ehlo()
        self.ident = ident

    def close(self, polite=True):
        try:
            if polite:
                self.s.sendall(b"QUIT\r\n")
                self.reply("QUIT")
        except (OSError, ConnError):
            pass
        try:
            self.s.close()
        except OSError:
            pass


def stuff(body):
    return b"\r\n".join(b"." + l if l.startswith(b".") else l for l in body.split(b"\r\n"))


class Message:
    def __init__(self, mid, kind, sender, rcpt, ident):
        self.mid, self.kind, self.sender, self.rcpt, self.ident = mid, kind, sender, rcpt, ident
        self.attempts = 0
        self.due = 0.0
        self.last = None    # (outcome, code, enh, detail)

    def data(self):
        return stuff(
            b"From: <" + self.sender + b">\r\n"
            b"To: <user@ours.example>\r\n"
            b"Subject: load " + self.mid.encode() + b"\r\n"
            b"Date: Mon, 1 Jan 2024 00:00:00 +0000\r\n"
            b"Message-ID: <" + self.mid.encode() + b"@loadsend.example>\r\n"
            b"X-Test-Id: " + self.mid.encode() + b"\r\n"
            b"\r\n" + (b"Line of a load test message %s.\r\n" % self.mid.encode()) * 12 +
            b".starts with a dot\r\n")


def make_messages(a, relays):
    out = []
    for i in range(1, a.count + 1):
        mid = "s%d-%d" % (a.sender_no, i)
        # each message its own sender domain: every SPF lookup is asked
        dom = b"d%d-%d.far.example" % (a.sender_no, i)
        ident = "ADDR=192.0.2.%d" % (1 + a.sender_no % 200)
        rcpt = b"user%d@ours.example" % i
        kind = "inbound"
        if a.relay_every and i % a.relay_every == 0:
            kind = "relay"
            rcpt = relays[(a.sender_no * 7 + i) % len(relays)]
        elif a.abort_every and i % a.abort_every == 1:
            kind = "abort"
        elif a.servfail_every and i % a.servfail_every == 2:
            kind = "servfail"
            dom = b"d%d-%d.%s" % (a.sender_no, i, a.servfail_zone.encode())
        elif a.login_every and i % a.login_every == 3:
            kind = "outbound"
            ident = "ADDR=203.0.113.%d LOGIN=user%d" % (1 + a.sender_no % 200, a.sender_no)
            dom = b"ours.example"
            rcpt = b"friend%d@elsewhere.example" % i
        out.append(Message(mid, kind, b"s" + str(i).encode() + b"@" + dom, rcpt, ident))
    return out


class Sender:
    def __init__(self, a):
        self.a = a
        self.conn = None
        self.on_conn = 0
        self.stats = {}

    def count(self, what):
        self.stats[what] = self.stats.get(what, 0) + 1

    def drop(self, polite):
        if self.conn is not None:
            self.conn.close(polite)
        self.conn = None

    def ready(self, m):
        # one client identity per connection: Postfix takes XCLIENT only
        # from the real client, not from the one it now pretends to be
        if self.conn is not None and (self.on_conn >= self.a.per_conn or
                                      self.conn.ident != m.ident):
            self.drop(True)
        if self.conn is None:
            self.conn = Conn(self.a.port, self.a.timeout)
            self.on_conn = 0
            self.count("connections")
            self.conn.xclient(m.ident)

    def attempt(self, m):
        """one try; returns the outcome tuple, raises nothing"""
        m.attempts += 1
        try:
            self.ready(m)
            self.on_conn += 1
            c = self.conn
            c.cmd(b"MAIL FROM:<" + m.sender + b">", 2, "MAIL")
            rcpt = m.rcpt if m.rcpt.startswith(b"<") else b"<" + m.rcpt + b">"
            c.cmd(b"RCPT TO:" + rcpt, 2, "RCPT")
            c.cmd(b"DATA", 3)
            body = m.data()
            if m.kind == "abort":
                c.send(body[: len(body) // 2])
                time.sleep(0.01)
                self.drop(False)
                return ("aborted", 0, "-", "dropped mid-body")
            c.send(body + b"\r\n.\r\n")
            code, text = c.reply("end of data")
            if code // 100 != 2:
                raise Reply(code, text, "end of data")
            qid = text.split()[-1] if "queued as" in text else text
            return ("delivered", code, text.split()[0], qid)
        except Reply as r:
            self.count("reply %dxx at %s" % (r.code // 100, r.cmd))
            if r.code // 100 == 4 or r.cmd == "XCLIENT":
                # the server may refuse everything on this connection now
                self.drop(True)
                return ("tempfail" if r.code // 100 == 4 else "refused",
                        r.code, r.enh, r.cmd + ": " + r.text)
            try:
                self.conn.cmd(b"RSET", 2)
            except (Reply, ConnError):
                self.drop(False)
            return ("refused", r.code, r.enh, r.cmd + ": " + r.text)
        except ConnError as e:
            self.count("connection errors")
            self.drop(False)
            return ("connerror", 0, "-", str(e))

    def run(self, out):
        a = self.a
        relays = [l.rstrip(b"\n") for l in open(a.relay_file, "rb")] if a.relay_file else [b"x@evil.example"]
        queue = make_messages(a, relays)
        end = time.monotonic() + a.time_limit
        rnd = random.Random(a.sender_no)
        while queue:
            now = time.monotonic()
            m = min(queue, key=lambda x: x.due)
            if now > end:
                break
            if m.due > now:
                time.sleep(min(m.due - now, 0.2))
                continue
            m.last = self.attempt(m)
            if m.last[0] in ("tempfail", "connerror") and m.attempts < a.max_attempts:
                delay = min(a.retry_delay * (2 ** (m.attempts - 1)), a.retry_max_delay)
                m.due = time.monotonic() + delay * (0.75 + rnd.random() / 2)
                self.count("retries")
                continue
            queue.remove(m)
            self.write(out, m)
        for m in queue:
            if m.last is None:
                m.last = ("unsent", 0, "-", "time limit")
            self.write(out, m)
        self.drop(True)
        out.write("# stats\t%s\n" % "\t".join("%s=%d" % kv for kv in sorted(self.stats.items())))

    def write(self, out, m):
        o, code, enh, detail = m.last
        out.write("%s\t%s\t%s\t%d\t%s\t%d\t%s\n" % (
            m.mid, m.kind, o, code, enh, m.attempts, detail.replace("\t", " ")))
        out.flush()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("port", type=int)
    ap.add_argument("sender_no", type=int)
    ap.add_argument("count", type=int)
    ap.add_argument("outfile")
    ap.add_argument("--per-conn", type=int, default=50)
    ap.add_argument("--relay-every", type=int, default=0)
    ap.add_argument("--relay-file", default="")
    ap.add_argument("--abort-every", type=int, default=0)
    ap.add_argument("--servfail-every", type=int, default=0)
    ap.add_argument("--servfail-zone", default="servfail.test")
    ap.add_argument("--login-every", type=int, default=0)
    ap.add_argument("--max-attempts", type=int, default=6)
    ap.add_argument("--retry-delay", type=float, default=0.5)
    ap.add_argument("--retry-max-delay", type=float, default=2)
    ap.add_argument("--time-limit", type=float, default=120)
    ap.add_argument("--timeout", type=float, default=30)
    a = ap.parse_args()
    with open(a.outfile, "w") as out:
        Sender(a).run(out)


if __name__ == "__main__":
    main()
