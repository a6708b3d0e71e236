/**
 * Serves `healthHandler` with Node's `node:http`, through a small adapter
 * from `IncomingMessage`/`ServerResponse` to `Request`/`Response`.
 *
 * Node cannot run TypeScript, so this imports the built package: run
 * `deno task build:npm` first, then
 *
 *     node examples/node_health.mjs [port]     # default 8080; 0 picks a free port
 *
 * In your own project, import from "@janus/supervisor" instead.
 */
import { createServer } from "node:http";
import { healthHandler, Supervisor } from "../npm/esm/mod.js";

/**
 * Adapts a web-standard `(Request) => Response` handler to `node:http`.
 * Enough for `healthHandler`, which never reads a request body.
 */
function toNodeListener(handler) {
  return async (req, res) => {
    try {
      const url = new URL(req.url ?? "/", `http://${req.headers.host ?? "localhost"}`);
      const headers = new Headers();
      for (const [name, value] of Object.entries(req.headers)) {
        for (const v of [value ?? []].flat()) headers.append(name, v);
      }
      const response = await handler(new Request(url, { method: req.method, headers }));
      res.writeHead(response.status, Object.fromEntries(response.headers));
      res.end(Buffer.from(await response.arrayBuffer()));
    } catch (error) {
      res.writeHead(500, { "content-type": "text/plain" }).end(`${error}\n`);
    }
  };
}

// A service that says it is ready once "connected", then runs until stopped.
const supervisor = new Supervisor({ name: "app", shutdownTimeout: 10_000 });
supervisor.add("db", async (signal, { ready }) => {
  await new Promise((resolve) => setTimeout(resolve, 100)); // connect
  ready();
  await new Promise((resolve) => signal.addEventListener("abort", resolve, { once: true }));
}, { waitReady: 5_000 });

const port = Number(process.argv[2] ?? 8080);
const server = createServer(toNodeListener(healthHandler(supervisor)));
server.listen(port, "127.0.0.1", () => {
  const url = `http://127.0.0.1:${server.address().port}`;
  console.log(`node_health: serving ${url}/healthz ${url}/readyz ${url}/metrics`);
});

for (const signal of ["SIGINT", "SIGTERM"]) {
  process.once(signal, async () => {
    const report = await supervisor.stop();
    console.log(`node_health: stop report: ${JSON.stringify(report)}`);
    server.close(); // then Node exits: after stop() the supervisor holds no timer
  });
}
supervisor.done.catch((error) => {
  console.error("node_health: supervisor failed:", error);
  process.exitCode = 1;
  server.close();
});
await supervisor.start().catch(() => {}); // a failure also rejects `done`, handled above
