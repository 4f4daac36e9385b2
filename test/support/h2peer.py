#!/usr/bin/python3
"""An HBONE peer built on python-hyper's h2, an HTTP/2 stack this project did not write.

Used by test/hbone-interop.test.ts to check that our HBONE server and client speak the
wire format of DESIGN.md ("HBONE on the wire"): TLS 1.3, ALPN h2, mutual TLS with
SPIFFE URI SANs, HTTP/2 CONNECT with :authority = ip:port, 200 then a byte tunnel.

  client: CONNECT through an HBONE server, send a payload, half-close (END_STREAM),
          read the echo until the server's END_STREAM; prints one JSON line.
  server: listen on 127.0.0.1, print {"port": N}, accept one connection, answer CONNECT
          with 200, echo DATA, and after the client's END_STREAM send --farewell and
          END_STREAM; prints one JSON line describing what it saw, then exits.

Both modes exit within --timeout seconds no matter what (SIGALRM). Run it with the system
python (/usr/bin/python3), where Debian's python3-h2 is installed.
"""
import argparse
import hashlib
import json
import signal
import socket
import ssl
import sys

import h2.config
import h2.connection
import h2.events

READ_SIZE = 65536


def emit(obj):
    print(json.dumps(obj), flush=True)


def tls_context(server_side, cert, key, ca):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER if server_side else ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3  # HBONE is TLS 1.3 only
    ctx.load_cert_chain(cert, key)  # leaf (then intermediates) and its key
    ctx.load_verify_locations(ca)  # the mesh's trust bundle
    # A mesh peer is named by the SPIFFE ID in its URI SAN, not by a DNS name or an IP, so
    # there is no hostname check; the chain is still verified against the mesh roots, and
    # both sides must present a certificate (mutual TLS).
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.set_alpn_protocols(['h2'])
    return ctx


def no_delay(sock):
    # HTTP/2 sends small control frames (WINDOW_UPDATE, SETTINGS ACK) that the peer waits
    # for; with Nagle's algorithm they sit behind the peer's delayed ACK (~40 ms each).
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def describe_tls(tls):
    cert = tls.getpeercert() or {}
    return {
        'tls': tls.version(),
        'alpn': tls.selected_alpn_protocol(),
        'peer_uri_san': [v for k, v in cert.get('subjectAltName', ()) if k == 'URI'],
    }


def pump(tls, conn):
    """Writes whatever h2 has queued, then reads once and returns h2's events."""
    out = conn.data_to_send()
    if out:
        tls.sendall(out)
    data = tls.recv(READ_SIZE)
    if not data:
        raise EOFError('peer closed the connection')
    return conn.receive_data(data)


class Outbox:
    """Bytes queued for one stream, sent only as far as HTTP/2 flow control allows."""

    def __init__(self, conn, stream_id):
        self.conn, self.stream_id = conn, stream_id
        self.buf = bytearray()
        self.end = False  # send END_STREAM once buf is drained
        self.ended = False
        self.sent = 0

    def flush(self):
        while self.buf:
            # The smaller of the stream's and the connection's send window, and one frame.
            n = min(len(self.buf), self.conn.local_flow_control_window(self.stream_id),
                    self.conn.max_outbound_frame_size)
            if n <= 0:
                return  # wait for the peer's WINDOW_UPDATE (it arrives through pump)
            self.conn.send_data(self.stream_id, bytes(self.buf[:n]))
            del self.buf[:n]
            self.sent += n
        if self.end and not self.ended:
            self.conn.end_stream(self.stream_id)  # our half-close: TCP FIN on the far side
            self.ended = True


def body_summary(body):
    out = {'bytes': len(body), 'sha256': hashlib.sha256(body).hexdigest()}
    if len(body) <= 4096:
        out['body'] = body.decode('utf-8', 'replace')
    return out


def run_client(a):
    payload = a.payload.encode() * a.repeat
    raw = socket.create_connection((a.host, a.port), timeout=a.timeout)
    no_delay(raw)
    tls = tls_context(False, a.cert, a.key, a.ca).wrap_socket(raw)
    result = describe_tls(tls)
    if result['alpn'] != 'h2':
        raise RuntimeError('server did not negotiate ALPN h2: %r' % result['alpn'])
    if a.expect_san is not None and result['peer_uri_san'] != [a.expect_san]:
        result['error'] = 'server URI SAN %r is not %r' % (result['peer_uri_san'], a.expect_san)
        emit(result)
        return 3

    # h2 4.x requires :scheme and :path in every request, although RFC 9113 section 8.5
    # says a CONNECT MUST omit them (python-hyper/h2#1247). Turn off its outbound header
    # validation so that we can send a correct CONNECT.
    conn = h2.connection.H2Connection(h2.config.H2Configuration(
        client_side=True, header_encoding='utf-8', validate_outbound_headers=False))
    conn.initiate_connection()
    sid = conn.get_next_available_stream_id()
    headers = [(':method', 'CONNECT'), (':authority', a.target)]
    if a.forwarded:
        headers.append(('forwarded', a.forwarded))
    conn.send_headers(sid, headers)  # no END_STREAM: the stream is the tunnel

    out = Outbox(conn, sid)
    body = bytearray()
    status = None
    done = False
    while not done:
        for ev in pump(tls, conn):
            if isinstance(ev, h2.events.ResponseReceived):
                status = int(dict(ev.headers)[':status'])
                if status == 200:  # 200 means the far side's upstream is connected
                    out.buf += payload
                    out.end = True
            elif isinstance(ev, h2.events.DataReceived):
                body += ev.data
                # Give the window back, or a server sending more than 64 KiB would stall.
                conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
            elif isinstance(ev, h2.events.StreamEnded):
                done = True
            elif isinstance(ev, h2.events.StreamReset):
                result['reset'] = int(ev.error_code)
                done = True
            elif isinstance(ev, h2.events.ConnectionTerminated):
                result['goaway'] = int(ev.error_code)
                done = True
        if status == 200 and not done:
            out.flush()
    result['status'] = status
    result['sent_bytes'] = out.sent
    result['half_closed'] = out.ended
    result.update(body_summary(bytes(body)))
    conn.close_connection()  # GOAWAY(NO_ERROR)
    tls.sendall(conn.data_to_send())
    tls.close()
    emit(result)
    return 0


def run_server(a):
    ctx = tls_context(True, a.cert, a.key, a.ca)
    lsock = socket.create_server(('127.0.0.1', 0))
    lsock.settimeout(a.timeout)
    emit({'port': lsock.getsockname()[1]})
    raw, _ = lsock.accept()
    lsock.close()
    raw.settimeout(a.timeout)
    no_delay(raw)
    tls = ctx.wrap_socket(raw, server_side=True)  # fails unless the client cert verifies
    report = describe_tls(tls)
    if report['alpn'] != 'h2':
        raise RuntimeError('client did not negotiate ALPN h2: %r' % report['alpn'])

    # h2 4.x would reject a correct CONNECT (no :scheme/:path, RFC 9113 section 8.5) as
    # malformed (python-hyper/h2#1247); turn its inbound check off and check here instead.
    conn = h2.connection.H2Connection(h2.config.H2Configuration(
        client_side=False, header_encoding='utf-8', validate_inbound_headers=False))
    conn.initiate_connection()
    out = None
    report['received_bytes'] = 0
    done = False
    while not done:
        for ev in pump(tls, conn):
            if isinstance(ev, h2.events.RequestReceived) and out is None and 'status' not in report:
                pseudo = {k: v for k, v in ev.headers if k.startswith(':')}
                report['pseudo'] = sorted(pseudo)
                report['method'] = pseudo.get(':method')
                report['authority'] = pseudo.get(':authority')
                report['headers'] = {k: v for k, v in ev.headers if not k.startswith(':')}
                report['forwarded'] = report['headers'].get('forwarded')
                ok = (report['method'] == 'CONNECT' and report['authority']
                      and ':scheme' not in pseudo and ':path' not in pseudo)
                report['status'] = 200 if ok else 400
                if ok:
                    conn.send_headers(ev.stream_id, [(':status', '200')])
                    out = Outbox(conn, ev.stream_id)
                else:
                    conn.send_headers(ev.stream_id, [(':status', '400')], end_stream=True)
                    done = True
            elif isinstance(ev, h2.events.RequestReceived):
                # One tunnel per run; anything else is refused (REFUSED_STREAM = 0x7).
                conn.reset_stream(ev.stream_id, 7)
            elif isinstance(ev, h2.events.DataReceived):
                conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
                if out and ev.stream_id == out.stream_id:
                    report['received_bytes'] += len(ev.data)
                    out.buf += ev.data  # echo
            elif isinstance(ev, h2.events.StreamEnded) and out and ev.stream_id == out.stream_id:
                # The client half-closed. Our direction is still open: prove it with a
                # farewell after the echo, then END_STREAM.
                report['client_half_closed'] = True
                out.buf += a.farewell.encode()
                out.end = True
            elif isinstance(ev, h2.events.StreamReset):
                report['reset'] = int(ev.error_code)
                done = True
            elif isinstance(ev, h2.events.ConnectionTerminated):
                report['goaway'] = int(ev.error_code)
                done = True
        if out and not done:
            out.flush()
            done = out.ended
    conn.close_connection()
    tls.sendall(conn.data_to_send())
    tls.close()
    emit(report)
    return 0


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('mode', choices=['client', 'server'])
    p.add_argument('--cert', required=True, help='PEM: leaf, then intermediates')
    p.add_argument('--key', required=True, help='PEM private key')
    p.add_argument('--ca', required=True, help='PEM trust bundle')
    p.add_argument('--timeout', type=int, default=20, help='hard limit for the whole run, seconds')
    p.add_argument('--host', default='127.0.0.1')
    p.add_argument('--port', type=int)
    p.add_argument('--target', help='client: the CONNECT :authority, ip:port')
    p.add_argument('--forwarded', help='client: value of the forwarded header')
    p.add_argument('--payload', default='', help='client: bytes to send once the tunnel is up')
    p.add_argument('--repeat', type=int, default=1, help='client: send the payload this many times')
    p.add_argument('--expect-san', help='client: the server URI SAN must be exactly this')
    p.add_argument('--farewell', default='', help='server: sent after the client half-closed')
    a = p.parse_args()
    # Bounded no matter what: SIGALRM's default action terminates the process.
    signal.alarm(a.timeout)
    try:
        if a.mode == 'client':
            if a.port is None or not a.target:
                p.error('client needs --port and --target')
            return run_client(a)
        return run_server(a)
    except Exception as e:  # one JSON line, so that the test can show what went wrong
        emit({'error': '%s: %s' % (type(e).__name__, e)})
        return 1


if __name__ == '__main__':
    sys.exit(main())
