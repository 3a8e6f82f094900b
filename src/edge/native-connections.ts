import type { Http2SecureServer } from 'node:http2';
import type { TLSSocket } from 'node:tls';

/** Node's own handler of an established TLS connection (HTTP/2 sessions; HTTP/1 with `allowHTTP1`). */
type NativeListener = (this: Http2SecureServer, socket: TLSSocket) => void;

// ALPN (RFC 7301 §3.1) in order of preference. Node's HTTP/2 server offers h2 and http/1.1 only,
// and a client offering neither fails the handshake (§3.2); http/1.0 is added for clients that
// offer only it (as nginx does). A list of unknown protocols still fails, as §3.2 requires.
const ALPN = Buffer.from('\x02h2\x08http/1.1\x08http/1.0', 'latin1');

/**
 * Node's HTTP/2 server's connection handler, taken off the server so that the edge chooses per
 * connection: HTTP/2 sessions, or Node's HTTP/1 server (after the fast path, or at once).
 */
export class NativeConnections {
  private constructor(private readonly server: Http2SecureServer, private readonly listener: NativeListener) {}

  /**
   * Takes `server`'s own `secureConnection` handler off it and offers `http/1.0` by ALPN (the TLS
   * server reads its list per connection from `ALPNProtocols`). Returns null, leaving the server
   * as it is, should it not look as expected (one handler, a wire-format ALPN list).
   */
  static takeOver(server: Http2SecureServer): NativeConnections | null {
    const listeners = server.listeners('secureConnection') as NativeListener[];
    const alpn = server as unknown as { ALPNProtocols?: unknown };
    if (listeners.length !== 1 || !Buffer.isBuffer(alpn.ALPNProtocols)) return null;
    server.removeListener('secureConnection', listeners[0]!);
    alpn.ALPNProtocols = ALPN;
    return new NativeConnections(server, listeners[0]!);
  }

  /** Serves a connection that negotiated `h2` with Node's HTTP/2 session code. */
  http2(socket: TLSSocket): void {
    this.listener.call(this.server, socket);
  }

  /** Gives an HTTP/1.x connection to Node's HTTP/1 server, whose bytes not yet consumed were put back on the socket. */
  http1(socket: TLSSocket): void {
    // Node's server hands only ALPN `http/1.1` or none to its HTTP/1 code; the edge has chosen
    // HTTP/1.x for this connection (`http/1.0` included).
    if (socket.alpnProtocol !== 'http/1.1') socket.alpnProtocol = false;
    this.listener.call(this.server, socket);
  }
}
