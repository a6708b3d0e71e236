/**
 * The workerd entry point: a module worker whose `fetch` runs the scenario
 * and answers with its report as JSON. `run.mjs` bundles it and serves it
 * with miniflare.
 *
 * @module
 */
import { runScenario } from "./scenario.ts";

export default {
  async fetch(): Promise<Response> {
    return Response.json(await runScenario());
  },
};
