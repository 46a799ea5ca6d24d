// A small static server for the browser tests and the measurements: serves a folder on 127.0.0.1
// (a free port) with the right MIME types (application/wasm, text/javascript), optional extra
// headers (CSP, CORS, COOP/COEP) and extra in-memory routes.
import http from 'node:http';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';

export const MIME = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ts': 'text/plain; charset=utf-8',
  '.md': 'text/markdown; charset=utf-8',
  '.safetensors': 'application/octet-stream',
};

/**
 * @param {{root?: string, headers?: Record<string, string> | ((urlPath: string) => Record<string, string>),
 *          routes?: Record<string, {body: string | Uint8Array, type?: string, status?: number}>}} options
 * @returns {Promise<{origin: string, port: number, close: () => Promise<void>, requests: string[]}>}
 */
export async function serve({ root, headers = {}, routes = {} } = {}) {
  const requests = [];
  const server = http.createServer(async (req, res) => {
    const urlPath = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    requests.push(urlPath);
    const extra = typeof headers === 'function' ? headers(urlPath) : headers;
    const send = (status, body, type) => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', ...extra });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    try {
      if (routes[urlPath]) {
        const r = routes[urlPath];
        send(r.status || 200, r.body, r.type || MIME[path.extname(urlPath)] || 'application/octet-stream');
        return;
      }
      if (!root) {
        send(404, 'not found', 'text/plain');
        return;
      }
      let file = path.join(root, path.normalize(urlPath).replace(/^(\.\.[/\\])+/, ''));
      if (!file.startsWith(path.resolve(root))) {
        send(403, 'forbidden', 'text/plain');
        return;
      }
      if ((await stat(file).catch(() => null))?.isDirectory()) file = path.join(file, 'index.html');
      const body = await readFile(file);
      send(200, body, MIME[path.extname(file)] || 'application/octet-stream');
    } catch {
      send(404, 'not found', 'text/plain');
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return {
    origin: `http://127.0.0.1:${port}`,
    port,
    requests,
    close: () => new Promise((resolve) => {
      server.closeAllConnections?.();
      server.close(() => resolve());
    }),
  };
}
