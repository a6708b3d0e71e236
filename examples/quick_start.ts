import { Supervisor } from "@janus/supervisor";

const supervisor = new Supervisor({ backoff: { initialDelay: 100 }, maxRestarts: Infinity });
supervisor.addEventListener("exit", (e) => console.log(`run #${e.attempt} ${e.outcome}`));
supervisor.addEventListener("restart", (e) => console.log(`restart in ${Math.round(e.delay)} ms`));

supervisor.add("poller", async (signal, { attempt }) => {
  for (let poll = 1; !signal.aborted; poll++) {
    if (poll === 3) throw new Error("upstream reset the connection"); // the flaky part
    console.log(`run #${attempt}: poll ${poll}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
});

const stop = async () => console.log("stopped:", await supervisor.stop());
Deno.addSignalListener("SIGINT", stop); // Ctrl-C
Deno.addSignalListener("SIGTERM", stop); // Node, Bun: process.once("SIGTERM", stop)
await supervisor.start();
await supervisor.done; // settles once stop() has stopped the poller
