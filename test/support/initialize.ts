/**
 * A bare 2025-era `initialize` over HTTP with a bearer token, for tests that only ask whether the
 * gateway accepts the token: 200 when it does, 401 when it refuses it.
 */
export async function initializeStatus(mcpUrl: string, token: string): Promise<number> {
  const res = await fetch(mcpUrl, {
    method: 'POST',
    headers: {
      Authorization: `Bearer ${token}`,
      'Content-Type': 'application/json',
      Accept: 'application/json, text/event-stream'
    },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: {
        protocolVersion: '2025-11-25',
        capabilities: {},
        clientInfo: { name: 'raw', version: '1.0.0' }
      }
    })
  });
  await res.body?.cancel();
  return res.status;
}
