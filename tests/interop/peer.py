#!/usr/bin/env python3
"""The Linux side of the interop tests: small TCP programs on kernel sockets.

  peer.py serve ADDR PORT SEND_FILE RECV_FILE   accept one connection; send
          SEND_FILE then half-close, while writing what arrives to RECV_FILE
  peer.py abort ADDR PORT                       accept one connection, then
          close it with SO_LINGER 0 (RST)
  peer.py blackhole ADDR PORT                   a listener whose accept queue
          is full, so that the kernel drops every further SYN silently
  peer.py echo ADDR PORT                        accept one connection, echo
          until end of stream, then close
  peer.py halfclose ADDR PORT MSG               connect, send MSG, SHUT_WR,
          then print everything received until end of stream
  peer.py simopen LADDR LPORT RADDR RPORT       bind and connect (meets a
          connect from the other side: simultaneous open); print the state
  peer.py closefirst ADDR PORT                  connect, close at once, then
          wait for the peer's FIN
Every blocking call has a timeout, so a test can never hang here.
"""
import os
import socket
import sys
import threading
import time

TIMEOUT = 120


def listener(addr, port, backlog=8):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, int(port)))
    s.listen(backlog)
    s.settimeout(TIMEOUT)
    print("ready", flush=True)
    return s


def serve(addr, port, send_file, recv_file):
    ls = listener(addr, port)
    c, _ = ls.accept()
    c.settimeout(TIMEOUT)

    def sender():
        with open(send_file, "rb") as f:
            while True:
                b = f.read(1 << 16)
                if not b:
                    break
                c.sendall(b)
        c.shutdown(socket.SHUT_WR)

    t = threading.Thread(target=sender)
    t.start()
    with open(recv_file, "wb") as out:
        while True:
            b = c.recv(1 << 16)
            if not b:
                break
            out.write(b)
    t.join(TIMEOUT)
    c.close()


def abort(addr, port):
    ls = listener(addr, port)
    c, _ = ls.accept()
    time.sleep(0.2)
    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    c.close()


def blackhole(addr, port):
    ls = listener(addr, port, backlog=0)
    # Fill the accept queue (a backlog of 0 holds one) from loopback.
    fillers = []
    for _ in range(2):
        f = socket.socket()
        f.setblocking(False)
        try:
            f.connect(("127.0.0.1", int(port)))
        except BlockingIOError:
            pass
        fillers.append(f)
    time.sleep(0.5)
    print("full", flush=True)
    time.sleep(TIMEOUT)


def echo(addr, port):
    ls = listener(addr, port)
    c, _ = ls.accept()
    c.settimeout(TIMEOUT)
    while True:
        b = c.recv(65536)
        if not b:
            break
        c.sendall(b)
    c.close()


def halfclose(addr, port, msg):
    c = socket.create_connection((addr, int(port)), timeout=10)
    c.settimeout(TIMEOUT)
    # Corked, the request and the FIN leave in one segment, so the FIN
    # reaches synack before its echo of the request can leave; uncorked,
    # the FIN may follow a moment later and the echo overtake it.
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, 1)
    c.sendall(msg.encode())
    c.shutdown(socket.SHUT_WR)
    got = b""
    while True:
        b = c.recv(65536)
        if not b:
            break
        got += b
    sys.stdout.write(got.decode(errors="replace"))
    c.close()


def simopen(laddr, lport, raddr, rport):
    c = socket.socket()
    c.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    c.bind((laddr, int(lport)))
    c.settimeout(20)
    c.connect((raddr, int(rport)))
    print("ESTABLISHED", flush=True)
    c.settimeout(TIMEOUT)
    # Read until the peer closes, then close.
    while c.recv(65536):
        pass
    c.close()


def closefirst(addr, port):
    c = socket.create_connection((addr, int(port)), timeout=10)
    c.settimeout(30)
    c.shutdown(socket.SHUT_WR)
    while c.recv(65536):
        pass
    c.close()


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    {"serve": serve, "abort": abort, "blackhole": blackhole, "halfclose": halfclose,
     "simopen": simopen, "echo": echo, "closefirst": closefirst}[cmd](*args)


if __name__ == "__main__":
    main()
