/**
 * The worker module of `worker_demo.ts`: a CPU-bound service, written as a
 * plain `run(signal, context)` and served with `serveInWorker`. It counts
 * primes in slices, reporting progress between them, and checks its signal
 * between slices too. Run 1 fails on bad input; run 2 wedges in a loop that
 * never yields (a stand-in for a library stuck in a regex or a parser);
 * later runs are healthy.
 *
 * In-process, run 2 would hold the event loop forever. In a Worker, the
 * supervisor terminates it after its grace and starts run 3 in a fresh one.
 *
 * @module
 */
import { serveInWorker } from "../mod.ts";

function isPrime(n: number): boolean {
  for (let d = 2; d * d <= n; d++) if (n % d === 0) return false;
  return n > 1;
}

const post = (message: unknown) => (globalThis as unknown as Worker).postMessage(message);

serveInWorker(async (signal, { attempt, ready }) => {
  ready();
  let n = 2;
  let primes = 0;
  while (!signal.aborted) {
    for (const end = n + 20_000; n < end; n++) if (isPrime(n)) primes++;
    post({ progress: primes });
    if (attempt === 1 && n > 100_000) throw new RangeError(`bad input after ${primes} primes`);
    if (attempt === 2 && n > 60_000) {
      for (;;) {
        /* wedged: never yields, never sees its signal */
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
});
