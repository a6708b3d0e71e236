import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { healthHandler, Supervisor } from "../mod.ts";
import { withFakeTime } from "./_fake_time.ts";
import { forever, untilAborted } from "./_log.ts";

const get = (handle: (r: Request) => Response, path: string, method = "GET") =>
  handle(new Request(`http://127.0.0.1:8080${path}`, { method }));

/** `status code` of /healthz and /readyz, as `"200 503"`. */
const probes = (handle: (r: Request) => Response) =>
  `${get(handle, "/healthz").status} ${get(handle, "/readyz").status}`;

describe("healthHandler", () => {
  it("answers /healthz and /readyz through the supervisor's life", () =>
    withFakeTime(async (time) => {
      const supervisor = new Supervisor({ shutdownTimeout: 1000 });
      let ready!: () => void;
      supervisor.add("db", (signal, context) => {
        ready = context.ready;
        return untilAborted(signal);
      }, { waitReady: true });
      supervisor.add("stuck", forever, { stopTimeout: 500 });
      const handle = healthHandler(supervisor);
      assert.equal(probes(handle), "200 503"); // idle
      const starting = supervisor.start();
      assert.equal(supervisor.state, "starting");
      assert.equal(probes(handle), "200 503");
      ready();
      await starting;
      assert.equal(probes(handle), "200 200"); // running, db ready
      const stopping = supervisor.stop();
      await time.tickAsync(100);
      assert.equal(supervisor.state, "stopping");
      assert.equal(probes(handle), "200 503");
      while (await time.nextAsync());
      await stopping;
      assert.equal(probes(handle), "200 503"); // stopped
    }));

  it("turns /readyz to 503 while a waitReady service restarts, and back once it is ready again", () =>
    withFakeTime(async (time) => {
      const supervisor = new Supervisor({ backoff: { jitter: 0 } });
      supervisor.add("db", async (signal, { attempt, ready }) => {
        ready();
        if (attempt === 1) {
          await new Promise((_, reject) => setTimeout(() => reject(new Error("lost")), 10));
        }
        await untilAborted(signal);
      }, { waitReady: true });
      const handle = healthHandler(supervisor);
      await supervisor.start();
      assert.equal(probes(handle), "200 200");
      await time.tickAsync(10);
      await time.tickAsync(0);
      assert.equal(probes(handle), "200 503"); // backing off
      await time.tickAsync(1000);
      assert.equal(probes(handle), "200 200");
      await supervisor.stop();
    }));

  it("turns /healthz to 503 when a service failed for good, with the error in the body", () =>
    withFakeTime(async (time) => {
      const supervisor = new Supervisor({ maxRestarts: 0 });
      supervisor.add("ok", untilAborted);
      supervisor.add("broken", () => Promise.reject(new TypeError("bad config")));
      const handle = healthHandler(supervisor);
      await supervisor.start();
      await time.tickAsync(0);
      const response = get(handle, "/healthz");
      assert.equal(response.status, 503);
      assert.equal(response.headers.get("content-type"), "application/json; charset=utf-8");
      assert.deepEqual(await response.json(), {
        status: "unhealthy",
        state: "running",
        services: [
          { name: "ok", state: "running", up: true, ready: false, restarts: 0 },
          {
            name: "broken",
            state: "failed",
            up: false,
            ready: false,
            restarts: 0,
            lastError: "RestartLimitError: Service 'broken' gave up after 0 restarts",
          },
        ],
      });
      assert.equal(get(handle, "/readyz").status, 200); // no waitReady service holds readiness back
      await supervisor.stop();
    }));

  it("turns both to 503 after the supervisor escalated, nested services listed by path", () =>
    withFakeTime(async (time) => {
      const feeds = new Supervisor({ name: "feeds", escalate: true, maxRestarts: 0 });
      feeds.add("binance", () => Promise.reject(new Error("x")));
      const root = new Supervisor({ escalate: true, maxRestarts: 0 }).add(feeds);
      const handle = healthHandler(root);
      await root.start();
      await time.tickAsync(0);
      await time.tickAsync(0);
      assert.equal(root.state, "failed");
      assert.equal(probes(handle), "503 503");
      const body = await get(handle, "/healthz").json();
      assert.deepEqual(
        body.services.map((s: { name: string; state: string }) => `${s.name} ${s.state}`),
        [
          "feeds failed",
          "feeds/binance failed",
        ],
      );
    }));

  it("serves /metrics in the Prometheus text format with its content type", async () => {
    const supervisor = new Supervisor().add("db", untilAborted);
    await supervisor.start();
    const response = get(healthHandler(supervisor), "/metrics");
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("content-type"), "text/plain; version=0.0.4; charset=utf-8");
    assert.match(await response.text(), /^janus_supervisor_service_up\{service="db"\} 1$/m);
    await supervisor.stop();
  });

  it("answers HEAD with GET's headers and no body, 405 for other methods, 404 elsewhere", async () => {
    const supervisor = new Supervisor().add("db", untilAborted, { waitReady: true });
    const handle = healthHandler(supervisor);
    for (const path of ["/healthz", "/readyz", "/metrics"]) {
      const [getResponse, head] = [get(handle, path), get(handle, path, "HEAD")];
      const bytes = (await getResponse.arrayBuffer()).byteLength;
      assert.ok(bytes > 0, path);
      assert.equal(head.status, getResponse.status, path);
      assert.equal(await head.text(), "", path);
      // What a server sends as GET's length; a null body alone makes it 0.
      assert.equal(head.headers.get("content-length"), String(bytes), path);
      for (const header of ["content-type", "cache-control"]) {
        assert.equal(
          head.headers.get(header),
          getResponse.headers.get(header),
          `${path} ${header}`,
        );
      }
    }
    for (const method of ["POST", "PUT", "DELETE"]) {
      const response = get(handle, "/metrics", method);
      assert.equal(response.status, 405);
      assert.equal(response.headers.get("allow"), "GET, HEAD");
    }
    for (const path of ["/", "/health", "/healthz/x", "/metrics.txt"]) {
      assert.equal(get(handle, path).status, 404, path);
    }
    assert.equal(get(handle, "/healthz?verbose=1").status, 200);
  });
});
