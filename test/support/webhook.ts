/**
 * A webhook receiver on a free local port: every request it gets, with its body, answered with the
 * status set in `status` (tests of code that calls a webhook, where src/ keeps HTTP out of the module).
 */
import { createServer, type IncomingHttpHeaders } from 'node:http';

export interface WebhookReceiver {
  url: string;
  received: Array<{ method: string; headers: IncomingHttpHeaders; body: string }>;
  status: number;
  close(): Promise<void>;
}

export async function startWebhookReceiver(path = '/hook'): Promise<WebhookReceiver> {
  const receiver: WebhookReceiver = { url: '', received: [], status: 200, close: () => Promise.resolve() };
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      receiver.received.push({ method: req.method ?? '', headers: req.headers, body });
      res.writeHead(receiver.status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.url = `http://127.0.0.1:${(server.address() as { port: number }).port}${path}`;
  receiver.close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return receiver;
}
