// WebSocket upgrade with authentication before the 101 (uWS examples/UpgradeAsync.js): everything we
// need from `req` is copied synchronously (req is stack-allocated and invalid after the first await),
// `onAborted` is tracked so we never touch a response whose client went away, and the upgrade itself is
// corked. Missing/invalid/expired tokens get an HTTP 401 with a JSON body naming the problem.
import type { HttpRequest, HttpResponse, us_socket_context_t } from 'uWebSockets.js';
import type { Principal } from '../sessions/types.js';
import type { TransportAuth } from './types.js';

export interface UpgradeData {
  readonly principal: Principal;
  readonly remote: string;
}

export function authUpgrade(auth: TransportAuth, onReject: (code: string) => void) {
  return (res: HttpResponse, req: HttpRequest, context: us_socket_context_t): void => {
    const key = req.getHeader('sec-websocket-key');
    const protocol = req.getHeader('sec-websocket-protocol');
    const extensions = req.getHeader('sec-websocket-extensions');
    const query = req.getQuery() ?? '';
    const remote = Buffer.from(res.getRemoteAddressAsText()).toString();
    let aborted = false;
    res.onAborted(() => {
      aborted = true;
    });
    const { token, subprotocol } = auth.tokenFromUpgrade({ protocol, query });
    void Promise.resolve()
      .then(() => auth.verify(token))
      .then(
        (result) => {
          if (aborted) return;
          if (!result.ok) {
            onReject(result.code);
            res.cork(() => {
              res
                .writeStatus('401 Unauthorized')
                .writeHeader('content-type', 'application/json')
                .end(JSON.stringify({ code: result.code, message: result.message }));
            });
            return;
          }
          const data: UpgradeData = { principal: result.principal, remote };
          res.cork(() => {
            // The bearer entry is never echoed; browsers need the protocol name echoed when they offered it.
            res.upgrade(data, key, subprotocol ?? '', extensions, context);
          });
        },
        () => {
          if (aborted) return;
          res.cork(() => {
            res.writeStatus('500 Internal Server Error').end();
          });
        },
      );
  };
}
