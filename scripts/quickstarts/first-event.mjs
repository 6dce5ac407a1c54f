// Shared by the quickstarts: the first event a real EventSource client gets from a URL.
import { EventSource } from 'undici';

export function firstEvent(url) {
  return new Promise((resolve, reject) => {
    const source = new EventSource(url);
    const timer = setTimeout(() => {
      source.close();
      reject(new Error(`no event from ${url} in 5 s`));
    }, 5000);
    source.onmessage = (event) => {
      clearTimeout(timer);
      source.close();
      resolve(event.data);
    };
  });
}

export const emitScore = () => 'India,187,4,31.2';

/** Checks the two quickstarts' streams on a server at `base`. */
export async function checkQuickstarts(base) {
  const metrics = JSON.parse(await firstEvent(`${base}/app/metrics?stream=true`));
  if (!(metrics.heapUsed > 0))
    throw new Error(`unexpected metrics event: ${JSON.stringify(metrics)}`);
  const score = await firstEvent(`${base}/score`);
  if (score !== emitScore()) throw new Error(`unexpected score event: ${score}`);
  console.log(`quickstart ok: metrics event from /app/metrics?stream=true, score event "${score}"`);
}
